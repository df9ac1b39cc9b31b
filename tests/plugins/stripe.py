"""Fixtures for the Stripe stand-in (localstripe on 127.0.0.1, see ``sandbox.stripe``).

- ``stripe_server`` (session): one localstripe child process for the whole run; starting one
  costs a few hundred milliseconds, so tests share it and ``stripe_api`` empties it per test.
- ``stripe_api`` (function): that server, reset (empty store, default knobs, zeroed counters).
- ``stripe_client`` (function): a ``stripe.StripeClient`` pointed at ``stripe_api``, with no
  SDK retries (tests that want retries build their own client).
- ``seeded`` (module): a ``Seeded``: a fresh Org (Stripe field ``Stripe_Customer_Id__c``,
  "Set Audit Fields" on so old transactions can be back-dated) served by a Salesforce stand-in,
  plus its own localstripe, seeded with ``SEED_ACCOUNTS`` accounts through the Stripe SDK.
  Its own Stripe process, so ``stripe_api`` resets never wipe seeded data; module scope, so
  one module's edits never leak into another's. ``seeded.report`` is the ``SeedReport``;
  ``seeded.settings()`` the environment a bot process would need.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import stripe

from sandbox.seed import SeedReport, seed
from sandbox.stripe import StripeServer, start_stripe

SEED_ACCOUNTS = 40
STRIPE_FIELD = "Stripe_Customer_Id__c"


@pytest.fixture(scope="session")
def stripe_server() -> Iterator[StripeServer]:
    server = start_stripe(port=0)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def stripe_api(stripe_server: StripeServer) -> StripeServer:
    stripe_server.reset()
    return stripe_server


@pytest.fixture
def stripe_client(stripe_api: StripeServer) -> stripe.StripeClient:
    return stripe.StripeClient(
        stripe_api.api_key,
        base_addresses={"api": stripe_api.api_base},
        max_network_retries=0,
    )


@dataclass
class Seeded:
    """Both stand-ins, running and seeded, and what the seed says they hold."""

    org: Any  # sandbox.salesforce.Org
    sf_server: Any  # sandbox.salesforce.SalesforceServer (settings(), knobs, counters)
    stripe_server: StripeServer
    report: SeedReport
    today: dt.date  # the date the seed's card expiries are relative to (the org's clock)

    def settings(self) -> dict[str, str]:
        """SF_* and STRIPE_* settings, as a bot process would take them from its environment."""
        return {**self.sf_server.settings(), **self.stripe_server.settings()}

    def sf_client(self) -> Any:
        """simple-salesforce connected to ``sf_server`` the way the bot connects to an org."""
        from tests.plugins.salesforce import sf_connect

        return sf_connect(self.sf_server)

    def stripe_client(self, retries: int = 0) -> stripe.StripeClient:
        return stripe.StripeClient(
            self.stripe_server.api_key,
            base_addresses={"api": self.stripe_server.api_base},
            max_network_retries=retries,
        )


@pytest.fixture(scope="module")
def seeded() -> Iterator[Seeded]:
    from sandbox.salesforce import Org, start_salesforce

    org = Org(stripe_customer_field=STRIPE_FIELD, set_audit_fields=True)
    stripe_server = start_stripe(port=0)
    sf_server = None
    try:
        sf_server = start_salesforce(org, port=0)
        today = org.clock().date()
        report = seed(
            org, stripe_server.api_base, stripe_server.api_key, accounts=SEED_ACCOUNTS, today=today
        )
        yield Seeded(org, sf_server, stripe_server, report, today)
    finally:
        if sf_server is not None:
            sf_server.stop()
        stripe_server.stop()
        org.close()
