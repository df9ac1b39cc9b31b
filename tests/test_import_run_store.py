"""The journal and the run's lease in SQLite: what survives a crash, who may take a run over."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.imports_store import LEASE_SECONDS, ImportStore, StoredRow, runner_identity
from bot.storage import Storage
from commands.imports import Action, PlannedRow, RowStatus
from commands.imports.approval import Status
from commands.imports.run import RowState, RunRow, StepState
from tests.import_rig import stored_request

NOW = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> ImportStore:
    return ImportStore(Storage(tmp_path / "bot.db"))


def approved_request(store: ImportStore, rows: list[RunRow]) -> int:
    stored = [StoredRow(r, planned(r)) for r in rows]
    return stored_request(store, stored, created_at=NOW, approved=True)


def planned(row: RunRow) -> PlannedRow:
    return PlannedRow(
        line=row.line,
        status=RowStatus.REJECTED if row.rejected else RowStatus.OK,
        account_action=Action.NONE,
        account_id=row.account_id,
        account_fields={},
        payment_method_action=Action.CREATE,
        payment_method_fields=row.payment_method_fields or {},
        account_key=row.account_id,
        source={"Payment Gateway Token": row.token or ""},
    )


def pm_row(line: int) -> RunRow:
    return RunRow(
        line=line,
        account_id="001000000000001AAA",
        payment_method_fields={"blng__PaymentGatewayToken__c": f"pm_{line}"},
        token=f"pm_{line}",
        payment_method_state=StepState.PENDING,
    )


def test_rows_round_trip_through_the_journal(store):
    request_id = approved_request(store, [pm_row(2), pm_row(3), RunRow(line=4, rejected=True)])
    journal = store.journal(request_id)
    rows = journal.load()
    assert [r.state for r in rows] == [RowState.PENDING, RowState.PENDING, RowState.REJECTED]

    rows[0].payment_method_state = StepState.SENDING
    rows[0].batch = "b1"
    journal.save(rows[:1])
    rows[0].payment_method_state = StepState.CREATED
    rows[0].payment_method_id = "a0M000000000001AAA"
    journal.save(rows[:1])

    again = journal.load()
    assert again[0].state is RowState.CREATED
    assert again[0].payment_method_id == "a0M000000000001AAA" and again[0].batch == "b1"
    assert again[0].payment_method_fields == {"blng__PaymentGatewayToken__c": "pm_2"}
    assert store.state_counts(request_id) == {"created": 1, "pending": 1, "rejected": 1}
    assert store.rows(request_id)[1].planned.source == {"Payment Gateway Token": "pm_3"}


def test_only_one_runner_claims_an_approved_import(store):
    request_id = approved_request(store, [pm_row(2)])
    first, second = "another-host:4242:abcd", runner_identity()

    assert store.claim(request_id, first, NOW)
    assert not store.claim(request_id, second, NOW + timedelta(seconds=5))
    assert store.claim(request_id, first, NOW + timedelta(seconds=5))  # its own again
    assert store.get(request_id).status is Status.RUNNING


def test_a_stale_lease_is_taken_over(store):
    request_id = approved_request(store, [pm_row(2)])
    elsewhere = "another-host:4242:abcd"
    assert store.claim(request_id, elsewhere, NOW)
    assert not store.claim(request_id, runner_identity(), NOW + timedelta(seconds=10))
    later = NOW + timedelta(seconds=LEASE_SECONDS + 1)
    assert store.claim(request_id, runner_identity(), later)


def test_a_heartbeat_keeps_the_lease(store):
    request_id = approved_request(store, [pm_row(2)])
    elsewhere = "another-host:4242:abcd"
    store.claim(request_id, elsewhere, NOW)
    store.heartbeat(request_id, elsewhere, NOW + timedelta(seconds=LEASE_SECONDS))
    assert not store.claim(request_id, runner_identity(), NOW + timedelta(seconds=LEASE_SECONDS))


def test_the_lease_of_a_dead_process_on_this_host_is_taken_at_once(store):
    request_id = approved_request(store, [pm_row(2)])
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead = f"{socket.gethostname()}:{child.pid}:dead"
    assert store.claim(request_id, dead, NOW)
    assert store.claim(request_id, runner_identity(), NOW + timedelta(seconds=1))


def test_the_lease_of_a_live_process_on_this_host_is_respected(store):
    request_id = approved_request(store, [pm_row(2)])
    alive = f"{socket.gethostname()}:{os.getppid()}:alive"
    assert store.claim(request_id, alive, NOW)
    assert not store.claim(request_id, runner_identity(), NOW + timedelta(seconds=1))


def test_a_pending_request_cannot_be_claimed(store):
    assert not store.claim(stored_request(store, created_at=NOW), runner_identity(), NOW)


def test_finish_records_the_counts_and_releases_the_lease(store):
    request_id = approved_request(store, [pm_row(2)])
    runner = runner_identity()
    store.claim(request_id, runner, NOW)
    store.finish(request_id, runner, Status.DONE, {"created": 1}, NOW)

    done = store.get(request_id)
    assert done.status is Status.DONE and done.result == {"created": 1}
    assert store.unreported() == [request_id]
    store.mark_reported(request_id, NOW)
    assert store.unreported() == []
