"""`/billing import` and `/billing imports`, and `billing-bot import FILE --dry-run`.

The dry run reads the file, validates every row and cross-checks Salesforce and Stripe when
they are configured, then prints the plan (text, or `--json`). Exit codes: 0 no row rejected,
1 some rows rejected, 2 the file cannot be used at all (the reason is printed). It writes
nothing: imports write to Salesforce only after a second person approves them in Slack.

In Slack, `/billing import`, the global shortcut, the message shortcut and a CSV sent by DM
all lead to `bot.import_flow.ImportFlow` (the same checks, then an approval request); the
buttons and the reject modal decide it; `bot.import_runner` runs it. `register` wires those
listeners and resumes whatever a previous process left unfinished.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.features.base import Invocation, Subcommand
from bot.features.import_blocks import (
    APPROVE_ACTION,
    AUTO,
    IMPORT_VIEW,
    REJECT_ACTION,
    REJECT_VIEW,
    import_line,
    imports_list_blocks,
)
from bot.import_flow import ImportFlow, Reply, Upload, is_csv
from bot.services import Services
from commands.imports import FileRejected, ImportDirectory, Limits, Scenario, prepare_import
from commands.imports.reader import check_size
from commands.imports.report import render_text
from commands.imports.scenario import columns_help
from commands.render import to_json

EXIT_REJECTED_ROWS = 1
EXIT_FILE_UNUSABLE = 2
RECENT_IMPORTS = 10  # listed by /billing imports


def import_limits(settings: Settings) -> Limits:
    return Limits(max_bytes=settings.import_max_bytes, max_rows=settings.import_max_rows)


def import_directory(services: Services) -> ImportDirectory | None:
    """The Salesforce side of the cross-checks, or None when Salesforce is not configured."""
    if not services.settings.salesforce_auth:
        return None
    from bot.salesforce.imports_directory import SalesforceImportDirectory

    return SalesforceImportDirectory(services.salesforce)


def local_today(services: Services) -> date:
    """Card expiry is judged by the team's calendar, not UTC's."""
    return services.clock().astimezone(ZoneInfo(services.settings.timezone)).date()


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = columns_help()
    parser.add_argument("file", metavar="FILE", help="the CSV file to check")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="validate and plan, write nothing (imports run only after approval in Slack)",
    )
    parser.add_argument(
        "--scenario",
        choices=[s.value for s in Scenario],
        help="override the scenario detected from the columns",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")


def run_cli(services: Services, args: argparse.Namespace) -> int:
    if not args.dry_run:
        print(
            "billing-bot: imports write to Salesforce only after a second person approves "
            "them in Slack (/billing import); use --dry-run to check a file here",
            file=sys.stderr,
        )
        return EXIT_FILE_UNUSABLE
    limits = import_limits(services.settings)
    try:
        data = _read(args.file, limits)
        report = prepare_import(
            data,
            filename=os.path.basename(args.file),
            scenario=Scenario(args.scenario) if args.scenario else None,
            directory=import_directory(services),
            stripe=services.stripe,
            limits=limits,
            today=local_today(services),
        )
    except FileRejected as exc:
        if args.json:
            print(to_json({"error": "file_rejected", "reason": exc.reason}))
        print(f"billing-bot: {args.file} cannot be imported: {exc.reason}", file=sys.stderr)
        return EXIT_FILE_UNUSABLE
    print(to_json(report) if args.json else render_text(report))
    return EXIT_REJECTED_ROWS if report.has_rejections else 0


def _read(path: str, limits: Limits) -> bytes:
    """The file's bytes, refusing a file over the size limit before reading it."""
    try:
        check_size(os.path.getsize(path), limits)
        with open(path, "rb") as handle:
            return handle.read(limits.max_bytes + 1)
    except OSError as exc:
        raise FileRejected(f"the file could not be opened ({exc.strerror or exc})") from None


# --- Slack ---------------------------------------------------------------------------------


def flow_for(services: Services, client: Any) -> ImportFlow:
    """One flow per services (its runner is the process's only import worker)."""
    flow = getattr(services, "_import_flow", None)
    if flow is None:
        flow = ImportFlow(services, client)
        with services._lock:
            flow = services.__dict__.setdefault("_import_flow", flow)
    return flow


def run_slack_import(inv: Invocation) -> str:
    """`/billing import`: the upload modal, opened at once with the command's trigger_id."""
    return flow_for(inv.services, inv.client).open_modal(
        inv.trigger_id or "", inv.user_id, inv.channel_id
    )


def run_slack_imports(inv: Invocation) -> str:
    """`/billing imports`: the recent imports, privately."""
    flow = flow_for(inv.services, inv.client)
    flow.runner.expire_overdue()
    requests = flow.store.recent(RECENT_IMPORTS)
    text = "\n".join(import_line(r) for r in requests) or "No imports yet."
    inv.respond(text=text, blocks=imports_list_blocks(requests), response_type="ephemeral")
    return "ok"


def _chosen_scenario(values: dict[str, Any]) -> Scenario | None:
    choice = (values.get("scenario", {}).get("choice", {}).get("selected_option") or {}).get(
        "value", AUTO
    )
    return None if choice == AUTO else Scenario(choice)


