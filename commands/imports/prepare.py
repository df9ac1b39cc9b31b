"""`prepare_import`: a CSV in, a validated report and plan out, nothing written anywhere.

The same function serves the terminal dry run, the Slack modal and the run engine (which
re-prepares before it writes), so what an approver saw is what runs. Salesforce and Stripe are
optional: without them every file-level check still runs and the report says which
cross-checks were skipped.
"""

from __future__ import annotations

from datetime import date

from commands.errors import UpstreamError
from commands.imports.columns import Field, HeaderMatch, match_header
from commands.imports.crosscheck import ImportDirectory, cross_check
from commands.imports.plan import FieldNames, build_plan
from commands.imports.reader import DELIMITERS, FileRejected, Limits, Table, read_table
from commands.imports.results import ImportReport, RowProblem
from commands.imports.scenario import (
    DESCRIPTIONS,
    REQUIRED,
    Detection,
    Scenario,
    detect,
    missing_groups,
)
from commands.imports.validate import RowContext, validate_rows
from commands.problems import Severity
from commands.stripe_facts import StripePort


def prepare_import(
    data: bytes,
    *,
    filename: str,
    scenario: Scenario | None,
    directory: ImportDirectory | None,
    stripe: StripePort | None,
    limits: Limits,
    today: date,
) -> ImportReport:
    """Read, detect, validate, cross-check and plan. Raises FileRejected(reason) when the
    file cannot be used at all."""
    table = read_table(data, limits)
    skipped: list[str] = []
    names, gateway_prefix = FieldNames(), None
    if directory is not None:
        try:
            names = FieldNames(directory.stripe_customer_field, directory.token_field)
            gateway_prefix = directory.gateway_key_prefix()
        except UpstreamError as exc:
            skipped.append(f"Salesforce cross-checks skipped: {exc.message}")
            directory = None
    match = match_header(
        table.header,
        {Field.STRIPE_CUSTOMER_ID: [names.stripe_customer], Field.TOKEN: [names.token]},
    )
    if not match.columns:
        raise FileRejected(_no_known_columns(table))
    detection = detect(match.columns) if scenario is None else _chosen(scenario)
    columns = {f: table.header[i] for f, i in match.columns.items()}
    header_problems = _header_problems(table, match, detection.scenario)
    file_errors = [p for p in header_problems if p.severity == Severity.ERROR]
    ctx = RowContext(
        table.header,
        match,
        detection.scenario,
        limits,
        today,
        gateway_prefix,
        table.unclosed_quote_line,
    )
    rows = validate_rows(table.records, ctx)
    table.records.clear()  # each row's cells live on in its `source`; the lists can go
    checks = cross_check(
        rows,
        scenario=detection.scenario,
        columns=columns,
        directory=directory,
        stripe=stripe,
        today=today,
    )
    planned, plan = build_plan(
        rows, scenario=detection.scenario, checks=checks, names=names, file_errors=file_errors
    )
    return ImportReport(
        filename=filename,
        scenario=detection.scenario,
        scenario_detected=scenario is None,
        scenario_reason=detection.reason,
        encoding=table.encoding,
        delimiter=table.delimiter,
        rows=len(rows),
        header=table.header,
        columns={f.value: text for f, text in columns.items()},
        problems=[*header_problems, *(p for row in rows for p in row.problems)],
        plan=plan,
        planned=planned,
        skipped_checks=[*skipped, *checks.skipped_checks],
        warnings=[*table.warnings, *checks.warnings],
    )


def _chosen(scenario: Scenario) -> Detection:
    return Detection(scenario, "it was chosen, not detected from the columns")


def _header_problems(table: Table, match: HeaderMatch, scenario: Scenario) -> list[RowProblem]:
    line = table.header_line
    problems = [
        RowProblem.of(
            line,
            table.header[i],
            "unknown_column",
            f"“{table.header[i]}” is not a column an import knows: it is ignored",
        )
        for i in match.unknown
    ]
    for group in missing_groups(scenario, match.columns):
        wanted = " or ".join(f"“{f.value}”" for f in group)
        problems.append(
            RowProblem.of(
                line,
                group[0].value,
                "missing_required",
                f"the file has no {wanted} column, which the “{DESCRIPTIONS[scenario]}” "
                "scenario needs",
            )
        )
    return problems


def _no_known_columns(table: Table) -> str:
    first = ", ".join(table.header)[:120]
    required = dict.fromkeys(f for groups in REQUIRED.values() for g in groups for f in g)
    known = ", ".join(f"“{f.value}”" for f in required)
    hint = ""
    if len(table.header) == 1 and any(sep in first for sep in "|:"):
        hint = f" The file does not seem to use a {'/'.join(DELIMITERS.values())} separator."
    return (
        f"none of the columns is one an import knows (the first line reads “{first}”). "
        f"The first line must name the columns, such as {known}.{hint}"
    )
