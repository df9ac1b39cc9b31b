"""Block Kit for imports: the upload modal, the requester's report, the approval message (before
and after its decision), the reject-reason modal and the `/billing imports` list.

Everything taken from the file or typed by a person goes through `escape`; tokens appear only
masked (the preview uses `csv_out.source_cells`, the problem messages are masked at source).
"""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.blocks.block_elements import FileInputElement
from slack_sdk.models.views import View

from bot.imports_store import ImportRequest
from bot.slack_text import escape
from bot.storage import mask_tokens_in
from commands.imports import ImportReport, RowStatus
from commands.imports.approval import Status, status_words, when
from commands.imports.csv_out import source_cells, source_header
from commands.imports.outcome import summary_line
from commands.imports.report import plan_summary, plural
from commands.imports.scenario import DESCRIPTIONS, Scenario

IMPORT_VIEW = "import_csv"
REJECT_VIEW = "import_reject_reason"
APPROVE_ACTION = "import_approve"
REJECT_ACTION = "import_reject"
AUTO = "auto"
PREVIEW_ROWS = 5
PROBLEMS_SHOWN = 10
CELL_CHARS = 28


def shown(text: str) -> str:
    """Text a person typed, as the bot repeats it: escaped, tokens masked."""
    return escape(mask_tokens_in(text))


def _md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text[:2990])


# --- modals ---------------------------------------------------------------------------------


def import_modal(metadata: dict[str, Any], approvals_channel: str, file_name: str | None) -> View:
    """The upload form; with `file_name`, the file is already chosen (message shortcut)."""
    options = [Option(value=AUTO, label="Detect from the columns")] + [
        Option(value=s.value, label=DESCRIPTIONS[s].capitalize()) for s in Scenario
    ]
    blocks: list[Block] = []
    if file_name:
        blocks.append(SectionBlock(block_id="file", text=_md(f"*File:* {escape(file_name)}")))
    else:
        blocks.append(
            InputBlock(
                block_id="csv",
                label="CSV file",
                element=FileInputElement(action_id="file", filetypes=["csv"], max_files=1),
                hint="Accounts and/or payment methods, one per row, with a header line.",
            )
        )
    blocks += [
        InputBlock(
            block_id="scenario",
            label="Scenario",
            element=StaticSelectElement(
                action_id="choice", options=options, initial_option=options[0]
            ),
        ),
        InputBlock(
            block_id="note",
            label="Note for the approver",
            optional=True,
            element=PlainTextInputElement(action_id="text", multiline=True, max_length=500),
        ),
        ContextBlock(
            elements=[
                _md(
                    "I check every row first and show you the result. Nothing is written to "
                    f"Salesforce until someone else approves it in <#{approvals_channel}>."
                )
            ]
        ),
    ]
    return View(
        type="modal",
        callback_id=IMPORT_VIEW,
        title="Import a CSV",
        submit="Check the file",
        close="Cancel",
        blocks=blocks,
        private_metadata=json.dumps(metadata),
    )


def notice_modal(title: str, text: str) -> View:
    return View(type="modal", title=title, close="Close", blocks=[SectionBlock(text=_md(text))])


def reject_modal(request: ImportRequest) -> View:
    return View(
        type="modal",
        callback_id=REJECT_VIEW,
        title=f"Reject import #{request.id}",
        submit="Reject",
        close="Cancel",
        private_metadata=str(request.id),
        blocks=[
            SectionBlock(
                text=_md(
                    f"<@{request.requester}> asked to import *{escape(request.file_name)}*. "
                    "They will see your reason."
                )
            ),
            InputBlock(
                block_id="reason",
                label="Why not?",
                element=PlainTextInputElement(
                    action_id="text", multiline=True, min_length=3, max_length=500
                ),
            ),
        ],
    )


# --- the requester's report -----------------------------------------------------------------


def scenario_text(report: ImportReport) -> str:
    how = f"detected: {report.scenario_reason}" if report.scenario_detected else "chosen"
    return f"*Scenario:* {DESCRIPTIONS[report.scenario]} ({escape(how)})"


def problem_lines(report: ImportReport) -> list[str]:
    lines = []
    for p in report.problems[:PROBLEMS_SHOWN]:
        where = f"line {p.line}" + (f", {escape(p.column)}" if p.column else "")
        lines.append(f"• {where}: {escape(p.message)} `{p.code}`")
    if len(report.problems) > PROBLEMS_SHOWN:
        lines.append(f"…and {len(report.problems) - PROBLEMS_SHOWN:,} more in the CSV.")
    return lines


def report_blocks(report: ImportReport, outcome: str) -> list[Block]:
    blocks: list[Block] = [
        SectionBlock(
            text=_md(
                f"*{escape(report.filename)}*: {plural(report.rows, 'row')} "
                f"({escape(report.encoding)}, {escape(report.delimiter)}-separated).\n"
                f"{scenario_text(report)}\n*Plan:* {plan_summary(report)}"
            )
        )
    ]
    if report.problems:
        blocks.append(SectionBlock(text=_md("*Problems:*\n" + "\n".join(problem_lines(report)))))
    notes = [*report.skipped_checks, *report.warnings]
    if notes:
        blocks.append(ContextBlock(elements=[_md(escape(" · ".join(notes)))]))
    blocks.append(SectionBlock(text=_md(outcome)))
    return blocks


# --- the approval message -------------------------------------------------------------------


