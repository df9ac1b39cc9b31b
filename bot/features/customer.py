"""`/billing customer` and `billing-bot customer`: Slack and terminal wiring of
`commands.customer`.

Each Account in the answer has a "Check payment methods" button (handled in
`bot/features/pm.py`), and the answer a "Share in channel" button (`bot/features/lookups.py`).
"""

from __future__ import annotations

from slack_sdk.models.blocks import Block, ButtonElement

from bot.features import lookups
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
        f"{lookups.plural(found, 'Account')} matching “{lookups.short(result.query)}”"
        if result.matches
        else f"No Account matches “{lookups.short(result.query)}”"
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


SUBCOMMANDS = [
    lookups.lookup_subcommand(
        "customer",
        "an Account's Stripe Customer ID, checked against Stripe",
        "/billing customer Acme",
        "an Account name (or part), an Account Id, or a cus_… id",
        lookup=lookup,
        answer=answer,
        render=render_text,
        found=lambda result: bool(result.matches),
    )
]
