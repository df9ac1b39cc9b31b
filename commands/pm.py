"""`pm`: can the Stripe connector charge these payment methods, and if not, why?

The text is a payment-method record Id, a gateway token, or anything `customer` takes (an
Account name, Id or `cus_…`: then every payment method of those Accounts). Each
`blng__PaymentMethod__c` gets one verdict, with its reasons as DESIGN section 7 problem
codes and a sentence each on how to fix it:

- blocked: an error the connector will fail on (inactive, no/inactive/non-Stripe gateway,
  missing, single-use or unknown token, no Stripe customer, payment method missing in Stripe
  or attached to another customer, expired card, ACH not verified);
- warning: it may charge today but needs attention (legacy token, card expiring within 30
  days), or Stripe could not be asked, which is never "ready";
- ready: nothing found.

Round trips: one Salesforce query (payment methods with Account and gateway as parent
fields, or Accounts with payment methods as a child subquery), then every Stripe customer and
payment method at once.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from commands.customer import (
    ACCOUNT_LIMIT,
    customer_problems,
    no_match_hint,
    problem_lines,
    too_long_hint,
)
from commands.ids import is_stripe_customer_id, mask_token, token_kind
from commands.lookups.explain import problem
from commands.lookups.fetch import ask_stripe, in_parallel, read_query
from commands.lookups.query import QueryKind
from commands.lookups.records import (
    AccountRecord,
    AccountRef,
    GatewayRecord,
    LookupDirectory,
    PaymentMethodRecord,
)
from commands.problems import CODES, Problem, Severity, worst
from commands.stripe_facts import Found, StripeCustomer, StripePaymentMethod, StripePort

PAYMENT_METHOD_LIMIT = 50  # per lookup: Stripe is asked about each one
EXPIRING_DAYS = 30
STRIPE_TYPE = "stripe"  # in every Stripe gateway type: "Stripe", "Stripe (Universal Extension)"
# Tokens Stripe can be asked about as payment methods (it answers card_/src_ ids as such).
CHECKABLE_PREFIXES = ("pm_", "card_", "src_")
ACH = "ach"
# Stripe payment-method types that debit a bank account: what an ACH record must point at.
BANK_DEBIT_TYPES = {"us_bank_account", "sepa_debit", "acss_debit", "bacs_debit", "au_becs_debit"}
ACH_FIX = CODES["ach_not_verified"][1]
# Problems that mean the ACH method itself must be made again.
ACH_TOKEN_CODES = {
    "missing_required", "invalid_token", "token_not_reusable", "stripe_pm_missing",
    "stripe_pm_other_customer",
}  # fmt: skip


class Verdict(StrEnum):
    READY = "ready"
    WARNING = "warning"
    BLOCKED = "blocked"


@dataclass(frozen=True)
class StripePaymentMethodSide:
    """Stripe's view of the token. `status`: found, missing, unavailable, or not_checked
    (no token, or one Stripe cannot be asked about as a payment method)."""

    status: str
    customer: str | None = None  # the cus_… it is attached to
    type: str | None = None
    brand: str | None = None
    last4: str | None = None
    exp_month: int | None = None
    exp_year: int | None = None
    reusable: bool | None = None


@dataclass(frozen=True)
class PaymentMethodCheck:
    id: str
    name: str | None
    url: str
    account: AccountRef
    active: bool | None
    autopay: bool | None
    type: str | None
    gateway: GatewayRecord | None
    token_masked: str
    stripe: StripePaymentMethodSide
    verdict: Verdict
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class PmResult:
    query: str  # cleaned; a token is masked
    payment_methods: list[PaymentMethodCheck]
    more: int = 0  # matching Accounts whose payment methods are not shown
    hint: str = ""


def lookup_payment_methods(
    text: str | None, directory: LookupDirectory, stripe: StripePort | None, today: date
) -> PmResult:
    """Run the lookup. Raises `commands.errors.SalesforceError` when Salesforce fails;
    Stripe failures become `stripe_unavailable` warnings."""
    query = read_query(text, directory)
    if query.kind is QueryKind.EMPTY:
        return PmResult("", [], hint="Type a payment method's Id or token, or an Account.")
    if query.kind is QueryKind.TOO_LONG:
        return PmResult(query.shown, [], hint=too_long_hint())
    if query.kind in (QueryKind.PAYMENT_METHOD_ID, QueryKind.TOKEN):
        records = directory.payment_methods(query, PAYMENT_METHOD_LIMIT)
        accounts: list[AccountRecord] = []
        if not records:
            what = "Id" if query.kind is QueryKind.PAYMENT_METHOD_ID else "token"
            return PmResult(
                query.shown,
                [],
                hint=f"No payment method has the {what} {query.shown}: check it was copied "
                "whole, or look up the Account instead.",
            )
    else:
        accounts = directory.accounts(query, ACCOUNT_LIMIT + 1)
        if not accounts:
            return PmResult(query.shown, [], hint=no_match_hint(query))
        records = [m for a in accounts[:ACCOUNT_LIMIT] for m in a.payment_methods]
        records = records[:PAYMENT_METHOD_LIMIT]
    customer_ids = {r.account.stripe_customer_id for r in records}
    tokens = {r.token for r in records if _checkable(r.token)}
    over = len(accounts) > ACCOUNT_LIMIT
    customers, methods, total = in_parallel(
        lambda: ask_stripe(stripe, "customers", filter(is_stripe_customer_id, customer_ids)),
        lambda: ask_stripe(stripe, "payment_methods", tokens),
        lambda: directory.count_accounts(query) if over else len(accounts),
    )
    checks = [
        check_payment_method(
            r,
            customers.get(r.account.stripe_customer_id or ""),
            methods.get(r.token or ""),
            today,
            directory.record_url(r.id),
        )
        for r in records
    ]
    checks.sort(key=lambda c: (c.account.name or "", c.active is not True, not c.autopay, c.id))
    more = max(total - ACCOUNT_LIMIT, 0)
    if more:
        hint = (
            f"Showing the payment methods of {ACCOUNT_LIMIT} Accounts; {more} more match: "
            "type more of the name, or use the Account Id."
        )
    elif accounts and not records:
        names = ", ".join(a.name or a.id for a in accounts)
        hint = f"No payment methods in Salesforce for {names}."
    else:
        hint = ""
    return PmResult(query.shown, checks, more=more, hint=hint)


def _checkable(token: str | None) -> bool:
    return (
        bool(token)
        and token_kind(token or "") != "invalid"
        and token.startswith(CHECKABLE_PREFIXES)
    )


def check_payment_method(
    record: PaymentMethodRecord,
    customer: StripeCustomer | None,
    stripe_pm: StripePaymentMethod | None,
    today: date,
    url: str,
) -> PaymentMethodCheck:
    """One record's verdict, from Salesforce's fields and Stripe's answers."""
    problems = (
        _salesforce_problems(record)
        + _customer_link_problems(record, customer)
        + _stripe_problems(record, stripe_pm)
        + _expiry_problems(record, stripe_pm, today)
    )
    if (record.payment_type or "").strip().lower() == ACH:
        problems = _ach_advice(problems, stripe_pm)
    problems = _one_unavailable(problems)
    return PaymentMethodCheck(
        id=record.id,
        name=record.name,
        url=url,
        account=record.account,
        active=record.active,
        autopay=record.autopay,
        type=record.payment_type,
        gateway=record.gateway,
        token_masked=mask_token(record.token),
        stripe=_stripe_side(record.token, stripe_pm),
        verdict=verdict(problems),
        problems=problems,
    )