def preview_lines(report: ImportReport) -> list[str]:
    """The header and the first rows to be written, tokens masked, cells shortened."""
    header = source_header(report)

    def line(cells: list[str]) -> str:
        short = [c if len(c) <= CELL_CHARS else c[: CELL_CHARS - 1] + "…" for c in cells]
        return " | ".join(short).replace("`", "'")

    rows = [r for r in report.planned if r.status is RowStatus.OK][:PREVIEW_ROWS]
    return [line(["line", *header])] + [
        line([str(r.line), *source_cells(report, r, header)]) for r in rows
    ]


def request_summary(request: ImportRequest) -> str:
    return (
        f"Import request #{request.id} from <@{request.requester}>: "
        f"{escape(request.file_name)} ({DESCRIPTIONS[Scenario(request.scenario)]})"
    )


def decision_text(request: ImportRequest) -> str | None:
    """What happened to the request, once something has (None while it waits)."""
    status = request.status
    if status is Status.PENDING_APPROVAL:
        return None
    if status is Status.EXPIRED:
        return (
            f":hourglass: Expired on {when(request.expires_at)} without a decision; it can no "
            f"longer be approved. <@{request.requester}> can send the file again."
        )
    if status is Status.REJECTED:
        return (
            f":no_entry: Rejected by <@{request.decided_by}> on {when(request.decided_at)}: "
            f"“{shown(request.reason)}”"
        )
    if request.decided_by and request.decided_at:
        return (
            f":white_check_mark: Approved by <@{request.decided_by}> on "
            f"{when(request.decided_at)}. Progress and results are in this thread."
        )
    return f":x: {shown(request.error) or status_words(status)}"


def approval_blocks(request: ImportRequest) -> list[Block]:
    report = request.report
    plan = report.get("plan", {})
    how = "detected from the columns" if report.get("scenario_detected") else "chosen"
    intro = (
        f"<@{request.requester}> asks to import *{escape(request.file_name)}* into Salesforce.\n"
        f"*Scenario:* {DESCRIPTIONS[Scenario(request.scenario)]} ({how})"
    )
    if request.note:
        intro += "\n*Note:* " + shown(request.note).replace("\n", " ")
    fields = [
        ("Accounts to create", plan.get("accounts_create", 0)),
        ("Accounts to update", plan.get("accounts_update", 0)),
        ("Payment methods to create", plan.get("payment_methods_create", 0)),
        ("Rows skipped (already in Salesforce)", plan.get("skipped", 0)),
        ("Rows rejected (see the error CSV)", plan.get("rejected_rows", 0)),
    ]
    preview = "\n".join(escape(line) for line in report.get("preview", []))
    blocks: list[Block] = [
        HeaderBlock(text=f"Import request #{request.id}"),
        SectionBlock(text=_md(intro)),
        SectionBlock(fields=[_md(f"*{label}*\n{value:,}") for label, value in fields]),
        SectionBlock(text=_md(f"*First rows to write* (tokens masked):\n```{preview}```")),
    ]
    unchecked = report.get("skipped_checks") or []
    if unchecked:
        blocks.append(
            SectionBlock(
                text=_md(
                    ":warning: *Not everything could be checked:* "
                    + escape("; ".join(unchecked))
                    + ". Approve only if you know those rows are right; otherwise reject and "
                    "ask for the file to be sent again."
                )
            )
        )
    decision = decision_text(request)
    if decision:
        blocks.append(ContextBlock(elements=[_md(decision)]))
        return blocks
    notes = [f"Expires {when(request.expires_at)}."]
    notes += [escape(n) for n in report.get("warnings", [])]
    blocks += [
        ContextBlock(elements=[_md(" ".join(notes))]),
        ActionsBlock(
            block_id="decision",
            elements=[
                ButtonElement(
                    text="Approve",
                    action_id=APPROVE_ACTION,
                    value=str(request.id),
                    style="primary",
                    confirm=ConfirmObject(
                        title="Write to Salesforce?",
                        text=f"This writes the plan above to Salesforce: {_writes(plan)}.",
                        confirm="Approve",
                        deny="Cancel",
                    ),
                ),
                ButtonElement(
                    text="Reject", action_id=REJECT_ACTION, value=str(request.id), style="danger"
                ),
            ],
        ),
    ]
    return blocks


def _writes(plan: dict[str, int]) -> str:
    return (
        f"{plural(plan.get('accounts_create', 0), 'Account')} created, "
        f"{plural(plan.get('accounts_update', 0), 'Account')} updated, "
        f"{plural(plan.get('payment_methods_create', 0), 'payment method')} created"
    )


# --- /billing imports -----------------------------------------------------------------------


def imports_list_blocks(requests: list[ImportRequest]) -> list[Block]:
    if not requests:
        return [SectionBlock(text=_md("No imports yet. Start one with `/billing import`."))]
    blocks: list[Block] = [SectionBlock(text=_md("*Recent imports* (newest first):"))]
    for request in requests:
        blocks.append(SectionBlock(text=_md(import_line(request))))
    return blocks


def import_line(request: ImportRequest) -> str:
    if request.result:
        counts = summary_line(request.result)
    else:
        counts = "to write: " + _writes(request.report.get("plan", {}))
    who = f"<@{request.requester}>"
    if request.decided_by:
        who += f", decided by <@{request.decided_by}>"
    return (
        f"*#{request.id}* {escape(request.file_name)} · "
        f"{DESCRIPTIONS[Scenario(request.scenario)]} · *{status_words(request.status)}*\n"
        f"{counts}\n{who} · {when(request.created_at)}"
    )
