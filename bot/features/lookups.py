"""What `customer` and `pm` share in Slack: answering, sharing, and the words around them.

A lookup answers ephemerally through `respond`. If Salesforce or Stripe is slow, a "still
looking" line appears after `PROGRESS_AFTER` seconds and the answer replaces it, so nobody
stares at silence; a Salesforce failure is said in plain words (Stripe failures are already
inside the answer as warnings). Every answer ends with a "Share in channel" button: the
answer is kept (`bot/lookups_store.py`) and posted as a copy, without its buttons, with who
shared it; only the person who asked may share.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, TypeVar

from slack_bolt import App, Respond
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.features.base import Invocation, Subcommand, ack_now
from bot.lookups_store import load_answer, save_answer
from bot.salesforce.lookups import SalesforceLookups
from bot.services import Services
from bot.slack_text import escape
from bot.storage import log_command
from commands.errors import SalesforceError
from commands.problems import Problem, Severity
from commands.render import to_json

log = logging.getLogger(__name__)
R = TypeVar("R")

SHARE_ACTION = "lookup_share"
CHECK_PM_ACTION = "lookup_check_pm"
PROGRESS_AFTER = 2.0  # seconds before "still looking" is shown
SECTION_LIMIT = 3000  # Slack's limit on a section's text
MARKS = {
    Severity.ERROR: ":x:",
    Severity.WARNING: ":warning:",
    Severity.INFO: ":information_source:",
}


@dataclass
class Answer:
    """A lookup's result, rendered: `blocks` for the asker (with buttons), `shared` for the
    channel copy (without), `text` for notifications. All data in them is escaped."""

    outcome: str  # ok or no_match, for the command log
    query: str  # as shown: tokens masked
    text: str
    blocks: list[Block]
    shared: list[Block]


def directory(services: Services) -> SalesforceLookups:
    """One adapter per process, so the org's shape is discovered once."""
    with services._lock:
        found = getattr(services, "_lookup_directory", None)
        if found is None:
            found = services._lookup_directory = SalesforceLookups(services.salesforce)
    return found


def answer_in_slack(
    services: Services,
    respond: Callable[..., Any],
    *,
    user_id: str,
    channel_id: str,
    command: str,
    compute: Callable[[], Answer],
) -> str:
    """Run a lookup and answer the person who asked; returns the outcome for the log."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"lookup-{command}")
    future = pool.submit(compute)
    pool.shutdown(wait=False)
    replace = False
    try:
        try:
            answer = future.result(timeout=PROGRESS_AFTER)
        except FutureTimeout:
            respond(
                text=":hourglass_flowing_sand: Still looking: Salesforce or Stripe is slow "
                "right now…",
                response_type="ephemeral",
                replace_original=False,
            )
            replace = True
            answer = future.result()
    except SalesforceError as exc:
        log.warning("%s lookup for %s: %s", command, user_id, exc.message)
        contact = services.settings.access_contact
        reason = escape(exc.message.rstrip("."))
        respond(
            text=f":warning: Salesforce error: {reason}. Nothing was changed; try again in a "
            f"minute, or ask {contact} if it keeps happening.",
            response_type="ephemeral",
            replace_original=replace,
        )
        return "salesforce_error"
    blocks = list(answer.blocks)
    if answer.outcome == "ok":  # a "no match" is not worth sharing
        key = save_answer(
            services.db,
            user_id=user_id,
            channel_id=channel_id,
            command=command,
            query=answer.query,
            text=answer.text,
            blocks=[b.to_dict() for b in answer.shared],
        )
        share = ButtonElement(text="Share in channel", action_id=SHARE_ACTION, value=key)
        blocks.append(ActionsBlock(elements=[share]))
    respond(text=answer.text, blocks=blocks, response_type="ephemeral", replace_original=replace)
    return answer.outcome


def register(app: App, services: Services) -> None:
    def share(body: dict[str, Any], respond: Respond) -> None:
        user_id = body["user"]["id"]
        channel_id = (body.get("channel") or {}).get("id", "")
        key = body["actions"][0].get("value", "")
        saved = load_answer(services.db, key)

        def record(outcome: str) -> None:
            log_command(
                services.db,
                user_id=user_id,
                channel_id=channel_id,
                command="share",
                args=f"{saved['command']} {saved['query']}" if saved else key[:40],
                outcome=outcome,
            )

        if saved is None:
            respond(
                text="That answer is too old to share: run the lookup again.",
                response_type="ephemeral",
                replace_original=False,
            )
            record("expired")
            return
        if saved["user_id"] != user_id:
            respond(
                text="Only the person who asked can share this answer.",
                response_type="ephemeral",
                replace_original=False,
            )
            record("refused")
            return
        footer = ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"Shared by <@{user_id}> · `/billing {saved['command']} "
                    f"{escape(saved['query'])}`"
                )
            ]
        )
        respond(
            text=saved["text"],
            blocks=[*saved["blocks"], footer.to_dict()],
            response_type="in_channel",
            replace_original=False,
        )
        record("ok")

    app.action(SHARE_ACTION)(ack=ack_now, lazy=[share])


# --- words shared by both renderings ----------------------------------------------------------


def section(text: str, accessory: Any = None) -> SectionBlock:
    if len(text) > SECTION_LIMIT:
        text = text[: SECTION_LIMIT - 1] + "…"
    return SectionBlock(text=MarkdownTextObject(text=text), accessory=accessory)


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=text[:SECTION_LIMIT])])


def problem_lines(problems: list[Problem]) -> list[str]:
    if not problems:
        return [":white_check_mark: No problems found"]
    return [f"{MARKS[p.severity]} `{p.code}` {escape(p.message)}" for p in problems]


def short(text: str, limit: int = 80) -> str:
    """User text as echoed in a one-line summary: at most `limit` characters."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


