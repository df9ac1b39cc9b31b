"""Start the Salesforce and Stripe stand-ins (optionally seeded), and stop them without a trace.

Shared by ``python -m sandbox`` (the two data stand-ins alone) and ``billing-bot sandbox``
(the whole bot offline): both must start the same seeded world, serve until Ctrl-C or
SIGTERM, and leave no process or file behind, so the start, the seed and the cleanup live here
once.

- :func:`data_standins`: a context manager yielding a :class:`DataStandins` (the org, the
  Salesforce server, localstripe, the seed report). On exit every part is stopped, even if one
  of the stops fails: localstripe's child process is reaped, the CA bundle and the org's
  SQLite folder are removed.
- :func:`interrupt_on_signals`: SIGINT and SIGTERM raise :class:`Interrupted` in the main
  thread, wherever it is waiting, so the ``with`` blocks' cleanup always runs; a second signal
  during cleanup is ignored rather than cutting it short.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.salesforce import Org, SalesforceServer
    from sandbox.seed import SeedReport
    from sandbox.stripe import StripeServer

DEFAULT_STRIPE_FIELD = "Stripe_Customer_Id__c"
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived: raised wherever the main thread is."""


def _interrupt(signum: int, frame: Any) -> None:
    for other in _SIGNALS:  # a second Ctrl-C must not cut the cleanup short
        signal.signal(other, signal.SIG_IGN)
    raise Interrupted(signum)


@contextlib.contextmanager
def interrupt_on_signals() -> Iterator[None]:
    """Turn SIGINT/SIGTERM into :class:`Interrupted` inside the block (main thread only);
    the previous handlers are back afterwards."""
    previous = {signum: signal.signal(signum, _interrupt) for signum in _SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@dataclass
class DataStandins:
    """The running Salesforce and Stripe stand-ins, and what the seed put in them."""

    org: Org
    salesforce: SalesforceServer
    stripe: StripeServer
    report: SeedReport | None

    def settings(self) -> dict[str, str]:
        """SF_INSTANCE_URL, SF_ACCESS_TOKEN, SF_CA_BUNDLE, STRIPE_API_BASE, STRIPE_API_KEY."""
        return {**self.salesforce.settings(), **self.stripe.settings()}


@contextlib.contextmanager
def data_standins(
    *,
    seed_demo: bool = True,
    accounts: int = 40,
    today: dt.date | None = None,
    stripe_field: str = DEFAULT_STRIPE_FIELD,
    salesforce_port: int = 0,
    stripe_port: int = 0,
) -> Iterator[DataStandins]:
    """Both stand-ins on 127.0.0.1, seeded with the demo data when ``seed_demo``; stopped
    and cleaned up when the block ends, however it ends."""
    from sandbox.salesforce import Org, start_salesforce
    from sandbox.seed import seed
    from sandbox.stripe import start_stripe

    with contextlib.ExitStack() as stack:
        org = Org(stripe_customer_field=stripe_field, set_audit_fields=True)
        stack.callback(org.close)
        stripe_server = start_stripe(port=stripe_port)
        stack.callback(stripe_server.stop)
        salesforce = start_salesforce(org, port=salesforce_port)
        stack.callback(salesforce.stop)
        report = None
        if seed_demo:
            report = seed(
                org, stripe_server.api_base, stripe_server.api_key, accounts=accounts, today=today
            )
        yield DataStandins(org, salesforce, stripe_server, report)
