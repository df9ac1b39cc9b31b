"""What an audit produces: one result per check, each finding, and what changed since before.

The same objects feed Slack's Block Kit, the terminal text, `--json` and the CSV, so the
channel, the shell and the spreadsheet never disagree about what the audit found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

EXAMPLES = 3  # findings shown per check in a summary; the CSV has every one


class Status(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    UNKNOWN = "unknown"  # the check could not run: never to be read as a pass


@dataclass(frozen=True, slots=True)
class Finding:
    """One record (or setting) that a check flags. `detail` never holds a whole token."""

    code: str
    record_id: str
    record_name: str
    link: str
    detail: str

    @property
    def key(self) -> tuple[str, str]:
        """What identifies a finding from one run to the next."""
        return (self.code, self.record_id)

    def to_dict(self) -> dict[str, str]:
        return {
            "record_id": self.record_id,
            "record_name": self.record_name,
            "link": self.link,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class CheckChanges:
    """Against the last run in which this check could run. `compared` is False when there is
    no such run (first audit) or the check could not run now: nothing is claimed then."""

    new: int = 0
    resolved: int = 0
    open: int = 0
    compared: bool = False
    status_changed: bool = False

    @property
    def any(self) -> bool:
        return bool(self.new or self.resolved or self.status_changed)

    def to_dict(self) -> dict[str, Any]:
        return {"new": self.new, "resolved": self.resolved, "open": self.open}


@dataclass(frozen=True)
class CheckResult:
    code: str
    status: Status
    # How many records the check flags; for `batch_size` the setting's value and for
    # `stripe_gateway` the number of active Stripe gateways: the number each check is about.
    count: int
    message: str
    note: str = ""  # what was covered: "checked a sample of 500 of 50,000 payment methods"
    # Every finding kept (up to the audit's cap); `count` is the exact number found, which
    # can be larger when a check found more than the cap.
    findings: tuple[Finding, ...] = ()
    changes: CheckChanges = field(default_factory=CheckChanges)
    new_ids: frozenset[str] = frozenset()  # record ids new since the compared run

    @property
    def examples(self) -> tuple[Finding, ...]:
        return self.findings[:EXAMPLES]

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "status": str(self.status),
            "count": self.count,
            "examples": [f.to_dict() for f in self.examples],
            "message": self.message,
            "changes": self.changes.to_dict() if self.changes.compared else None,
        }


@dataclass(frozen=True)
class AuditResult:
    run_at: datetime
    checks: list[CheckResult]
    previous_run_at: datetime | None = None
    run_id: int | None = None  # set once stored

    @property
    def totals(self) -> CheckChanges:
        compared = [c.changes for c in self.checks if c.changes.compared]
        return CheckChanges(
            new=sum(c.new for c in compared),
            resolved=sum(c.resolved for c in compared),
            open=sum(c.open for c in compared),
            compared=bool(compared),
            status_changed=any(c.status_changed for c in compared),
        )

    def check(self, code: str) -> CheckResult:
        return next(c for c in self.checks if c.code == code)

    @property
    def findings(self) -> list[Finding]:
        return [f for c in self.checks for f in c.findings]

    @property
    def failed(self) -> bool:
        return any(c.status == Status.FAIL for c in self.checks)

    @property
    def changed(self) -> bool:
        return any(c.changes.any for c in self.checks)

    def worth_posting(self, quiet: bool) -> bool:
        """Quiet mode (AUDIT_QUIET) posts only when something changed or a check failed."""
        return not quiet or self.failed or self.changed or self.previous_run_at is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_at": self.run_at,
            "previous_run_at": self.previous_run_at,
            "checks": [c.to_dict() for c in self.checks],
            "changes": self.totals.to_dict(),
        }
