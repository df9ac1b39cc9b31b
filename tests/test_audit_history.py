"""Runs stored per run, and what changed since: new, resolved, still open; quiet mode."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.audit_store import KEEP_FINDINGS_OF_RUNS, AuditStore
from bot.storage import Storage
from commands.audit import AuditOptions, Status, audit
from commands.audit.render import findings_csv, render_text
from commands.audit.source import AuditWindow
from commands.errors import SalesforceError
from commands.render import to_json
from tests.audit_fakes import FakeSource, FakeStripe, pm_row

START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
OPTIONS = AuditOptions(window=AuditWindow(date(2026, 11, 20)))


@pytest.fixture
def store(tmp_path) -> AuditStore:
    return AuditStore(Storage(tmp_path / "bot.db").db)


def audited(store: AuditStore, source: FakeSource, day: int = 0, record: bool = True):
    result = audit(source, FakeStripe(), store, OPTIONS, START + timedelta(days=day))
    if record:
        store.record(result, "scheduled", "schedule")
    return result


def inactive(*numbers: int) -> FakeSource:
    return FakeSource(rows_by_check={"pm_inactive": [pm_row(n, active=False) for n in numbers]})


def test_the_first_run_compares_with_nothing(store):
    result = audited(store, inactive(1, 2))
    assert result.previous_run_at is None
    check = result.check("pm_inactive")
    assert not check.changes.compared
    assert result.to_dict()["changes"] == {"new": 0, "resolved": 0, "open": 0}
    assert "First audit" in render_text(result)


def test_new_resolved_and_still_open_per_check_and_in_total(store):
    audited(store, inactive(1, 2, 3))
    source = inactive(2, 3, 4, 5)
    source.rows_by_check["pm_missing_gateway"] = [pm_row(9)]
    result = audited(store, source, day=1)
    check = result.check("pm_inactive")
    assert check.changes.to_dict() == {"new": 2, "resolved": 1, "open": 2}
    assert check.new_ids == {pm_row(4).id, pm_row(5).id}
    gateway = result.check("pm_missing_gateway")
    assert gateway.changes.to_dict() == {"new": 1, "resolved": 0, "open": 0}
    assert result.to_dict()["changes"] == {"new": 3, "resolved": 1, "open": 2}
    assert result.previous_run_at == START
    assert "Since 2026-11-20 08:00 UTC: 3 new, 1 resolved, 2 still open." in render_text(result)


def test_a_check_that_cannot_run_claims_nothing_resolved(store):
    audited(store, inactive(1, 2))
    down = inactive()
    down.failures["pm_inactive"] = SalesforceError("Salesforce did not answer within 5s (count)")
    result = audited(store, down, day=1)
    check = result.check("pm_inactive")
    assert check.status == Status.UNKNOWN
    assert check.changes.resolved == 0 and not check.changes.compared
    assert check.changes.status_changed  # fail -> unknown is worth saying
    # The next run compares with the last run in which the check could run.
    after = audited(store, inactive(2, 3), day=2)
    assert after.check("pm_inactive").changes.to_dict() == {"new": 1, "resolved": 1, "open": 1}


def test_a_private_look_is_not_recorded_and_does_not_move_the_baseline(store):
    audited(store, inactive(1))
    audited(store, inactive(1, 2), day=1, record=False)
    assert store.runs() == 1
    result = audited(store, inactive(1, 2), day=2)
    assert result.check("pm_inactive").changes.new == 1


def test_quiet_mode_posts_only_when_something_changed_or_failed(store):
    first = audited(store, FakeSource())
    assert first.worth_posting(quiet=True)  # the first audit always speaks
    same = audited(store, FakeSource(), day=1)
    assert not same.worth_posting(quiet=True)
    assert same.worth_posting(quiet=False)
    warned = audited(store, FakeSource(rows_by_check={"card_expiring": [pm_row(1)]}), day=2)
    assert warned.worth_posting(quiet=True)  # a new finding is a change
    still = audited(store, FakeSource(rows_by_check={"card_expiring": [pm_row(1)]}), day=3)
    assert not still.failed and not still.worth_posting(quiet=True)
    failing = FakeSource(rows_by_check={"pm_missing_gateway": [pm_row(2)]})
    audited(store, failing, day=4)
    again = audited(store, failing, day=5)
    assert not again.changed and again.failed and again.worth_posting(quiet=True)


def test_findings_of_old_runs_are_pruned_but_runs_are_kept(store):
    for day in range(KEEP_FINDINGS_OF_RUNS + 3):
        audited(store, inactive(1), day=day)
    runs = store.db.execute("SELECT COUNT(DISTINCT run_id) FROM audit_findings").fetchone()[0]
    assert runs == KEEP_FINDINGS_OF_RUNS
    assert store.runs() == KEEP_FINDINGS_OF_RUNS + 3
    history = store.open_findings_history(5)
    assert [n for _, n in history] == [1] * 5
    assert history[-1][0] == START + timedelta(days=KEEP_FINDINGS_OF_RUNS + 2)


def test_json_has_the_documented_shape(store):
    audited(store, inactive(1))
    result = audited(store, inactive(1, 2), day=1)
    data = json.loads(to_json(result))
    assert set(data) >= {"run_at", "checks", "changes"}
    assert data["changes"] == {"new": 1, "resolved": 0, "open": 1}
    check = next(c for c in data["checks"] if c["code"] == "pm_inactive")
    assert set(check) >= {"code", "status", "count", "examples", "message"}
    assert check["status"] == "warn" and check["count"] == 2
    assert check["examples"][0] == {
        "record_id": pm_row(1).id,
        "record_name": "PM-0000001",
        "link": f"https://example.my.salesforce.com/{pm_row(1).id}",
        "detail": "Active is false (Account: Acme Corporation)",
    }
    assert len(data["checks"]) == 19


def test_the_csv_has_every_finding_neutralised_and_masked(store):
    audited(store, inactive(1))
    hostile = pm_row(2, account_name='=HYPERLINK("http://evil.test","x")', token="tok_1Secret9999")
    source = inactive(1)
    source.rows_by_check["pm_single_use_token"] = [hostile]
    source.rows_by_check["pm_inactive"] += [pm_row(n, active=False) for n in range(3, 30)]
    result = audited(store, source, day=1)
    text = findings_csv(result)
    lines = text.splitlines()
    assert lines[0] == (
        "code,check,status,record_id,record_name,link,detail,since_last_run,how_to_fix"
    )
    assert len(lines) == 1 + 29  # every finding, not the three examples
    assert "tok_1Secret9999" not in text
    row = next(line for line in lines if line.startswith("pm_single_use_token"))
    assert "tok_…9999" in row
    assert ",new," in row
    still = next(line for line in lines if pm_row(1).id in line)
    assert ",still open," in still
    formula = replace(pm_row(40, active=False), name="=1+1")
    result = audited(store, FakeSource(rows_by_check={"pm_inactive": [formula]}), day=2)
    assert "'=1+1" in findings_csv(result).splitlines()[1].split(",")
