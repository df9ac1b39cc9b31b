"""One connection to one Salesforce org, over simple-salesforce.

Everything that talks to Salesforce goes through `SalesforceClient`, so four promises are kept
in one place: every call has a timeout; API calls are counted (the org's allowance is a
rolling 24-hour budget); an expired session is renewed once, transparently, when the
credentials allow it; and client-library exceptions become `commands.errors` types whose
message a user can read.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import requests
import requests.adapters
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceError as LibraryError,
)
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)

from bot.config import Settings
from commands.errors import ConfigurationError, NotReadable, SalesforceError

log = logging.getLogger(__name__)
T = TypeVar("T")

KNOWN_STRIPE_CUSTOMER_FIELDS = ("Stripe_Customer_Id__c", "stripeGC__Customer_Id__c")
COLLECTION_SIZE = 200  # sObject Collections' limit per call
# Kept-alive connections to the org: as many as threads that may call at once (the Slack
# listener pool, the import runner, the scheduler). requests keeps 10 by default, so a burst
# of lookups opened and threw away a TLS connection per call beyond ten (bench/load.py).
CONNECTIONS = 40
_BULK = "jobs/ingest"  # Bulk API 2.0 ingest, under the versioned REST base


@dataclass
class SaveResult:
    """One record's outcome from a collection write, in input order."""

    id: str | None
    success: bool
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def error_text(self) -> str:
        return "; ".join(f"{e.get('statusCode', '')}: {e.get('message', '')}" for e in self.errors)


class _CountingSession(requests.Session):
    """A requests session that applies a default timeout and counts API calls.

    simple-salesforce accepts a session; counting here sees every call it makes, including
    the paging and bulk ones, and reads `Sforce-Limit-Info` for the org's remaining budget.
    """

    def __init__(self, timeout: float, ca_bundle: str | None):
        super().__init__()
        self.default_timeout = timeout
        self.calls = 0
        self.api_usage: tuple[int, int] | None = None
        self._lock = threading.Lock()
        self.mount("https://", requests.adapters.HTTPAdapter(pool_maxsize=CONNECTIONS))
        if ca_bundle:
            # Without trust_env=False, REQUESTS_CA_BUNDLE would override `verify`.
            self.verify = ca_bundle
            self.trust_env = False

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", self.default_timeout)
        response = super().request(method, url, *args, **kwargs)
        usage = response.headers.get("Sforce-Limit-Info", "")
        match = re.search(r"api-usage=(\d+)/(\d+)", usage)
        with self._lock:
            if "/services/data/" in str(url) or "/services/async/" in str(url):
                self.calls += 1
            if match:
                self.api_usage = (int(match.group(1)), int(match.group(2)))
        return response


