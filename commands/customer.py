"""`customer`: which Accounts match, their Stripe Customer ID, and whether Stripe agrees.

A support agent types part of a name, an Account Id or a `cus_…` (reverse lookup: which
Accounts hold it). The answer lists at most `ACCOUNT_LIMIT` Accounts, each with its
Salesforce link, its Stripe Customer ID checked against Stripe (exists / deleted / missing,
name, e-mail, default payment method, dashboard link), how many payment methods it has, and
problems with codes from DESIGN section 7: a Stripe Customer ID on two Accounts is a
`stripe_id_conflict`, a name that differs from Stripe's a warning.

Round trips: one Salesforce query (Accounts with their payment methods as a child subquery),
then, all at once, the Stripe customers, the Accounts sharing those Stripe IDs and (only when
more than a handful match) the count behind the "more" hint.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from commands.ids import is_stripe_customer_id, mask_token
from commands.lookups.explain import problem, same_company
from commands.lookups.fetch import ask_stripe, dashboard_url, in_parallel, read_query
from commands.lookups.query import MAX_QUERY, LookupQuery, QueryKind
from commands.lookups.records import AccountRecord, AccountRef, LookupDirectory
from commands.problems import Problem, Severity
from commands.stripe_facts import Found, StripeCustomer, StripePort

ACCOUNT_LIMIT = 5
TRY = "Try part of the Account name, the Account Id (001…) or the Stripe Customer ID (cus_…)."


@dataclass(frozen=True)
class StripeCustomerSide:
    """Stripe's view of the Account's customer. `status`: found, deleted, missing,
    unavailable, or not_checked (the Account has no valid Stripe Customer ID)."""

    status: str
    name: str | None = None
    email: str | None = None
    default_payment_method: str | None = None  # masked
    error: str | None = None


@dataclass(frozen=True)
class AccountMatch:
    id: str
    name: str | None
    url: str
    stripe_customer_id: str | None
    stripe: StripeCustomerSide
    stripe_url: str | None
    payment_methods_total: int
    payment_methods_active: int
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class CustomerResult:
    query: str  # as typed, cleaned of Slack formatting
    matches: list[AccountMatch]
    more: int = 0  # matching Accounts not shown
    hint: str = ""  # what to try next: on no match, on too many, on the wrong kind of Id


def lookup_customer(
    text: str | None, directory: LookupDirectory, stripe: StripePort | None
) -> CustomerResult:
    """Run the lookup. Raises `commands.errors.SalesforceError` when Salesforce fails;
    Stripe failures become `stripe_unavailable` warnings."""
    query = read_query(text, directory)
    refusal = _refusal(query)
    if refusal:
        return CustomerResult(query.shown, [], hint=refusal)
    found = directory.accounts(query, ACCOUNT_LIMIT + 1)
    shown = found[:ACCOUNT_LIMIT]
    if not shown:
        return CustomerResult(query.shown, [], hint=no_match_hint(query))
    customer_ids = sorted(
        {a.stripe_customer_id for a in shown if is_stripe_customer_id(a.stripe_customer_id)}
    )
    complete = len(found) <= ACCOUNT_LIMIT
    # A reverse lookup that fits on screen already lists every holder of that ID.
    holders_known = query.kind is QueryKind.STRIPE_CUSTOMER and complete

    def holders() -> list[AccountRef]:
        if holders_known:
            return [a.ref for a in found]
        return directory.accounts_holding(customer_ids) if customer_ids else []

    def total() -> int:
        return len(found) if complete else directory.count_accounts(query)

    customers, holding, count = in_parallel(
        lambda: ask_stripe(stripe, "customers", customer_ids), holders, total
    )
    matches = [_match(a, customers, holding, directory, stripe) for a in shown]
    more = max(count - len(shown), 0)
    hint = (
        f"{more} more Account{'s' if more != 1 else ''} match: type more of the name, or use "
        "the Account Id or the Stripe Customer ID."
        if more
        else ""
    )
    return CustomerResult(query.shown, matches, more=more, hint=hint)


def _refusal(query: LookupQuery) -> str:
    """Why this text is not looked up at all (empty when it is)."""
    if query.kind is QueryKind.EMPTY:
        return "Type an Account name (or part of one), an Account Id or a Stripe Customer ID."
    if query.kind is QueryKind.TOO_LONG:
        return too_long_hint()
    if query.kind is QueryKind.PAYMENT_METHOD_ID:
        return (
            f"{query.text} is a payment method's Id, not an Account's: look it up with "
            f"`pm {query.text}`."
        )
    if query.kind is QueryKind.TOKEN:
        return (
            f"{query.shown} is a payment-method token, not an Account: look it up with `pm` "
            "and the token."
        )
    return ""


def too_long_hint() -> str:
    return f"That is longer than any Account name ({MAX_QUERY} characters). {TRY}"


def no_match_hint(query: LookupQuery) -> str:
    if query.kind is QueryKind.ACCOUNT_ID:
        return (
            f"No Account has the Id {query.text}: it may have been deleted, or belong to "
            f"another org. {TRY}"
        )
    if query.kind is QueryKind.STRIPE_CUSTOMER:
        return f"No Account has the Stripe Customer ID {query.text}. {TRY}"
    if query.id_note == "bad_checksum":
        return (
            f"No Account is named like “{query.text}”, and as an 18-character Salesforce Id "
            "its last three characters do not match the first fifteen: copy the Id again."
        )
    if query.id_note:
        return (
            f"No Account is named like “{query.text}”; it looks like the Id of another kind of "
            f"record (prefix {query.id_note}), not an Account (001…). {TRY}"
        )
    return f"No Account name contains “{query.text}”. {TRY}"


def _match(
    account: AccountRecord,
    customers: dict[str, StripeCustomer],
    holders: list[AccountRef],
    directory: LookupDirectory,
    stripe: StripePort | None,
) -> AccountMatch:
    customer_id = account.stripe_customer_id
    customer = customers.get(customer_id or "")
    methods = account.payment_methods
    return AccountMatch(
        id=account.id,
        name=account.name,
        url=directory.record_url(account.id),
        stripe_customer_id=customer_id,
        stripe=_stripe_side(customer),
        stripe_url=dashboard_url(stripe, customer_id)
        if is_stripe_customer_id(customer_id)
        else None,
        payment_methods_total=len(methods),
        payment_methods_active=sum(1 for m in methods if m.active is True),
        problems=account_problems(account, customer, holders),
    )


def _stripe_side(customer: StripeCustomer | None) -> StripeCustomerSide:
    if customer is None:
        return StripeCustomerSide("not_checked")
    return StripeCustomerSide(
        status=str(customer.status),
        name=customer.name,
        email=customer.email,
        default_payment_method=mask_token(customer.default_payment_method) or None,
        error=customer.error,
    )


def account_problems(
    account: AccountRecord, customer: StripeCustomer | None, holders: list[AccountRef]
) -> list[Problem]:
    """What is wrong with one Account's link to Stripe."""
    customer_id = account.stripe_customer_id
    if not customer_id:
        has_methods = bool(account.payment_methods)
        return [
            problem(
                "stripe_customer_id_missing",
                "The Account has no Stripe Customer ID"
                + (": its payment methods cannot be charged" if has_methods else ""),
                severity=None if has_methods else Severity.WARNING,
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
    problems = []
    others = [h for h in holders if h.stripe_customer_id == customer_id and h.id != account.id]
    if others:
        named = ", ".join(f"{h.name or '(no name)'} ({h.id})" for h in others)
        problems.append(
            problem(
                "stripe_id_conflict",
                f"{customer_id} is also the Stripe Customer ID of {named}",
                "Keep it on the one Account that Stripe customer belongs to, and clear or "
                "correct the others.",
            )
        )
    problems.extend(customer_problems(customer_id, customer))
    if (
        customer is not None
        and customer.status is Found.FOUND
        and customer.name
        and account.name
        and not same_company(customer.name, account.name)
    ):
        problems.append(
            problem(
                "stripe_name_mismatch",
                f"Stripe names {customer_id} “{customer.name}”, Salesforce names the Account "
                f"“{account.name}”",
            )
        )
    return problems


def customer_problems(customer_id: str, customer: StripeCustomer | None) -> list[Problem]:
    """Stripe's verdict on one customer id: missing, deleted, or not checkable."""
    status = customer.status if customer else Found.UNAVAILABLE
    if status is Found.MISSING:
        return [
            problem(
                "stripe_customer_missing",
                f"Stripe has no customer {customer_id}",
                "Check the ID for a typo, and that the bot's Stripe key is for the right "
                "account (test or live).",
            )
        ]
    if status is Found.DELETED:
        return [
            problem(
                "stripe_customer_deleted",
                f"Stripe customer {customer_id} was deleted",
                "Link the Account to the customer's current Stripe Customer ID.",
            )
        ]
    if status is Found.UNAVAILABLE:
        reason = (customer.error if customer else None) or "no answer"
        return [
            problem(
                "stripe_unavailable",
                f"Stripe unavailable: could not check {customer_id} ({reason})",
            )
        ]
    return []


# --- terminal rendering -------------------------------------------------------------------

MARKS = {Severity.ERROR: "✗", Severity.WARNING: "!", Severity.INFO: "·"}


def problem_lines(problems: list[Problem], indent: str = "  ") -> list[str]:
    return [f"{indent}{MARKS[p.severity]} {p.code}: {p.message}" for p in problems]


def describe_stripe(match: AccountMatch) -> str:
    """One sentence on Stripe's side of the Account."""
    side = match.stripe
    if side.status == "found":
        parts = [f"“{side.name}”" if side.name else "no name", side.email or "no e-mail"]
        default = side.default_payment_method or "none"
        return "Found in Stripe: " + ", ".join(parts) + f", default payment method {default}"
    return {
        "deleted": "Deleted in Stripe",
        "missing": "Not found in Stripe",
        "unavailable": "Stripe unavailable: could not check",
        "not_checked": "Not checked in Stripe",
    }.get(side.status, side.status)


def render_text(result: CustomerResult) -> str:
    lines = [f"Accounts matching “{result.query}”:" if result.matches else ""]
    for m in result.matches:
        lines.append(f"• {m.name or '(no name)'} ({m.id})  {m.url}")
        stripe_id = m.stripe_customer_id or "(none)"
        lines.append(f"  Stripe Customer ID: {stripe_id}")
        lines.append(f"  {describe_stripe(m)}")
        if m.stripe_url:
            lines.append(f"  {m.stripe_url}")
        lines.append(
            f"  Payment methods: {m.payment_methods_total} ({m.payment_methods_active} active)"
        )
        lines.extend(problem_lines(m.problems) or ["  ✓ no problems found"])
    if result.hint:
        lines.append(result.hint)
    return "\n".join(line for line in lines if line)
