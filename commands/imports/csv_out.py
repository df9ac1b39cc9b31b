"""The CSVs an import writes: the error report, and the per-row result files, Data Loader style.

Each result file repeats the row as the admin sent it (so it can be fixed and sent again) with
columns added at the end: `ERROR` in the error CSV; the run engine adds `ID` and `STATUS` for
the success CSV through `rows_csv`. Every cell goes through `commands.csv_safe`, so nothing a
spreadsheet would run as a formula survives, and the token column is masked unless the caller
writes a file that never leaves the bot (`mask_tokens=False`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from commands.csv_safe import write_csv
from commands.ids import mask_token, mask_tokens_in
from commands.imports.columns import Field, column_name
from commands.imports.results import ImportReport, PlannedRow, RowStatus
from commands.problems import Severity

# Excel reads UTF-8 only with a byte-order mark; encode uploads with this.
CSV_ENCODING = "utf-8-sig"
PROBLEM_COLUMNS = ("line", "column", "code", "severity", "message", "how to fix")


def source_header(report: ImportReport) -> list[str]:
    """The file's columns in order, named as in each row's `source` (blank headers become
    “column N”; values beyond the header, on ragged rows, come last)."""
    names = [column_name(report.header, i) for i in range(len(report.header))]
    extra = dict.fromkeys(k for row in report.planned for k in row.source if k not in names)
    return [*names, *extra]


def source_cells(
    report: ImportReport, row: PlannedRow, header: Sequence[str], *, mask_tokens: bool = True
) -> list[str]:
    if not mask_tokens:
        return [row.source.get(name, "") for name in header]
    # The token column whole; any other cell word by word (a token typed in the wrong column
    # is still a token).
    token_column = report.columns.get(Field.TOKEN.value)
    cells = [(name, row.source.get(name, "")) for name in header]
    return [
        mask_token(value.strip()) if name == token_column else mask_tokens_in(value)
        for name, value in cells
    ]


def rows_csv(
    report: ImportReport,
    rows: Iterable[PlannedRow],
    extra_columns: Sequence[str],
    extra: Callable[[PlannedRow], Sequence[Any]],
    *,
    mask_tokens: bool = True,
) -> str:
    """`LINE`, the row as sent, then `extra_columns` filled by `extra(row)`."""
    header = source_header(report)
    shown = [mask_tokens_in(name) for name in header] if mask_tokens else header
    return write_csv(
        ["LINE", *shown, *extra_columns],
        (
            [row.line, *source_cells(report, row, header, mask_tokens=mask_tokens), *extra(row)]
            for row in rows
        ),
    )


def row_errors(row: PlannedRow) -> str:
    """The row's errors in one cell: `code: message; code: message` (tokens masked: a message
    may name a column after a header cell that holds one)."""
    errors = (f"{p.code}: {p.message}" for p in row.problems if p.severity == Severity.ERROR)
    return mask_tokens_in("; ".join(errors))


def error_csv(report: ImportReport, *, mask_tokens: bool = True) -> str:
    """The rejected rows of a validation, each with its errors: fix them and send again."""
    rejected = (row for row in report.planned if row.status == RowStatus.REJECTED)
    return rows_csv(
        report, rejected, ["ERROR"], lambda row: [row_errors(row)], mask_tokens=mask_tokens
    )


def problems_csv(report: ImportReport) -> str:
    """Every problem, one per line, with how to fix it. Columns are named by the file's header,
    which may hold a token (a data row taken for the header): masked, as in the messages."""
    return write_csv(
        PROBLEM_COLUMNS,
        (
            [p.line, mask_tokens_in(p.column), p.code, p.severity, mask_tokens_in(p.message), p.fix]
            for p in report.problems
        ),
    )