def _submitted_file(view: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    metadata = json.loads(view.get("private_metadata") or "{}")
    files = view["state"]["values"].get("csv", {}).get("file", {}).get("files") or []
    return (files[0] if files else metadata.get("file")), metadata


def _request_id(body: dict[str, Any]) -> int | None:
    value = (body.get("actions") or [{}])[0].get("value") or body.get("view", {}).get(
        "private_metadata"
    )
    text = str(value or "")
    return int(text) if text.isascii() and text.isdigit() else None


def register(app: Any, services: Services) -> None:
    """Shortcuts, the upload and reject modals, the approval buttons and CSVs sent by DM; then
    resume whatever a previous process left running."""
    flow = flow_for(services, app.client)
    limits = import_limits(services.settings)

    def ack_now(ack: Any) -> None:
        ack()

    def from_global_shortcut(body: dict[str, Any]) -> None:
        flow.open_modal(body["trigger_id"], body["user"]["id"], None)

    def from_message_shortcut(body: dict[str, Any], respond: Any) -> None:
        user, channel = body["user"]["id"], body["channel"]["id"]
        if not flow.access.allowed("import", user, channel):
            respond(text=flow.access.refusal("import"), response_type="ephemeral")
            flow.record(user, "import", "", "refused", detail="message_shortcut")
            return
        csv_file = next((f for f in body.get("message", {}).get("files") or [] if is_csv(f)), None)
        if csv_file is None:
            respond(
                text="This message has no CSV file to import. Share the .csv in a message, or "
                "use `/billing import` to upload one.",
                response_type="ephemeral",
            )
            return
        flow.open_modal(body["trigger_id"], user, channel, csv_file)

    def ack_upload(ack: Any, view: dict[str, Any]) -> None:
        file, _ = _submitted_file(view)
        if file is None:
            ack(response_action="errors", errors={"csv": "Choose a CSV file to import."})
            return
        try:
            check_size(int(file.get("size") or 0), limits)
        except FileRejected as exc:
            ack(response_action="errors", errors={"csv": exc.reason[:150]})
            return
        ack()

    def on_upload(body: dict[str, Any], view: dict[str, Any]) -> None:
        file, metadata = _submitted_file(view)
        user = body["user"]["id"]
        reply = Reply(user, metadata.get("channel"))
        if file is None or not flow.access.allowed("import", user, reply.channel):
            flow.tell(reply, flow.access.refusal("import"))
            flow.record(user, "import", "", "refused", detail="modal")
            return
        values = view["state"]["values"]
        flow.receive(
            Upload(
                file,
                user,
                reply,
                source="message_shortcut" if "file" in metadata else "modal",
                scenario=_chosen_scenario(values),
                note=values.get("note", {}).get("text", {}).get("value") or "",
            )
        )

    def is_direct_csv(event: dict[str, Any], context: Any) -> bool:
        return (
            event.get("channel_type") == "im"
            and not event.get("bot_id")
            and event.get("user") != context.get("bot_user_id")
            and bool(event.get("files"))
        )

    def from_direct_message(event: dict[str, Any]) -> None:
        user, channel = event["user"], event["channel"]
        reply = Reply(user, channel, ephemeral=False)
        if not flow.access.user_allowed("import", user):
            flow.tell(reply, flow.access.refusal("import"))
            flow.record(user, "import", "", "refused", detail="dm")
            return
        csv_file = next((f for f in event["files"] if is_csv(f)), None)
        if csv_file is None:
            flow.tell(
                reply, "I can only import CSV files (.csv). Send me one, or use `/billing import`."
            )
            return
        flow.receive(Upload(csv_file, user, reply, source="dm", note=event.get("text") or ""))

    def on_approve(body: dict[str, Any]) -> None:
        request_id = _request_id(body)
        if request_id is not None:
            channel = body["channel"]["id"]
            flow.locate(request_id, channel, body.get("container", {}).get("message_ts"))
            flow.approve(request_id, body["user"]["id"], channel)

    def on_reject(body: dict[str, Any]) -> None:
        request_id = _request_id(body)
        if request_id is not None:
            channel = body["channel"]["id"]
            flow.locate(request_id, channel, body.get("container", {}).get("message_ts"))
            flow.ask_reason(request_id, body["user"]["id"], channel, body["trigger_id"])

    def on_reason(body: dict[str, Any], view: dict[str, Any]) -> None:
        request_id = _request_id(body)
        reason = view["state"]["values"]["reason"]["text"]["value"] or ""
        if request_id is not None:
            flow.reject(request_id, body["user"]["id"], reason)

    app.shortcut("import_csv_global")(ack=ack_now, lazy=[from_global_shortcut])
    app.shortcut("import_csv_message")(ack=ack_now, lazy=[from_message_shortcut])
    app.view(IMPORT_VIEW)(ack=ack_upload, lazy=[on_upload])
    app.event({"type": "message", "subtype": "file_share"}, matchers=[is_direct_csv])(
        ack=ack_now, lazy=[from_direct_message]
    )
    app.action(APPROVE_ACTION)(ack=ack_now, lazy=[on_approve])
    app.action(REJECT_ACTION)(ack=ack_now, lazy=[on_reject])
    app.view(REJECT_VIEW)(ack=ack_now, lazy=[on_reason])
    flow.runner.resume_pending()


SUBCOMMANDS = [
    Subcommand(
        "import",
        "import",
        "import customers and payment methods from a CSV, after a second person approves",
        "/billing import",
        run_slack=run_slack_import,
        add_cli_arguments=add_cli_arguments,
        run_cli=run_cli,
    ),
    Subcommand(
        "imports",
        "import|approve",
        "recent imports and their state",
        "/billing imports",
        run_slack=run_slack_imports,
    ),
]
