"""In-memory Salesforce and Stripe for import unit tests, and a CSV builder.

The fakes answer like the real adapters (Ids as given, names without regard to case) and
record every call, so tests can assert that cross-checks are batched.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from commands.ids import to_18
from commands.imports import (
    AccountRecord,
    GatewayRecord,
    ImportReport,
    Limits,
    PaymentMethodRecord,
    Scenario,
    prepare_import,
)
from commands.stripe_facts import Found, StripeCustomer, StripePaymentMethod

TODAY = date(2026, 6, 15)
GATEWAY_PREFIX = "a0G"

# Headers of the three scenarios, as an admin would write them.
PAYMENT_METHOD_COLUMNS = ["Payment Gateway (record ID)", "Active", "Payment Gateway Token"]
NEW_HEADER = ["Account Name", "Stripe Customer ID", *PAYMENT_METHOD_COLUMNS]
EXISTING_HEADER = ["Account Id", "Stripe Customer ID", *PAYMENT_METHOD_COLUMNS]
PM_HEADER = ["Account Id", *PAYMENT_METHOD_COLUMNS]


def sf_id(prefix: str, n: int) -> str:
    """A valid 18-character Id with the given key prefix."""
    return to_18(f"{prefix}{n:012d}")


ACME = sf_id("001", 1)
GLOBEX = sf_id("001", 2)
TWIN_A = sf_id("001", 3)
TWIN_B = sf_id("001", 4)
GATEWAY = sf_id(GATEWAY_PREFIX, 1)
GATEWAY_OFF = sf_id(GATEWAY_PREFIX, 2)
GATEWAY_OTHER = sf_id(GATEWAY_PREFIX, 3)


def csv_bytes(*lines: Iterable[str] | str, delimiter: str = ",") -> bytes:
    """Rows of cells (or ready lines) joined into a CSV file."""
    out = []
    for line in lines:
        out.append(line if isinstance(line, str) else delimiter.join(line))
    return ("\n".join(out) + "\n").encode()


def prepare(
    data: bytes,
    scenario: Scenario | None = None,
    *,
    directory: FakeDirectory | None = None,
    stripe: FakeStripe | None = None,
    limits: Limits | None = None,
) -> ImportReport:
    return prepare_import(
        data,
        filename="test.csv",
        scenario=scenario,
        directory=directory,
        stripe=stripe,
        limits=limits or Limits(),
        today=TODAY,
    )


def codes(report: ImportReport, line: int | None = None) -> list[str]:
    return [p.code for p in report.problems if line is None or p.line == line]


@dataclass
class FakeDirectory:
    accounts: list[AccountRecord] = field(default_factory=list)
    gateways: list[GatewayRecord] = field(default_factory=list)
    payment_methods: list[PaymentMethodRecord] = field(default_factory=list)
    stripe_customer_field: str = "Stripe_Customer_Id__c"
    token_field: str = "blng__PaymentGatewayToken__c"
    calls: list[tuple[str, int]] = field(default_factory=list)  # (method, number of keys)
    fail: Exception | None = None

    @classmethod
    def standard(cls) -> FakeDirectory:
        return cls(
            accounts=[
                AccountRecord(ACME, "Acme Corporation", "cus_acme"),
                AccountRecord(GLOBEX, "Globex", None),
                AccountRecord(TWIN_A, "Springfield Nuclear", "cus_twin_a"),
                AccountRecord(TWIN_B, "Springfield Nuclear", None),
            ],
            gateways=[
                GatewayRecord(GATEWAY, "Stripe", True, "Stripe"),
                GatewayRecord(GATEWAY_OFF, "Old Stripe", False, "Stripe"),
                GatewayRecord(GATEWAY_OTHER, "Authorize", True, "AuthorizeDotNet"),
            ],
            payment_methods=[PaymentMethodRecord(sf_id("a0M", 1), ACME, "pm_acme_1", True)],
        )

    def _called(self, name: str, keys: Collection[str]) -> None:
        self.calls.append((name, len(keys)))
        if self.fail:
            raise self.fail

    def gateway_key_prefix(self) -> str | None:
        return GATEWAY_PREFIX

    def accounts_by_id(self, ids: Collection[str]) -> dict[str, AccountRecord]:
        self._called("accounts_by_id", ids)
        found = {a.id: a for a in self.accounts}
        return {i: found[to_18(i)] for i in ids if to_18(i) in found}

    def accounts_by_name(self, names: Collection[str]) -> dict[str, list[AccountRecord]]:
        self._called("accounts_by_name", names)
        return {
            n: matches
            for n in names
            if (matches := [a for a in self.accounts if a.name.casefold() == n.casefold()])
        }

    def accounts_by_stripe_id(self, ids: Collection[str]) -> dict[str, list[AccountRecord]]:
        self._called("accounts_by_stripe_id", ids)
        return {
            i: matches
            for i in ids
            if (matches := [a for a in self.accounts if a.stripe_customer_id == i])
        }

    def gateways_by_id(self, ids: Collection[str]) -> dict[str, GatewayRecord]:
        self._called("gateways_by_id", ids)
        found = {g.id: g for g in self.gateways}
        return {i: found[to_18(i)] for i in ids if to_18(i) in found}

    def payment_methods_by_token(
        self, tokens: Collection[str]
    ) -> dict[str, list[PaymentMethodRecord]]:
        self._called("payment_methods_by_token", tokens)
        return {
            t: matches
            for t in tokens
            if (matches := [p for p in self.payment_methods if p.token == t])
        }


@dataclass
class FakeStripe:
    customers_: dict[str, StripeCustomer] = field(default_factory=dict)
    methods: dict[str, StripePaymentMethod] = field(default_factory=dict)
    livemode: bool = False
    calls: list[tuple[str, int]] = field(default_factory=list)
    unavailable: bool = False

    def add_customer(self, cus: str, status: Found = Found.FOUND) -> FakeStripe:
        self.customers_[cus] = StripeCustomer(cus, status)
        return self

    def add_card(
        self, pm: str, customer: str | None, exp: tuple[int, int] = (12, 2030), **kw: object
    ) -> FakeStripe:
        self.methods[pm] = StripePaymentMethod(
            pm,
            Found.FOUND,
            customer=customer,
            type="card",
            brand="visa",
            last4="4242",
            exp_month=exp[0],
            exp_year=exp[1],
            **kw,  # type: ignore[arg-type]
        )
        return self

    def customers(self, ids: Iterable[str]) -> dict[str, StripeCustomer]:
        ids = list(ids)
        self.calls.append(("customers", len(ids)))
        return {i: self._answer(i, self.customers_, StripeCustomer) for i in ids}

    def payment_methods(self, ids: Iterable[str]) -> dict[str, StripePaymentMethod]:
        ids = list(ids)
        self.calls.append(("payment_methods", len(ids)))
        return {i: self._answer(i, self.methods, StripePaymentMethod) for i in ids}

    def _answer(self, object_id, known, kind):  # noqa: ANN001, ANN202 - two dataclass kinds
        if self.unavailable:
            return kind(object_id, Found.UNAVAILABLE, error="Stripe could not be reached")
        return known.get(object_id) or kind(object_id, Found.MISSING)

    def dashboard_url(self, object_id: str) -> str:
        return f"https://dashboard.stripe.com/test/{object_id}"


def stripe_customer_with_cards(client: Any, name: str, cards: int = 1) -> tuple[str, list[str]]:
    """A customer in the Stripe stand-in (through a `stripe.StripeClient`) with attached cards,
    unknown to Salesforce: what an admin's import file of new customers points at."""
    customer = client.v1.customers.create(params={"name": name})
    tokens = []
    for _ in range(cards):
        card = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}
        method = client.v1.payment_methods.create(params={"type": "card", "card": card})
        client.v1.payment_methods.attach(method.id, params={"customer": customer.id})
        tokens.append(method.id)
    return customer.id, tokens
