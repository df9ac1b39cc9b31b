"""Deterministic demo data for both stand-ins, with documented defects in exact counts.

``seed(org, stripe_api_base, stripe_api_key, accounts=N)`` fills the Salesforce stand-in's
``Org`` and a localstripe with matching data: Accounts and their Stripe customers, payment
method records and the Stripe objects their tokens name, gateways, Billing settings, payment
transactions and invoices. A fixed set of named Accounts comes first (lookups and tests find
them by name), then generated ones whose roles repeat every ``len(CYCLE)`` accounts, so every
defect scales with N while its count stays exact. The audit, ``pm`` and ``customer`` commands
are tested against ``SeedReport.expected``.

Deterministic: the same N and ``today`` give the same Salesforce rows (field for field, in the
same order) and the same counts. Only ids minted by the servers differ between runs: Stripe
ids (random in localstripe) and, if the org mints them that way, Salesforce Ids. Card expiry
dates are relative to ``today``: expired cards expire in months before today's month, expiring
cards in today's month, all others at least a year later, so the counts hold for an audit run
in the same calendar month as ``today`` under any day- or month-granular definition.

What each expected count counts (these definitions are the contract with the audit)
-------------------------------------------------------------------------------------
"Stripe ID" is the value of the org's Account Stripe Customer ID field; "well-formed" means
``commands.ids.is_stripe_customer_id``; "blank" means null or only spaces. A "PM" is a
``blng__PaymentMethod__c`` record. "Looked up" tokens are those of kind ``reusable`` (``pm_``)
or ``legacy`` (``card_``/``src_``/``ba_``) per ``commands.ids.token_kind``: a ``tok_`` is not a
payment method, so it is never retrieved as one (it is already ``pm_single_use_token``).

===============================  =========================================================
``batch_size``                    the ``blng__NumberValue__c`` of the Billing Config record
                                  for "Payment creation batch size" (a value, not a count:
                                  50; noise records "Invoice batch size" etc. sit beside it)
``stripe_gateway``                Payment Gateway records with Active = true and a Stripe
                                  type (``Stripe``, ``Stripe (Universal Extension)``): 1, and
                                  it is the default. An inactive Stripe gateway and an active
                                  Authorize.net one exist too
``account_missing_stripe_id``     Accounts with >= 1 PM and a blank Stripe ID (prospects
                                  with no PM and no ID exist and are not counted)
``account_malformed_stripe_id``   Accounts with a non-blank Stripe ID that is not
                                  well-formed (``cus-…``, ``CUS_…``, ``acct_…``, ``cus_ 1…``,
                                  digits only)
``duplicate_stripe_customer_id``  Accounts whose well-formed Stripe ID is on at least one
                                  other Account: a pair counts 2 (IDs shared = count / 2;
                                  the seed makes pairs only)
``pm_missing_gateway``            PMs with a blank ``blng__PaymentGateway__c``
``pm_missing_token``              PMs with a blank ``blng__PaymentGatewayToken__c``
``pm_inactive``                   PMs with ``blng__Active__c`` = false (includes each
                                  ``autopay_inactive`` Account's AutoPay PM)
``pm_single_use_token``           PMs whose token is ``tok_…`` (a real, unused Stripe token)
``pm_legacy_token``               PMs whose token is ``card_…`` (a real legacy card, attached
                                  to the Account's customer, so no Stripe finding)
``card_expired``                  ``Credit Card`` PMs whose expiry month ended before today
``card_expiring``                 ``Credit Card`` PMs not expired whose expiry month ends
                                  within 30 days of today (the seed uses today's month)
``autopay_inactive``              Accounts with a PM that has AutoPay = true and Active = false
``stripe_pm_missing``             PMs with a looked-up token that Stripe does not know
``stripe_pm_other_customer``      PMs with a looked-up token that Stripe knows, on an Account
                                  with a well-formed Stripe ID, where the Stripe object's
                                  customer is not that ID (another customer, or none). PMs of
                                  Accounts with a blank or malformed ID are not compared:
                                  those Accounts are already findings
``stripe_customer_missing``       Accounts whose well-formed Stripe ID Stripe never had
``stripe_customer_deleted``       Accounts whose well-formed Stripe ID was deleted in Stripe
                                  (both: Accounts = IDs, as no such ID is on two Accounts)
``failed_transactions``           Payment Transaction records whose
                                  ``blng__GatewayStatus__c`` is not ``Success`` (``Failure``
                                  or ``Decline``) created in the last 30 days
                                  (``LAST_N_DAYS:30``). Recent ones are 1..10 days old; when
                                  the org may set CreatedDate (``Org(set_audit_fields=True)``)
                                  old failures 120..149 days old are added, so any window of
                                  10..119 days counts the same; otherwise they are left out
                                  and every transaction is created "now"
``locked_invoices``               Invoice records with ``blng__CorrectiveAction__c`` =
                                  ``Action Required``; exactly those have
                                  ``blng__InvoiceLocked__c`` = true (some unlocked invoices
                                  have ``Review Payment``)
===============================  =========================================================

Overlaps (every other defect is alone on its record and Account):

- each ``autopay_inactive`` Account has exactly one PM, its AutoPay PM, in ``pm_inactive``;
- each ``stripe_customer_missing`` Account (a typo'd ID: Stripe has the customer under another
  ID) has exactly one PM, attached to that other customer, in ``stripe_pm_other_customer``.

Scope does not change the counts: every Account with a Stripe ID has at least one PM (so
customers may be checked from Accounts or from their PMs), and inactive PMs, PMs without a
gateway and expired or expiring cards all carry good tokens attached to the right customer (so
the Stripe cross-check may include or skip them).

localstripe caveat: a deleted customer answers 404 there, like one that never existed (real
Stripe answers 200 ``deleted: true``). ``GET /v1/events?type=customer.deleted`` lists the
deleted customers (in both seeding modes), so a client that consults it on a 404 sees
``expected``; one that only retrieves sees the ``stripe_customer_deleted`` Accounts as missing,
and ``SeedReport.expected_on_localstripe`` holds those counts. And
localstripe leaves a deleted customer's payment methods attached to the deleted id (Stripe
would detach them): the seed does not detach them, so they are not ``stripe_pm_other_customer``.

Speed: Stripe objects are created through the Stripe SDK, one HTTP call each, for small seeds
(up to ``SDK_MAX_ACCOUNTS`` accounts), so the wire is exercised. Above that, when the server
is a ``sandbox.stripe`` one, the same operations go in batches to its ``/_sandbox/seed`` route,
which runs them in-process through localstripe's own resource classes: 50,000 accounts take
seconds instead of many minutes. Salesforce rows always go through ``org.create_many``.
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import json
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from commands.audit.catalogue import SPECS
from commands.ids import is_stripe_customer_id, token_kind

SDK_MAX_ACCOUNTS = 200
RECENT_DAYS = 30  # "recent" for failed_transactions; recent ones are 1..10 days old
OLD_DAYS = 120  # old failures are 120..149 days old: outside any window of 10..119 days
BATCH_OPS = 2000  # ops per /_sandbox/seed request: well under aiohttp's 1 MiB body limit
SF_CHUNK = 10_000  # rows per org.create_many call
BATCH_SIZE_VALUE = 50
EXAMPLES_PER_CODE = 5
STRIPE_GATEWAY_TYPES = ("Stripe", "Stripe (Universal Extension)")

# The audit's check codes, in its order: every one gets an exact expected count.
CODES = tuple(SPECS)
ACCOUNT_CODES = frozenset(
    {
        "account_missing_stripe_id",
        "account_malformed_stripe_id",
        "duplicate_stripe_customer_id",
        "autopay_inactive",
        "stripe_customer_missing",
        "stripe_customer_deleted",
    }
)
PM_CODES = frozenset(
    {
        "pm_missing_gateway",
        "pm_missing_token",
        "pm_inactive",
        "pm_single_use_token",
        "pm_legacy_token",
        "card_expired",
        "card_expiring",
        "stripe_pm_missing",
        "stripe_pm_other_customer",
    }
)

# (report key, Account Name, role). Order is part of the determinism contract.
NAMED: tuple[tuple[str, str, str], ...] = (
    ("healthy", "Acme Corporation", "healthy5"),
    ("no_stripe_id", "Globex Corporation", "no_stripe_id"),
    ("malformed_stripe_id", "Initech", "malformed_id"),
    ("deleted_customer", "Hooli", "deleted_customer"),
    ("missing_customer", "Vandelay Industries", "missing_customer"),
    ("other_customer_pm", "Umbrella Corporation", "other_customer_pm"),
    ("detached_pm", "Stark Industries", "detached_pm"),
    ("duplicate_id", "Wayne Enterprises", "dup_a"),
    ("duplicate_id", "Wayne Enterprises EMEA", "dup_b"),
    ("injection", "O'Brien 100% Ltd", "healthy"),
    ("same_name", "Springfield Nuclear", "healthy"),
    ("same_name", "Springfield Nuclear", "healthy"),
    ("prospect", "Pied Piper", "prospect"),
    ("missing_gateway", "Soylent Corp", "pm_missing_gateway"),
    ("missing_token", "Cyberdyne Systems", "pm_missing_token"),
    ("inactive_pm", "Tyrell Corporation", "pm_inactive"),
    ("single_use_token", "Wonka Industries", "tok"),
    ("legacy_token", "Gringotts Bank", "legacy"),
    ("expired_card", "Oscorp", "card_expired"),
    ("expiring_card", "Massive Dynamic", "card_expiring"),
    ("autopay_inactive", "Dunder Mifflin", "autopay_inactive"),
    ("stripe_pm_missing", "Monsters, Inc.", "stripe_pm_missing"),
    ("failed_payment", "Blue Sun Corp", "failed_payment"),
)
MIN_ACCOUNTS = len(NAMED)
PAIRED_KEYS = frozenset({"duplicate_id", "same_name"})

# Roles of generated accounts, by position modulo len(CYCLE): 22 defect slots in 50.
CYCLE: tuple[str, ...] = (
    "healthy",
    "no_stripe_id",
    "healthy",
    "pm_inactive",
    "malformed_id",
    "healthy",
    "card_expired",
    "dup_a",
    "dup_b",
    "pm_missing_token",
    "healthy",
    "card_expiring",
    "pm_missing_gateway",
    "tok",
    "healthy",
    "legacy",
    "stripe_pm_missing",
    "other_customer_pm",
    "healthy",
    "detached_pm",
    "deleted_customer",
    "healthy",
    "missing_customer",
    "autopay_inactive",
    "healthy",
    "prospect",
    "card_expired",
    "healthy",
    "healthy",
    "card_expiring",
    "healthy",
    "healthy",
    "pm_inactive",
    "healthy",
    "healthy",
    "stripe_pm_missing",
    "healthy",
    "healthy",
    "healthy",
    "no_stripe_id",
    "healthy",
    "healthy",
    "detached_pm",
    "healthy",
    "healthy",
    "healthy",
    "pm_missing_gateway",
    "healthy",
    "healthy",
    "healthy",
)

VISA_NUMBERS = ("4242424242424242", "4000056655665556", "4012888888881881")
IBANS = ("DE89370400440532013000", "AT611904300234573201")
MALFORMED_IDS = ("cus-{n}", "CUS_{n}", "acct_{n}", "cus_ {n}", "{d}")
_WORDS_A = (
    "Northwind",
    "Contoso",
    "Fabrikam",
    "Tailspin",
    "Wide World",
    "Litware",
    "Adventure Works",
    "Proseware",
    "Lucerne",
    "Woodgrove",
    "Alpine",
    "Coho",
    "Fourth Coffee",
    "Trey",
    "Blue Yonder",
    "Graphic Design",
    "Humongous",
    "Southridge",
    "Wingtip",
    "Relecloud",
)
_WORDS_B = (
    "Traders",
    "Holdings",
    "Labs",
    "Logistics",
    "Partners",
    "Systems",
    "Foods",
    "Media",
    "Energy",
    "Outfitters",
)
_INDUSTRIES = ("Technology", "Manufacturing", "Retail", "Healthcare", "Banking", "Education")


class OrgLike(Protocol):
    """The part of ``sandbox.salesforce.Org`` the seed uses."""

    stripe_customer_field: Any

    def create_many(self, sobject: str, records: list[dict[str, Any]]) -> list[str]: ...


# ---------------------------------------------------------------------------------------------
# The plan: plain data, built without I/O, identical for the same (N, today).
# ---------------------------------------------------------------------------------------------


@dataclass
class PlannedPM:
    key: str
    payment_type: str  # "Credit Card" | "ACH"
    number: str  # card number, or IBAN for ACH
    exp: tuple[int, int] | None  # (year, month) for cards
    active: bool = True
    autopay: bool = False
    has_gateway: bool = True
    # "pm": a pm_ in Stripe; "legacy": a card_ source; "tok": an unused tok_;
    # "missing": a pm_ id Stripe never had; "none": blank token in Salesforce
    token_mode: str = "pm"
    # "own": the Account's Stripe customer; "other": another (Stripe-only) customer;
    # "detached": attached, then detached
    attach: str = "own"
    token: str | None = None  # filled after Stripe

    @property
    def ref(self) -> str:
        return "p:" + self.key


@dataclass
class PlannedAccount:
    index: int
    key: str
    name: str
    role: str
    named: str | None
    # "own": its own customer, ID in Salesforce; "hidden": customer exists but Salesforce
    # has a blank/malformed/typo'd ID; "shared": uses ``shares_with``'s customer;
    # "deleted": own customer, deleted after; None: no customer at all
    customer: str | None
    sf_stripe: str | None = None  # literal Salesforce value when not the customer's id
    shares_with: str | None = None
    pms: list[PlannedPM] = field(default_factory=list)
    transactions: list[tuple[str, int]] = field(default_factory=list)  # (status, days ago)
    invoice: str | None = None  # None | "paid" | "locked" | "review"
    stripe_id: str | None = None  # the Salesforce value, filled after Stripe
    real_customer: str | None = None  # the customer Stripe has for it, filled after Stripe

    @property
    def cref(self) -> str:
        return "c:" + (self.shares_with or self.key)


def _month_shift(today: dt.date, months: int) -> tuple[int, int]:
    total = today.year * 12 + (today.month - 1) + months
    return total // 12, total % 12 + 1


def _card(key: str, i: int, today: dt.date, when: str = "ok", **kw: Any) -> PlannedPM:
    if when == "expired":
        exp = _month_shift(today, -(1 + i % 18))
    elif when == "expiring":
        exp = (today.year, today.month)
    else:
        exp = (today.year + 1 + i % 4, 1 + (i * 5) % 12)
    return PlannedPM(key, "Credit Card", VISA_NUMBERS[i % len(VISA_NUMBERS)], exp, **kw)


def _ach(key: str, i: int, **kw: Any) -> PlannedPM:
    return PlannedPM(key, "ACH", IBANS[i % len(IBANS)], None, **kw)


def _plan_account(
    index: int, name: str, role: str, named: str | None, today: dt.date, shares_with: str | None
) -> PlannedAccount:
    key = f"A{index:05d}"
    acct = PlannedAccount(index, key, name, role, named, customer="own")

    def pm(j: int, when: str = "ok", **kw: Any) -> PlannedPM:
        return _card(f"{key}-{j}", index + j, today, when, **kw)

    # Healthy shape: 2 PMs, some 3 or 1 (about 2 on average); the first is the AutoPay one.
    count = {1: 3, 3: 1}.get(index % 4, 2)
    base = [pm(0, autopay=True)] + [
        _ach(f"{key}-{j}", index) if (index + j) % 7 == 0 else pm(j) for j in range(1, count)
    ]
    second = pm(1)
    if role == "healthy":
        acct.pms = base
    elif role == "healthy5":
        acct.pms = [pm(0, autopay=True), pm(1), _ach(f"{key}-2", index), pm(3), pm(4)]
    elif role == "failed_payment":
        acct.pms = [pm(0, autopay=True), pm(1)]
        acct.transactions = [("Failure", 2)]
        acct.invoice = "locked"
    elif role == "no_stripe_id":
        acct.customer, acct.sf_stripe = "hidden", ""
        acct.pms = [pm(0, autopay=True), second]
    elif role == "malformed_id":
        pattern = MALFORMED_IDS[index % len(MALFORMED_IDS)]
        acct.customer = "hidden"
        acct.sf_stripe = pattern.format(n=f"Seed{index:06d}x", d=f"{index:08d}")
        acct.pms = [pm(0, autopay=True), second]
    elif role == "deleted_customer":
        acct.customer = "deleted"
        acct.pms = [pm(0, autopay=True), second]
    elif role == "missing_customer":
        acct.customer, acct.sf_stripe = "hidden", f"cus_SeedMissing{index:06d}"
        acct.pms = [pm(0, autopay=True)]  # attached to the customer Stripe really has
    elif role == "other_customer_pm":
        acct.pms = [pm(0, autopay=True), pm(1, attach="other")]
    elif role == "detached_pm":
        acct.pms = [pm(0, autopay=True), pm(1, attach="detached")]
    elif role == "dup_a":
        acct.pms = [pm(0, autopay=True), second]
    elif role == "dup_b":
        acct.customer, acct.shares_with = "shared", shares_with
        acct.pms = [pm(0, autopay=True), second]
    elif role == "prospect":
        acct.customer = None
    elif role == "pm_missing_gateway":
        acct.pms = [pm(0, autopay=True), pm(1, has_gateway=False)]
    elif role == "pm_missing_token":
        acct.pms = [pm(0, autopay=True), pm(1, token_mode="none")]
    elif role == "pm_inactive":
        acct.pms = [pm(0, autopay=True), pm(1, active=False)]
    elif role == "autopay_inactive":
        acct.pms = [pm(0, autopay=True, active=False), second]
    elif role == "tok":
        acct.pms = [pm(0, autopay=True), pm(1, token_mode="tok")]
    elif role == "legacy":
        acct.pms = [pm(0, autopay=True), pm(1, token_mode="legacy")]
    elif role == "card_expired":
        acct.pms = [pm(0, autopay=True), pm(1, "expired")]
    elif role == "card_expiring":
        acct.pms = [pm(0, autopay=True), pm(1, "expiring")]
    elif role == "stripe_pm_missing":
        acct.pms = [pm(0, autopay=True), pm(1, token_mode="missing")]
    else:
        raise ValueError(f"unknown role {role!r}")
    return acct


def _generated_name(index: int) -> str:
    return f"{_WORDS_A[index % 20]} {_WORDS_B[(index // 20) % 10]} {index:05d}"


def plan(accounts: int, today: dt.date, backdate: bool = True) -> list[PlannedAccount]:
    """Every Account with its role, PMs, transactions and invoice; no I/O.

    ``backdate``: the org lets the seed set CreatedDate, so old failed transactions (outside
    any "recent" window) are added; without it they are left out, and the counts stay the same.
    """
    if accounts < MIN_ACCOUNTS:
        raise ValueError(f"accounts must be at least {MIN_ACCOUNTS} (the named accounts)")
    if today.year < 2021:
        raise ValueError("today must be 2021 or later (localstripe rejects expiry years < 2019)")
    result: list[PlannedAccount] = []
    for index in range(accounts):
        if index < len(NAMED):
            named, name, role = NAMED[index]
        else:
            named, name = None, _generated_name(index)
            role = CYCLE[(index - len(NAMED)) % len(CYCLE)]
            if role == "dup_a" and index == accounts - 1:
                role = "healthy"  # no room for its twin
        shares = result[-1].key if role == "dup_b" else None
        acct = _plan_account(index, name, role, named, today, shares)
        if named is None and acct.pms:
            position = index - len(NAMED)
            if position % 7 == 3:
                status = "Failure" if (position // 7) % 2 == 0 else "Decline"
                acct.transactions.append((status, 1 + index % 10))
            if backdate and position % 11 == 6:
                acct.transactions.append(("Failure", OLD_DAYS + index % 30))
            if position % 9 == 5:
                acct.invoice = "locked"
            elif position % 13 == 8:
                acct.invoice = "review"
        if acct.pms:
            acct.transactions.insert(0, ("Success", 1 + (index + 3) % 10))
            acct.invoice = acct.invoice or "paid"
        result.append(acct)
    return result


# ---------------------------------------------------------------------------------------------
# Stripe: the plan as a list of operations, run over the SDK or in batches in-process.
# ---------------------------------------------------------------------------------------------


def _card_params(pm: PlannedPM) -> dict[str, Any]:
    assert pm.exp is not None
    return {"number": pm.number, "exp_month": pm.exp[1], "exp_year": pm.exp[0], "cvc": "123"}


def _pm_params(pm: PlannedPM) -> dict[str, Any]:
    if pm.payment_type == "ACH":  # localstripe has no us_bank_account: SEPA stands in
        return {"type": "sepa_debit", "sepa_debit": {"iban": pm.number}}
    return {"type": "card", "card": _card_params(pm)}


def stripe_ops(accounts: list[PlannedAccount]) -> list[list[dict[str, Any]]]:
    """One list of ops per Account (see ``sandbox.stripe._run_ops`` for their meaning)."""
    groups = []
    for acct in accounts:
        ops: list[dict[str, Any]] = []
        if acct.customer is None:
            groups.append(ops)
            continue
        own = [p for p in acct.pms if p.token_mode == "pm" and p.attach == "own"]
        if acct.customer != "shared":
            for p in own:
                ops.append({"op": "payment_method", "ref": p.ref, "params": _pm_params(p)})
            params: dict[str, Any] = {
                "name": acct.name,
                "email": f"billing{acct.index:05d}@example.com",
                "metadata": {"seed_key": acct.key},
            }
            if own:
                params["payment_method"] = "@" + own[0].ref
                params["invoice_settings"] = {"default_payment_method": "@" + own[0].ref}
            ops.append({"op": "customer", "ref": acct.cref, "params": params})
            for p in own[1:]:
                ops.append(
                    {"op": "attach", "payment_method": "@" + p.ref, "customer": "@" + acct.cref}
                )
        else:
            for p in own:
                ops.append(
                    {
                        "op": "payment_method",
                        "ref": p.ref,
                        "params": _pm_params(p),
                        "attach": "@" + acct.cref,
                    }
                )
        for p in acct.pms:
            if p.token_mode == "legacy":
                ops.append({"op": "token", "ref": "t:" + p.key, "card": _card_params(p)})
                ops.append(
                    {
                        "op": "source",
                        "ref": p.ref,
                        "customer": "@" + acct.cref,
                        "source": "@t:" + p.key,
                    }
                )
            elif p.token_mode == "tok":
                ops.append({"op": "token", "ref": p.ref, "card": _card_params(p)})
            elif p.token_mode == "pm" and p.attach == "other":
                other = "o:" + p.key
                ops.append(
                    {
                        "op": "customer",
                        "ref": other,
                        "params": {
                            "name": f"{acct.name} (other customer)",
                            "email": f"other{acct.index:05d}@example.com",
                            "metadata": {"seed_key": other},
                        },
                    }
                )
                ops.append(
                    {
                        "op": "payment_method",
                        "ref": p.ref,
                        "params": _pm_params(p),
                        "attach": "@" + other,
                    }
                )
            elif p.token_mode == "pm" and p.attach == "detached":
                ops.append(
                    {
                        "op": "payment_method",
                        "ref": p.ref,
                        "params": _pm_params(p),
                        "attach": "@" + acct.cref,
                    }
                )
                ops.append({"op": "detach", "payment_method": "@" + p.ref})
        if acct.customer == "deleted":
            ops.append({"op": "delete_customer", "customer": "@" + acct.cref})
        groups.append(ops)
    return groups


def _refs_used(value: Any, into: set[str]) -> None:
    if isinstance(value, str) and value.startswith("@"):
        into.add(value[1:])
    elif isinstance(value, dict):
        for item in value.values():
            _refs_used(item, into)
    elif isinstance(value, list):
        for item in value:
            _refs_used(item, into)


def _run_bulk(api_base: str, groups: list[list[dict[str, Any]]]) -> dict[str, str]:
    from sandbox.stripe import post_seed_ops

    refs: dict[str, str] = {}
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        used: set[str] = set()
        _refs_used(batch, used)
        bindings = {name: refs[name] for name in used if name in refs}
        refs.update(post_seed_ops(api_base, batch, bindings))
        batch.clear()

    for ops in groups:
        if batch and len(batch) + len(ops) > BATCH_OPS:
            flush()
        batch.extend(ops)
    if batch:
        flush()
    return refs


def _run_sdk(api_base: str, api_key: str, groups: list[list[dict[str, Any]]]) -> dict[str, str]:
    import stripe

    client = stripe.StripeClient(api_key, base_addresses={"api": api_base}, max_network_retries=2)
    refs: dict[str, str] = {}

    def r(value: Any) -> Any:
        if isinstance(value, str) and value.startswith("@"):
            return refs[value[1:]]
        if isinstance(value, dict):
            return {k: r(v) for k, v in value.items()}
        return value

    v1 = client.v1
    for ops in groups:
        for op in ops:
            kind = op["op"]
            if kind == "payment_method":
                obj = v1.payment_methods.create(params=r(op["params"]))
                if op.get("attach"):
                    v1.payment_methods.attach(obj.id, params={"customer": r(op["attach"])})
            elif kind == "customer":
                obj = v1.customers.create(params=r(op["params"]))
            elif kind == "attach":
                obj = v1.payment_methods.attach(
                    r(op["payment_method"]), params={"customer": r(op["customer"])}
                )
            elif kind == "detach":
                obj = v1.payment_methods.detach(r(op["payment_method"]))
            elif kind == "token":
                obj = v1.tokens.create(params={"card": op["card"]})
            elif kind == "source":
                obj = v1.customers.payment_sources.create(
                    r(op["customer"]), params={"source": r(op["source"])}
                )
            elif kind == "delete_customer":
                obj = v1.customers.delete(r(op["customer"]))
            else:
                raise ValueError(f"unknown op {kind!r}")
            if op.get("ref"):
                refs[op["ref"]] = obj.id
    return refs


# ---------------------------------------------------------------------------------------------
# Evaluation: the definitions above, applied to what was written.
# ---------------------------------------------------------------------------------------------


@dataclass
class StripeTruth:
    """What the seed made in Stripe: enough to answer every cross-check without asking it."""

    customers: set[str] = field(default_factory=set)  # exist, not deleted
    deleted: set[str] = field(default_factory=set)
    attached_to: dict[str, str | None] = field(default_factory=dict)  # pm_/card_ -> customer


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _expiry_state(pm: PlannedPM, today: dt.date) -> str | None:
    if pm.payment_type != "Credit Card" or pm.exp is None:
        return None
    year, month = pm.exp
    end = dt.date(year, month, calendar.monthrange(year, month)[1])
    if end < today:
        return "card_expired"
    if end <= today + dt.timedelta(days=30):
        return "card_expiring"
    return None


def evaluate(
    accounts: list[PlannedAccount], truth: StripeTruth, today: dt.date
) -> dict[str, list[tuple[PlannedAccount, PlannedPM | None]]]:
    """code -> the (Account, PM) pairs that have that defect (PM None for Account codes).

    Transactions, invoices and settings are counted separately (they are not per Account).
    """
    found: dict[str, list[tuple[PlannedAccount, PlannedPM | None]]] = defaultdict(list)
    by_id: dict[str, int] = Counter(
        a.stripe_id for a in accounts if a.stripe_id and is_stripe_customer_id(a.stripe_id)
    )
    for acct in accounts:
        sid = acct.stripe_id
        well_formed = bool(sid) and is_stripe_customer_id(sid or "")
        if acct.pms and _blank(sid):
            found["account_missing_stripe_id"].append((acct, None))
        if not _blank(sid) and not well_formed:
            found["account_malformed_stripe_id"].append((acct, None))
        if well_formed and by_id[sid] > 1:
            found["duplicate_stripe_customer_id"].append((acct, None))
        if well_formed and sid in truth.deleted:
            found["stripe_customer_deleted"].append((acct, None))
        elif well_formed and sid not in truth.customers:
            found["stripe_customer_missing"].append((acct, None))
        if any(p.autopay and not p.active for p in acct.pms):
            found["autopay_inactive"].append((acct, None))
        for p in acct.pms:
            if not p.has_gateway:
                found["pm_missing_gateway"].append((acct, p))
            if _blank(p.token):
                found["pm_missing_token"].append((acct, p))
            if not p.active:
                found["pm_inactive"].append((acct, p))
            kind = token_kind(p.token or "")
            if kind == "single_use":
                found["pm_single_use_token"].append((acct, p))
            if kind == "legacy":
                found["pm_legacy_token"].append((acct, p))
            expiry = _expiry_state(p, today)
            if expiry:
                found[expiry].append((acct, p))
            if kind in ("reusable", "legacy"):
                assert p.token is not None
                if p.token not in truth.attached_to:
                    found["stripe_pm_missing"].append((acct, p))
                elif well_formed and truth.attached_to[p.token] != sid:
                    found["stripe_pm_other_customer"].append((acct, p))
    return found


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------


@dataclass
class SeedReport:
    """What was seeded: exact expected audit counts, examples, and well-known records."""

    accounts_requested: int
    today: dt.date
    stripe_customer_field: str
    stripe_mode: str
    expected: dict[str, int]
    expected_on_localstripe: dict[str, int]
    examples: dict[str, list[dict[str, Any]]]
    accounts: dict[str, Any]
    gateways: dict[str, dict[str, Any]]
    settings: dict[str, dict[str, Any]]
    totals: dict[str, int]
    timings: dict[str, float]
    overlaps: tuple[str, ...] = (
        "autopay_inactive: each such Account's AutoPay PM is also in pm_inactive",
        "stripe_customer_missing: each such Account's one PM is also in "
        "stripe_pm_other_customer (attached to the customer the typo'd ID should name)",
    )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able (dates as ISO text)."""
        return {
            "accounts_requested": self.accounts_requested,
            "today": self.today.isoformat(),
            "stripe_customer_field": self.stripe_customer_field,
            "stripe_mode": self.stripe_mode,
            "expected": dict(self.expected),
            "expected_on_localstripe": dict(self.expected_on_localstripe),
            "overlaps": list(self.overlaps),
            "examples": self.examples,
            "accounts": self.accounts,
            "gateways": self.gateways,
            "settings": self.settings,
            "totals": self.totals,
            "timings": self.timings,
        }


