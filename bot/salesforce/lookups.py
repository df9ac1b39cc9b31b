"""The Salesforce side of `customer` and `pm`: `commands.lookups.records.LookupDirectory`.

Each question is one SOQL query, one API call:

- Accounts (by name, Id or Stripe Customer ID) come with their payment methods in a child
  subquery, and each payment method with its gateway through parent fields, so a lookup never
  goes back for the children;
- payment methods (by record Id or token) come with their Account and gateway as parent
  fields.

What varies by org is discovered from describe (cached for the process): the Account field
holding the Stripe Customer ID, the child relationship from Account to its payment methods,
the payment-method key prefix, and which optional fields exist (only those are selected, so a
field hidden by field-level security narrows the answer instead of failing the query). User
text reaches SOQL only through `bot/salesforce/soql.py`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.salesforce.client import SalesforceClient
from bot.salesforce.soql import chunks, in_list, like, quote
from commands.errors import ConfigurationError, NotReadable
from commands.lookups.query import LookupQuery, QueryKind
from commands.lookups.records import (
    AccountRecord,
    AccountRef,
    GatewayRecord,
    PaymentMethodRecord,
)

PAYMENT_METHOD = "blng__PaymentMethod__c"
GATEWAY = "blng__PaymentGateway__c"
ACCOUNT_FIELD = "blng__Account__c"
GATEWAY_FIELD = "blng__PaymentGateway__c"
GATEWAY_RELATIONSHIP = "blng__PaymentGateway__r"
ACCOUNT_RELATIONSHIP = "blng__Account__r"
# Payment-method fields read when the org has them (the token field comes from settings).
OPTIONAL_PM_FIELDS = (
    "Name",
    "blng__AutoPay__c",
    "blng__PaymentType__c",
    GATEWAY_FIELD,
    "blng__CardType__c",
    "blng__CardLastFour__c",
    "blng__CardExpirationMonth__c",
    "blng__CardExpirationYear__c",
)
GATEWAY_FIELDS = ("Name", "blng__Active__c", "blng__GatewayType__c")
# Payment methods read per Account in one lookup: far more than any real Account holds.
CHILD_LIMIT = 200


class SalesforceLookups:
    """Implements `LookupDirectory` over one `SalesforceClient`."""

    def __init__(self, client: SalesforceClient):
        self.client = client
        self.settings = client.settings
        self._lock = threading.Lock()
        self._shape: _Shape | None = None

    # --- LookupDirectory ------------------------------------------------------------------

    def payment_method_prefix(self) -> str | None:
        try:
            return self.client.describe(PAYMENT_METHOD).get("keyPrefix")
        except NotReadable:
            return None

    def accounts(self, query: LookupQuery, limit: int) -> list[AccountRecord]:
        shape = self.shape
        soql = (
            f"SELECT Id, Name, {shape.stripe_field}, "
            f"({shape.pm_select(parent_account=False)} FROM {shape.children} "
            f"ORDER BY CreatedDate, Id LIMIT {CHILD_LIMIT}) "
            f"FROM Account WHERE {self._account_where(query)} ORDER BY Name, Id LIMIT {limit}"
        )
        accounts = [self._account(row, shape) for row in self.client.query_list(soql)]
        if query.kind is QueryKind.STRIPE_CUSTOMER:
            # SOQL compares text case-insensitively; Stripe ids are case-sensitive.
            accounts = [a for a in accounts if a.stripe_customer_id == query.text]
        return accounts

    def count_accounts(self, query: LookupQuery) -> int:
        return self.client.count(f"SELECT COUNT() FROM Account WHERE {self._account_where(query)}")

    def accounts_holding(self, customer_ids: Sequence[str]) -> list[AccountRef]:
        field = self.shape.stripe_field
        wanted = set(customer_ids)
        found: list[AccountRef] = []
        for chunk in chunks(sorted(wanted)):
            soql = f"SELECT Id, Name, {field} FROM Account WHERE {field} IN {in_list(chunk)}"
            for row in self.client.query(soql):
                ref = AccountRef(row["Id"], row.get("Name"), _text(row.get(field)))
                if ref.stripe_customer_id in wanted:
                    found.append(ref)
        return found

    def payment_methods(self, query: LookupQuery, limit: int) -> list[PaymentMethodRecord]:
        shape = self.shape
        if query.kind is QueryKind.PAYMENT_METHOD_ID:
            where = f"Id = {quote(query.text)}"
        elif query.kind is QueryKind.TOKEN:
            where = f"{shape.token_field} = {quote(query.text)}"
        else:
            raise ValueError(f"payment methods are found by Id or token, not by {query.kind}")
        soql = (
            f"{shape.pm_select(parent_account=True)} FROM {PAYMENT_METHOD} WHERE {where} "
            f"ORDER BY CreatedDate, Id LIMIT {limit}"
        )
        records = []
        for row in self.client.query_list(soql):
            account = row.get(ACCOUNT_RELATIONSHIP) or {}
            ref = AccountRef(
                row.get(ACCOUNT_FIELD) or account.get("Id") or "",
                account.get("Name"),
                _text(account.get(shape.stripe_field)),
            )
            records.append(self._payment_method(row, ref, shape))
        if query.kind is QueryKind.TOKEN:
            records = [r for r in records if r.token == query.text]
        return records

    def record_url(self, record_id: str) -> str:
        return self.client.record_url(record_id)

    # --- discovery ------------------------------------------------------------------------

    @property
    def shape(self) -> _Shape:
        """Field and relationship names for this org, from describes cached by the client."""
        with self._lock:
            if self._shape is None:
                self._shape = self._discover()
            return self._shape

    def _discover(self) -> _Shape:
        client, settings = self.client, self.settings
        stripe_field = client.stripe_customer_field
        token_field = settings.sf_token_field
        pm_fields = client.field_names(PAYMENT_METHOD)
        needed = [f for f in (ACCOUNT_FIELD, "blng__Active__c", token_field) if f not in pm_fields]
        if needed:
            raise ConfigurationError(
                f"{PAYMENT_METHOD} has no {', '.join(needed)} visible to the integration user"
                + (" (check SF_TOKEN_FIELD)" if token_field in needed else "")
            )
        fields = ["Id", ACCOUNT_FIELD, "blng__Active__c", token_field]
        fields += [f for f in OPTIONAL_PM_FIELDS if f in pm_fields]
        pm_stripe = settings.sf_pm_stripe_customer_field
        if pm_stripe and pm_stripe in pm_fields:
            fields.append(pm_stripe)
        gateway_fields: list[str] = []
        if GATEWAY_FIELD in pm_fields and client.has_object(GATEWAY):
            available = client.field_names(GATEWAY)
            gateway_fields = [f for f in GATEWAY_FIELDS if f in available]
        return _Shape(
            stripe_field=stripe_field,
            token_field=token_field,
            pm_stripe_field=pm_stripe if pm_stripe in fields else None,
            pm_fields=tuple(dict.fromkeys(fields)),
            gateway_fields=tuple(gateway_fields),
            children=child_relationship(client.describe("Account"), PAYMENT_METHOD, ACCOUNT_FIELD),
        )

    # --- SOQL and rows ------------------------------------------------------------------------

    def _account_where(self, query: LookupQuery) -> str:
        if query.kind is QueryKind.ACCOUNT_ID:
            return f"Id = {quote(query.text)}"
        if query.kind is QueryKind.STRIPE_CUSTOMER:
            return f"{self.shape.stripe_field} = {quote(query.text)}"
        if query.kind is QueryKind.NAME:
            return f"Name LIKE {like(query.text)}"
        raise ValueError(f"Accounts are not found by {query.kind}")

    def _account(self, row: dict[str, Any], shape: _Shape) -> AccountRecord:
        ref = AccountRef(row["Id"], row.get("Name"), _text(row.get(shape.stripe_field)))
        children = (row.get(shape.children) or {}).get("records") or []
        methods = tuple(self._payment_method(child, ref, shape) for child in children)
        return AccountRecord(ref.id, ref.name, ref.stripe_customer_id, methods)

    def _payment_method(
        self, row: dict[str, Any], account: AccountRef, shape: _Shape
    ) -> PaymentMethodRecord:
        gateway_id = row.get(GATEWAY_FIELD)
        parent = row.get(GATEWAY_RELATIONSHIP)
        gateway = (
            GatewayRecord(
                gateway_id,
                parent.get("Name"),
                parent.get("blng__GatewayType__c"),
                parent.get("blng__Active__c"),
            )
            if gateway_id and parent
            else None
        )
        return PaymentMethodRecord(
            id=row["Id"],
            name=row.get("Name"),
            account=account,
            active=row.get("blng__Active__c"),
            autopay=row.get("blng__AutoPay__c"),
            payment_type=row.get("blng__PaymentType__c"),
            token=_text(row.get(shape.token_field)),
            gateway_id=gateway_id,
            gateway=gateway,
            card_type=row.get("blng__CardType__c"),
            card_last4=row.get("blng__CardLastFour__c"),
            card_exp_month=_text(row.get("blng__CardExpirationMonth__c")),
            card_exp_year=_text(row.get("blng__CardExpirationYear__c")),
            stripe_customer_id=_text(row.get(shape.pm_stripe_field))
            if shape.pm_stripe_field
            else None,
        )


@dataclass(frozen=True)
class _Shape:
    """What discovery found: the names this org's SOQL is written with."""

    stripe_field: str
    token_field: str
    pm_stripe_field: str | None
    pm_fields: tuple[str, ...]
    gateway_fields: tuple[str, ...]
    children: str  # the Account -> payment methods child relationship

    def pm_select(self, *, parent_account: bool) -> str:
        """`SELECT …` of a payment method with its gateway (and, from the payment method's
        side, its Account) as parent fields."""
        fields = list(self.pm_fields)
        fields += [f"{GATEWAY_RELATIONSHIP}.{f}" for f in self.gateway_fields]
        if parent_account:
            fields += [f"{ACCOUNT_RELATIONSHIP}.{f}" for f in ("Name", self.stripe_field)]
        return "SELECT " + ", ".join(fields)


def child_relationship(describe: dict[str, Any], child: str, field: str) -> str:
    """The name of the child relationship (as used in a subquery's FROM) from describe."""
    for rel in describe.get("childRelationships", []):
        if rel.get("childSObject") == child and rel.get("field") == field:
            name = rel.get("relationshipName")
            if name:
                return name
    raise ConfigurationError(
        f"Account describe lists no child relationship for {child}.{field}: is Salesforce "
        "Billing installed, and can the integration user read payment methods?"
    )


def _text(value: Any) -> str | None:
    """A text field as the bot judges it: blank is None; anything else exactly as stored
    (a stray space in a Stripe id is a defect the connector would trip on, not noise)."""
    if value is None or not str(value).strip():
        return None
    return str(value)
