"""The Salesforce checks: each a small function from the `AuditSource` port to a result.

Salesforce counts (the port answers `count(code)` with an aggregate query), and only the
offending records, up to a cap, come back to be listed. Turning a record into a finding (its
link and a one-line detail with any token masked) is the same for every check, so it lives
here once.
"""

from __future__ import annotations

import re
from itertools import islice

from commands.audit.catalogue import SPECS
from commands.audit.model import CheckResult, Finding, Status
from commands.audit.source import (
    AccountRow,
    AuditSource,
    AuditWindow,
    GatewayRow,
    InvoiceRow,
    PaymentMethodRow,
    Row,
    TransactionRow,
)
from commands.billing_settings import BATCH_SIZE_MAX, WHERE_TO_CHANGE, find_batch_size
from commands.ids import is_stripe_customer_id, mask_token

STRIPE_GATEWAY_TYPES = ("stripe", "stripe (universal extension)")
_TOKEN_LIKE = re.compile(r"^[A-Za-z]+_\S+$")


def unknown(code: str, reason: str) -> CheckResult:
    return CheckResult(code, Status.UNKNOWN, 0, f"could not check: {reason}")


def found(code: str, count: int, findings: list[Finding], note: str = "") -> CheckResult:
    """A check that ran: pass with none, else the check's own severity, and how to fix."""
    spec = SPECS[code]
    message = spec.summary(count) + (f" ({note})" if note else "")
    if count and spec.how_to_fix:
        message += f". {spec.how_to_fix}"
    status = spec.when_found if count else Status.PASS
    return CheckResult(code, status, count, message, note, tuple(findings))


# --- batch size and gateways ------------------------------------------------------------------


def check_batch_size(source: AuditSource, setting_name: str | None) -> CheckResult:
    setting = find_batch_size(source.batch_size_records(), setting_name)
    if setting.value is None:
        return unknown("batch_size", setting.problem or "the setting could not be read")
    value = setting.value
    finding = Finding(
        "batch_size",
        setting.record_id or "",
        setting.record_name or "Payment creation batch size",
        source.record_url(setting.record_id) if setting.record_id else "",
        f"Payment creation batch size is {value}",
    )
    # `count` is the setting's value here: the number this check is about.
    if value == BATCH_SIZE_MAX:
        return CheckResult("batch_size", Status.PASS, value, f"{value}, the recommended maximum")
    if 1 <= value < BATCH_SIZE_MAX:
        status, why = Status.WARN, f"{value}: Stripe recommends {BATCH_SIZE_MAX}, the maximum"
    else:
        status, why = Status.FAIL, f"{value}: outside the allowed 1..{BATCH_SIZE_MAX}"
    message = f"{why}. Set it to {BATCH_SIZE_MAX} in {WHERE_TO_CHANGE}"
    return CheckResult("batch_size", status, value, message, findings=(finding,))


def is_stripe_gateway(gateway: GatewayRow) -> bool:
    return (gateway.type or "").strip().lower() in STRIPE_GATEWAY_TYPES


def check_stripe_gateway(source: AuditSource) -> CheckResult:
    gateways = source.gateways()
    stripe = [g for g in gateways if is_stripe_gateway(g)]
    active = [g for g in stripe if g.active]
    default = next((g for g in gateways if g.default and g.active), None)
    if default is None:
        says_default = "no active gateway is marked Default"
    else:
        kind = "a Stripe gateway" if is_stripe_gateway(default) else f"type {default.type}"
        says_default = f"the default is {default.name} ({kind})"
    # `count` is the number of active Stripe gateways: the number this check is about.
    if active:
        names = ", ".join(g.name for g in active)
        return CheckResult(
            "stripe_gateway", Status.PASS, len(active), f"active: {names}; {says_default}"
        )
    inactive = [
        Finding("stripe_gateway", g.id, g.name, source.record_url(g.id), "Stripe gateway, inactive")
        for g in stripe
    ]
    what = "no Stripe gateway is active" if stripe else "there is no gateway of a Stripe type"
    return CheckResult(
        "stripe_gateway",
        Status.FAIL,
        0,
        f"{what}; {says_default}. {SPECS['stripe_gateway'].fix}",
        findings=tuple(inactive),
    )