def verdict(problems: list[Problem]) -> Verdict:
    severity = worst(problems)
    if severity is Severity.ERROR:
        return Verdict.BLOCKED
    if severity is Severity.WARNING:
        return Verdict.WARNING
    return Verdict.READY


def _salesforce_problems(record: PaymentMethodRecord) -> list[Problem]:
    problems = []
    if record.active is not True:
        autopay = " and it is the Account's AutoPay method" if record.autopay else ""
        problems.append(
            problem(
                "active_not_true",
                f"Active is not ticked{autopay}",
                "Tick Active on the payment method: the Stripe connector only charges active ones.",
            )
        )
    gateway = record.gateway
    if gateway is None:
        finding = (
            f"The Payment Gateway it points at ({record.gateway_id}) cannot be read"
            if record.gateway_id
            else "No Payment Gateway is set"
        )
        problems.append(
            problem(
                "gateway_not_found",
                finding,
                "Set the Payment Gateway field to the org's active Stripe gateway.",
            )
        )
    else:
        label = f"The Payment Gateway “{gateway.name or gateway.id}”"
        if gateway.active is not True:
            problems.append(
                problem(
                    "gateway_inactive",
                    f"{label} is not active",
                    "Activate that gateway, or point the payment method at the active Stripe "
                    "gateway.",
                )
            )
        if STRIPE_TYPE not in (gateway.type or "").lower():
            problems.append(
                problem(
                    "gateway_not_stripe",
                    f"{label} is of type “{gateway.type or 'none'}”, not Stripe",
                    "Point the payment method at the Stripe gateway.",
                )
            )
    problems.extend(_token_problems(record.token))
    return problems


