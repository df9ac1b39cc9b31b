"""The Stripe cross-check: does Stripe agree with what Salesforce will try to charge?

Payment methods arrive from Salesforce as a paged stream ordered by Account, and are asked
about in chunks, so memory stays flat however large the org; each Account's customer is asked
about once. With a sample size (AUDIT_STRIPE_SAMPLE) the same payment methods are picked on
every run (those whose Id hashes lowest), so run-to-run changes are real changes and not a
different sample. Rate and concurrency are the Stripe port's business.
"""

from __future__ import annotations

import hashlib
import heapq
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from commands.audit.catalogue import STRIPE_CODES
from commands.audit.checks import found, unknown
from commands.audit.model import CheckResult, Finding, Status
from commands.audit.source import AuditSource, PaymentMethodRow
from commands.ids import is_stripe_customer_id, mask_token, token_kind
from commands.stripe_facts import Found, StripeCustomer, StripePaymentMethod, StripePort

CHUNK = 250
NOT_CONFIGURED = "Stripe is not configured (STRIPE_API_KEY is not set)"


def checkable(row: PaymentMethodRow) -> bool:
    """Payment methods whose token Stripe can be asked about: pm_… and the legacy ids.
    tok_… (not a payment method at all) and empty tokens are the Salesforce checks' findings."""
    return token_kind(row.token or "") in ("reusable", "legacy")


def sample_key(row: PaymentMethodRow) -> str:
    return hashlib.sha256(row.id.encode()).hexdigest()


@dataclass
class _Tally:
    limit: int
    counts: Counter[str] = field(default_factory=Counter)
    findings: dict[str, list[Finding]] = field(default_factory=dict)
    unavailable: Counter[str] = field(default_factory=Counter)  # "pm" / "customer"
    reasons: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    payment_methods: int = 0
    customers: int = 0

    def add(self, finding: Finding) -> None:
        self.counts[finding.code] += 1
        kept = self.findings.setdefault(finding.code, [])
        if len(kept) < self.limit:
            kept.append(finding)

    def miss(self, kind: str, reason: str | None) -> None:
        self.unavailable[kind] += 1
        self.reasons[kind][reason or "Stripe did not answer"] += 1


def check_stripe(
    source: AuditSource, stripe: StripePort | None, sample: int, limit: int
) -> list[CheckResult]:
    if stripe is None:
        return [unknown(code, NOT_CONFIGURED) for code in STRIPE_CODES]
    rows = _Counting(source.iter_payment_methods())
    tally = _Tally(limit)
    if sample > 0:
        picked = heapq.nsmallest(sample, rows, key=sample_key)
        picked.sort(key=lambda r: (r.account_id, r.id))
        _cross_check(picked, stripe, source, tally)
    else:
        _cross_check(rows, stripe, source, tally)
    if 0 < sample < rows.count:
        scope = (
            f"checked a sample of {sample:,} of {rows.count:,} payment methods "
            "(AUDIT_STRIPE_SAMPLE)"
        )
    else:
        scope = f"checked all {rows.count:,} payment methods"
    return [_result(code, tally, scope) for code in STRIPE_CODES]


class _Counting:
    """Counts what passes through, so the sample can say what it was taken from."""

    def __init__(self, rows: Iterable[PaymentMethodRow]):
        self.rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[PaymentMethodRow]:
        for row in self.rows:
            self.count += 1
            yield row


def _cross_check(
    rows: Iterable[PaymentMethodRow], stripe: StripePort, source: AuditSource, tally: _Tally
) -> None:
    """Chunk by chunk: the payment methods Stripe can be asked about, then the customers of
    the Accounts met in this chunk (rows come ordered by Account, so looking one row back is
    enough to ask about each Account once)."""
    iterator = iter(rows)
    last_account = None
    while chunk := list(islice(iterator, CHUNK)):
        lookups = [r for r in chunk if checkable(r)]
        tally.payment_methods += len(lookups)
        answers = stripe.payment_methods([r.token or "" for r in lookups])
        for row in lookups:
            _judge_payment_method(row, answers.get(row.token or ""), source, tally)
        accounts = {}
        for row in chunk:
            if row.account_id != last_account and is_stripe_customer_id(
                row.account_stripe_id or ""
            ):
                accounts[row.account_id] = row
            last_account = row.account_id
        customers = stripe.customers([r.account_stripe_id or "" for r in accounts.values()])
        tally.customers += len(accounts)
        for row in accounts.values():
            _judge_customer(row, customers.get(row.account_stripe_id or ""), source, tally)


def _judge_payment_method(
    row: PaymentMethodRow,
    answer: StripePaymentMethod | None,
    source: AuditSource,
    tally: _Tally,
) -> None:
    token = mask_token(row.token)
    if answer is None or answer.status == Found.UNAVAILABLE:
        tally.miss("pm", answer.error if answer else None)
        return
    if answer.status != Found.FOUND:
        tally.add(_finding("stripe_pm_missing", row, source, f"Stripe has no {token}"))
        return
    expected = row.account_stripe_id
    if is_stripe_customer_id(expected or "") and answer.customer != expected:
        where = f"attached to {answer.customer}" if answer.customer else "attached to no customer"
        tally.add(
            _finding(
                "stripe_pm_other_customer",
                row,
                source,
                f"{token} is {where}, not the Account's {expected}",
            )
        )


def _judge_customer(
    row: PaymentMethodRow, answer: StripeCustomer | None, source: AuditSource, tally: _Tally
) -> None:
    customer = row.account_stripe_id
    if answer is None or answer.status == Found.UNAVAILABLE:
        tally.miss("customer", answer.error if answer else None)
        return
    code = {Found.MISSING: "stripe_customer_missing", Found.DELETED: "stripe_customer_deleted"}
    if answer.status in code:
        what = "was deleted in Stripe" if answer.status == Found.DELETED else "not found in Stripe"
        tally.add(
            Finding(
                code[answer.status],
                row.account_id,
                row.account_name,
                source.record_url(row.account_id),
                f"{customer} {what}",
            )
        )


def _finding(code: str, row: PaymentMethodRow, source: AuditSource, what: str) -> Finding:
    detail = f"{what} (Account: {row.account_name})"
    return Finding(code, row.id, row.name, source.record_url(row.id), detail)


def _result(code: str, tally: _Tally, scope: str) -> CheckResult:
    kind = "customer" if code.startswith("stripe_customer") else "pm"
    asked = tally.customers if kind == "customer" else tally.payment_methods
    result = found(code, tally.counts[code], tally.findings.get(code, []), scope)
    missed = tally.unavailable[kind]
    if not missed:
        return result
    reason = tally.reasons[kind].most_common(1)[0][0]
    what = "customers" if kind == "customer" else "payment methods"
    return CheckResult(
        code,
        Status.UNKNOWN,
        result.count,
        f"could not check {missed:,} of {asked:,} {what} ({reason}); "
        f"{result.count:,} found among the rest",
        scope,
        result.findings,
    )
