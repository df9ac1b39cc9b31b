"""The audit's questions as SOQL (implements `commands.audit.source.AuditSource`).

Salesforce counts: each filter check is one `SELECT COUNT() … WHERE …` (semi-joins such as
`Id IN (SELECT blng__Account__c FROM blng__PaymentMethod__c …)` count Accounts, not payment
methods), duplicates are one `GROUP BY … HAVING COUNT(Id) > 1`, and only the offending records
are then fetched, up to the audit's cap. The two record-level streams (Accounts with a Stripe
ID, every payment method for the Stripe cross-check) go through `SalesforceClient.query`,
which holds one page (≤2,000 records) at a time. An object the integration user cannot read
raises `NotReadable`, which the audit reports as `unknown` with Salesforce's reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from bot.salesforce.billing_config import billing_config_records
from bot.salesforce.client import SalesforceClient
from bot.salesforce.soql import chunks, in_list, like, quote
from commands.audit.source import (
    AccountRow,
    AuditWindow,
    GatewayRow,
    InvoiceRow,
    PaymentMethodRow,
    Row,
    TransactionRow,
)
from commands.errors import ConfigurationError
from commands.ids import LEGACY_TOKEN_PREFIXES, SINGLE_USE_TOKEN_PREFIXES, is_stripe_customer_id

PM = "blng__PaymentMethod__c"
CREDIT_CARD = "Credit Card"
OLDEST_CARD_YEAR = 2000  # expiry years before this are not on any card still on file
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Filter:
    sobject: str
    where: str


class SalesforceAuditSource:
    def __init__(self, client: SalesforceClient, window: AuditWindow):
        self.client = client
        self.window = window

    # --- names that vary by org -------------------------------------------------------------

    @cached_property
    def stripe_field(self) -> str:
        return _identifier(self.client.stripe_customer_field, "the Stripe Customer ID field")

    @cached_property
    def token_field(self) -> str:
        return _identifier(self.client.settings.sf_token_field, "SF_TOKEN_FIELD")

    # --- AuditSource --------------------------------------------------------------------------

    def record_url(self, record_id: str) -> str:
        return self.client.record_url(record_id)

    def batch_size_records(self) -> list[dict[str, Any]]:
        return billing_config_records(self.client)

    def gateways(self) -> list[GatewayRow]:
        records = self.client.query(
            "SELECT Id, Name, blng__GatewayType__c, blng__Active__c, blng__Default__c "
            "FROM blng__PaymentGateway__c ORDER BY Name"
        )
        return [
            GatewayRow(
                r["Id"],
                r.get("Name") or r["Id"],
                r.get("blng__GatewayType__c"),
                bool(r.get("blng__Active__c")),
                bool(r.get("blng__Default__c")),
            )
            for r in records
        ]

    def count(self, check: str) -> int:
        if check == "duplicate_stripe_customer_id":
            return sum(self._duplicate_ids().values())
        f = self._filter(check)
        return self.client.count(f"SELECT COUNT() FROM {f.sobject} WHERE {f.where}")

    def rows(self, check: str, limit: int) -> Iterator[Row]:
        if check == "duplicate_stripe_customer_id":
            yield from self._duplicate_rows(limit)
            return
        f = self._filter(check)
        fields, convert = self._shape(f.sobject)
        soql = f"SELECT {fields} FROM {f.sobject} WHERE {f.where} ORDER BY Id LIMIT {int(limit)}"
        for record in self.client.query(soql):
            yield convert(record)

    def iter_stripe_ids(self) -> Iterator[AccountRow]:
        soql = (
            f"SELECT Id, Name, {self.stripe_field} FROM Account WHERE {self.stripe_field} != null"
        )
        for record in self.client.query(soql):
            yield self._account(record)

    def iter_payment_methods(self) -> Iterator[PaymentMethodRow]:
        fields, convert = self._shape(PM, with_stripe_id=True)
        soql = f"SELECT {fields} FROM {PM} ORDER BY blng__Account__c, Id"
        for record in self.client.query(soql):
            yield convert(record)

    # --- the filters --------------------------------------------------------------------------

    def _filter(self, check: str) -> Filter:
        token = self.token_field
        has_pm = f"Id IN (SELECT blng__Account__c FROM {PM})"
        filters = {
            "account_missing_stripe_id": lambda: Filter(
                "Account", f"{self.stripe_field} = null AND {has_pm}"
            ),
            "autopay_inactive": lambda: Filter(
                "Account",
                f"Id IN (SELECT blng__Account__c FROM {PM} "
                "WHERE blng__AutoPay__c = true AND blng__Active__c = false)",
            ),
            "pm_missing_gateway": lambda: Filter(PM, "blng__PaymentGateway__c = null"),
            "pm_missing_token": lambda: Filter(PM, f"{token} = null"),
            "pm_inactive": lambda: Filter(PM, "blng__Active__c = false"),
            "pm_single_use_token": lambda: Filter(
                PM, _starts_with_any(token, SINGLE_USE_TOKEN_PREFIXES)
            ),
            "pm_legacy_token": lambda: Filter(PM, _starts_with_any(token, LEGACY_TOKEN_PREFIXES)),
            "card_expired": lambda: Filter(PM, self._cards(self._expired())),
            "card_expiring": lambda: Filter(PM, self._cards(self._expiring())),
            "failed_transactions": lambda: Filter(
                "blng__PaymentTransaction__c",
                "blng__GatewayStatus__c != null AND blng__GatewayStatus__c != 'Success' "
                f"AND CreatedDate = LAST_N_DAYS:{int(self.window.transaction_days)}",
            ),
            "locked_invoices": lambda: Filter(
                "blng__Invoice__c",
                "(blng__CorrectiveAction__c = 'Action Required' OR blng__InvoiceLocked__c = true)",
            ),
        }
        return filters[check]()

    @staticmethod
    def _cards(expiry: str) -> str:
        return f"blng__PaymentType__c = {quote(CREDIT_CARD)} AND ({expiry})"

    def _expired(self) -> str:
        year, month = self.window.current_month
        past_years = [str(y) for y in range(OLDEST_CARD_YEAR, year)]
        earlier = [(year, m) for m in range(1, month)]
        terms = [f"blng__CardExpirationYear__c IN {in_list(past_years)}"]
        if earlier:
            terms.append(_in_months(earlier))
        return " OR ".join(terms)

    def _expiring(self) -> str:
        return _in_months(self.window.expiring_months)

    # --- duplicates: Salesforce groups, Python keeps the well-formed IDs --------------------

    def _duplicate_ids(self) -> dict[str, int]:
        field = self.stripe_field
        soql = (
            f"SELECT {field}, COUNT(Id) n FROM Account WHERE {field} LIKE "
            f"{_prefix_pattern('cus_')} GROUP BY {field} HAVING COUNT(Id) > 1"
        )
        return {
            r[field]: int(r["n"])
            for r in self.client.query(soql)
            if is_stripe_customer_id(r.get(field) or "")
        }

    def _duplicate_rows(self, limit: int) -> Iterator[AccountRow]:
        shared = self._duplicate_ids()
        field, sent = self.stripe_field, 0
        for ids in chunks(sorted(shared)):
            soql = f"SELECT Id, Name, {field} FROM Account WHERE {field} IN {in_list(ids)} "
            for record in self.client.query(soql + "ORDER BY Id"):
                row = self._account(record)
                value = row.stripe_customer_id or ""
                if value in shared and sent < limit:
                    sent += 1
                    yield AccountRow(row.id, row.name, value, shared[value])

    # --- records to rows ----------------------------------------------------------------------

    def _shape(self, sobject: str, with_stripe_id: bool = False) -> tuple[str, Any]:
        """The fields to select and the row maker. Payment methods carry their Account's
        Stripe ID only for the Stripe cross-check, so the Salesforce-only checks still run
        in an org where that field cannot be discovered."""
        if sobject == PM:
            stripe = self.stripe_field if with_stripe_id else None
            selected = f"blng__Account__r.{stripe}, " if stripe else ""
            return (
                f"Id, Name, blng__Account__c, blng__Account__r.Name, {selected}"
                f"blng__Active__c, blng__AutoPay__c, blng__PaymentGateway__c, "
                f"{self.token_field}, blng__CardExpirationMonth__c, blng__CardExpirationYear__c",
                lambda r: self._payment_method(r, stripe),
            )
        if sobject == "Account":
            return f"Id, Name, {self.stripe_field}", self._account
        if sobject == "blng__PaymentTransaction__c":
            return (
                "Id, Name, blng__Account__r.Name, blng__GatewayStatus__c, CreatedDate",
                _transaction,
            )
        return (
            "Id, Name, blng__Account__r.Name, blng__CorrectiveAction__c, blng__InvoiceLocked__c",
            _invoice,
        )

    def _account(self, r: dict[str, Any]) -> AccountRow:
        return AccountRow(r["Id"], r.get("Name") or r["Id"], r.get(self.stripe_field))

    def _payment_method(self, r: dict[str, Any], stripe_field: str | None) -> PaymentMethodRow:
        account = r.get("blng__Account__r") or {}
        return PaymentMethodRow(
            id=r["Id"],
            name=r.get("Name") or r["Id"],
            account_id=r.get("blng__Account__c") or "",
            account_name=account.get("Name") or "",
            account_stripe_id=account.get(stripe_field) if stripe_field else None,
            active=bool(r.get("blng__Active__c")),
            autopay=bool(r.get("blng__AutoPay__c")),
            gateway_id=r.get("blng__PaymentGateway__c"),
            token=r.get(self.token_field),
            exp_month=r.get("blng__CardExpirationMonth__c"),
            exp_year=r.get("blng__CardExpirationYear__c"),
        )


def _transaction(r: dict[str, Any]) -> TransactionRow:
    return TransactionRow(
        r["Id"],
        r.get("Name") or r["Id"],
        (r.get("blng__Account__r") or {}).get("Name") or "",
        r.get("blng__GatewayStatus__c"),
        r.get("CreatedDate"),
    )


def _invoice(r: dict[str, Any]) -> InvoiceRow:
    return InvoiceRow(
        r["Id"],
        r.get("Name") or r["Id"],
        (r.get("blng__Account__r") or {}).get("Name") or "",
        r.get("blng__CorrectiveAction__c"),
        bool(r.get("blng__InvoiceLocked__c")),
    )


def _identifier(name: str, what: str) -> str:
    """Field names come from settings or describe, not from users, but they are pasted into
    SOQL as names: anything that is not a plain API name is refused."""
    if not name or not _IDENTIFIER.match(name):
        raise ConfigurationError(f"{what} {name!r} is not a Salesforce field API name")
    return name


def _prefix_pattern(prefix: str) -> str:
    """A LIKE pattern for text starting with `prefix` (its `_` matched literally)."""
    return like(prefix, contains=False)[:-1] + "%'"


def _starts_with_any(field: str, prefixes: tuple[str, ...]) -> str:
    return "(" + " OR ".join(f"{field} LIKE {_prefix_pattern(p)}" for p in prefixes) + ")"


def _in_months(months: list[tuple[int, int]]) -> str:
    """Picklist text, so months are matched in both spellings Billing orgs hold (`03`, `3`)."""
    terms = []
    for year, group in _by_year(months).items():
        spellings = sorted({f"{m:02d}" for m in group} | {str(m) for m in group})
        terms.append(
            f"(blng__CardExpirationYear__c = {quote(str(year))} AND "
            f"blng__CardExpirationMonth__c IN {in_list(spellings)})"
        )
    return " OR ".join(terms)


def _by_year(months: list[tuple[int, int]]) -> dict[int, list[int]]:
    grouped: dict[int, list[int]] = {}
    for year, month in months:
        grouped.setdefault(year, []).append(month)
    return grouped
