"""A Salesforce org on this machine: the REST API over HTTPS on 127.0.0.1, backed by SQLite.

The bot talks to Salesforce through simple-salesforce; tests and the offline demo must drive
that same client over the real wire protocol, and no Salesforce can run here. This package is
the stand-in: Account and the Salesforce Billing objects (DESIGN section 5) with describe,
Salesforce's write rules and error codes, a real SOQL parser (`soql`) compiled to SQLite SQL
(`compiler`), sObject Collections, Composite, Bulk API 2.0 ingest, `/limits`, the OAuth token
endpoint, and fault knobs for retry testing. It rejects what Salesforce rejects, so a bug that
a real org would catch is caught here too.

Why TLS: simple-salesforce keeps only host and port from `instance_url` and builds every URL
as `https://...` (see research/feasibility.md, section 3). Rather than patch the client, the
server speaks HTTPS with a certificate from a throw-away local CA (`trustme`); the CA is
written to a temporary file (`server.ca_bundle`, printed as SF_CA_BUNDLE) and removed when
the server stops. A client uses it exactly as it would a real org plus a private CA::

    session = requests.Session()
    session.verify = server.ca_bundle
    session.trust_env = False  # else REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override verify
    sf = Salesforce(instance_url=server.instance_url, session_id=server.access_token,
                    session=session)

`tls=False` serves plain HTTP for clients that can use it (simple-salesforce cannot).

Quick start::

    from sandbox.salesforce import Org, start_salesforce
    org = Org(stripe_customer_field="Stripe_Customer_Id__c")
    account_id = org.create("Account", {"Name": "Acme", "Stripe_Customer_Id__c": "cus_1"})
    with start_salesforce(org) as server:
        print(server.settings())   # SF_INSTANCE_URL, SF_ACCESS_TOKEN, SF_CA_BUNDLE
    org.close()

Run alone: `python -m sandbox.salesforce --port 8443` prints the settings and serves until
interrupted. Defaults for logins are in `oauth` (DEFAULT_USERNAME, DEFAULT_PASSWORD,
DEFAULT_SECURITY_TOKEN, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET).
"""

from .errors import SalesforceError
from .oauth import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_PASSWORD,
    DEFAULT_SECURITY_TOKEN,
)
from .org import DEFAULT_API_VERSION, DEFAULT_PAGE_SIZE, DEFAULT_USERNAME, Org
from .schema import KEY_PREFIXES
from .server import Knobs, SalesforceServer, start_salesforce

__all__ = [
    "DEFAULT_API_VERSION",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_PAGE_SIZE",
    "DEFAULT_PASSWORD",
    "DEFAULT_SECURITY_TOKEN",
    "DEFAULT_USERNAME",
    "KEY_PREFIXES",
    "Knobs",
    "Org",
    "SalesforceError",
    "SalesforceServer",
    "start_salesforce",
]
