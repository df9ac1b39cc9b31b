"""What a finished (or stopped) run tells people: a summary line and the two result CSVs.

Data Loader style: the success CSV repeats each row written or skipped with the Ids it got and
what happened; the error CSV repeats each row not written with the reason, so the admin can
fix those lines and send them again (a re-run skips everything already in Salesforce). Tokens
are masked and formula-like cells neutralised by `csv_out`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from commands.imports.csv_out import row_errors, rows_csv
from commands.imports.report import plural
from commands.imports.results import ImportReport, PlannedRow
from commands.imports.run import RowState, RunRow, StepState

SUCCESS_STATES = (RowState.CREATED, RowState.UPDATED, RowState.SKIPPED)


@dataclass(frozen=True)
class RowOutcome:
    planned: PlannedRow  # the row as validated (its cells and problems)
    run: RunRow  # where its writes ended


def file_stem(filename: str) -> str:
    """`customers.csv` -> `customers`: the start of the result files' names."""
    return filename.rsplit(".", 1)[0] or "import"


def summary_line(counts: dict[str, int]) -> str:
    """`3 created · 1 updated · 2 skipped · 0 failed`, plus what never reached the run."""
    text = " · ".join(
        f"{counts.get(state, 0):,} {state}" for state in ("created", "updated", "skipped", "failed")
    )
    if counts.get("rejected"):
        text += f" ({plural(counts['rejected'], 'row')} rejected at validation)"
    unfinished = counts.get("pending", 0) + counts.get("sending", 0)
    if unfinished:
        text += f" ({plural(unfinished, 'row')} not finished)"
    return text


def _what_happened(run: RunRow) -> str:
    parts = []
    for what, state in (
        ("Account", run.account_state),
        ("payment method", run.payment_method_state),
    ):
        if state is StepState.SKIPPED:
            parts.append(f"{what} already in Salesforce")
        elif state in (StepState.CREATED, StepState.UPDATED):
            parts.append(f"{what} {state.value}")
    return "; ".join(parts) or "already in Salesforce: nothing to do"


def _why_not(outcome: RowOutcome) -> str:
    run = outcome.run
    if run.state is RowState.REJECTED:
        return "rejected at validation: " + row_errors(outcome.planned)
    if run.state is RowState.SENDING:
        return (
            "not confirmed: Salesforce did not answer for this row; sending the same file "
            "again skips it if it was written"
        )
    if run.state is RowState.PENDING:
        return "not sent: the run stopped before this row"
    return run.error or "failed"


def success_csv(report: ImportReport, outcomes: Sequence[RowOutcome]) -> str:
    done = {o.planned.line: o.run for o in outcomes if o.run.state in SUCCESS_STATES}
    return rows_csv(
        report,
        (o.planned for o in outcomes if o.planned.line in done),
        ["ACCOUNT_ID", "PAYMENT_METHOD_ID", "STATUS"],
        lambda row: [
            done[row.line].account_id or "",
            done[row.line].payment_method_id or "",
            _what_happened(done[row.line]),
        ],
    )


def error_csv(report: ImportReport, outcomes: Sequence[RowOutcome]) -> str:
    failed = {o.planned.line: o for o in outcomes if o.run.state not in SUCCESS_STATES}
    return rows_csv(
        report,
        (o.planned for o in outcomes if o.planned.line in failed),
        ["ACCOUNT_ID", "ERROR"],
        lambda row: [failed[row.line].run.account_id or "", _why_not(failed[row.line])],
    )
