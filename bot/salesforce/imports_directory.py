"""The Salesforce side of imports: `commands.imports.crosscheck.ImportDirectory`.

Every question is asked for many keys at once: one query per chunk of at most 200 keys (well
inside SOQL's statement length even for 255-character names), never one per row, so a
2,000-row file costs a handful of API calls. The run engine asks the same questions to
reconcile a batch whose response was lost. Values reach SOQL only through `soql.in_list`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator
from typing import Any

from bot.salesforce.client import SalesforceClient
from bot.salesforce.soql import chunks, in_list
from commands.errors import NotReadable
from commands.ids import to_18
from commands.imports.crosscheck import AccountRecord, GatewayRecord, PaymentMethodRecord

GATEWAY = "blng__PaymentGateway__c"
PAYMENT_METHOD = "blng__PaymentMethod__c"
CHUNK = 200


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
        for chunk in chunks(sorted(keys), CHUNK):
            yield from self.client.query(
                f"SELECT {fields} FROM {sobject} WHERE {where_field} IN {in_list(chunk)}"
            )


def _ids18(ids: Collection[str]) -> set[str]:
    return {to_18(i) for i in ids}