def _token_problems(token: str | None) -> list[Problem]:
    if not token:
        return [
            problem(
                "missing_required",
                "No Payment Gateway Token",
                "Put the customer's Stripe payment method id (pm_…) in Payment Gateway Token.",
            )
        ]
    kind = token_kind(token)
    masked = mask_token(token)
    if kind == "single_use":
        return [problem("token_not_reusable", f"The token {masked} is a single-use token")]
    if kind == "legacy":
        return [problem("token_legacy", f"The token {masked} is a legacy Stripe id")]
    if kind == "invalid":
        return [problem("invalid_token", f"The token {masked} is not a Stripe payment method id")]
    return []


def _customer_link_problems(
    record: PaymentMethodRecord, customer: StripeCustomer | None
) -> list[Problem]:
    customer_id = record.account.stripe_customer_id
    if not customer_id:
        return [
            problem(
                "stripe_customer_id_missing",
                "The Account has no Stripe Customer ID, so Stripe cannot be told whom to charge",
            )
        ]
    if not is_stripe_customer_id(customer_id):
        return [
            problem(
                "invalid_stripe_customer_id",
                f"The Account's Stripe Customer ID “{customer_id}” is not a cus_… id",
                "Replace it with the customer's id from the Stripe dashboard.",
            )
        ]
    problems = customer_problems(customer_id, customer)
    own = record.stripe_customer_id
    if own and own != customer_id:
        problems.append(
            problem(
                "stripe_id_conflict",
                f"The payment method's Stripe Customer ID {own} differs from its Account's "
                f"({customer_id})",
                "Make them the same: the customer the card is attached to in Stripe.",
            )
        )
    return problems


def _stripe_problems(
    record: PaymentMethodRecord, stripe_pm: StripePaymentMethod | None
) -> list[Problem]:
    if stripe_pm is None:
        return []
    masked = mask_token(record.token)
    if stripe_pm.status is Found.UNAVAILABLE:
        reason = stripe_pm.error or "no answer"
        return [
            problem(
                "stripe_unavailable", f"Stripe unavailable: could not check {masked} ({reason})"
            )
        ]
    if stripe_pm.status is not Found.FOUND:
        return [problem("stripe_pm_missing", f"Stripe has no payment method {masked}")]
    expected = record.account.stripe_customer_id
    if stripe_pm.customer is None:
        return [
            problem(
                "stripe_pm_other_customer",
                f"{masked} is not attached to any Stripe customer",
                f"Attach it to {expected} in Stripe, or collect the card again."
                if is_stripe_customer_id(expected)
                else None,
            )
        ]
    if is_stripe_customer_id(expected) and stripe_pm.customer != expected:
        return [
            problem(
                "stripe_pm_other_customer",
                f"{masked} is attached to {stripe_pm.customer}, not to the Account's customer "
                f"{expected}",
            )
        ]
    return []


def _expiry_problems(
    record: PaymentMethodRecord, stripe_pm: StripePaymentMethod | None, today: date
) -> list[Problem]:
    """Stripe's expiry when it answered, else the card fields Salesforce keeps."""
    if stripe_pm is not None and stripe_pm.status is Found.FOUND and stripe_pm.exp_year:
        month, year = stripe_pm.exp_month, stripe_pm.exp_year
    else:
        month, year = _number(record.card_exp_month), _number(record.card_exp_year)
    if not month or not year or not 1 <= month <= 12:
        return []
    year += 2000 if year < 100 else 0
    last_day = date(year, month, calendar.monthrange(year, month)[1])
    shown = f"{month:02d}/{year}"
    if last_day < today:
        return [problem("card_expired", f"The card expired at the end of {shown}")]
    if (last_day - today).days <= EXPIRING_DAYS:
        return [problem("card_expiring", f"The card expires at the end of {shown}")]
    return []


