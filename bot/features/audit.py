"""`/billing audit`, `billing-bot audit`, and the summary posted to ALERTS_CHANNEL.

Which runs are recorded: scheduled ones, and those posted to the channel (`/billing audit
post`, `billing-bot audit --post`). A private `/billing audit` or a plain `billing-bot audit`
is a look, not a record: it says what changed since the last recorded run without becoming
the run the channel's next summary is compared with, so nobody's private check can hide a
change from the channel.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block, HeaderBlock

from bot.audit_chart import open_findings_chart
from bot.audit_store import AuditStore
from bot.features.base import Invocation, Subcommand
from bot.features.imports import local_today
from bot.features.lookups import _shell_user, context, section
from bot.salesforce.audit_source import SalesforceAuditSource
from bot.services import Services
from bot.slack_text import escape, link
from bot.storage import log_command
from commands.audit import AuditOptions, AuditResult, CheckResult, Status, audit, render_text
from commands.audit.catalogue import SPECS
from commands.audit.render import changes_text, csv_filename, findings_csv, totals_text
from commands.audit.source import AuditWindow
from commands.render import to_json

log = logging.getLogger(__name__)

EMOJI = {
    Status.PASS: ":white_check_mark:",
    Status.WARN: ":warning:",
    Status.FAIL: ":x:",
    Status.UNKNOWN: ":grey_question:",
}
CHART_RUNS = 14
CHART_FILENAME = "audit-open-findings.png"
EXIT_FAILED, EXIT_CONFIG = 1, 2
USAGE = "Use `/billing audit` to see the audit privately, or `/billing audit post` to post it."


# --- running ----------------------------------------------------------------------------------


def options_for(services: Services) -> AuditOptions:
    settings = services.settings
    return AuditOptions(
        window=AuditWindow(local_today(services)),
        stripe_sample=max(0, settings.audit_stripe_sample),
        batch_size_setting=settings.sf_batch_size_setting,
    )


def run_audit(services: Services, *, kind: str, requested_by: str, record: bool) -> AuditResult:
    options = options_for(services)
    source = SalesforceAuditSource(services.salesforce, options.window)
    store = AuditStore(services.db)
    result = audit(source, services.stripe, store, options, services.clock())
    log.info(
        "audit (%s, by %s): %s",
        kind,
        requested_by,
        ", ".join(f"{c.code}={c.status.value}:{c.count}" for c in result.checks),
    )
    if record:
        result = dataclasses.replace(result, run_id=store.record(result, kind, requested_by))
    return result


def audit_and_post(
    services: Services, client: Any, *, kind: str, requested_by: str
) -> tuple[AuditResult, str | None]:
    """Run, record, and post to ALERTS_CHANNEL; returns the result and the message ts (None
    when not posted: no channel, or quiet mode with nothing to say on a scheduled run)."""
    settings = services.settings
    result = run_audit(services, kind=kind, requested_by=requested_by, record=True)
    if not settings.alerts_channel:
        log.warning("ALERTS_CHANNEL is not set: audit run %s recorded, not posted", result.run_id)
        return result, None
    if kind == "scheduled" and not result.worth_posting(settings.audit_quiet):
        log.info("quiet mode: nothing changed or failed since the last audit; not posting")
        return result, None
    return result, post_summary(services, client, result)


def post_summary(services: Services, client: Any, result: AuditResult) -> str:
    """The Block Kit summary, then in its thread the CSV of every finding and, once there is
    history, the chart of open findings."""
    channel = services.settings.alerts_channel
    posted = client.chat_postMessage(
        channel=channel,
        text=fallback_text(result),
        blocks=summary_blocks(result),
        unfurl_links=False,
        unfurl_media=False,
    )
    ts = posted["ts"]
    store = AuditStore(services.db)
    uploads: list[dict[str, Any]] = [
        {
            "content": findings_csv(result),
            "filename": csv_filename(result),
            "title": f"Audit findings {result.run_at:%Y-%m-%d}",
        }
    ]
    history = store.open_findings_history(CHART_RUNS)
    if len(history) >= 2:
        uploads.append(
            {
                "content": open_findings_chart(history),
                "filename": CHART_FILENAME,
                "title": "Open findings, recent audits",
            }
        )
    try:
        client.files_upload_v2(
            channel=channel,
            thread_ts=ts,
            file_uploads=uploads,
            initial_comment=f"Every finding of this audit ({len(result.findings):,} rows).",
        )
    except SlackApiError as exc:
        log.error("could not attach the audit CSV: %s", exc.response.get("error"))
        client.chat_postMessage(
            channel=channel,
            thread_ts=ts,
            text="I could not attach the CSV of findings here; run `billing-bot audit` "
            "for the full list.",
        )
    if result.run_id is not None:
        store.mark_posted(result.run_id, channel, ts)
    return ts


# --- Block Kit --------------------------------------------------------------------------------


def headline(result: AuditResult) -> str:
    tally = {s: sum(1 for c in result.checks if c.status == s) for s in Status}
    parts = [
        f"{tally[Status.FAIL]} failing" if tally[Status.FAIL] else "",
        f"{tally[Status.WARN]} warning{'s' * (tally[Status.WARN] != 1)}"
        if tally[Status.WARN]
        else "",
        f"{tally[Status.UNKNOWN]} unknown" if tally[Status.UNKNOWN] else "",
    ]
    said = ", ".join(p for p in parts if p)
    return f"Billing audit: {said}" if said else f"Billing audit: all {len(result.checks)} pass"


def fallback_text(result: AuditResult) -> str:
    return f"{headline(result)}. {totals_text(result)}"


def check_line(check: CheckResult, *, examples: bool) -> str:
    """`:x: *Expired cards*: 3 (1 new, 2 resolved)` and up to three linked examples."""
    title = SPECS[check.code].title
    if check.status == Status.UNKNOWN or check.code in ("batch_size", "stripe_gateway"):
        what = check.message
    else:
        what = f"{check.count:,}" if check.count else "none"
        what += f" ({check.note})" if check.note else ""
    change = changes_text(check.changes)
    line = f"{EMOJI[check.status]} *{escape(title)}*: {escape(what)}"
    line += f" _({change})_" if change else ""
    if examples:
        line += "".join(
            f"\n      • {link(f.link, f.record_name) if f.link else escape(f.record_name)} "
            f"{escape(f.detail)}"
            for f in check.examples
        )
    return line


def slack_date(moment: datetime) -> str:
    """Shown in each reader's own time zone by Slack; the fallback is UTC."""
    fallback = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def summary_blocks(result: AuditResult, *, compact: bool = False) -> list[Block]:
    """Problems first, one section each with examples; passing checks one line each (or, in
    the private answer, one line for all of them)."""
    ran = slack_date(result.run_at)
    blocks: list[Block] = [
        HeaderBlock(text=headline(result)),
        context(f"Run {ran}. {escape(totals_text(result))}"),
    ]
    problems = [c for c in result.checks if c.status != Status.PASS]
    passing = [c for c in result.checks if c.status == Status.PASS]
    blocks.extend(section(check_line(c, examples=True)) for c in problems)
    if passing and compact:
        blocks.append(section(f"{EMOJI[Status.PASS]} {len(passing)} other checks pass."))
    elif passing:
        blocks.append(section("\n".join(check_line(c, examples=False) for c in passing)))
    return blocks


