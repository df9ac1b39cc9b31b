"""Audit runs and their findings in SQLite: the memory behind "new since last time".

Three tables: `audit_runs` (when, who or what asked, whether and where it was posted),
`audit_checks` (each check's status and count per run, so a check that could not run is
told apart from one that found nothing), and `audit_findings` (every finding per run, keyed
by code and record id). Findings of old runs are pruned; runs and check statuses are small
and kept, so the chart can show a long history.
"""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database, Migrations

from bot.storage import transaction
from commands.audit.diff import Baseline, BaselineCheck
from commands.audit.model import AuditResult, Status

migrations = Migrations("audit")

KEEP_FINDINGS_OF_RUNS = 30  # enough for any diff worth making; bounds the file's growth


@migrations()
def m001_audit_tables(db: Database) -> None:
    db["audit_runs"].create(
        {
            "id": int,
            "run_at": str,  # ISO 8601, UTC
            "kind": str,  # scheduled, slack, cli
            "requested_by": str,  # a Slack user id, "cli" or "schedule"
            "posted": int,
            "channel": str,
            "message_ts": str,
            "findings": int,  # findings stored with the run: the chart's "open findings"
        },
        pk="id",
    )
    db["audit_checks"].create(
        {"run_id": int, "code": str, "status": str, "count": int, "message": str},
        pk=("run_id", "code"),
        foreign_keys=[("run_id", "audit_runs", "id")],
    )
    db["audit_findings"].create(
        {
            "run_id": int,
            "code": str,
            "record_id": str,
            "record_name": str,
            "link": str,
            "detail": str,
        },
        foreign_keys=[("run_id", "audit_runs", "id")],
    )
    db["audit_findings"].create_index(["run_id", "code"])
    db["audit_checks"].create_index(["code", "status"])


class AuditStore:
    """Implements `commands.audit.diff.AuditHistory` over the bot's database."""

    def __init__(self, db: Database):
        self.db = db

    def baseline(self) -> Baseline | None:
        last = self.db.execute("SELECT id, run_at FROM audit_runs ORDER BY id DESC LIMIT 1")
        row = last.fetchone()
        if row is None:
            return None
        last_id, run_at = row
        checks: dict[str, BaselineCheck] = {}
        statuses = dict(
            self.db.execute(
                "SELECT code, status FROM audit_checks WHERE run_id = ?", [last_id]
            ).fetchall()
        )
        known_runs = self.db.execute(
            "SELECT code, MAX(run_id) FROM audit_checks WHERE status != ? GROUP BY code",
            [Status.UNKNOWN.value],
        ).fetchall()
        for code, run_id in known_runs:
            if not self._has_findings_of(run_id):
                continue  # pruned: nothing to compare with
            ids = self.db.execute(
                "SELECT record_id FROM audit_findings WHERE run_id = ? AND code = ?",
                [run_id, code],
            ).fetchall()
            checks[code] = BaselineCheck(_status(statuses.get(code)), frozenset(i for (i,) in ids))
        for code, status in statuses.items():
            checks.setdefault(code, BaselineCheck(_status(status), None))
        return Baseline(datetime.fromisoformat(run_at), checks)

    def _has_findings_of(self, run_id: int) -> bool:
        newest = self.db.execute(
            "SELECT id FROM audit_runs ORDER BY id DESC LIMIT 1 OFFSET ?",
            [KEEP_FINDINGS_OF_RUNS - 1],
        ).fetchone()
        return newest is None or run_id >= newest[0]

    def record(self, result: AuditResult, kind: str, requested_by: str) -> int:
        """Store a run with every check and finding; returns its id."""
        findings = result.findings
        with transaction(self.db):
            run_id = (
                self.db["audit_runs"]
                .insert(
                    {
                        "run_at": result.run_at.isoformat(),
                        "kind": kind,
                        "requested_by": requested_by,
                        "posted": 0,
                        "channel": "",
                        "message_ts": "",
                        "findings": len(findings),
                    }
                )
                .last_pk
            )
            self.db["audit_checks"].insert_all(
                {
                    "run_id": run_id,
                    "code": c.code,
                    "status": c.status.value,
                    "count": c.count,
                    "message": c.message,
                }
                for c in result.checks
            )
            self.db["audit_findings"].insert_all(
                (
                    {
                        "run_id": run_id,
                        "code": f.code,
                        "record_id": f.record_id,
                        "record_name": f.record_name,
                        "link": f.link,
                        "detail": f.detail,
                    }
                    for f in findings
                ),
                batch_size=500,
            )
            self._prune()
        return int(run_id)

    def _prune(self) -> None:
        self.db.execute(
            "DELETE FROM audit_findings WHERE run_id < "
            "(SELECT MIN(id) FROM (SELECT id FROM audit_runs ORDER BY id DESC LIMIT ?))",
            [KEEP_FINDINGS_OF_RUNS],
        )

    def mark_posted(self, run_id: int, channel: str, message_ts: str) -> None:
        self.db["audit_runs"].update(
            run_id, {"posted": 1, "channel": channel, "message_ts": message_ts}
        )

    def open_findings_history(self, limit: int = 14) -> list[tuple[datetime, int]]:
        """(run time, findings) of the last `limit` recorded runs, oldest first."""
        rows = self.db.execute(
            "SELECT run_at, findings FROM audit_runs ORDER BY id DESC LIMIT ?", [limit]
        ).fetchall()
        return [(datetime.fromisoformat(at), n) for at, n in reversed(rows)]

    def runs(self) -> int:
        return self.db["audit_runs"].count


def _status(value: str | None) -> Status | None:
    return Status(value) if value else None
