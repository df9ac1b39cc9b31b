"""The Bolt app: one `/billing` command dispatched to the feature modules.

Every listener acks at once and does the slow work (Salesforce, Stripe) on Bolt's listener
thread pool through lazy listeners, so Slack's 3-second limit holds however slow the org is.
A middleware answers Slack's retries of a request already handled without running it again.

The acks run on the HTTP thread (`process_before_response=True`), not on the listener pool:
with Bolt's default, each ack function is queued on the same pool as the lazy work, so a burst
of slow lookups (every listener thread waiting on Salesforce or Stripe) held new acks past the
3 seconds (bench/load.py). Every listener must therefore ack and return, and leave any work
that waits on the network to a lazy function.
"""

from __future__ import annotations

import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot import features
from bot.access import AccessControl
from bot.features.base import Invocation
from bot.features.help import blocks as help_blocks
from bot.features.help import help_for
from bot.services import Services
from bot.storage import claim_request, log_command
from commands.help import render_text

log = logging.getLogger(__name__)

# Enough threads that a burst of slow lookups does not queue behind each other; each waits
# mostly on the network.
LISTENER_THREADS = 32


def make_web_client(settings: Any) -> WebClient:
    base_url = (settings.slack_api_url + "/") if settings.slack_api_url else WebClient.BASE_URL
    client = WebClient(token=settings.slack_bot_token, base_url=base_url, timeout=15)
    client.retry_handlers.extend(
        [
            RateLimitErrorRetryHandler(max_retry_count=3),
            ServerErrorRetryHandler(max_retry_count=2),
            ConnectionErrorRetryHandler(max_retry_count=2),
        ]
    )
    return client


def access_for(services: Services, client: WebClient | None) -> AccessControl:
    """One AccessControl per process, so its user-group cache is shared."""
    with services._lock:
        access = getattr(services, "_access", None)
        if access is None or (access.client is None and client is not None):
            access = services._access = AccessControl(services.settings, client)
    return access


def request_key(body: dict[str, Any]) -> str | None:
    """What identifies one delivery: the event_id for events, the trigger_id for interactions
    and commands (unique per user action), else a digest of the payload."""
    if body.get("event_id"):
        return "event:" + body["event_id"]
    if body.get("trigger_id"):
        return "trigger:" + body["trigger_id"]
    return None


def build_app(
    services: Services,
    client: WebClient | None = None,
    executor: ThreadPoolExecutor | None = None,
) -> App:
    """The app with every feature registered. Pass `executor` to own the listener threads
    (tests shut them down between runs)."""
    settings = services.settings
    client = client or make_web_client(settings)
    app = App(
        signing_secret=settings.slack_signing_secret or "socket-mode",
        client=client,
        process_before_response=True,  # acks on the HTTP thread; the work is lazy
        listener_executor=executor or ThreadPoolExecutor(max_workers=LISTENER_THREADS),
        # Retries and 429s are answered here; raising on unhandled requests would make
        # Slack retry them too.
        raise_error_for_unhandled_request=False,
    )
    access = access_for(services, client)

    @app.middleware
    def answer_retries_once(req: BoltRequest, resp: BoltResponse, next: Any) -> BoltResponse:
        key = request_key(req.body)
        if key and not claim_request(services.db, key):
            retry = req.headers.get("x-slack-retry-num", [""])[0]
            log.info("already handled %s (retry %s): not running it again", key, retry or "-")
            return BoltResponse(status=200, body="")
        return next()

    def ack_billing(ack: Ack, command: dict[str, Any]) -> None:
        name, _ = split_command(command.get("text", ""))
        sub = features.subcommands().get(name)
        if sub is None or name == "help":
            # Help is cheap: answer it in the ack itself, within the 3 seconds.
            result = help_for(access, command["user_id"], unknown=None if name == "help" else name)
            ack(text=render_text(result), blocks=help_blocks(result), response_type="ephemeral")
            log_command(
                services.db,
                user_id=command["user_id"],
                channel_id=command.get("channel_id", ""),
                command=name or "help",
                args="",
                outcome="ok" if name in ("help", "") else "unknown_subcommand",
            )
            return
        ack()

    def run_billing(respond: Respond, command: dict[str, Any], context: BoltContext) -> None:
        name, rest = split_command(command.get("text", ""))
        sub = features.subcommands().get(name)
        if sub is None or name == "help":
            return
        user_id, channel_id = command["user_id"], command.get("channel_id", "")

        def record(outcome: str, detail: str = "") -> None:
            log_command(
                services.db,
                user_id=user_id,
                channel_id=channel_id,
                command=name,
                args=rest,
                outcome=outcome,
                detail=detail,
            )

        if not access.allowed(sub.capability, user_id, channel_id):
            if not access.channel_allowed(channel_id):
                text = "Sorry, I only answer billing commands in the channels set up for them."
            else:
                text = access.refusal(sub.capability)
            respond(text=text, response_type="ephemeral")
            log.info("refused %s to %s in %s", name, user_id, channel_id)
            record("refused")
            return
        if not sub.available:
            respond(
                text=f"`/billing {name}` is not available yet. Try `/billing help`.",
                response_type="ephemeral",
            )
            record("not_available")
            return
        invocation = Invocation(
            services=services,
            user_id=user_id,
            channel_id=channel_id,
            text=rest,
            respond=respond,
            client=context.client or client,
            trigger_id=command.get("trigger_id"),
            body=command,
        )
        try:
            outcome = sub.run_slack(invocation)  # type: ignore[misc]
        except Exception:
            ref = hashlib.sha1(repr(command.get("trigger_id")).encode()).hexdigest()[:8]
            log.exception("/billing %s failed (ref %s)", name, ref)
            respond(
                text=f"Sorry, something went wrong running `/billing {name}` (ref {ref}). "
                "The details are in the bot's log.",
                response_type="ephemeral",
            )
            record("error", f"ref {ref}")
            return
        record(outcome or "ok")

    app.command("/billing")(ack=ack_billing, lazy=[run_billing])

    for module in features.modules():
        register = getattr(module, "register", None)
        if register:
            register(app, services)
    return app


def split_command(text: str) -> tuple[str, str]:
    """`customer  Acme Corp` -> ("customer", "Acme Corp"); the rest is kept as typed."""
    text = (text or "").strip()
    if not text:
        return "", ""
    head, _, rest = text.partition(" ")
    return head.lower(), rest.strip()
