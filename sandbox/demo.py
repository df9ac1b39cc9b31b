"""`billing-bot sandbox`: the whole bot on one machine, driven from a browser page.

Anyone evaluating the bot, and every developer changing it, should see it work end to end
without a Slack workspace, a Salesforce org or a Stripe account. On 127.0.0.1 this starts:

- the Salesforce stand-in and localstripe, seeded with the demo data (``sandbox.standins``);
- the Slack Web API stand-in (``sandbox.slack_api``), with three people and three channels;
- the bot itself in HTTP mode, exactly as in production (settings from an environment, Bolt,
  signed requests on ``/slack/events``, the real Salesforce and Stripe clients over HTTP,
  waitress), with its database in a private temporary folder (``sandbox.bot_server``);
- the browser page that plays Slack's client (``sandbox.web``), which sends Slack's signed
  requests through ``sandbox.slack_sender``.

It prints the page's address and a short guide, serves until Ctrl-C or SIGTERM, then stops
everything in reverse order: no child process, temporary database or CA bundle is left.
"""

from __future__ import annotations

import contextlib
import errno
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config import Settings
from sandbox.bot_server import BotServer, slack_standin_env, start_bot_server
from sandbox.import_sample import FILENAME as SAMPLE_FILENAME
from sandbox.import_sample import make_import_sample
from sandbox.slack_api import (
    APPROVER,
    OUTSIDER,
    REQUESTER,
    SlackApiServer,
    WsgiServer,
    serve_wsgi,
    start_slack_api,
)
from sandbox.slack_sender import SIGNING_SECRET, SlackSender
from sandbox.standins import DataStandins, Interrupted, data_standins, interrupt_on_signals
from sandbox.web.app import PageConfig, Person, SandboxPage, Shortcut, SlashCommand

EXIT_PORT_BUSY = 2

PEOPLE = [
    Person(REQUESTER, "looks up customers, runs audits and requests imports"),
    Person(APPROVER, "looks up customers, runs audits and approves imports"),
    Person(OUTSIDER, "has no access: see what a refusal looks like"),
]

# What Slack knows of the installed app: its manifest's slash command and shortcuts (the
# sandbox plays Slack, so it holds a copy; a test keeps it equal to manifest.yml).
SLASH_COMMANDS = [
    SlashCommand(
        "/billing",
        "Billing lookups, imports and audits (try /billing help)",
        "help | customer <name, Id or cus_…> | pm <Id, token or account> | import | imports "
        "| audit",
    )
]
SHORTCUTS = [
    Shortcut(
        "message",
        "import_csv_message",
        "Import CSV to Billing",
        "Request an import of the CSV attached to this message",
    ),
    Shortcut(
        "global",
        "import_csv_global",
        "New billing import",
        "Upload a CSV of customers and payment methods for approval",
    ),
]


def bot_env(
    slack: SlackApiServer, standins: DataStandins, database: Path, log_level: str
) -> dict[str, str]:
    """The bot's whole environment: the three stand-ins, the channels, who may do what."""
    return {
        **slack_standin_env(slack, SIGNING_SECRET, database),
        **standins.settings(),
        "ACCESS_LOOKUP": f"{REQUESTER},{APPROVER}",
        "ACCESS_AUDIT": f"{REQUESTER},{APPROVER}",
        "ACCESS_IMPORT": REQUESTER,
        "ACCESS_APPROVE": APPROVER,
        "ACCESS_CONTACT": "Avery Approver",
        "LOG_LEVEL": log_level,
    }


class _PageSlot:
    """Holds the page's port from the very start, so a busy port is reported before anything
    slow starts; answers 503 until the page is ready."""

    def __init__(self) -> None:
        self.app: Callable[..., Any] | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if self.app is None:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"The sandbox is still starting."]
        return self.app(environ, start_response)


def _check_free(port: int) -> None:
    """Raise OSError(EADDRINUSE) for a busy port (werkzeug would exit the process instead)."""
    with socket.create_server(("127.0.0.1", port)):
        pass


@dataclass
class Sandbox:
    """Everything running; ``url`` is the page's address."""

    url: str
    slack: SlackApiServer
    sender: SlackSender
    bot: BotServer
    standins: DataStandins

    @property
    def running(self) -> bool:
        """False once localstripe (the one child process) has died."""
        return self.standins.stripe.running


@contextlib.contextmanager
def running_sandbox(
    port: int = 0, accounts: int = 40, log_level: str = "INFO"
) -> Iterator[Sandbox]:
    """Start everything on 127.0.0.1 (the page on ``port``; 0 picks a free one); on exit stop
    it all and remove the temporary folder."""
    with contextlib.ExitStack() as stack:
        if port:
            _check_free(port)
        slot = _PageSlot()
        page_server: WsgiServer = serve_wsgi(slot, port)
        stack.callback(page_server.stop)
        standins = stack.enter_context(data_standins(accounts=accounts))
        workdir = Path(tempfile.mkdtemp(prefix="billing-sandbox-"))
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        slack = start_slack_api()
        stack.callback(slack.stop)
        for person in PEOPLE:
            slack.dm_channel(person.user_id)  # each person's DM with the bot is in the list
        bot = start_bot_server(bot_env(slack, standins, workdir / "billing-bot.db", log_level))
        stack.callback(bot.stop)
        sender = SlackSender(bot.url, SIGNING_SECRET, api=slack)
        assert standins.report is not None
        sample = make_import_sample(
            standins.stripe.api_base, standins.report.gateways["stripe"]["id"]
        )
        config = PageConfig(PEOPLE, SLASH_COMMANDS, SHORTCUTS, {SAMPLE_FILENAME: sample})
        slot.app = SandboxPage(slack, sender, config)
        yield Sandbox(f"{page_server.url}/", slack, sender, bot, standins)


def guide(url: str, accounts: int) -> str:
    """What to print once everything is up."""
    return f"""
Billing Ops Bot, offline sandbox: Slack, Salesforce and Stripe stand-ins and the bot itself,
all on this machine (127.0.0.1), with {accounts} demo Accounts. Nothing here reaches the internet.

    Open {url} in a browser.

Try it (the switch at the top of the page changes who you are):
  1. As Riley Requester, in #billing-support:  /billing customer Acme
  2. Click "Check payment methods" under an Account (or: /billing pm Acme Corporation)
  3. /billing import, and upload {SAMPLE_FILENAME} (download it from the page's guide):
     switch to Avery Approver, open #billing-approvals and click Approve;
     the success and error CSVs appear in the request's thread
  4. /billing audit (a private answer), or /billing audit post (posted to #billing-alerts)

Ctrl-C stops everything.
"""


def run_demo(settings: Settings, port: int = 8600, accounts: int = 40) -> int:
    """Run the sandbox until Ctrl-C or SIGTERM; returns the exit status. ``settings`` are the
    operator's (only the log level is used: the sandbox brings its own world)."""
    try:
        with interrupt_on_signals():
            print("Starting the offline sandbox…", flush=True)
            with running_sandbox(port, accounts, settings.log_level) as sandbox:
                print(guide(sandbox.url, accounts), flush=True)
                while sandbox.running:
                    time.sleep(0.5)
                print("billing-bot: localstripe stopped unexpectedly", file=sys.stderr)
                return 1
    except Interrupted:
        print("Stopped: every server and temporary file is gone.", flush=True)
        return 0
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(
                f"billing-bot: port {port} is busy; choose another: billing-bot sandbox "
                "--port 8601",
                file=sys.stderr,
            )
            return EXIT_PORT_BUSY
        raise
