"""Slack fixtures: the Web API stand-in, a signed-request sender, a WSGI server for the bot.

Why fixtures and not module globals: each test gets a fresh world (no message or call leaks
between tests) on its own free port, and everything started is stopped at teardown, even when
the test fails.

- ``slack_api``: a started :class:`sandbox.slack_api.SlackApiServer` (bot token
  ``xoxb-test``), stopped after the test.
- ``make_slack_sender(bot_url, signing_secret=SIGNING_SECRET, **kw)``: a
  :class:`sandbox.slack_sender.SlackSender` bound to ``slack_api``.
- ``serve_wsgi_app(app)``: serves any WSGI app (e.g. ``SlackRequestHandler(bolt_app)`` or the
  project's own WSGI app) on 127.0.0.1; ``.url`` is its base URL; stopped after the test.
- ``slack_env``: the environment variables that point the bot at the stand-in (a dict;
  apply it with ``monkeypatch.setenv`` where a test wants it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sandbox.slack_api import (
    ALERTS_CHANNEL,
    APPROVALS_CHANNEL,
    DEFAULT_BOT_TOKEN,
    SlackApiServer,
    WsgiServer,
    serve_wsgi,
    start_slack_api,
)
from sandbox.slack_sender import SIGNING_SECRET, SlackSender


@pytest.fixture
def slack_api() -> Iterator[SlackApiServer]:
    """A Slack Web API stand-in on 127.0.0.1 with the default world, for one test."""
    api = start_slack_api(port=0, bot_token=DEFAULT_BOT_TOKEN)
    try:
        yield api
    finally:
        api.stop()


@pytest.fixture
def make_slack_sender(slack_api: SlackApiServer) -> Callable[..., SlackSender]:
    """Factory for a sender that signs with ``SIGNING_SECRET`` and registers response URLs and
    trigger IDs with ``slack_api``."""

    def make(bot_url: str, signing_secret: str = SIGNING_SECRET, **kwargs: Any) -> SlackSender:
        return SlackSender(bot_url, signing_secret=signing_secret, api=slack_api, **kwargs)

    return make


@pytest.fixture
def serve_wsgi_app() -> Iterator[Callable[..., WsgiServer]]:
    """Factory serving a WSGI app on 127.0.0.1 (free port); every server is stopped after
    the test."""
    servers: list[WsgiServer] = []

    def serve(app: Callable[..., Any], port: int = 0) -> WsgiServer:
        server = serve_wsgi(app, port)
        servers.append(server)
        return server

    yield serve
    for server in reversed(servers):
        server.stop()


@pytest.fixture
def slack_env(slack_api: SlackApiServer) -> dict[str, str]:
    """Settings that point the bot's Slack side at the stand-in (HTTP mode)."""
    return {
        "SLACK_BOT_TOKEN": slack_api.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_api.api_url,
        "APPROVALS_CHANNEL": APPROVALS_CHANNEL,
        "ALERTS_CHANNEL": ALERTS_CHANNEL,
    }