def _pm_info(p: PlannedPM, sf_id: str, gateway_id: str | None) -> dict[str, Any]:
    info: dict[str, Any] = {
        "id": sf_id,
        "token": p.token,
        "type": p.payment_type,
        "active": p.active,
        "autopay": p.autopay,
        "gateway_id": gateway_id if p.has_gateway else None,
        "last4": p.number[-4:],
    }
    if p.exp:
        info["exp_year"], info["exp_month"] = p.exp
    return info


# ---------------------------------------------------------------------------------------------
# seed()
# ---------------------------------------------------------------------------------------------


def _create_many(org: OrgLike, sobject: str, rows: list[dict[str, Any]]) -> list[str]:
    ids: list[str] = []
    for start in range(0, len(rows), SF_CHUNK):
        ids.extend(org.create_many(sobject, rows[start : start + SF_CHUNK]))
    if len(ids) != len(rows):
        raise RuntimeError(f"{sobject}: created {len(ids)} of {len(rows)} records")
    return ids


def _stripe_field(org: OrgLike) -> str:
    name = getattr(org, "stripe_customer_field", None)
    if isinstance(name, list | tuple):
        name = name[0] if name else None
    if not name:
        raise ValueError("the org has no Account Stripe Customer ID field to seed")
    return str(name)


