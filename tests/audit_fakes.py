"""In-memory stand-ins for the audit's ports: what Salesforce and Stripe would answer.

The fake source is told, per check, which records Salesforce would return; whether the SOQL
filters find exactly those is tested against the Salesforce stand-in (test_audit_e2e.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from commands.audit.source import AccountRow, GatewayRow, PaymentMethodRow, Row
from commands.stripe_facts import Found, StripeCustomer, StripePaymentMethod

BATCH_SIZE_RECORD = {
    "Id": "a0C000000000001AAA",
    "Name": "PAYMENT_CREATION_BATCH_SIZE",
    "blng__Description__c": "Payment creation batch size",
    "blng__NumberValue__c": 70,
}
STRIPE_GATEWAY = GatewayRow("a0G000000000001AAA", "Stripe", "Stripe", True, True)


@dataclass
class FakeSource:
    rows_by_check: dict[str, list[Row]] = field(default_factory=dict)
    stripe_ids: list[AccountRow] = field(default_factory=list)
    payment_methods: list[PaymentMethodRow] = field(default_factory=list)
    config: list[dict[str, Any]] = field(default_factory=lambda: [dict(BATCH_SIZE_RECORD)])
    gateway_rows: list[GatewayRow] = field(default_factory=lambda: [STRIPE_GATEWAY])
    failures: dict[str, Exception] = field(default_factory=dict)  # check code (or method)
    fail_once: dict[str, Exception] = field(default_factory=dict)  # raised the first time
    asked: list[str] = field(default_factory=list)

    def _maybe_fail(self, key: str) -> None:
        self.asked.append(key)
        if key in self.fail_once:
            raise self.fail_once.pop(key)
        if key in self.failures:
            raise self.failures[key]

    def record_url(self, record_id: str) -> str:
        return f"https://example.my.salesforce.com/{record_id}"

    def batch_size_records(self) -> list[dict[str, Any]]:
        self._maybe_fail("batch_size")
        return self.config

    def gateways(self) -> list[GatewayRow]:
        self._maybe_fail("stripe_gateway")
        return self.gateway_rows

    def count(self, check: str) -> int:
        self._maybe_fail(check)
        return len(self.rows_by_check.get(check, []))

    def rows(self, check: str, limit: int) -> Iterator[Row]:
        self._maybe_fail("rows:" + check)
        yield from self.rows_by_check.get(check, [])[:limit]

    def iter_stripe_ids(self) -> Iterator[AccountRow]:
        self._maybe_fail("iter_stripe_ids")
        yield from self.stripe_ids

    def iter_payment_methods(self) -> Iterator[PaymentMethodRow]:
        self._maybe_fail("iter_payment_methods")
        yield from sorted(self.payment_methods, key=lambda r: (r.account_id, r.id))


@dataclass
class FakeStripe:
    """Answers from dictionaries; anything not listed is MISSING. Records every request."""

    pms: dict[str, StripePaymentMethod] = field(default_factory=dict)
    customer_answers: dict[str, StripeCustomer] = field(default_factory=dict)
    pm_requests: list[list[str]] = field(default_factory=list)
    customer_requests: list[list[str]] = field(default_factory=list)
    livemode: bool = False

    def attach(self, pm_id: str, customer: str | None) -> None:
        self.pms[pm_id] = StripePaymentMethod(pm_id, Found.FOUND, customer=customer)

    def customer(self, customer_id: str, status: Found = Found.FOUND) -> None:
        self.customer_answers[customer_id] = StripeCustomer(customer_id, status)

    def payment_methods(self, ids: Iterable[str]) -> dict[str, StripePaymentMethod]:
        ids = list(ids)
        self.pm_requests.append(ids)
        return {i: self.pms.get(i, StripePaymentMethod(i, Found.MISSING)) for i in ids}

    def customers(self, ids: Iterable[str]) -> dict[str, StripeCustomer]:
        ids = list(ids)
        self.customer_requests.append(ids)
        return {i: self.customer_answers.get(i, StripeCustomer(i, Found.MISSING)) for i in ids}

    def dashboard_url(self, object_id: str) -> str:
        return f"https://dashboard.stripe.com/test/{object_id}"


def pm_row(
    n: int,
    *,
    account: str = "001000000000001AAA",
    account_name: str = "Acme Corporation",
    stripe_id: str | None = "cus_Acme0001",
    token: str | None = None,
    active: bool = True,
    autopay: bool = False,
) -> PaymentMethodRow:
    return PaymentMethodRow(
        id=f"a0M{n:012d}AAA",
        name=f"PM-{n:07d}",
        account_id=account,
        account_name=account_name,
        account_stripe_id=stripe_id,
        active=active,
        autopay=autopay,
        gateway_id=STRIPE_GATEWAY.id,
        token=token if token is not None else f"pm_Fake{n:010d}",
        exp_month="12",
        exp_year="2031",
    )
