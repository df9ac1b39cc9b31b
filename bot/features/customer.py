"""`/billing customer` and `billing-bot customer`: Slack and terminal wiring of
`commands.customer`.

Each Account in the answer has a "Check payment methods" button (handled in
`bot/features/pm.py`), and the answer a "Share in channel" button (`bot/features/lookups.py`).
"""

from __future__ import annotations

import argparse

from slack_sdk.models.blocks import Block, ButtonElement

from bot.features import lookups
from bot.features.base import Invocation, Subcommand
from bot.services import Services
from bot.slack_text import escape, link
from commands.customer import (
    AccountMatch,
    CustomerResult,
    describe_stripe,
    lookup_customer,
    render_text,
)


def lookup(services: Services, text: str) -> CustomerResult:
    return lookup_customer(text, lookups.directory(services), services.stripe)


def answer(result: CustomerResult) -> lookups.Answer:
    found = len(result.matches) + result.more
    summary = (
        f"{lookups.plural(found, 'Account')} matching “{result.query}”"
        if result.matches
        else f"No Account matches “{result.query}”"
    )
    return lookups.Answer(
        outcome="ok" if result.matches else "no_match",
        query=result.query,
        text=escape(summary),
        blocks=blocks(result, interactive=True),
        shared=blocks(result, interactive=False),
    )


def blocks(result: CustomerResult, *, interactive: bool) -> list[Block]:
    out: list[Block] = []
    if result.matches:
        out.append(lookups.section(f"*Accounts matching “{escape(result.query)}”*"))
    for match in result.matches:
        button = (
            ButtonElement(
                text="Check payment methods", action_id=lookups.CHECK_PM_ACTION, value=match.id
            )
            if interactive
            else None
        )
        out.append(lookups.section(account_text(match), accessory=button))
    if result.hint:
        hint = escape(result.hint)
        out.append(lookups.context(hint) if result.matches else lookups.section(hint))
    return out


def account_text(match: AccountMatch) -> str:
    lines = [f"*{link(match.url, match.name or '(no name)')}*  `{match.id}`"]
    if match.stripe_customer_id:
        stripe_link = f" · {link(match.stripe_url, 'open in Stripe')}" if match.stripe_url else ""
        lines.append(f"Stripe Customer ID `{escape(match.stripe_customer_id)}`{stripe_link}")
    else:
        lines.append("Stripe Customer ID: _none_")
    lines.append(escape(describe_stripe(match)))
    lines.append(
        f"Payment methods: {match.payment_methods_total} ({match.payment_methods_active} active)"
    )
    lines.extend(lookups.problem_lines(match.problems))
    return "\n".join(lines)


def run_slack(inv: Invocation) -> str:
    return lookups.answer_in_slack(
        inv.services,
        inv.respond,
        user_id=inv.user_id,
        channel_id=inv.channel_id,
        command="customer",
        compute=lambda: answer(lookup(inv.services, inv.text)),
    )


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    lookups.add_lookup_arguments(parser, "an Account name (or part), an Account Id, or a cus_… id")


def run_cli(services: Services, args: argparse.Namespace) -> int:
    return lookups.run_lookup_cli(
        services,
        args,
        "customer",
        lambda text: lookup(services, text),
        render_text,
        found=lambda result: bool(result.matches),
    )


SUBCOMMANDS = [
    Subcommand(
        "customer",
        "lookup",
        "an Account's Stripe Customer ID, checked against Stripe",
        "/billing customer Acme",
        run_slack=run_slack,
        add_cli_arguments=add_cli_arguments,
        run_cli=run_cli,
    )
]
