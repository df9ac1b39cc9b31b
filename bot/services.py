"""The outside world, wired once from settings and handed to every feature.

Connections are made lazily: `billing-bot help` or a Slack refusal should not wait for a
Salesforce login, and a missing Stripe key only matters to the features that ask Stripe.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.storage import Storage

if TYPE_CHECKING:
    from bot.salesforce.client import SalesforceClient
    from bot.stripe_gateway import StripeGateway


def utc_now() -> datetime:
    return datetime.now(UTC)


class Services:
    def __init__(
        self,
        settings: Settings,
        storage: Storage | None = None,
        clock: Callable[[], datetime] = utc_now,
    ):
        self.settings = settings
        self.storage = storage or Storage(settings.database_path)
        self.clock = clock
        self._lock = threading.Lock()

    @cached_property
    def salesforce(self) -> SalesforceClient:
        from bot.salesforce.client import SalesforceClient

        return SalesforceClient(self.settings)

    @cached_property
    def stripe(self) -> StripeGateway | None:
        """None when no key is set: cross-checks are then reported as skipped."""
        if not self.settings.stripe_api_key:
            return None
        from bot.stripe_gateway import StripeGateway

        return StripeGateway(self.settings)

    @property
    def db(self):  # noqa: ANN201 - sqlite_utils.Database, per thread
        return self.storage.db
