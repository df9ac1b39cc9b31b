"""`/billing help`, and the answer to an unknown subcommand."""

from __future__ import annotations

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock

from bot.access import AccessControl
from bot.features.base import Invocation, Subcommand
from bot.slack_text import escape
from commands.help import HelpEntry, HelpResult, build_help


def help_for(access: AccessControl, user_id: str, unknown: str | None = None) -> HelpResult:
    """Only what this person may run: a list of refusals helps nobody."""
    from bot.features import subcommands

    entries = [
        HelpEntry(sub.name, sub.summary, sub.example, sub.available)
        for sub in subcommands().values()
        if sub.capability == "help" or access.user_allowed(sub.capability, user_id)
    ]
    return build_help(entries, unknown=unknown, contact=access.settings.access_contact)


def blocks(result: HelpResult) -> list:
    intro = (
        f"I don't know “{escape(result.unknown)}”. Here is what you can run:"
        if result.unknown
        else "*Billing bot*: here is what you can run:"
    )
    out: list = [SectionBlock(text=MarkdownTextObject(text=intro))]
    for entry in result.entries:
        note = " _(not available yet)_" if not entry.available else ""
        out.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=f"*{entry.name}*: {escape(entry.summary)}{note}\n`{entry.example}`"
                )
            )
        )
    if result.contact:
        out.append(
            ContextBlock(elements=[MarkdownTextObject(text=f"Need more? Ask {result.contact}.")])
        )
    return out


def run(inv: Invocation) -> str:
    from bot.slack_app import access_for
    from commands.help import render_text

    result = help_for(access_for(inv.services, inv.client), inv.user_id)
    inv.respond(text=render_text(result), blocks=blocks(result), response_type="ephemeral")
    return "ok"


SUBCOMMANDS = [Subcommand("help", "help", "this list", "/billing help", run_slack=run)]
