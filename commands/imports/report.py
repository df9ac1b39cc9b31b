"""The dry run as text: what a billing admin reads in a terminal before asking for approval.

Summary first (which scenario and why, what would be written, what was not checked), then the
problems grouped by row, each with the line, the column and how to fix it.
"""

from __future__ import annotations

from itertools import groupby

from commands.imports.results import ImportReport, RowProblem, RowStatus
from commands.imports.scenario import DESCRIPTIONS
from commands.problems import Severity

_MARK = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "info"}


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def plan_summary(report: ImportReport) -> str:
    plan = report.plan
    parts = [
        f"{plural(plan.accounts_create, 'Account')} to create",
        f"{plural(plan.accounts_update, 'Account')} to update",
        f"{plural(plan.payment_methods_create, 'payment method')} to create",
        f"{plural(plan.skipped, 'row')} skipped (already in Salesforce)",
        f"{plural(plan.rejected_rows, 'row')} rejected",
    ]
    return ", ".join(parts)


def render_text(report: ImportReport) -> str:
    how = "detected" if report.scenario_detected else "chosen"
    lines = [
        f"File: {report.filename} ({report.encoding}, {report.delimiter}-separated, "
        f"{plural(report.rows, 'row')})",
        f"Scenario: {DESCRIPTIONS[report.scenario]} ({how})",
        f"  because {report.scenario_reason}",
        f"Plan: {plan_summary(report)}",
    ]
    lines += [f"Not checked: {text}" for text in report.skipped_checks]
    lines += [f"Note: {text}" for text in report.warnings]
    status = {row.line: row.status for row in report.planned}
    header_lines = {p.line for p in report.problems} - set(status)
    for line, problems in groupby(report.problems, key=lambda p: p.line):
        lines.append("")
        if line in header_lines:
            lines.append(f"Header (line {line}):")
        else:
            lines.append(f"Line {line} ({_status_word(status[line])}):")
        lines += [_problem_line(p) for p in problems]
    if not report.problems:
        lines += ["", "No problems found."]
    return "\n".join(lines)


def _status_word(status: RowStatus) -> str:
    return {
        RowStatus.OK: "will be imported",
        RowStatus.SKIP: "skipped",
        RowStatus.REJECTED: "rejected",
    }[status]


def _problem_line(problem: RowProblem) -> str:
    where = f"{problem.column}: " if problem.column else ""
    fix = f" {problem.fix}" if problem.fix and problem.severity != Severity.INFO else ""
    return f"  {_MARK[problem.severity]:<7} {where}{problem.message} [{problem.code}]{fix}"
