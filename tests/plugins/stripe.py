"""Fixtures for the Stripe stand-in (localstripe on 127.0.0.1, see ``sandbox.stripe``).

- ``stripe_server`` (session): one localstripe child process for the whole run; starting one
  costs a few hundred milliseconds, so tests share it and ``stripe_api`` empties it per test.
- ``stripe_api`` (function): that server, reset (empty store, default knobs, zeroed counters).
- ``stripe_client`` (function): a ``stripe.StripeClient`` pointed at ``stripe_api``, with no
  SDK retries (tests that want retries build their own client).
- ``seeded`` (module): see ``tests/plugins/seed`` below: Org + Salesforce server + its own
  localstripe, seeded with ``SEED_ACCOUNTS`` accounts. Its own Stripe process, so resets by
  ``stripe_api`` never wipe seeded data, and module scope so one module's edits never leak
  into another's.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stripe

from sandbox.stripe import StripeServer, start_stripe


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
