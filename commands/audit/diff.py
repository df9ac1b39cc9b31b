"""What changed since the previous run: new, resolved and still-open findings per check.

A finding is the same finding from one run to the next when its (code, record id) is. Each
check is compared with the last run in which *that check* could run: a check that was
`unknown` last time (Salesforce timed out, say) is compared with the run before, and a check
that is `unknown` now claims nothing, so an outage never shows up as "everything resolved".
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from commands.audit.model import CheckChanges, CheckResult, Status


@dataclass(frozen=True)
class BaselineCheck:
    last_status: Status | None  # in the previous run, whatever it was
    known_ids: frozenset[str] | None  # findings of the last run where it could run; None: never


@dataclass(frozen=True)
class Baseline:
    run_at: datetime
    checks: dict[str, BaselineCheck]


class AuditHistory(Protocol):
    def baseline(self) -> Baseline | None:
        """What the last recorded runs found; None before the first."""
        ...


def compare(checks: list[CheckResult], baseline: Baseline | None) -> list[CheckResult]:
    return [
        _compare(check, baseline.checks.get(check.code) if baseline else None) for check in checks
    ]


def _compare(check: CheckResult, before: BaselineCheck | None) -> CheckResult:
    status_changed = before is not None and before.last_status not in (None, check.status)
    if check.status == Status.UNKNOWN or before is None or before.known_ids is None:
        changes = CheckChanges(status_changed=status_changed)
        return dataclasses.replace(check, changes=changes)
    now = {f.record_id for f in check.findings}
    new = now - before.known_ids
    changes = CheckChanges(
        new=len(new),
        resolved=len(before.known_ids - now),
        open=len(now & before.known_ids),
        compared=True,
        status_changed=status_changed,
    )
    return dataclasses.replace(check, changes=changes, new_ids=frozenset(new))
