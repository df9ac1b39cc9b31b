"""Import requests, their rows and each row's outcome, in the bot's SQLite (DESIGN section 9).

Two tables. `import_requests` holds one request from upload to result: who asked, the file,
the scenario, the validation report, where its approval message lives, the decision (who,
when, why) and the run's lease and result. `import_rows` holds every line of the file with
what the plan asked for and where each of its writes stands (see `commands/imports/run.py`):
that journal is what makes a run resumable after a crash and answerable afterwards.

Every state change that two parties could race for (two approval clicks, two processes
resuming the same run) is one conditional UPDATE inside `transaction`, so exactly one wins.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database, Migrations
from sqlite_utils.db import NotFoundError

from bot.storage import Storage, dumps, transaction
from commands.imports.approval import RequestFacts, Status
from commands.imports.results import ImportReport, Plan, PlannedRow, RowProblem
from commands.imports.run import RunRow, StepState
from commands.imports.scenario import Scenario

migrations = Migrations("imports")

# A run's lease is renewed while it works; one not renewed for this long is taken over.
LEASE_SECONDS = 90


@migrations()
def m001_import_tables(db: Database) -> None:
    db["import_requests"].create(
        {
            "id": int,
            "requester": str,
            "source": str,  # modal, message_shortcut, dm
            "file_name": str,
            "file_id": str,
            "scenario": str,
            "note": str,
            "status": str,
            "report": str,  # the validation report, JSON
            "reply_channel": str,  # where the requester was answered
            "approval_channel": str,
            "approval_ts": str,
            "progress_ts": str,
            "decided_by": str,
            "decided_at": str,
            "reason": str,
            "created_at": str,
            "expires_at": str,
            "started_at": str,
            "finished_at": str,
            "runner": str,  # host:pid:boot of the process running it
            "heartbeat_at": str,
            "result": str,  # counts, JSON
            "error": str,
            "reported_at": str,  # when the result files were posted
        },
        pk="id",
    )
    db["import_requests"].create_index(["status"])
    db["import_requests"].create_index(["created_at"])
    db["import_rows"].create(
        {
            "request_id": int,
            "line": int,
            "state": str,  # pending, sending, created, updated, skipped, failed, rejected
            "account_action": str,
            "account_id": str,
            "account_key": str,
            "account_fields": str,
            "stripe_customer_id": str,
            "account_state": str,
            "payment_method_fields": str,
            "token": str,
            "payment_method_id": str,
            "payment_method_state": str,
            "batch": str,
            "job_id": str,
            "error": str,
            "planned": str,  # the validated row and its problems, JSON (PlannedRow)
        },
        pk=("request_id", "line"),
        foreign_keys=[("request_id", "import_requests", "id")],
    )
    db["import_rows"].create_index(["request_id", "state"])


@migrations()
def m002_row_sent_at(db: Database) -> None:
    db["import_rows"].add_column("sent_at", float)


@dataclass(frozen=True)
class StoredRow:
    """A row's journal entry with the validated row it came from (for the result CSVs)."""

    run: RunRow
    planned: PlannedRow


@dataclass(frozen=True)
class ImportRequest:
    id: int
    requester: str
    source: str
    file_name: str
    scenario: str
    note: str
    status: Status
    report: dict[str, Any]
    reply_channel: str
    approval_channel: str
    approval_ts: str
    progress_ts: str
    decided_by: str | None
    decided_at: datetime | None
    reason: str
    created_at: datetime
    expires_at: datetime
    finished_at: datetime | None
    result: dict[str, int]
    error: str
    reported_at: datetime | None

    @property
    def facts(self) -> RequestFacts:
        return RequestFacts(
            id=self.id,
            requester=self.requester,
            status=self.status,
            expires_at=self.expires_at,
            decided_by=self.decided_by,
            decided_at=self.decided_at,
            reason=self.reason,
        )


def report_record(report: ImportReport) -> dict[str, Any]:
    """What is stored of a validation report: its JSON plus the header and column mapping the
    result CSVs need (the planned rows, with full tokens, are stored per row)."""
    return {**report.to_dict(), "header": report.header, "columns": report.columns}


def stored_report(record: dict[str, Any], rows: list[StoredRow]) -> ImportReport:
    """The report back from `report_record` and the stored rows."""
    return ImportReport(
        filename=record.get("filename", ""),
        scenario=Scenario(record["scenario"]),
        scenario_detected=bool(record.get("scenario_detected")),
        scenario_reason=record.get("scenario_reason", ""),
        encoding=record.get("encoding", ""),
        delimiter=record.get("delimiter", ""),
        rows=int(record.get("rows", len(rows))),
        header=list(record.get("header") or []),
        columns=dict(record.get("columns") or {}),
        problems=[RowProblem.from_dict(p) for p in record.get("problems") or []],
        plan=Plan(**(record.get("plan") or {})),
        planned=[r.planned for r in rows],
        skipped_checks=list(record.get("skipped_checks") or []),
        warnings=list(record.get("warnings") or []),
    )


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _request(row: dict[str, Any]) -> ImportRequest:
    return ImportRequest(
        id=row["id"],
        requester=row["requester"],
        source=row["source"] or "",
        file_name=row["file_name"] or "",
        scenario=row["scenario"] or "",
        note=row["note"] or "",
        status=Status(row["status"]),
        report=json.loads(row["report"] or "{}"),
        reply_channel=row["reply_channel"] or "",
        approval_channel=row["approval_channel"] or "",
        approval_ts=row["approval_ts"] or "",
        progress_ts=row["progress_ts"] or "",
        decided_by=row["decided_by"] or None,
        decided_at=_time(row["decided_at"]),
        reason=row["reason"] or "",
        created_at=_time(row["created_at"]),  # type: ignore[arg-type]
        expires_at=_time(row["expires_at"]),  # type: ignore[arg-type]
        finished_at=_time(row["finished_at"]),
        result=json.loads(row["result"] or "{}"),
        error=row["error"] or "",
        reported_at=_time(row["reported_at"]),
    )


