"""The port the audit reads Salesforce through, and the rows it answers with.

The audit states *which* question it asks (a check code); the adapter
(`bot/salesforce/audit_source.py`) decides *how* Salesforce answers it: an aggregate
`SELECT COUNT()` or `GROUP BY … HAVING` wherever Salesforce can count, a filtered query for
the offending records, and paged queries with flat memory where the judgement needs Python
(well-formed Stripe IDs) or Stripe (the cross-check). A
check that cannot run raises `commands.errors.NotReadable` (object missing, no permission) or
another `UpstreamError`; the audit turns that into an `unknown` status with the reason.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

# The checks whose offending records one filter finds: `count(code)` and `rows(code, …)`.
FILTER_CHECKS = (
    "account_missing_stripe_id",
    "duplicate_stripe_customer_id",
    "pm_missing_gateway",
    "pm_missing_token",
    "pm_inactive",
    "pm_single_use_token",
    "pm_legacy_token",
    "card_expired",
    "card_expiring",
    "autopay_inactive",
    "failed_transactions",
    "locked_invoices",
)


@dataclass(frozen=True, slots=True)
class GatewayRow:
    id: str
    name: str
    type: str | None
    active: bool
    default: bool


@dataclass(frozen=True, slots=True)
class PaymentMethodRow:
    id: str
    name: str
    account_id: str
    account_name: str
    account_stripe_id: str | None
    active: bool
    autopay: bool
    gateway_id: str | None
    token: str | None  # whole here; masked before it is shown anywhere
    exp_month: str | None
    exp_year: str | None


@dataclass(frozen=True, slots=True)
class AccountRow:
    id: str
    name: str
    stripe_customer_id: str | None
    shared_by: int = 0  # duplicate_stripe_customer_id: how many Accounts hold the same ID


@dataclass(frozen=True, slots=True)
class TransactionRow:
    id: str
    name: str
    account_name: str
    gateway_status: str | None
    when: str | None


@dataclass(frozen=True, slots=True)
class InvoiceRow:
    id: str
    name: str
    account_name: str
    corrective_action: str | None
    locked: bool


Row = PaymentMethodRow | AccountRow | TransactionRow | InvoiceRow


class AuditSource(Protocol):
    def record_url(self, record_id: str) -> str: ...

    def batch_size_records(self) -> list[dict[str, Any]]:
        """Every `blng__BillingConfig__c` record (Name, values, Description)."""
        ...

    def gateways(self) -> list[GatewayRow]: ...

    def count(self, check: str) -> int:
        """How many records a filter check flags, counted by Salesforce."""
        ...

    def rows(self, check: str, limit: int) -> Iterator[Row]:
        """The records a filter check flags, at most `limit`, paged."""
        ...

    def iter_stripe_ids(self) -> Iterator[AccountRow]:
        """Every Account whose Stripe Customer ID field is filled in, paged with flat memory:
        SOQL compares text case-insensitively and has no patterns, so whether an ID is
        well-formed is judged here, record by record."""
        ...

    def iter_payment_methods(self) -> Iterator[PaymentMethodRow]:
        """Every payment method, ordered by Account, paged with flat memory: the Stripe
        cross-check reads them as a stream."""
        ...


@dataclass(frozen=True)
class AuditWindow:
    """The dates the audit judges against, fixed once per run so every check agrees."""

    today: date
    expiring_days: int = 30
    transaction_days: int = 7

    @property
    def current_month(self) -> tuple[int, int]:
        return (self.today.year, self.today.month)

    @property
    def expiring_months(self) -> list[tuple[int, int]]:
        """Months whose cards are still valid today but stop within `expiring_days`: a card
        works through the last day of its expiry month."""
        horizon = self.today + timedelta(days=self.expiring_days)
        months = []
        year, month = self.current_month
        while _month_end(year, month) <= horizon:
            months.append((year, month))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return months

    def card_state(self, month: str | None, year: str | None) -> str | None:
        """'expired', 'expiring' or None (valid, or no usable expiry on the record)."""
        parsed = parse_expiry(month, year)
        if parsed is None:
            return None
        if parsed < self.current_month:
            return "expired"
        if parsed in self.expiring_months:
            return "expiring"
        return None


def parse_expiry(month: str | None, year: str | None) -> tuple[int, int] | None:
    try:
        m, y = int(str(month).strip()), int(str(year).strip())
    except (TypeError, ValueError):
        return None
    if not 1 <= m <= 12:
        return None
    if y < 100:  # "27" on some imported records
        y += 2000
    return (y, m)


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])
