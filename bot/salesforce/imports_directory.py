"""The Salesforce side of imports: `commands.imports.crosscheck.ImportDirectory`.

Every question is asked for many keys at once: one query per chunk of at most 200 keys, never
one per row, so a 2,000-row file costs a handful of API calls. A query travels in the URL,
and Salesforce refuses a URL and headers over 16,384 bytes (414 URI Too Long), so a chunk of
long or non-ASCII names is cut earlier, by its encoded size. The run engine asks the same
questions to reconcile a batch whose response was lost. Values reach SOQL only through
`soql.quote`/`soql.in_list`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator
from typing import Any
from urllib.parse import quote_plus

from bot.salesforce.client import SalesforceClient
from bot.salesforce.soql import in_list, quote
from commands.errors import NotReadable
from commands.ids import to_18
from commands.imports.crosscheck import AccountRecord, GatewayRecord, PaymentMethodRecord

GATEWAY = "blng__PaymentGateway__c"
PAYMENT_METHOD = "blng__PaymentMethod__c"
CHUNK = 200
# Encoded bytes of the IN list in one query's URL: with the rest of the query and the
# headers (the bearer token, cookies) it stays well under Salesforce's 16,384.
MAX_IN_BYTES = 9000


class SalesforceImportDirectory:
    """Implements `ImportDirectory` over one `SalesforceClient`."""

    def __init__(self, client: SalesforceClient, token_field: str | None = None):
        self.client = client
        self._token_field = token_field or client.settings.sf_token_field

    @property
    def stripe_customer_field(self) -> str:
        return self.client.stripe_customer_field

    @property
    def token_field(self) -> str:
        return self._token_field

    def gateway_key_prefix(self) -> str | None:
        try:
            return self.client.describe(GATEWAY).get("keyPrefix")
        except NotReadable:
            return None

    # --- Accounts -------------------------------------------------------------------------

    def accounts_by_id(self, ids: Collection[str]) -> dict[str, AccountRecord]:
        found = {a.id: a for a in self._accounts("Id", _ids18(ids))}
        return {i: found[to_18(i)] for i in ids if to_18(i) in found}

    def accounts_by_name(self, names: Collection[str]) -> dict[str, list[AccountRecord]]:
        # SOQL's = ignores case, so one query finds every spelling; group the same way.
        by_folded: dict[str, list[AccountRecord]] = defaultdict(list)
        for account in self._accounts("Name", set(names)):
            by_folded[account.name.casefold()].append(account)
        return {n: by_folded[n.casefold()] for n in names if n.casefold() in by_folded}

    def accounts_by_stripe_id(self, ids: Collection[str]) -> dict[str, list[AccountRecord]]:
        found: dict[str, list[AccountRecord]] = defaultdict(list)
        for account in self._accounts(self.stripe_customer_field, set(ids)):
            found[account.stripe_customer_id or ""].append(account)
        return {i: found[i] for i in ids if i in found}

    def _accounts(self, where_field: str, keys: set[str]) -> Iterator[AccountRecord]:
        stripe_field = self.stripe_customer_field
        fields = f"Id, Name, {stripe_field}"
        for record in self._query_in("Account", fields, where_field, keys):
            yield AccountRecord(record["Id"], record.get("Name") or "", record.get(stripe_field))

    # --- gateways and payment methods -----------------------------------------------------

    def gateways_by_id(self, ids: Collection[str]) -> dict[str, GatewayRecord]:
        found = {
            r["Id"]: GatewayRecord(
                r["Id"],
                r.get("Name") or "",
                bool(r.get("blng__Active__c")),
                r.get("blng__GatewayType__c"),
            )
            for r in self._query_in(
                GATEWAY, "Id, Name, blng__Active__c, blng__GatewayType__c", "Id", _ids18(ids)
            )
        }
        return {i: found[to_18(i)] for i in ids if to_18(i) in found}

    def payment_methods_by_token(
        self, tokens: Collection[str]
    ) -> dict[str, list[PaymentMethodRecord]]:
        token_field = self.token_field
        found: dict[str, list[PaymentMethodRecord]] = defaultdict(list)
        fields = f"Id, blng__Account__c, blng__Active__c, {token_field}"
        for r in self._query_in(PAYMENT_METHOD, fields, token_field, set(tokens)):
            token = r.get(token_field) or ""
            found[token].append(
                PaymentMethodRecord(
                    r["Id"], r.get("blng__Account__c") or "", token, r.get("blng__Active__c")
                )
            )
        return {t: found[t] for t in tokens if t in found}

    # --- one query per chunk --------------------------------------------------------------

    def _query_in(
        self, sobject: str, fields: str, where_field: str, keys: Collection[str]
    ) -> Iterator[dict[str, Any]]:
        for chunk in url_sized_chunks(sorted(keys)):
            yield from self.client.query(
                f"SELECT {fields} FROM {sobject} WHERE {where_field} IN {in_list(chunk)}"
            )


def url_sized_chunks(keys: Iterable[str]) -> Iterator[list[str]]:
    """At most CHUNK keys, and at most MAX_IN_BYTES once quoted and URL-encoded."""
    chunk: list[str] = []
    size = 0
    for key in keys:
        cost = len(quote_plus(quote(key))) + 3  # and the encoded comma
        if chunk and (len(chunk) == CHUNK or size + cost > MAX_IN_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(key)
        size += cost
    if chunk:
        yield chunk


def _ids18(ids: Collection[str]) -> set[str]:
    return {to_18(i) for i in ids}