def _row_values(row: RunRow) -> dict[str, Any]:
    return {
        "state": row.state.value,
        "account_action": row.account_action,
        "account_id": row.account_id,
        "account_key": row.account_key,
        "account_fields": dumps(row.account_fields),
        "stripe_customer_id": row.stripe_customer_id,
        "account_state": row.account_state.value,
        "payment_method_fields": (
            None if row.payment_method_fields is None else dumps(row.payment_method_fields)
        ),
        "token": row.token,
        "payment_method_id": row.payment_method_id,
        "payment_method_state": row.payment_method_state.value,
        "batch": row.batch,
        "job_id": row.job_id,
        "sent_at": row.sent_at,
        "error": row.error,
    }


def _run_row(row: dict[str, Any]) -> RunRow:
    pm_fields = row["payment_method_fields"]
    return RunRow(
        line=row["line"],
        account_action=row["account_action"] or "none",
        account_id=row["account_id"] or None,
        account_key=row["account_key"] or None,
        account_fields=json.loads(row["account_fields"] or "{}"),
        stripe_customer_id=row["stripe_customer_id"] or None,
        account_state=StepState(row["account_state"]),
        payment_method_fields=None if pm_fields is None else json.loads(pm_fields),
        token=row["token"] or None,
        payment_method_id=row["payment_method_id"] or None,
        payment_method_state=StepState(row["payment_method_state"]),
        rejected=row["state"] == "rejected",
        batch=row["batch"] or None,
        job_id=row["job_id"] or None,
        sent_at=row["sent_at"],
        error=row["error"] or "",
    )


