"""The Salesforce records `customer` and `pm` read, and the port that fetches them.

`bot/salesforce/lookups.py` implements `LookupDirectory` over the REST API (one SOQL query
per question: Accounts come with their payment methods through a child subquery, payment
methods with their Account and gateway through parent fields); tests may pass a fake.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from commands.lookups.query import LookupQuery


@dataclass(frozen=True, slots=True)
class GatewayRecord:
    id: str
    name: str | None
    type: str | None
    active: bool | None


@dataclass(frozen=True, slots=True)
class AccountRef:
    id: str
    name: str | None
    stripe_customer_id: str | None


@dataclass(frozen=True, slots=True)
class PaymentMethodRecord:
    id: str
    name: str | None
    account: AccountRef
    active: bool | None
    autopay: bool | None
    payment_type: str | None  # "Credit Card" / "ACH"
    token: str | None  # never leaves the lookup unmasked
    gateway_id: str | None
    gateway: GatewayRecord | None  # None when the lookup is empty or points at nothing
    card_type: str | None = None
    card_last4: str | None = None
    card_exp_month: str | None = None
    card_exp_year: str | None = None
    # The payment method's own Stripe Customer ID field (import scenario 2), where the org
    # has one (SF_PM_STRIPE_CUSTOMER_FIELD).
    stripe_customer_id: str | None = None


@dataclass(frozen=True, slots=True)
class AccountRecord:
    id: str
    name: str | None
    stripe_customer_id: str | None
    payment_methods: tuple[PaymentMethodRecord, ...] = field(default_factory=tuple)

    @property
    def ref(self) -> AccountRef:
        return AccountRef(self.id, self.name, self.stripe_customer_id)


class LookupDirectory(Protocol):
    """Read-only questions to Salesforce. Every value from a `LookupQuery` reaches SOQL
    escaped; a failure raises `commands.errors.SalesforceError`."""

    def payment_method_prefix(self) -> str | None:
        """The org's key prefix for `blng__PaymentMethod__c` (None if it cannot be read)."""
        ...

    def accounts(self, query: LookupQuery, limit: int) -> list[AccountRecord]:
        """Accounts matching a name, Account Id or Stripe Customer ID, with their payment
        methods, ordered by name, at most `limit`."""
        ...

    def count_accounts(self, query: LookupQuery) -> int:
        """How many Accounts match in all (asked only when `accounts` hit its limit)."""
        ...

    def accounts_holding(self, customer_ids: Sequence[str]) -> list[AccountRef]:
        """Every Account whose Stripe Customer ID is one of `customer_ids`."""
        ...

    def payment_methods(self, query: LookupQuery, limit: int) -> list[PaymentMethodRecord]:
        """Payment methods by record Id or gateway token, with Account and gateway."""
        ...

    def record_url(self, record_id: str) -> str: ...