def _number(value: str | None) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _ach_advice(problems: list[Problem], stripe_pm: StripePaymentMethod | None) -> list[Problem]:
    """ACH methods made in the Payment Center always fail: say so, and how to make one that
    works, whenever Stripe does not hold a bank account for it or anything else blocks it."""
    not_bank = (
        stripe_pm is not None
        and stripe_pm.status is Found.FOUND
        and stripe_pm.type not in BANK_DEBIT_TYPES
    )
    if not_bank:
        kind = stripe_pm.type or "unknown"
        return [
            *problems,
            problem(
                "ach_not_verified",
                f"This ACH payment method is a “{kind}” in Stripe, not a verified bank account",
            ),
        ]
    return [
        Problem(p.code, p.severity, f"{p.message} {ACH_FIX}")
        if p.severity is Severity.ERROR and p.code in ACH_TOKEN_CODES
        else p
        for p in problems
    ]


def _one_unavailable(problems: list[Problem]) -> list[Problem]:
    """Stripe down is said once per payment method, not once per question asked."""
    seen = False
    kept = []
    for p in problems:
        if p.code == "stripe_unavailable":
            if seen:
                continue
            seen = True
        kept.append(p)
    return kept


def _stripe_side(
    token: str | None, stripe_pm: StripePaymentMethod | None
) -> StripePaymentMethodSide:
    kind = token_kind(token or "")
    if stripe_pm is None:
        reusable = False if kind == "single_use" else None
        return StripePaymentMethodSide("not_checked", reusable=reusable)
    found = stripe_pm.status is Found.FOUND
    return StripePaymentMethodSide(
        status=str(stripe_pm.status),
        customer=stripe_pm.customer,
        type=stripe_pm.type,
        brand=stripe_pm.brand,
        last4=stripe_pm.last4,
        exp_month=stripe_pm.exp_month,
        exp_year=stripe_pm.exp_year,
        reusable=(kind in ("reusable", "legacy")) if found else None,
    )


# --- terminal rendering -------------------------------------------------------------------

VERDICT_TEXT = {
    Verdict.READY: "✓ ready to charge",
    Verdict.WARNING: "! warning",
    Verdict.BLOCKED: "✗ blocked",
}


def describe_card(check: PaymentMethodCheck) -> str:
    side = check.stripe
    if side.status != "found":
        return {
            "missing": "not found in Stripe",
            "unavailable": "Stripe unavailable: could not check",
            "not_checked": "not checked in Stripe",
        }.get(side.status, side.status)
    parts = [side.brand or side.type or "payment method"]
    if side.last4:
        parts.append(f"…{side.last4}")
    if side.exp_month and side.exp_year:
        parts.append(f"exp {side.exp_month:02d}/{side.exp_year}")
    parts.append(f"attached to {side.customer}" if side.customer else "not attached")
    return "in Stripe: " + " ".join(parts)


def describe_gateway(check: PaymentMethodCheck) -> str:
    gateway = check.gateway
    if gateway is None:
        return "no gateway"
    state = "active" if gateway.active else "inactive"
    return f"{gateway.name or gateway.id} ({gateway.type or 'no type'}, {state})"


def yes_no(value: bool | None) -> str:
    return "yes" if value is True else "no" if value is False else "not set"


def render_text(result: PmResult) -> str:
    lines = [f"Payment methods for “{result.query}”:" if result.payment_methods else ""]
    for c in result.payment_methods:
        lines.append(
            f"• {c.name or c.id} ({c.id}) on {c.account.name or c.account.id}: "
            f"{VERDICT_TEXT[c.verdict]}"
        )
        lines.append(
            f"  Active: {yes_no(c.active)}, AutoPay: {yes_no(c.autopay)}, "
            f"type: {c.type or 'not set'}, gateway: {describe_gateway(c)}"
        )
        lines.append(f"  Token: {c.token_masked or '(none)'}, {describe_card(c)}")
        lines.append(f"  {c.url}")
        lines.extend(problem_lines(c.problems))
    if result.hint:
        lines.append(result.hint)
    return "\n".join(line for line in lines if line)