def seed(
    org: OrgLike,
    stripe_api_base: str,
    stripe_api_key: str,
    accounts: int = 40,
    today: dt.date | None = None,
    *,
    stripe_mode: Literal["auto", "sdk", "bulk"] = "auto",
    progress: Callable[[str], None] | None = None,
) -> SeedReport:
    """Fill ``org`` and the Stripe stand-in with ``accounts`` Accounts and matching data.

    ``stripe_mode``: "sdk" creates every Stripe object over HTTP with the Stripe SDK; "bulk"
    posts batches to a ``sandbox.stripe`` server's ``/_sandbox/seed``; "auto" uses the SDK up to
    ``SDK_MAX_ACCOUNTS`` accounts (or when the server has no ``/_sandbox/`` routes) and bulk
    above. The org and the Stripe store should be empty: the counts describe only what this
    call creates.
    """
    clock = getattr(org, "clock", None)
    today = today or (clock().date() if callable(clock) else dt.date.today())
    note = progress or (lambda message: None)
    field_name = _stripe_field(org)
    backdate = bool(getattr(org, "set_audit_fields", False))
    started = time.perf_counter()
    planned = plan(accounts, today, backdate)

    # Stripe --------------------------------------------------------------------------------
    from sandbox.stripe import has_sandbox_routes

    groups = stripe_ops(planned)
    if stripe_mode == "auto":
        bulk = accounts > SDK_MAX_ACCOUNTS and has_sandbox_routes(stripe_api_base)
        stripe_mode = "bulk" if bulk else "sdk"
    note(f"stripe: {sum(map(len, groups))} ops ({stripe_mode})")
    if stripe_mode == "bulk":
        refs = _run_bulk(stripe_api_base, groups)
    elif stripe_mode == "sdk":
        refs = _run_sdk(stripe_api_base, stripe_api_key, groups)
    else:
        raise ValueError(f"stripe_mode must be auto, sdk or bulk, not {stripe_mode!r}")
    stripe_done = time.perf_counter()

    truth = StripeTruth()
    by_key = {a.key: a for a in planned}
    for acct in planned:
        if acct.customer is not None:
            acct.real_customer = refs[acct.cref]
            if acct.customer == "deleted":
                truth.deleted.add(acct.real_customer)
            else:
                truth.customers.add(acct.real_customer)
        acct.stripe_id = acct.real_customer if acct.sf_stripe is None else acct.sf_stripe
        if acct.customer == "hidden" and acct.sf_stripe == "":
            acct.stripe_id = None
        for p in acct.pms:
            if p.token_mode in ("pm", "legacy", "tok"):
                p.token = refs[p.ref]
            elif p.token_mode == "missing":
                p.token = f"pm_SeedMissing{acct.index:06d}{p.key[-1]}"
            if p.token_mode in ("pm", "legacy"):
                if p.attach == "other":
                    truth.attached_to[p.token] = refs["o:" + p.key]
                    truth.customers.add(refs["o:" + p.key])
                elif p.attach == "detached":
                    truth.attached_to[p.token] = None
                else:
                    truth.attached_to[p.token] = (
                        refs[by_key[acct.shares_with].cref]
                        if acct.shares_with
                        else acct.real_customer
                    )

    # Salesforce ----------------------------------------------------------------------------
    note("salesforce: gateways and settings")
    gateway_rows = [
        {
            "Name": "Stripe",
            "blng__Active__c": True,
            "blng__Default__c": True,
            "blng__GatewayType__c": "Stripe",
        },
        {
            "Name": "Stripe EU (retired)",
            "blng__Active__c": False,
            "blng__Default__c": False,
            "blng__GatewayType__c": "Stripe",
        },
        {
            "Name": "Authorize.net",
            "blng__Active__c": True,
            "blng__Default__c": False,
            "blng__GatewayType__c": "Authorize.net",
        },
    ]
    gateway_ids = _create_many(org, "blng__PaymentGateway__c", gateway_rows)
    stripe_gateway = gateway_ids[0]
    config_rows = [
        {
            "Name": "PAYMENT_CREATION_BATCH_SIZE",
            "blng__Category__c": "Payment",
            "blng__Description__c": "Payment creation batch size",
            "blng__FieldType__c": "Number",
            "blng__NumberValue__c": BATCH_SIZE_VALUE,
        },
        {
            "Name": "INVOICE_BATCH_SIZE",
            "blng__Category__c": "Invoice",
            "blng__Description__c": "Invoice batch size",
            "blng__FieldType__c": "Number",
            "blng__NumberValue__c": 200,
        },
        {
            "Name": "PAYMENT_RUN_NOTIFICATIONS",
            "blng__Category__c": "Payment",
            "blng__Description__c": "Send payment run notifications",
            "blng__FieldType__c": "Boolean",
            "blng__StringValue__c": "true",
        },
        {
            "Name": "CARD_MAPPING",
            "blng__Category__c": "Payment",
            "blng__Description__c": "Card mapping: the field that holds the gateway token",
            "blng__FieldType__c": "String",
            "blng__StringValue__c": "blng__PaymentGatewayToken__c",
        },
        {
            "Name": "TAX_ENGINE",
            "blng__Category__c": "Tax",
            "blng__Description__c": "Tax engine",
            "blng__FieldType__c": "String",
            "blng__StringValue__c": "Standard",
        },
    ]
    config_ids = _create_many(org, "blng__BillingConfig__c", config_rows)

    note(f"salesforce: {len(planned)} accounts")
    account_rows = []
    for acct in planned:
        row: dict[str, Any] = {
            "Name": acct.name,
            "Type": "Prospect" if acct.customer is None else "Customer - Direct",
            "Industry": _INDUSTRIES[acct.index % len(_INDUSTRIES)],
        }
        if acct.stripe_id is not None:
            row[field_name] = acct.stripe_id
        account_rows.append(row)
    account_ids = _create_many(org, "Account", account_rows)
    sf_account = {a.key: sf for a, sf in zip(planned, account_ids, strict=True)}

    pm_rows, pm_order = [], []
    for acct in planned:
        for p in acct.pms:
            row = {
                "blng__Account__c": sf_account[acct.key],
                "blng__Active__c": p.active,
                "blng__AutoPay__c": p.autopay,
                "blng__PaymentType__c": p.payment_type,
            }
            if p.has_gateway:
                row["blng__PaymentGateway__c"] = stripe_gateway
            if p.token:
                row["blng__PaymentGatewayToken__c"] = p.token
            if p.exp:
                row.update(
                    {
                        "blng__CardType__c": "Visa",
                        "blng__CardLastFour__c": p.number[-4:],
                        "blng__CardExpirationMonth__c": f"{p.exp[1]:02d}",
                        "blng__CardExpirationYear__c": str(p.exp[0]),
                    }
                )
            else:
                row["blng__BankAccountName__c"] = acct.name
            pm_rows.append(row)
            pm_order.append(p.key)
    note(f"salesforce: {len(pm_rows)} payment methods")
    sf_pm = dict(zip(pm_order, _create_many(org, "blng__PaymentMethod__c", pm_rows), strict=True))

    tx_rows, tx_owner = [], []
    invoice_rows, invoice_owner = [], []
    for acct in planned:
        for n, (status, days_ago) in enumerate(acct.transactions):
            ok = status == "Success"
            row = {
                "blng__Account__c": sf_account[acct.key],
                "blng__PaymentMethod__c": sf_pm[acct.pms[0].key],
                "blng__PaymentGateway__c": stripe_gateway,
                "blng__Amount__c": 100 + (acct.index * 37 + n * 11) % 900 + 0.5,
                "blng__GatewayStatus__c": status,
                "blng__Type__c": "Charge",
                "blng__ResponseMessage__c": "Approved"
                if ok
                else ("Your card was declined." if status == "Decline" else "Insufficient funds"),
            }
            if backdate:
                when = dt.datetime.combine(
                    today - dt.timedelta(days=days_ago), dt.time(12, 0), tzinfo=dt.UTC
                )
                row["CreatedDate"] = row["blng__GatewayDate__c"] = when.isoformat()
            tx_rows.append(row)
            tx_owner.append((acct, status, days_ago))
        if acct.invoice:
            locked = acct.invoice == "locked"
            row = {
                "blng__Account__c": sf_account[acct.key],
                "blng__InvoiceLocked__c": locked,
                "blng__PaymentStatus__c": "Paid" if acct.invoice == "paid" else "Unpaid",
                "blng__Balance__c": 0 if acct.invoice == "paid" else 250 + acct.index % 500,
            }
            if locked:
                row["blng__CorrectiveAction__c"] = "Action Required"
            elif acct.invoice == "review":
                row["blng__CorrectiveAction__c"] = "Review Payment"
            invoice_rows.append(row)
            invoice_owner.append((acct, acct.invoice))
    note(f"salesforce: {len(tx_rows)} transactions, {len(invoice_rows)} invoices")
    tx_ids = _create_many(org, "blng__PaymentTransaction__c", tx_rows)
    invoice_ids = _create_many(org, "blng__Invoice__c", invoice_rows)
    finished = time.perf_counter()

    # Report --------------------------------------------------------------------------------
    found = evaluate(planned, truth, today)
    expected: dict[str, int] = {code: 0 for code in CODES}
    examples: dict[str, list[dict[str, Any]]] = {code: [] for code in CODES}
    for code, pairs in found.items():
        expected[code] = len(pairs)
        for acct, p in pairs[:EXAMPLES_PER_CODE]:
            example = {"account_id": sf_account[acct.key], "account_name": acct.name}
            if p is None:
                example = {
                    "id": sf_account[acct.key],
                    "name": acct.name,
                    "stripe_customer_id": acct.stripe_id,
                }
            else:
                example = {"id": sf_pm[p.key], **example, "token": p.token}
            examples[code].append(example)
    expected["batch_size"] = BATCH_SIZE_VALUE
    examples["batch_size"] = [{"id": config_ids[0], "name": config_rows[0]["Name"]}]
    expected["stripe_gateway"] = sum(
        1
        for row in gateway_rows
        if row["blng__Active__c"] and row["blng__GatewayType__c"] in STRIPE_GATEWAY_TYPES
    )
    examples["stripe_gateway"] = [{"id": stripe_gateway, "name": "Stripe"}]
    failed = [
        (sf, acct)
        for sf, (acct, status, days_ago) in zip(tx_ids, tx_owner, strict=True)
        if status != "Success" and days_ago <= RECENT_DAYS
    ]
    expected["failed_transactions"] = len(failed)
    examples["failed_transactions"] = [
        {"id": sf, "account_id": sf_account[a.key], "account_name": a.name}
        for sf, a in failed[:EXAMPLES_PER_CODE]
    ]
    locked = [
        (sf, acct)
        for sf, (acct, kind) in zip(invoice_ids, invoice_owner, strict=True)
        if kind == "locked"
    ]
    expected["locked_invoices"] = len(locked)
    examples["locked_invoices"] = [
        {"id": sf, "account_id": sf_account[a.key], "account_name": a.name}
        for sf, a in locked[:EXAMPLES_PER_CODE]
    ]
    on_localstripe = dict(expected)
    on_localstripe["stripe_customer_missing"] += on_localstripe["stripe_customer_deleted"]
    on_localstripe["stripe_customer_deleted"] = 0

    named: dict[str, Any] = {}
    for acct in planned:
        if acct.named is None:
            continue
        info = {
            "key": acct.key,
            "name": acct.name,
            "id": sf_account[acct.key],
            "role": acct.role,
            "stripe_customer_id": acct.stripe_id,
            "stripe_customer_real": acct.real_customer,
            "payment_methods": [_pm_info(p, sf_pm[p.key], stripe_gateway) for p in acct.pms],
        }
        if acct.named in PAIRED_KEYS:
            named.setdefault(acct.named, []).append(info)
        else:
            named[acct.named] = info

    tokens = [p.token or "" for a in planned for p in a.pms]
    report = SeedReport(
        accounts_requested=accounts,
        today=today,
        stripe_customer_field=field_name,
        stripe_mode=stripe_mode,
        expected={code: expected[code] for code in CODES},
        expected_on_localstripe={code: on_localstripe[code] for code in CODES},
        examples=examples,
        accounts=named,
        gateways={
            "stripe": {"id": gateway_ids[0], "name": "Stripe", "active": True, "default": True},
            "inactive": {
                "id": gateway_ids[1],
                "name": "Stripe EU (retired)",
                "active": False,
                "default": False,
            },
            "not_stripe": {
                "id": gateway_ids[2],
                "name": "Authorize.net",
                "active": True,
                "default": False,
            },
        },
        settings={
            "batch_size": {
                "id": config_ids[0],
                "name": config_rows[0]["Name"],
                "value": BATCH_SIZE_VALUE,
            }
        },
        totals={
            "Account": len(account_ids),
            "blng__PaymentMethod__c": len(pm_rows),
            "blng__PaymentGateway__c": len(gateway_ids),
            "blng__BillingConfig__c": len(config_ids),
            "blng__PaymentTransaction__c": len(tx_ids),
            "blng__Invoice__c": len(invoice_ids),
            "stripe_customers": len(truth.customers),
            "stripe_customers_deleted": len(truth.deleted),
            "stripe_payment_methods": sum(1 for t in truth.attached_to if t.startswith("pm_")),
            "stripe_legacy_cards": sum(1 for t in truth.attached_to if t.startswith("card_")),
            "stripe_unused_tokens": sum(1 for t in tokens if t.startswith("tok_")),
        },
        timings={
            "stripe_s": round(stripe_done - started, 3),
            "salesforce_s": round(finished - stripe_done, 3),
            "total_s": round(time.perf_counter() - started, 3),
        },
    )
    return report