class SalesforceClient:
    """A thread-safe handle on the org, created from settings."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.session = _CountingSession(settings.sf_timeout, settings.sf_ca_bundle)
        self._lock = threading.Lock()
        self._sf: Salesforce | None = None
        self._describes: dict[str, dict[str, Any]] = {}
        self._stripe_field: str | None = settings.sf_stripe_customer_field

    # --- connection -----------------------------------------------------------------------

    @property
    def api_calls(self) -> int:
        return self.session.calls

    @property
    def sf(self) -> Salesforce:
        with self._lock:
            if self._sf is None:
                self._sf = self._connect()
            return self._sf

    @property
    def instance_url(self) -> str:
        return "https://" + self.sf.sf_instance

    def _connect(self) -> Salesforce:
        from bot.salesforce.auth import authenticate

        instance_url, token = authenticate(self.settings, self.session)
        return Salesforce(
            instance_url=instance_url,
            session_id=token,
            version=self.settings.sf_api_version,
            session=self.session,
        )

    def _call(self, what: str, fn: Callable[[Salesforce], T]) -> T:
        """Run fn, renewing an expired session once and translating errors."""
        try:
            try:
                return fn(self.sf)
            except SalesforceExpiredSession:
                if self.settings.salesforce_auth == "token":
                    raise SalesforceError(
                        "Salesforce says the session has expired: renew SF_ACCESS_TOKEN, or "
                        "configure username/JWT credentials so the bot can renew it itself",
                        code="INVALID_SESSION_ID",
                    ) from None
                log.info("Salesforce session expired; renewing once")
                with self._lock:
                    self._sf = None
                return fn(self.sf)
        except SalesforceError:
            raise
        except LibraryError as exc:
            raise _translate(what, exc) from None
        except requests.Timeout:
            raise SalesforceError(
                f"Salesforce did not answer within {self.settings.sf_timeout}s ({what})",
                retryable=True,
                code="TIMEOUT",
            ) from None
        except requests.RequestException as exc:
            raise SalesforceError(
                f"Salesforce could not be reached ({what}): {type(exc).__name__}",
                retryable=True,
                code="CONNECTION",
            ) from None

    # --- reads ----------------------------------------------------------------------------

    def query(self, soql: str) -> Iterator[dict[str, Any]]:
        """Every record of a query, one page (≤2,000) in memory at a time."""
        page = self._call("query", lambda sf: sf.query(soql))
        while True:
            yield from page.get("records", [])
            next_url = page.get("nextRecordsUrl")
            if page.get("done", True) or not next_url:
                return
            page = self._call(
                "query", lambda sf, u=next_url: sf.query_more(u, identifier_is_url=True)
            )

    def query_list(self, soql: str) -> list[dict[str, Any]]:
        return list(self.query(soql))

    def count(self, soql: str) -> int:
        """`SELECT COUNT() FROM …`: one call, no records."""
        return int(self._call("count", lambda sf: sf.query(soql))["totalSize"])

    def describe(self, sobject: str) -> dict[str, Any]:
        """Describe once per process: field lists do not change under a running bot."""
        if sobject not in self._describes:
            self._describes[sobject] = self._call(
                f"describe {sobject}",
                lambda sf: sf.restful(f"sobjects/{sobject}/describe"),
            )
        return self._describes[sobject]

    def field_names(self, sobject: str) -> set[str]:
        return {f["name"] for f in self.describe(sobject)["fields"]}

    def has_object(self, sobject: str) -> bool:
        try:
            self.describe(sobject)
        except NotReadable:
            return False
        return True

    def limits(self) -> dict[str, Any]:
        return self._call("limits", lambda sf: sf.restful("limits/"))

    # --- discovery ------------------------------------------------------------------------

    @property
    def stripe_customer_field(self) -> str:
        """The Account field that holds the Stripe Customer ID (DESIGN section 5)."""
        if self._stripe_field is None:
            self._stripe_field = discover_stripe_field(self.describe("Account"))
        elif self._stripe_field not in self.field_names("Account"):
            raise ConfigurationError(
                f"SF_STRIPE_CUSTOMER_FIELD names {self._stripe_field}, which Account does not "
                "have (or the integration user cannot see)"
            )
        return self._stripe_field

    # --- writes ---------------------------------------------------------------------------

    def create(
        self, sobject: str, records: list[dict[str, Any]], all_or_none: bool = False
    ) -> list[SaveResult]:
        """Create through sObject Collections, 200 records a call."""
        return self._collection("POST", sobject, records, all_or_none)

    def update(
        self, sobject: str, records: list[dict[str, Any]], all_or_none: bool = False
    ) -> list[SaveResult]:
        """Update through sObject Collections (each record carries its Id)."""
        return self._collection("PATCH", sobject, records, all_or_none)

    def _collection(
        self, method: str, sobject: str, records: list[dict[str, Any]], all_or_none: bool
    ) -> list[SaveResult]:
        results: list[SaveResult] = []
        for start in range(0, len(records), COLLECTION_SIZE):
            chunk = records[start : start + COLLECTION_SIZE]
            body = {
                "allOrNone": all_or_none,
                "records": [{"attributes": {"type": sobject}, **r} for r in chunk],
            }
            answer = self._call(
                f"{'create' if method == 'POST' else 'update'} {sobject}",
                lambda sf, b=body: sf.restful("composite/sobjects", method=method, json=b),
            )
            results.extend(
                SaveResult(r.get("id"), bool(r.get("success")), r.get("errors") or [])
                for r in answer or []
            )
        return results

    def bulk_insert(
        self,
        sobject: str,
        csv_text: str,
        poll_seconds: float = 2.0,
        operation: str = "insert",
        on_job_created: Callable[[str], None] | None = None,
    ) -> dict[str, Any]:
        """One Bulk API 2.0 ingest job; returns the job info and its result CSVs.

        `on_job_created(job_id)` runs before any data is uploaded, so a caller that must
        survive a crash can journal the job and later wait for it (`bulk_settle`) instead of
        sending the same records again while the job is still writing them.
        """
        job = self._call(
            "bulk create job",
            lambda sf: sf.restful(
                _BULK,
                method="POST",
                json={
                    "object": sobject,
                    "operation": operation,
                    "contentType": "CSV",
                    "lineEnding": "LF",
                    "columnDelimiter": "COMMA",
                },
            ),
        )
        job_id = job["id"]
        if on_job_created:
            on_job_created(job_id)
        self._call(
            "bulk upload",
            lambda sf: sf._call_salesforce(
                "PUT",
                f"{sf.base_url}{_BULK}/{job_id}/batches",
                data=csv_text.encode("utf-8"),
                headers={"Content-Type": "text/csv"},
            ),
        )
        self._call(
            "bulk close job",
            lambda sf: sf.restful(
                f"{_BULK}/{job_id}", method="PATCH", json={"state": "UploadComplete"}
            ),
        )
        info = self._bulk_wait(job_id, poll_seconds)
        results = {}
        for kind in ("successfulResults", "failedResults"):
            results[kind] = self._call(
                f"bulk {kind}",
                lambda sf, k=kind: (
                    sf._call_salesforce("GET", f"{sf.base_url}{_BULK}/{job_id}/{k}/").text
                ),
            )
        return {"job": info, **results}

    def bulk_settle(self, job_id: str, poll_seconds: float = 2.0) -> dict[str, Any]:
        """Bring a job someone else started to an end: abort it if its upload was never
        closed, else wait until Salesforce has finished it. Returns the job info."""
        info = self._call("bulk job status", lambda sf: sf.restful(f"{_BULK}/{job_id}"))
        if info["state"] == "Open":
            return self._call(
                "bulk abort job",
                lambda sf: sf.restful(
                    f"{_BULK}/{job_id}", method="PATCH", json={"state": "Aborted"}
                ),
            )
        return self._bulk_wait(job_id, poll_seconds)

    def _bulk_wait(self, job_id: str, poll_seconds: float) -> dict[str, Any]:
        while True:
            info = self._call("bulk job status", lambda sf: sf.restful(f"{_BULK}/{job_id}"))
            if info["state"] in ("JobComplete", "Failed", "Aborted"):
                return info
            time.sleep(poll_seconds)

    def record_url(self, record_id: str) -> str:
        return f"{self.instance_url}/{record_id}"


def discover_stripe_field(describe: dict[str, Any]) -> str:
    """Pick the Account field holding the Stripe Customer ID: exactly one candidate or a clear
    configuration error naming what was found."""
    candidates = []
    for f in describe.get("fields", []):
        name, label = f.get("name", ""), f.get("label", "")
        known = name in KNOWN_STRIPE_CUSTOMER_FIELDS or name.endswith("__Stripe_Customer_Id__c")
        labelled = re.sub(r"[^a-z]", "", label.lower()) == "stripecustomerid"
        if known or labelled:
            candidates.append(name)
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise ConfigurationError(
            "No Account field looks like the Stripe Customer ID (looked for "
            + ", ".join(KNOWN_STRIPE_CUSTOMER_FIELDS)
            + " and the label 'Stripe Customer ID'): set SF_STRIPE_CUSTOMER_FIELD"
        )
    raise ConfigurationError(
        "Several Account fields could hold the Stripe Customer ID ("
        + ", ".join(sorted(candidates))
        + "): set SF_STRIPE_CUSTOMER_FIELD to the one in use"
    )


def _translate(what: str, exc: LibraryError) -> SalesforceError:
    content = getattr(exc, "content", None)
    first = content[0] if isinstance(content, list) and content else {}
    code = first.get("errorCode", "") if isinstance(first, dict) else ""
    message = first.get("message", "") if isinstance(first, dict) else str(exc)
    if code in ("INVALID_TYPE", "INSUFFICIENT_ACCESS", "NOT_FOUND") or (
        isinstance(exc, SalesforceResourceNotFound) and what.startswith("describe")
    ):
        return NotReadable(f"Salesforce: {message or code} ({what})", code=code or "NOT_FOUND")
    if isinstance(exc, SalesforceMalformedRequest):
        return SalesforceError(f"Salesforce rejected the request ({what}): {message}", code=code)
    status = getattr(exc, "status", 0) or 0
    return SalesforceError(
        f"Salesforce error ({what}): {message or code or status}",
        retryable=status >= 500,
        code=code or str(status),
    )
