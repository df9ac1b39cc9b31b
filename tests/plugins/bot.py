"""Fixtures that run the real bot over HTTP against the stand-ins.

- ``slack_bot``: the Bolt app from ``bot.slack_app.build_app`` served by waitress on 127.0.0.1,
  talking to the Slack Web API stand-in; Salesforce and Stripe point at a closed port (for
  tests of the Slack plumbing that must not need them).
- ``bot_rig``: the same, with Salesforce and Stripe stand-ins seeded with demo data (the
  ``seeded`` fixture) behind it: the end-to-end rig every capability is tested through.

People and places (constants from ``sandbox.slack_api``): ``REQUESTER`` may look up, run audits
and request imports, and is also listed as an approver (so self-approval is refused by rule,
not by access); ``APPROVER`` may look up, audit and approve; ``OUTSIDER`` may do nothing.
Channels: ``SUPPORT_CHANNEL``, ``APPROVALS_CHANNEL`` (APPROVALS_CHANNEL), ``ALERTS_CHANNEL``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.services import Services
from sandbox.bot_server import BotServer, slack_standin_env, start_bot_server
from sandbox.slack_api import (
    ALERTS_CHANNEL,
    APPROVALS_CHANNEL,
    APPROVER,
    OUTSIDER,
    REQUESTER,
    SUPPORT_CHANNEL,
    SlackApiServer,
)
from sandbox.slack_sender import SlackSender

SIGNING_SECRET = "test-signing-secret-4f1c9a"
CLOSED = "https://127.0.0.1:9"  # nothing listens on the discard port


def base_env(slack: SlackApiServer, database: Path) -> dict[str, str]:
    return {
        **slack_standin_env(slack, SIGNING_SECRET, database),
        "ACCESS_LOOKUP": f"{REQUESTER},{APPROVER}",
        "ACCESS_IMPORT": REQUESTER,
        "ACCESS_APPROVE": f"{APPROVER},{REQUESTER}",
        "ACCESS_AUDIT": f"{REQUESTER},{APPROVER}",
        "ACCESS_CONTACT": "#billing-ops",
        "SF_TIMEOUT": "5",
        "STRIPE_TIMEOUT": "5",
    }


@dataclass
class RunningBot:
    """A bot served over HTTP; `url` is its /slack/events."""

    env: dict[str, str]
    settings: Settings
    services: Services
    app: Any
    url: str
    slack: SlackApiServer
    sender: SlackSender
    _bot: BotServer | None = None

    requester: str = REQUESTER
    approver: str = APPROVER
    outsider: str = OUTSIDER
    support: str = SUPPORT_CHANNEL
    approvals: str = APPROVALS_CHANNEL
    alerts: str = ALERTS_CHANNEL

    def stop(self) -> None:
        if self._bot is not None:
            self._bot.stop()


def start_bot(slack: SlackApiServer, env: dict[str, str]) -> RunningBot:
    bot = start_bot_server(env)
    sender = SlackSender(bot.url, SIGNING_SECRET, api=slack)
    return RunningBot(env, bot.settings, bot.services, bot.app, bot.url, slack, sender, bot)


@pytest.fixture
def bot_factory(slack_api: SlackApiServer, tmp_path: Path) -> Iterator[Callable[..., RunningBot]]:
    """Start bots with extra settings (`bot_factory(AUDIT_QUIET="true")`); all are stopped."""
    started: list[RunningBot] = []

    def make(base: dict[str, str] | None = None, **overrides: str) -> RunningBot:
        env = {**base_env(slack_api, tmp_path / "bot.db"), **(base or {}), **overrides}
        running = start_bot(slack_api, env)
        started.append(running)
        return running

    yield make
    for running in started:
        running.stop()


@pytest.fixture
def slack_bot(bot_factory: Callable[..., RunningBot]) -> RunningBot:
    return bot_factory(
        SF_INSTANCE_URL=CLOSED,
        SF_ACCESS_TOKEN="00D000000000001!closed",
        STRIPE_API_KEY="sk_test_closed_port_000",
        STRIPE_API_BASE="http://127.0.0.1:9",
    )


@dataclass
class BotRig(RunningBot):
    """A RunningBot wired to seeded Salesforce and Stripe stand-ins."""

    seed: Any = None  # sandbox.seed.SeedReport
    sf: Any = None  # the Salesforce stand-in server (knobs, api_calls)
    org: Any = None  # sandbox.salesforce.Org
    stripe: Any = None  # the Stripe stand-in (knobs)
    extra: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def bot_rig(bot_factory: Callable[..., RunningBot], seeded: Any) -> BotRig:
    env = {**seeded.sf_server.settings(), **seeded.stripe_server.settings()}
    running = bot_factory(env)
    return BotRig(
        **{k: getattr(running, k) for k in RunningBot.__dataclass_fields__},
        seed=seeded.report,
        sf=seeded.sf_server,
        org=seeded.org,
        stripe=seeded.stripe_server,
    )
