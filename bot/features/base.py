"""How a capability plugs into Slack and the terminal.

A feature module declares its `/billing` subcommands as `Subcommand` values next to the code
that serves them (slack-machine style), plus an optional `register(app, services)` for its
buttons, modals and events. The dispatcher in `bot/slack_app.py` and the CLI in `bot/cli.py`
read the declarations, so help, access control and logging are the same for every capability.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.services import Services


@dataclass
class Invocation:
    """One `/billing <name> <text>` from Slack, after the ack, on a worker thread."""

    services: Services
    user_id: str
    channel_id: str
    text: str
    respond: Callable[..., Any]
    client: Any  # slack_sdk.WebClient
    trigger_id: str | None = None
    body: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Subcommand:
    name: str
    capability: str  # the access-control key: lookup, import, approve, audit, or help
    summary: str
    example: str
    # Runs after the ack; returns the outcome written to the command log ("ok", "no_match"…).
    run_slack: Callable[[Invocation], str] | None = None
    add_cli_arguments: Callable[[argparse.ArgumentParser], None] | None = None
    run_cli: Callable[[Services, argparse.Namespace], int] | None = None

    @property
    def available(self) -> bool:
        return self.run_slack is not None


def ack_now(ack: Callable[..., Any]) -> None:
    """The ack of a listener whose work is all lazy: acks run on the HTTP thread
    (`bot/slack_app.py`), so they must never wait on the network."""
    ack()
