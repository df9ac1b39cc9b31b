"""The bot's SQLite database: opened in WAL mode, migrated in code at start-up.

Each capability that stores something declares its own `sqlite_utils.Migrations` set next to
the code that uses the tables, and lists it in `MIGRATION_MODULES`; `open_database` applies
every set, so a fresh file and an old one end up with the same schema.
"""

from __future__ import annotations

import importlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database, Migrations

from commands.ids import mask_tokens_in

migrations = Migrations("billing-bot-core")

# Modules that define a module-level `migrations` set, applied in this order.
MIGRATION_MODULES = ["bot.storage", "bot.imports_store", "bot.audit_store", "bot.lookups_store"]

_lock = threading.Lock()


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@migrations()
def m001_command_log(db: Database) -> None:
    db["command_log"].create(
        {
            "id": int,
            "at": str,
            "user_id": str,
            "channel_id": str,
            "source": str,  # slack or cli
            "command": str,
            "args": str,  # tokens masked before they get here
            "outcome": str,  # ok, refused, error, ...
            "detail": str,
        },
        pk="id",
    )
    db["command_log"].create_index(["at"])


@migrations()
def m002_handled_requests(db: Database) -> None:
    # Slack retries a request it thinks we missed; the key (event_id, or a hash of the
    # interaction) is inserted once, and the loser of the insert knows it is a retry.
    db["handled_requests"].create({"key": str, "at": str}, pk="key")


def _connect(path: str) -> Database:
    conn = sqlite3.connect(path, check_same_thread=False, timeout=30, isolation_level=None)
    db = Database(conn)
    db.execute("PRAGMA busy_timeout = 30000")
    db.execute("PRAGMA foreign_keys = ON")
    return db


def open_database(path: str | Path) -> Database:
    """Open (creating folders and file as needed), set WAL, apply every migration set."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = _connect(str(path))
    db.enable_wal()
    with _lock:
        for module_name in MIGRATION_MODULES:
            importlib.import_module(module_name).migrations.apply(db)
    return db


class Storage:
    """One SQLite connection per thread over one file.

    Bolt runs listeners on a thread pool and the scheduler has its own threads; a connection
    shared between them would interleave one thread's transaction with another's writes.
    """

    def __init__(self, path: str | Path):
        self.path = str(path)
        open_database(self.path).close()
        self._local = threading.local()

    @property
    def db(self) -> Database:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = _connect(self.path)
        return db


@contextmanager
def transaction(db: Database) -> Iterator[Database]:
    """An IMMEDIATE transaction: the write lock is taken up front, so two threads or processes
    deciding the same thing (an approval click, a claimed job) serialise instead of racing."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def claim_request(db: Database, key: str) -> bool:
    """True the first time `key` is seen; False for a retry of a request already handled."""
    try:
        db.execute("INSERT INTO handled_requests (key, at) VALUES (?, ?)", [key, now()])
    except sqlite3.IntegrityError:
        return False
    return True


def log_command(
    db: Database,
    *,
    user_id: str,
    command: str,
    args: str,
    outcome: str,
    channel_id: str = "",
    source: str = "slack",
    detail: str = "",
) -> None:
    """Record who ran what and how it ended. Anything token-like in args is masked here, the
    one place every caller passes through."""
    db["command_log"].insert(
        {
            "at": now(),
            "user_id": user_id,
            "channel_id": channel_id,
            "source": source,
            "command": command,
            "args": mask_tokens_in(args)[:500],
            "outcome": outcome,
            "detail": mask_tokens_in(detail)[:1000],
        }
    )


def recent_commands(db: Database, limit: int = 50) -> list[dict[str, Any]]:
    return list(db["command_log"].rows_where(order_by="id desc", limit=limit))


def dumps(value: Any) -> str:
    return json.dumps(value, default=str, separators=(",", ":"))