# --- Slack ------------------------------------------------------------------------------------


def run_slack(inv: Invocation) -> str:
    words = inv.text.lower().split()
    if words not in ([], ["post"]):
        inv.respond(text=USAGE, response_type="ephemeral")
        return "usage"
    settings = inv.services.settings
    post = words == ["post"]
    if post and not settings.alerts_channel:
        inv.respond(
            text="There is no alerts channel to post to (ALERTS_CHANNEL is not set), so here "
            "is the audit just for you.",
            response_type="ephemeral",
        )
        post = False
    inv.respond(text="Running the audit… this can take a minute.", response_type="ephemeral")
    if post:
        _, ts = audit_and_post(inv.services, inv.client, kind="slack", requested_by=inv.user_id)
        inv.respond(
            text=f"Posted the audit summary in <#{settings.alerts_channel}>, with a CSV of every "
            "finding in its thread.",
            response_type="ephemeral",
        )
        return "posted" if ts else "ok"
    result = run_audit(inv.services, kind="slack", requested_by=inv.user_id, record=False)
    blocks = summary_blocks(result, compact=True)
    if settings.alerts_channel:
        blocks.append(
            context(
                f"`/billing audit post` posts it in <#{settings.alerts_channel}> "
                "with a CSV of every finding."
            )
        )
    inv.respond(text=fallback_text(result), blocks=blocks, response_type="ephemeral")
    return "ok"


# --- terminal ---------------------------------------------------------------------------------


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument(
        "--post",
        action="store_true",
        help="record the run and post the summary (and CSV) to ALERTS_CHANNEL",
    )


def run_cli(services: Services, args: argparse.Namespace) -> int:
    settings = services.settings
    problems = settings.salesforce_problems()
    if args.post:
        problems += [] if settings.slack_bot_token else ["SLACK_BOT_TOKEN is not set"]
        problems += [] if settings.alerts_channel else ["ALERTS_CHANNEL is not set"]
    if problems:
        for line in problems:
            print(f"billing-bot: {line}", file=sys.stderr)
        return EXIT_CONFIG
    user = _shell_user()
    if args.post:
        from bot.slack_app import make_web_client

        result, _ = audit_and_post(
            services, make_web_client(settings), kind="cli", requested_by=user
        )
    else:
        result = run_audit(services, kind="cli", requested_by=user, record=False)
    print(to_json(result) if args.json else render_text(result))
    failed = result.failed
    log_command(
        services.db,
        user_id=user,
        command="audit",
        args="--post" if args.post else "",
        outcome="failed_checks" if failed else "ok",
        source="cli",
    )
    return EXIT_FAILED if failed else 0


SUBCOMMANDS = [
    Subcommand(
        "audit",
        "audit",
        "check the org now: batch size, missing fields, Stripe mismatches",
        "/billing audit",
        run_slack=run_slack,
        add_cli_arguments=add_cli_arguments,
        run_cli=run_cli,
    )
]
