"""Lookup answers kept for their "Share in channel" button.

Slack does not send an ephemeral message's content back when one of its buttons is clicked,
so the answer is kept here (already rendered, tokens already masked) under a random key that
the button carries. Sharing posts exactly what the person saw, without asking Salesforce or
Stripe again, and the key tells who asked, so only they may share it. Answers are pruned
after a day: a share button older than that says so.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlite_utils import Database, Migrations

migrations = Migrations("lookups")

KEEP = timedelta(days=1)


@migrations()
def m001_lookup_answers(db: Database) -> None:
    db["lookup_answers"].create(
        {
            "id": str,  # random: the share button's value
            "at": str,  # ISO 8601, UTC
            "user_id": str,  # who asked, the only one who may share
            "channel_id": str,
            "command": str,  # customer or pm
            "query": str,  # as shown (tokens masked)
            "text": str,  # the notification text
            "blocks": str,  # JSON: the channel copy, without buttons
        },
        pk="id",
    )
    db["lookup_answers"].create_index(["at"])


def save_answer(
    db: Database,
    *,
    user_id: str,
    channel_id: str,
    command: str,
    query: str,
    text: str,
    blocks: list[dict[str, Any]],
    now: datetime | None = None,
) -> str:
    """Keep one answer; returns its key. Older answers are pruned on the way."""
    now = now or datetime.now(UTC)
    key = secrets.token_urlsafe(16)
    db.execute("DELETE FROM lookup_answers WHERE at < ?", [(now - KEEP).isoformat()])
    db["lookup_answers"].insert(
        {
            "id": key,
            "at": now.isoformat(),
            "user_id": user_id,
            "channel_id": channel_id,
            "command": command,
            "query": query,
            "text": text,
            "blocks": json.dumps(blocks),
        }
    )
    return key


def load_answer(db: Database, key: str) -> dict[str, Any] | None:
    rows = list(db["lookup_answers"].rows_where("id = ?", [key], limit=1))
    if not rows:
        return None
    row = rows[0]
    return {**row, "blocks": json.loads(row["blocks"])}
