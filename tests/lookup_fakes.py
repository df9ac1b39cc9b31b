"""In-memory stand-ins for the ports `customer` and `pm` declare, for unit tests.

`FakeDirectory` answers like `bot/salesforce/lookups.py` does (name contains, case-folded;
Ids; exact Stripe Customer IDs) and counts the questions asked; `FakeStripe` answers from
dicts, or UNAVAILABLE for everything when `down`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from commands.lookups.query import LookupQuery, QueryKind
from commands.lookups.records import (
    AccountRecord,
    AccountRef,
    GatewayRecord,
    PaymentMethodRecord,
)
from commands.stripe_facts import Found, StripeCustomer, StripePaymentMethod

PM_PREFIX = "a0M"
STRIPE_GATEWAY = GatewayRecord("a0G000000000001AAA", "Stripe", "Stripe", True)


def sf_id(prefix: str, n: int) -> str:
    """A 15-character Id (no checksum to get wrong)."""
    return f"{prefix}{n:012d}"


def account(
    n: int, name: str, customer: str | None = None, methods: Iterable[dict] = ()
) -> AccountRecord:
    acc = AccountRecord(sf_id("001", n), name, customer)
    pms = tuple(payment_method(acc.ref, n * 10 + i, **m) for i, m in enumerate(methods))
    return replace(acc, payment_methods=pms)


def payment_method(owner: AccountRef, n: int, **fields) -> PaymentMethodRecord:
    values = {
        "id": sf_id(PM_PREFIX, n),
        "name": f"PM-{n:05d}",
        "account": owner,
        "active": True,
        "autopay": False,
        "payment_type": "Credit Card",
        "token": f"pm_{n:04d}TestToken4242",
        "gateway_id": STRIPE_GATEWAY.id,
        "gateway": STRIPE_GATEWAY,
    }
    values.update(fields)
    return PaymentMethodRecord(**values)


class FakeDirectory:
    def __init__(self, accounts: Sequence[AccountRecord]):
        self.all = list(accounts)
        self.asked: list[str] = []

    def payment_method_prefix(self) -> str:
        self.asked.append("prefix")
        return PM_PREFIX

    def _match(self, query: LookupQuery) -> list[AccountRecord]:
        if query.kind is QueryKind.ACCOUNT_ID:
            return [a for a in self.all if a.id == query.text]
        if query.kind is QueryKind.STRIPE_CUSTOMER:
            return [a for a in self.all if a.stripe_customer_id == query.text]
        assert query.kind is QueryKind.NAME, query
        return sorted(
            (a for a in self.all if query.text.casefold() in (a.name or "").casefold()),
            key=lambda a: (a.name or "", a.id),
        )

    def accounts(self, query: LookupQuery, limit: int) -> list[AccountRecord]:
        self.asked.append("accounts")
        return self._match(query)[:limit]

    def count_accounts(self, query: LookupQuery) -> int:
        self.asked.append("count")
        return len(self._match(query))

    def accounts_holding(self, customer_ids: Sequence[str]) -> list[AccountRef]:
        self.asked.append("holders")
        return [a.ref for a in self.all if a.stripe_customer_id in set(customer_ids)]

    def payment_methods(self, query: LookupQuery, limit: int) -> list[PaymentMethodRecord]:
        self.asked.append("payment_methods")
        methods = [m for a in self.all for m in a.payment_methods]
        if query.kind is QueryKind.PAYMENT_METHOD_ID:
            return [m for m in methods if m.id == query.text][:limit]
        return [m for m in methods if m.token == query.text][:limit]

    def record_url(self, record_id: str) -> str:
        return f"https://org.example.my.salesforce.com/{record_id}"


class FakeStripe:
    livemode = False

    def __init__(self, customers=(), payment_methods=(), down: bool = False):
        self._customers = {c.id: c for c in customers}
        self._pms = {p.id: p for p in payment_methods}
        self.down = down
        self.asked: list[tuple[str, list[str]]] = []

    def customers(self, ids: Iterable[str]) -> dict[str, StripeCustomer]:
        ids = list(ids)
        self.asked.append(("customers", ids))
        if self.down:
            return {
                i: StripeCustomer(i, Found.UNAVAILABLE, error="Stripe could not be reached")
                for i in ids
            }
        return {i: self._customers.get(i, StripeCustomer(i, Found.MISSING)) for i in ids}

    def payment_methods(self, ids: Iterable[str]) -> dict[str, StripePaymentMethod]:
        ids = list(ids)
        self.asked.append(("payment_methods", ids))
        if self.down:
            return {
                i: StripePaymentMethod(i, Found.UNAVAILABLE, error="Stripe could not be reached")
                for i in ids
            }
        return {i: self._pms.get(i, StripePaymentMethod(i, Found.MISSING)) for i in ids}

    def dashboard_url(self, object_id: str) -> str:
        return f"https://dashboard.stripe.com/test/customers/{object_id}"


def card(token: str, customer: str | None, exp=(12, 2030), **kw) -> StripePaymentMethod:
    values = {"customer": customer, "type": "card", "brand": "visa", "last4": token[-4:]}
    values.update(exp_month=exp[0], exp_year=exp[1], **kw)
    return StripePaymentMethod(token, Found.FOUND, **values)
