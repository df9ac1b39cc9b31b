"""Running every check, and never letting one broken check stop the others.

A check that raises is reported as `unknown` with the reason (Salesforce's own sentence for an
unreadable object or a timeout); the rest still run, so one missing permission or one slow
query costs one line of the summary, not the whole audit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from commands.audit.catalogue import CODES_IN_ORDER, STRIPE_CODES
from commands.audit.checks import (
    check_batch_size,
    check_filter,
    check_malformed_stripe_ids,
    check_stripe_gateway,
    unknown,
)
from commands.audit.diff import AuditHistory, compare
from commands.audit.model import AuditResult, CheckResult
from commands.audit.source import FILTER_CHECKS, AuditSource, AuditWindow
from commands.audit.stripe_check import check_stripe
from commands.errors import UpstreamError
from commands.stripe_facts import StripePort

log = logging.getLogger(__name__)

MAX_FINDINGS = 10_000  # per check: what is listed, stored and diffed; counts stay exact


@dataclass(frozen=True)
class AuditOptions:
    window: AuditWindow
    stripe_sample: int = 0  # 0: every payment method
    batch_size_setting: str | None = None  # SF_BATCH_SIZE_SETTING
    max_findings: int = MAX_FINDINGS


def run_checks(
    source: AuditSource, stripe: StripePort | None, options: AuditOptions
) -> list[CheckResult]:
    limit = options.max_findings
    results = [
        _guarded(("batch_size",), lambda: [check_batch_size(source, options.batch_size_setting)]),
        _guarded(("stripe_gateway",), lambda: [check_stripe_gateway(source)]),
        *(
            _guarded((code,), lambda c=code: [check_filter(source, c, options.window, limit)])
            for code in FILTER_CHECKS
        ),
        _guarded(
            ("account_malformed_stripe_id",),
            lambda: [check_malformed_stripe_ids(source, options.window, limit)],
        ),
        _guarded(STRIPE_CODES, lambda: check_stripe(source, stripe, options.stripe_sample, limit)),
    ]
    by_code = {r.code: r for group in results for r in group}
    return [by_code[code] for code in CODES_IN_ORDER]


def _guarded(codes: tuple[str, ...], run: Callable[[], list[CheckResult]]) -> list[CheckResult]:
    """Run a check; a passing hiccup (a 503, a timeout, a dropped connection) is retried
    once, since a scheduled summary with a needless `unknown` is read by a whole channel."""
    for attempt in (1, 2):
        try:
            return run()
        except UpstreamError as exc:
            log.info("audit %s (attempt %s): %s", ", ".join(codes), attempt, exc.message)
            if exc.retryable and attempt == 1:
                continue
            return [unknown(code, exc.message) for code in codes]
        except Exception:  # a bug in one check must not hide the other eighteen
            log.exception("audit %s failed", ", ".join(codes))
            return [unknown(code, "internal error (see the bot's log)") for code in codes]
    raise AssertionError("unreachable")


def audit(
    source: AuditSource,
    stripe: StripePort | None,
    history: AuditHistory,
    options: AuditOptions,
    now: datetime,
) -> AuditResult:
    """Run every check and say what changed since the last recorded run (not stored here:
    the caller decides whether this run is one the channel will compare against)."""
    checks = run_checks(source, stripe, options)
    baseline = history.baseline()
    return AuditResult(
        run_at=now,
        checks=compare(checks, baseline),
        previous_run_at=baseline.run_at if baseline else None,
    )