# --- one subcommand per lookup, in Slack and the terminal -------------------------------------


def lookup_subcommand(
    name: str,
    summary: str,
    example: str,
    what: str,
    *,
    lookup: Callable[[Services, str], R],
    answer: Callable[[R], Answer],
    render: Callable[[R], str],
    found: Callable[[R], bool],
) -> Subcommand:
    """`/billing NAME …` and `billing-bot NAME … [--json]` over the same `lookup`."""

    def run_slack(inv: Invocation) -> str:
        return answer_in_slack(
            inv.services,
            inv.respond,
            user_id=inv.user_id,
            channel_id=inv.channel_id,
            command=name,
            compute=lambda: answer(lookup(inv.services, inv.text)),
        )

    def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("query", nargs="*", metavar="QUERY", help=what)
        parser.add_argument("--json", action="store_true", help="print JSON")
        parser.epilog = "Exit status: 0 found, 1 nothing matched, 3 Salesforce error."

    def run_cli(services: Services, args: argparse.Namespace) -> int:
        return run_lookup_cli(
            services, args, name, lambda text: lookup(services, text), render, found
        )

    return Subcommand(
        name,
        "lookup",
        summary,
        example,
        run_slack=run_slack,
        add_cli_arguments=add_cli_arguments,
        run_cli=run_cli,
    )


# --- the terminal -------------------------------------------------------------------------

EXIT_NO_MATCH = 1
EXIT_SALESFORCE = 3


def run_lookup_cli(
    services: Services,
    args: argparse.Namespace,
    command: str,
    run: Callable[[str], Any],
    render: Callable[[Any], str],
    found: Callable[[Any], bool],
) -> int:
    """The same lookup as in Slack, printed as text or JSON, and logged like a Slack one."""
    text = " ".join(args.query)
    try:
        result = run(text)
    except SalesforceError as exc:
        print(f"billing-bot: Salesforce error: {exc.message}", file=sys.stderr)
        outcome, status = "salesforce_error", EXIT_SALESFORCE
    else:
        print(to_json(result) if args.json else render(result))
        outcome, status = ("ok", 0) if found(result) else ("no_match", EXIT_NO_MATCH)
    log_command(
        services.db,
        user_id=_shell_user(),
        command=command,
        args=text,
        outcome=outcome,
        source="cli",
    )
    return status


def _shell_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "cli"