def format_counts(report: SeedReport) -> str:
    """The expected counts as aligned text lines (for ``python -m sandbox``)."""
    width = max(map(len, CODES))
    lines = [
        f"seed: {report.accounts_requested} accounts, today={report.today.isoformat()}, "
        f"stripe via {report.stripe_mode}, {report.timings['total_s']:.2f}s"
    ]
    for code in CODES:
        value = report.expected[code]
        seen = report.expected_on_localstripe[code]
        extra = (
            f"  (retrieve alone shows {seen}: localstripe answers 404 when deleted)"
            if seen != value
            else ""
        )
        lines.append(f"  {code:<{width}}  {value}{extra}")
    return "\n".join(lines)


def _timing_main(argv: Iterable[str] | None = None) -> int:
    """``python -m sandbox.seed --time 1000 50000``: print how long seeding takes."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.seed")
    parser.add_argument("--time", type=int, nargs="+", default=[1000, 50_000])
    parser.add_argument("--stripe-mode", default="auto", choices=("auto", "sdk", "bulk"))
    args = parser.parse_args(list(argv) if argv is not None else None)
    from sandbox.salesforce import Org
    from sandbox.stripe import start_stripe

    for n in args.time:
        with start_stripe() as stripe_server:
            org = Org(stripe_customer_field="Stripe_Customer_Id__c", set_audit_fields=True)
            report = seed(
                org,
                stripe_server.api_base,
                stripe_server.api_key,
                accounts=n,
                stripe_mode=args.stripe_mode,
            )
            print(
                json.dumps(
                    {
                        "accounts": n,
                        "mode": report.stripe_mode,
                        **report.timings,
                        "totals": report.totals,
                    }
                ),
                flush=True,
            )
            close = getattr(org, "close", None)
            if callable(close):
                close()
    return 0


if __name__ == "__main__":
    sys.exit(_timing_main())
