"""What the bot needs to know about Stripe objects, and the port that answers it.

`customer`, `pm`, imports and the audit all ask Stripe the same two questions (does this
customer exist, where is this payment method attached), so the answer types live here once.
`bot/stripe_gateway.py` implements the port over the Stripe SDK; tests may pass a fake.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class Found(StrEnum):
    FOUND = "found"
    DELETED = "deleted"
    MISSING = "missing"
    UNAVAILABLE = "unavailable"  # Stripe could not be asked (timeout, outage, bad key)


@dataclass(frozen=True, slots=True)
class StripeCustomer:
    id: str
    status: Found
    name: str | None = None
    email: str | None = None
    default_payment_method: str | None = None
    livemode: bool = False
    error: str | None = None  # why the status is UNAVAILABLE


@dataclass(frozen=True, slots=True)
class StripePaymentMethod:
    id: str
    status: Found
    customer: str | None = None
    type: str | None = None  # card, us_bank_account, ...
    brand: str | None = None
    last4: str | None = None
    exp_month: int | None = None
    exp_year: int | None = None
    livemode: bool = False
    error: str | None = None


class StripePort(Protocol):
    """Read-only questions to Stripe. Implementations bound their own concurrency and rate."""

    livemode: bool

    def customers(self, ids: Iterable[str]) -> dict[str, StripeCustomer]: ...

    def payment_methods(self, ids: Iterable[str]) -> dict[str, StripePaymentMethod]: ...

    def dashboard_url(self, object_id: str) -> str: ...