def runner_identity() -> str:
    """host:pid:boot: enough to tell, on this host, that the holder of a lease is gone."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _holder_is_gone(runner: str | None) -> bool:
    """True when the lease holder ran on this host and that process no longer exists (or is
    this very process under a new boot id: a container restarts with the same pid)."""
    if not runner:
        return True
    host, _, rest = runner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class ImportStore:
    """Requests and rows over `Storage` (one connection per thread)."""

    def __init__(self, storage: Storage):
        self.storage = storage

    @property
    def db(self) -> Database:
        return self.storage.db

    # --- requests ---------------------------------------------------------------------------

    def create(
        self,
        *,
        requester: str,
        source: str,
        file_name: str,
        file_id: str,
        scenario: str,
        note: str,
        report: dict[str, Any],
        reply_channel: str,
        rows: Iterable[StoredRow],
        created_at: datetime,
        expires_at: datetime,
        status: Status = Status.PENDING_APPROVAL,
    ) -> int:
        with transaction(self.db) as db:
            table = db["import_requests"]
            table.insert(
                {
                    "requester": requester,
                    "source": source,
                    "file_name": file_name,
                    "file_id": file_id,
                    "scenario": scenario,
                    "note": note,
                    "status": status.value,
                    "report": dumps(report),
                    "reply_channel": reply_channel,
                    "created_at": _iso(created_at),
                    "expires_at": _iso(expires_at),
                }
            )
            request_id = int(table.last_pk)  # type: ignore[arg-type]
            db["import_rows"].insert_all(
                (
                    {
                        "request_id": request_id,
                        "line": stored.run.line,
                        **_row_values(stored.run),
                        "planned": dumps(stored.planned.to_dict()),
                    }
                    for stored in rows
                ),
                batch_size=500,
            )
        return request_id

    def get(self, request_id: int) -> ImportRequest | None:
        try:
            return _request(self.db["import_requests"].get(request_id))
        except NotFoundError:
            return None

    def facts(self, request_id: int) -> RequestFacts | None:
        request = self.get(request_id)
        return request.facts if request else None

    def decide(
        self,
        request_id: int,
        status: Status,
        *,
        decided_by: str | None,
        decided_at: datetime,
        reason: str = "",
    ) -> bool:
        """The one decision: only a request still pending approval can change."""
        with transaction(self.db) as db:
            cursor = db.execute(
                "UPDATE import_requests SET status = ?, decided_by = ?, decided_at = ?, "
                "reason = ? WHERE id = ? AND status = ?",
                [
                    status.value,
                    decided_by,
                    _iso(decided_at),
                    reason,
                    request_id,
                    Status.PENDING_APPROVAL.value,
                ],
            )
            return cursor.rowcount == 1

    def set_fields(self, request_id: int, **values: Any) -> None:
        """Slack bookkeeping (message timestamps, reply channel): no state transition."""
        allowed = {"approval_channel", "approval_ts", "progress_ts", "reply_channel"}
        if not set(values) <= allowed:
            raise ValueError(f"not a bookkeeping field: {sorted(set(values) - allowed)}")
        self.db["import_requests"].update(request_id, values)

    def fail_unposted(self, request_id: int, error: str, now: datetime) -> None:
        """The approval message could not be posted: nobody can ever decide this request."""
        self.db.execute(
            "UPDATE import_requests SET status = ?, error = ?, finished_at = ? "
            "WHERE id = ? AND status = ?",
            [Status.FAILED.value, error, _iso(now), request_id, Status.PENDING_APPROVAL.value],
        )

    def recent(self, limit: int = 10) -> list[ImportRequest]:
        rows = self.db["import_requests"].rows_where(order_by="id desc", limit=limit)
        return [_request(r) for r in rows]

    def ids_with_status(self, *statuses: Status) -> list[int]:
        marks = ",".join("?" for _ in statuses)
        rows = self.db.execute(
            f"SELECT id FROM import_requests WHERE status IN ({marks}) ORDER BY id",
            [s.value for s in statuses],
        ).fetchall()
        return [r[0] for r in rows]

    def unreported(self) -> list[int]:
        """Finished runs whose result files were never posted (the process died first)."""
        rows = self.db.execute(
            "SELECT id FROM import_requests WHERE status IN (?, ?) AND reported_at IS NULL "
            "AND started_at IS NOT NULL ORDER BY id",
            [Status.DONE.value, Status.FAILED.value],
        ).fetchall()
        return [r[0] for r in rows]

    # --- the run's lease --------------------------------------------------------------------

    def claim(self, request_id: int, runner: str, now: datetime) -> bool:
        """Take the run: an approved request, or a running one whose holder is gone."""
        stale = _iso(now - timedelta(seconds=LEASE_SECONDS))
        with transaction(self.db) as db:
            row = db.execute(
                "SELECT status, runner, heartbeat_at FROM import_requests WHERE id = ?",
                [request_id],
            ).fetchone()
            if row is None:
                return False
            status, holder, heartbeat = row
            takeable = status == Status.APPROVED.value or (
                status == Status.RUNNING.value
                and (holder == runner or _holder_is_gone(holder) or (heartbeat or "") < stale)
            )
            if not takeable:
                return False
            db.execute(
                "UPDATE import_requests SET status = ?, runner = ?, heartbeat_at = ?, "
                "started_at = COALESCE(started_at, ?) WHERE id = ?",
                [Status.RUNNING.value, runner, _iso(now), _iso(now), request_id],
            )
        return True

    def heartbeat(self, request_id: int, runner: str, now: datetime) -> None:
        self.db.execute(
            "UPDATE import_requests SET heartbeat_at = ? WHERE id = ? AND runner = ?",
            [_iso(now), request_id, runner],
        )

    def finish(
        self,
        request_id: int,
        runner: str,
        status: Status,
        counts: dict[str, int],
        now: datetime,
        error: str = "",
    ) -> None:
        self.db.execute(
            "UPDATE import_requests SET status = ?, result = ?, error = ?, finished_at = ?, "
            "runner = NULL WHERE id = ? AND runner = ?",
            [status.value, dumps(counts), error, _iso(now), request_id, runner],
        )

    def mark_reported(self, request_id: int, now: datetime) -> None:
        self.db["import_requests"].update(request_id, {"reported_at": _iso(now)})

    # --- rows -------------------------------------------------------------------------------

    def rows(self, request_id: int) -> list[StoredRow]:
        return [
            StoredRow(_run_row(r), PlannedRow.from_dict(json.loads(r["planned"])))
            for r in self.db["import_rows"].rows_where(
                "request_id = ?", [request_id], order_by="line"
            )
        ]

    def state_counts(self, request_id: int) -> dict[str, int]:
        rows = self.db.execute(
            "SELECT state, COUNT(*) FROM import_rows WHERE request_id = ? GROUP BY state",
            [request_id],
        ).fetchall()
        return {state: count for state, count in rows}

    def journal(self, request_id: int) -> RowJournal:
        return RowJournal(self, request_id)


class RowJournal:
    """`commands.imports.run.ImportJournal` over the import_rows table."""

    def __init__(self, store: ImportStore, request_id: int):
        self.store = store
        self.request_id = request_id

    def load(self) -> list[RunRow]:
        return [stored.run for stored in self.store.rows(self.request_id)]

    def save(self, rows: Sequence[RunRow]) -> None:
        if not rows:
            return
        names = list(_row_values(rows[0]))
        assignments = ", ".join(f"{name} = ?" for name in names)
        sql = f"UPDATE import_rows SET {assignments} WHERE request_id = ? AND line = ?"
        params = [[*_row_values(r).values(), self.request_id, r.line] for r in rows]
        with transaction(self.store.db) as db:
            db.conn.executemany(sql, params)
