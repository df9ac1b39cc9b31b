"""The secret scan: no key, token or signing secret in anything the bot writes, in any test.

DESIGN section 10 promises that API keys never appear anywhere and payment tokens only masked,
in Slack, in logs and in the CSVs the bot posts. One test per message could not keep that
promise as the bot grows; this plugin checks every test of the suite instead:

- every log record (INFO and above, as the bot runs in production, with the Stripe SDK at
  WARNING as `bot.logs.setup_logging` sets it) is scanned as it is emitted, before any
  redaction: the bot should not hand a secret to its log in the first place;
- after each test that used the Slack stand-in (`slack_api`, and through it `slack_bot` and
  `bot_rig`), everything the bot sent it is scanned: Web API calls and response-URL answers,
  the messages the bot posted (slash-command acks included) and the files it uploaded.

What is looked for: the signing secrets of the fixtures and the sandbox, Slack tokens
(`xoxb-`, `xapp-`…), Stripe keys (`sk_`/`rk_`), Salesforce session ids (`00D…!…`), and whole
payment-method tokens (`pm_`, `card_`, `tok_`, `src_`, `ba_` and eight or more letters and
digits, where a masked one keeps four). A test that finds one fails at teardown, naming where
it appeared (the secret itself shown masked). The cost is one regular-expression search per log
record and per test.

Tests that hand secrets to the redaction on purpose are exempt (`ON_PURPOSE`).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.slack_api import BOT_ID, BOT_USER_ID, SlackApiServer
from sandbox.slack_sender import SIGNING_SECRET as SANDBOX_SIGNING_SECRET
from tests.plugins.bot import SIGNING_SECRET

ON_PURPOSE = ("tests/test_logs.py",)  # feeds secrets to the log redaction to see them go
SECRET = re.compile(
    "|".join(
        [
            re.escape(SIGNING_SECRET),
            re.escape(SANDBOX_SIGNING_SECRET),
            r"\bxox[abpr]-[A-Za-z0-9-]+",
            r"\bxapp-[A-Za-z0-9-]+",
            r"\b[sr]k_(?:test|live)_[A-Za-z0-9_]+",
            r"\b00D[A-Za-z0-9]{12,15}![A-Za-z0-9._-]{20,}",
            # a Stripe id has capitals or digits; check codes such as pm_inactive do not
            r"\b(?:pm|card|tok|src|ba)_(?=[a-z]*[A-Z0-9])[A-Za-z0-9]{8,}",
        ]
    )
)


def found_in(text: str) -> str | None:
    """The first secret in `text`, masked, or None."""
    match = SECRET.search(text)
    if match is None:
        return None
    secret = match.group(0)
    return f"{secret[:4]}…{secret[-2:]}"


class LogScan(logging.Handler):
    """Notes every log record that carries a secret, with the test it happened in."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.test = "(between tests)"
        self.hits: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += f" {record.exc_info[1]!r}"
        secret = found_in(text)
        if secret:
            self.hits.append(f"{self.test}: log line of {record.name} holds {secret}")


SCAN = LogScan()


def pytest_configure(config: pytest.Config) -> None:
    root = logging.getLogger()
    root.addHandler(SCAN)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    logging.getLogger("stripe").setLevel(logging.WARNING)


def slack_hits(api: SlackApiServer) -> list[str]:
    """Where a secret appears in what the bot sent the Slack stand-in."""
    hits = []
    for call in api.calls:
        if call.method == "download":  # the person's file coming in, not the bot's words
            continue
        secret = found_in(json.dumps(call.params, default=str))
        if secret:
            hits.append(f"Slack {call.method} sent by the bot holds {secret}")
    world = api.state()
    for message in world["messages"]:
        secret = message.get("bot_id") == BOT_ID and found_in(json.dumps(message))
        if secret:
            hits.append(f"a bot message in {message.get('channel')} holds {secret}")
    for file in world["files"]:
        if file.get("user") == BOT_USER_ID:
            secret = found_in(api.file_content(file["id"]).decode("utf-8", "replace"))
            if secret:
                hits.append(f"the bot's file {file.get('name')} holds {secret}")
    return hits


@pytest.fixture(autouse=True)
def secret_scan(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fails the test (at teardown) when a secret reached a log line or Slack during it."""
    exempt = request.node.nodeid.startswith(ON_PURPOSE)
    root = logging.getLogger()
    if SCAN not in root.handlers:  # `setup_logging` (CLI tests) replaces the root handlers
        root.addHandler(SCAN)
    api: Any = None
    if "slack_api" in request.fixturenames:
        api = request.getfixturevalue("slack_api")
    SCAN.test, before = request.node.nodeid, len(SCAN.hits)
    yield
    hits = SCAN.hits[before:]
    SCAN.test = "(between tests)"
    if exempt:
        del SCAN.hits[before:]
        return
    if api is not None:
        hits += slack_hits(api)
    if hits:
        pytest.fail("secrets in what the bot wrote:\n" + "\n".join(hits), pytrace=False)