# --- checks Salesforce counts -----------------------------------------------------------------


def check_filter(source: AuditSource, code: str, window: AuditWindow, limit: int) -> CheckResult:
    count = source.count(code)
    rows = list(islice(source.rows(code, limit), limit)) if count else []
    findings = [to_finding(source, code, row, window) for row in rows]
    note = f"the first {len(findings):,} are listed" if count > len(findings) else ""
    return found(code, count, findings, note)


def check_malformed_stripe_ids(source: AuditSource, window: AuditWindow, limit: int) -> CheckResult:
    """Filled in but not `cus_…`: judged record by record (see `iter_stripe_ids`)."""
    code = "account_malformed_stripe_id"
    count, findings = 0, []
    for row in source.iter_stripe_ids():
        value = (row.stripe_customer_id or "").strip()
        if not value or is_stripe_customer_id(row.stripe_customer_id or ""):
            continue
        count += 1
        if len(findings) < limit:
            findings.append(to_finding(source, code, row, window))
    note = f"the first {len(findings):,} are listed" if count > len(findings) else ""
    return found(code, count, findings, note)


def to_finding(source: AuditSource, code: str, row: Row, window: AuditWindow) -> Finding:
    return Finding(code, row.id, row.name, source.record_url(row.id), detail(code, row, window))


def detail(code: str, row: Row, window: AuditWindow) -> str:
    """One line a billing-ops person can act on; tokens masked, never whole."""
    if isinstance(row, PaymentMethodRow):
        return f"{_pm_detail(code, row, window)} (Account: {row.account_name})"
    if isinstance(row, AccountRow):
        if code == "duplicate_stripe_customer_id":
            return f"{shown_id(row.stripe_customer_id)} is on {row.shared_by} Accounts"
        if code == "account_malformed_stripe_id":
            return f"Stripe Customer ID {shown_id(row.stripe_customer_id)!r} is not cus_…"
        if code == "autopay_inactive":
            return "its AutoPay payment method is inactive"
        return "has payment methods but no Stripe Customer ID"
    if isinstance(row, TransactionRow):
        when = f" on {row.when[:10]}" if row.when else ""
        return f"gateway status {row.gateway_status or 'empty'}{when} (Account: {row.account_name})"
    if isinstance(row, InvoiceRow):
        states = [f"Corrective Action: {row.corrective_action}"] if row.corrective_action else []
        states += ["locked"] if row.locked else []
        return f"{'; '.join(states) or 'flagged'} (Account: {row.account_name})"
    raise TypeError(f"no detail for {type(row).__name__}")


def _pm_detail(code: str, row: PaymentMethodRow, window: AuditWindow) -> str:
    if code == "pm_missing_gateway":
        return "no Payment Gateway"
    if code == "pm_missing_token":
        return "no Payment Gateway Token"
    if code == "pm_inactive":
        return "Active is false"
    if code == "autopay_inactive":
        return "AutoPay payment method, Active is false"
    if code in ("card_expired", "card_expiring"):
        state = window.card_state(row.exp_month, row.exp_year) or "expires"
        return f"card {state}: {row.exp_month}/{row.exp_year}"
    return f"token {mask_token(row.token)}"


def shown_id(value: str | None) -> str:
    """A Stripe Customer ID as it may be shown: whole when it is one, masked when it looks like
    any other Stripe object id or key (a payment method or key pasted in the wrong field)."""
    value = (value or "").strip()
    if value.lower().startswith("cus") or not _TOKEN_LIKE.match(value):
        return value[:60]
    return mask_token(value)
