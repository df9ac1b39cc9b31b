"""Fixtures for the Salesforce stand-in (`sandbox.salesforce`).

- `sf_org`: a fresh, empty Org per test (Account field `Stripe_Customer_Id__c`).
- `sf_server`: that org served over HTTPS on 127.0.0.1 (random port), stopped after the test.
- `sf_client`: a `simple_salesforce.Salesforce` connected to `sf_server` exactly as the bot
  connects to a real org (instance URL + access token + a session trusting the server's CA).
- `sf_start`: a factory for servers with other options (page size, users, ...), all stopped
  after the test.

`sf_session(server)` and `sf_connect(server)` build the same session and client for servers
started elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce

from sandbox.salesforce import Org, SalesforceServer, start_salesforce

STRIPE_FIELD = "Stripe_Customer_Id__c"


def sf_session(server: SalesforceServer) -> requests.Session:
    """A requests session that trusts only the server's CA (environment CA settings ignored)."""
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would otherwise override `verify`
    if server.ca_bundle:
        session.verify = server.ca_bundle
    return session


def sf_connect(
    server: SalesforceServer, token: str | None = None, version: str | None = None
) -> Salesforce:
    """simple-salesforce connected the way the bot connects to a real org."""
    options: dict[str, Any] = {}
    if version:
        options["version"] = version
    return Salesforce(
        instance_url=server.instance_url,
        session_id=token or server.access_token,
        session=sf_session(server),
        **options,
    )


@pytest.fixture
def sf_org() -> Iterator[Org]:
    org = Org(stripe_customer_field=STRIPE_FIELD)
    try:
        yield org
    finally:
        org.close()


@pytest.fixture
def sf_start() -> Iterator[Callable[..., SalesforceServer]]:
    started: list[tuple[SalesforceServer, Org | None]] = []

    def start(org: Org | None = None, **options: Any) -> SalesforceServer:
        own = org is None
        org = org or Org(stripe_customer_field=STRIPE_FIELD)
        server = start_salesforce(org, port=0, **options)
        started.append((server, org if own else None))
        return server

    try:
        yield start
    finally:
        for server, own_org in started:
            server.stop()
            if own_org is not None:
                own_org.close()


@pytest.fixture
def sf_server(sf_org: Org) -> Iterator[SalesforceServer]:
    server = start_salesforce(sf_org, port=0)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sf_client(sf_server: SalesforceServer) -> Salesforce:
    return sf_connect(sf_server)
