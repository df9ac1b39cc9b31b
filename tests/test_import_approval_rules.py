"""Approval rules and the one-decision guarantee, over the real SQLite store."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.imports_store import ImportStore
from bot.storage import Storage
from commands.imports.approval import (
    Refusal,
    Status,
    decide,
    expire_overdue,
    refusal_text,
)
from tests.import_rig import stored_request

NOW = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> ImportStore:
    return ImportStore(Storage(tmp_path / "bot.db"))


def new_request(store: ImportStore, hours: int = 24) -> int:
    return stored_request(store, created_at=NOW, hours=hours)


def test_an_approver_who_did_not_ask_approves_once(store):
    request_id = new_request(store)
    outcome = decide(store, request_id, decider="U_APP", approve=True, is_approver=True, now=NOW)

    assert outcome.decided and outcome.refusal is None
    stored = store.get(request_id)
    assert stored.status is Status.APPROVED
    assert stored.decided_by == "U_APP" and stored.decided_at == NOW


def test_the_requester_cannot_approve_their_own_request_even_as_an_approver(store):
    request_id = new_request(store)
    outcome = decide(store, request_id, decider="U_REQ", approve=True, is_approver=True, now=NOW)

    assert outcome.refusal is Refusal.OWN_REQUEST
    assert refusal_text(outcome, contact="#ops") == (
        "You asked for this import, so someone else must approve it."
    )
    assert store.get(request_id).status is Status.PENDING_APPROVAL


def test_someone_who_is_not_an_approver_is_refused(store):
    request_id = new_request(store)
    outcome = decide(store, request_id, decider="U_OUT", approve=True, is_approver=False, now=NOW)

    assert outcome.refusal is Refusal.NOT_APPROVER
    assert "not set up to approve imports" in refusal_text(outcome, contact="#ops")
    assert store.get(request_id).status is Status.PENDING_APPROVAL


def test_an_expired_request_cannot_be_approved_and_is_marked_expired(store):
    request_id = new_request(store, hours=24)
    later = NOW + timedelta(hours=24, minutes=1)
    outcome = decide(store, request_id, decider="U_APP", approve=True, is_approver=True, now=later)

    assert outcome.refusal is Refusal.EXPIRED and outcome.expired_now
    assert store.get(request_id).status is Status.EXPIRED
    text = refusal_text(outcome, contact="#ops", mention=lambda u: f"<@{u}>")
    assert "expired on 2025-03-05 09:00 UTC" in text and "<@U_REQ>" in text
    again = decide(store, request_id, decider="U_APP", approve=True, is_approver=True, now=later)
    assert again.refusal is Refusal.EXPIRED and not again.expired_now


def test_a_rejection_keeps_its_reason(store):
    request_id = new_request(store)
    outcome = decide(
        store,
        request_id,
        decider="U_APP",
        approve=False,
        is_approver=True,
        now=NOW,
        reason="wrong gateway",
    )
    assert outcome.decided
    stored = store.get(request_id)
    assert stored.status is Status.REJECTED and stored.reason == "wrong gateway"


def test_a_second_decision_is_refused_and_names_the_first(store):
    request_id = new_request(store)
    decide(store, request_id, decider="U_APP", approve=True, is_approver=True, now=NOW)
    outcome = decide(store, request_id, decider="U_APP2", approve=False, is_approver=True, now=NOW)

    assert outcome.refusal is Refusal.DECIDED
    text = refusal_text(outcome, contact="#ops", mention=lambda u: f"<@{u}>")
    assert text == "This request was already approved by <@U_APP> on 2025-03-04 09:00 UTC."
    assert store.get(request_id).status is Status.APPROVED


def test_simultaneous_clicks_produce_exactly_one_decision(store):
    request_id = new_request(store)
    barrier = threading.Barrier(8)
    outcomes = []

    def click(user: str, approve: bool) -> None:
        barrier.wait()
        outcomes.append(
            decide(store, request_id, decider=user, approve=approve, is_approver=True, now=NOW)
        )

    threads = [threading.Thread(target=click, args=(f"U_{i}", i % 2 == 0)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    winners = [o for o in outcomes if o.decided]
    assert len(winners) == 1
    assert all(o.refusal is Refusal.DECIDED for o in outcomes if not o.decided)
    assert store.get(request_id).decided_by == winners[0].request.decided_by


def test_unknown_request(store):
    outcome = decide(store, 999, decider="U_APP", approve=True, is_approver=True, now=NOW)
    assert outcome.refusal is Refusal.UNKNOWN
    assert "can't find" in refusal_text(outcome, contact="#ops")


def test_overdue_requests_are_expired_by_the_sweep(store):
    old = new_request(store, hours=1)
    fresh = new_request(store, hours=48)
    expired = expire_overdue(store, [old, fresh], NOW + timedelta(hours=2))

    assert [r.id for r in expired] == [old]
    assert store.get(old).status is Status.EXPIRED
    assert store.get(fresh).status is Status.PENDING_APPROVAL
