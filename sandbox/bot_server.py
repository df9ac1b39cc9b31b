"""The real bot in HTTP mode on 127.0.0.1, started from an environment dict and stoppable.

Why here: the offline sandbox and the end-to-end tests must run the bot exactly as production
does in HTTP mode (settings from the environment, `Services`, the Bolt app from
`bot.slack_app.build_app`, waitress from `bot.http_server`, Slack's signed requests on
`/slack/events`), only bound to loopback on a free port and stopped cleanly afterwards. One
function does that for both, so the sandbox cannot drift from what the tests exercise.

The listener threads belong to the caller's executor, so `stop()` can wait for them: no
Bolt listener is left talking to a stand-in that is about to go away.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config import Settings, load_settings
from bot.http_server import HttpServer, make_server, wsgi_app
from bot.services import Services
from bot.slack_app import build_app
from sandbox.slack_api import ALERTS_CHANNEL, APPROVALS_CHANNEL, SlackApiServer

LISTENER_THREADS = 16
HTTP_THREADS = 8


@dataclass
class BotServer:
    """A bot serving `/slack/events` at `url`; `stop()` ends the server and its listeners."""

    settings: Settings
    services: Services
    app: Any  # slack_bolt.App
    url: str
    server: HttpServer
    thread: threading.Thread
    executor: ThreadPoolExecutor

    def stop(self) -> None:
        """Stop serving, then wait for the listeners still running (idempotent)."""
        self.server.stop()
        self.thread.join(timeout=10)
        self.executor.shutdown(wait=True, cancel_futures=True)


def slack_standin_env(slack: SlackApiServer, signing_secret: str, database: Path) -> dict[str, str]:
    """The settings that point the bot at the Slack stand-in: its token and API URL, the
    signing secret the sender signs with, the stand-in's approvals and alerts channels, a
    database, and no scheduler (audits run when someone asks). Who may do what is the
    caller's to add."""
    return {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": signing_secret,
        "SLACK_API_URL": slack.api_url.rstrip("/"),
        "APPROVALS_CHANNEL": APPROVALS_CHANNEL,
        "ALERTS_CHANNEL": ALERTS_CHANNEL,
        "DATABASE_PATH": str(database),
        "SCHEDULER_ENABLED": "false",
    }


def start_bot_server(env: Mapping[str, str]) -> BotServer:
    """Load settings from `env` alone (no `.env` file), build the app and serve it on
    127.0.0.1 on a free port, in a daemon thread."""
    settings = load_settings(dict(env), dotenv_path=None)
    services = Services(settings)
    executor = ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="bot-listener")
    app = build_app(services, executor=executor)
    server = make_server(wsgi_app(app, lambda: {"ok": True}), "127.0.0.1", 0, threads=HTTP_THREADS)
    thread = threading.Thread(target=server.serve_forever, name="bot-http", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.port}/slack/events"
    return BotServer(settings, services, app, url, server, thread, executor)
