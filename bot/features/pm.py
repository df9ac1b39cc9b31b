"""`/billing pm` and `billing-bot pm`: Slack and terminal wiring of `commands.pm`, and the
"Check payment methods" button on each Account of a `customer` answer."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, Respond
from slack_sdk.models.blocks import Block

from bot.features import lookups
from bot.features.base import ack_now
from bot.services import Services
from bot.slack_text import escape, link
from bot.storage import log_command
from commands.pm import (
    PaymentMethodCheck,
    PmResult,
    Verdict,
    describe_card,
    describe_gateway,
    lookup_payment_methods,
    render_text,
    yes_no,
)

# Slack allows 50 blocks a message: room for the header, the hint and the share button.
SLACK_METHODS = 45
VERDICTS = {
    Verdict.READY: ":white_check_mark: *Ready to charge*",
    Verdict.WARNING: ":warning: *Warning*",
    Verdict.BLOCKED: ":no_entry: *Blocked*",
}


def lookup(services: Services, text: str) -> PmResult:
    return lookup_payment_methods(
        text, lookups.directory(services), services.stripe, services.clock().date()
    )


def answer(result: PmResult) -> lookups.Answer:
    methods = result.payment_methods
    if methods:
        blocked = sum(1 for c in methods if c.verdict == Verdict.BLOCKED)
        summary = (
            f"{lookups.plural(len(methods), 'payment method')} for “{lookups.short(result.query)}”"
        )
        summary += f", {blocked} blocked" if blocked else ""
    else:
        summary = f"No payment methods for “{lookups.short(result.query)}”"
    return lookups.Answer(
        outcome="ok" if methods else "no_match",
        query=result.query,
        text=escape(summary),
        blocks=blocks(result),
        shared=blocks(result),
    )


def blocks(result: PmResult) -> list[Block]:
    out: list[Block] = []
    methods = result.payment_methods
    if methods:
        out.append(lookups.section(f"*Payment methods for “{escape(result.query)}”*"))
    out.extend(lookups.section(method_text(c)) for c in methods[:SLACK_METHODS])
    notes = []
    if len(methods) > SLACK_METHODS:
        notes.append(
            f"{len(methods) - SLACK_METHODS} more not shown here: look up one Account at a "
            "time, or run `billing-bot pm … --json`."
        )
    if result.hint:
        notes.append(escape(result.hint))
    if notes:
        text = "\n".join(notes)
        out.append(lookups.context(text) if methods else lookups.section(text))
    return out


def method_text(check: PaymentMethodCheck) -> str:
    account = check.account.name or check.account.id
    lines = [
        f"{VERDICTS[check.verdict]} · *{link(check.url, check.name or check.id)}* "
        f"on {escape(account)}",
        f"Active: {yes_no(check.active)} · AutoPay: {yes_no(check.autopay)} · "
        f"{escape(check.type or 'no type')} · Gateway: {escape(describe_gateway(check))}",
        f"Token `{escape(check.token_masked or 'none')}` · {escape(describe_card(check))}",
    ]
    lines.extend(lookups.problem_lines(check.problems))
    return "\n".join(lines)


def register(app: App, services: Services) -> None:
    from bot.slack_app import access_for

    def check_account(body: dict[str, Any], respond: Respond) -> None:
        """The button on an Account of a `customer` answer: the `pm` check for it."""
        user_id = body["user"]["id"]
        channel_id = (body.get("channel") or {}).get("id", "")
        account_id = body["actions"][0].get("value", "")
        access = access_for(services, app.client)
        if not access.allowed("lookup", user_id, channel_id):
            respond(
                text=access.refusal("lookup"), response_type="ephemeral", replace_original=False
            )
            outcome = "refused"
        else:
            outcome = lookups.answer_in_slack(
                services,
                lambda **kw: respond(**{**kw, "replace_original": False}),
                user_id=user_id,
                channel_id=channel_id,
                command="pm",
                compute=lambda: answer(lookup(services, account_id)),
            )
        log_command(
            services.db,
            user_id=user_id,
            channel_id=channel_id,
            command="pm",
            args=account_id,
            outcome=outcome,
            detail="button on a customer answer",
        )

    app.action(lookups.CHECK_PM_ACTION)(ack=ack_now, lazy=[check_account])


SUBCOMMANDS = [
    lookups.lookup_subcommand(
        "pm",
        "payment methods: Active flag, gateway, token, and whether Stripe can charge them",
        "/billing pm 001XXXXXXXXXXXXXXX",
        "a payment method's Id or token, an Account name or Id, or a cus_… id",
        lookup=lookup,
        answer=answer,
        render=render_text,
        found=lambda result: bool(result.payment_methods),
    )
]
