"""The audit as terminal text and as CSV rows (Block Kit lives in `bot/features/audit.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from commands.audit.catalogue import SPECS
from commands.audit.model import AuditResult, CheckChanges, CheckResult, Status
from commands.csv_safe import write_csv

MARKS = {Status.PASS: "✓", Status.WARN: "!", Status.FAIL: "✗", Status.UNKNOWN: "?"}
CSV_HEADER = (
    "code",
    "check",
    "status",
    "record_id",
    "record_name",
    "link",
    "detail",
    "since_last_run",
    "how_to_fix",
)


def when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip()


def changes_text(changes: CheckChanges) -> str:
    """`2 new, 1 resolved` (what changed), or '' when nothing did or nothing was compared."""
    parts = [f"{changes.new:,} new"] if changes.new else []
    parts += [f"{changes.resolved:,} resolved"] if changes.resolved else []
    return ", ".join(parts)


def totals_text(result: AuditResult) -> str:
    totals = result.totals
    if result.previous_run_at is None:
        return "First audit: nothing to compare with yet."
    return (
        f"Since {when(result.previous_run_at)}: {totals.new:,} new, "
        f"{totals.resolved:,} resolved, {totals.open:,} still open."
    )


def render_text(result: AuditResult) -> str:
    lines = [f"Billing audit, {when(result.run_at)}"]
    for check in result.checks:
        change = changes_text(check.changes)
        lines.append(
            f"{MARKS[check.status]} {check.status.value:<7} {check.code:<30} "
            f"{check.count:>6,}  {check.message}" + (f" [{change}]" if change else "")
        )
        lines.extend(
            f"      {f.record_name}  {f.detail}  {f.link}".rstrip() for f in check.examples
        )
    lines.append(totals_text(result))
    return "\n".join(lines)


def csv_rows(result: AuditResult) -> Iterator[tuple[str, ...]]:
    """Every finding, with whether it is new since the compared run."""
    for check in result.checks:
        for f in check.findings:
            yield (
                f.code,
                SPECS[f.code].title,
                check.status.value,
                f.record_id,
                f.record_name,
                f.link,
                f.detail,
                _since(check, f.record_id),
                SPECS[f.code].how_to_fix,
            )


def _since(check: CheckResult, record_id: str) -> str:
    if not check.changes.compared:
        return ""
    return "new" if record_id in check.new_ids else "still open"


def findings_csv(result: AuditResult) -> str:
    return write_csv(CSV_HEADER, csv_rows(result))


def csv_filename(result: AuditResult) -> str:
    return f"audit-{result.run_at:%Y-%m-%d}.csv"
