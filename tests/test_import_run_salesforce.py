"""The run engine with its real adapters against the Salesforce stand-in over HTTPS: sObject
Collections, Bulk API 2.0, a write that commits and then loses its response, a bulk job left
open by a crash. The journal is the real SQLite store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.imports_store import ImportStore, StoredRow
from bot.salesforce.client import SalesforceClient
from bot.salesforce.import_writer import SalesforceImportWriter, bulk_csv, match_bulk_results
from bot.salesforce.imports_directory import SalesforceImportDirectory
from bot.storage import Storage
from commands.imports import Action, PlannedRow, RowStatus
from commands.imports.run import (
    ImportRun,
    Op,
    RowState,
    RunOptions,
    WriteBatch,
    run_row,
)
from tests.import_rig import stored_request

STRIPE_FIELD = "Stripe_Customer_Id__c"
TOKEN_FIELD = "blng__PaymentGatewayToken__c"
NOW = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)


class Rig:
    def __init__(self, org, server, tmp_path: Path):
        self.org = org
        self.server = server
        settings = load_settings(
            {**server.settings(), "DATABASE_PATH": str(tmp_path / "bot.db")}, dotenv_path=None
        )
        self.client = SalesforceClient(settings)
        self.directory = SalesforceImportDirectory(self.client)
        self.writer = SalesforceImportWriter(
            self.client, stripe_field=STRIPE_FIELD, token_field=TOKEN_FIELD, poll_seconds=0.05
        )
        self.store = ImportStore(Storage(settings.database_path))
        self.gateway = org.create(
            "blng__PaymentGateway__c",
            {"Name": "Stripe", "blng__Active__c": True, "blng__GatewayType__c": "Stripe"},
        )

    def planned_new(self, n: int, start: int = 0) -> list[PlannedRow]:
        return [
            PlannedRow(
                line=i + 2,
                status=RowStatus.OK,
                account_action=Action.CREATE,
                account_id=None,
                account_fields={"Name": f"Customer {i:05d}", STRIPE_FIELD: f"cus_T{i:05d}"},
                payment_method_action=Action.CREATE,
                payment_method_fields={
                    "blng__PaymentGateway__c": self.gateway,
                    "blng__Active__c": True,
                    TOKEN_FIELD: f"pm_T{i:05d}",
                },
                account_key=f"cus_T{i:05d}",
                source={},
            )
            for i in range(start, start + n)
        ]

    def request(self, planned: list[PlannedRow]) -> int:
        rows = [
            StoredRow(run_row(p, stripe_field=STRIPE_FIELD, token_field=TOKEN_FIELD), p)
            for p in planned
        ]
        return stored_request(self.store, rows, created_at=NOW, approved=True)

    def run(self, request_id: int, **options) -> object:
        opts = RunOptions(sleep=lambda s: None, **options)
        return ImportRun(self.store.journal(request_id), self.writer, self.directory, opts).run()

    def count(self, soql: str) -> int:
        return len(self.org.query_all(soql))


@pytest.fixture
def rig(sf_org, sf_server, tmp_path) -> Rig:
    return Rig(sf_org, sf_server, tmp_path)


def duplicates(rig: Rig) -> tuple[int, int]:
    accounts = rig.org.query_all(f"SELECT {STRIPE_FIELD} FROM Account")
    methods = rig.org.query_all(f"SELECT {TOKEN_FIELD} FROM blng__PaymentMethod__c")
    stripe_ids = [a[STRIPE_FIELD] for a in accounts]
    tokens = [m[TOKEN_FIELD] for m in methods]
    return len(stripe_ids) - len(set(stripe_ids)), len(tokens) - len(set(tokens))


def test_collections_write_accounts_then_linked_payment_methods(rig: Rig):
    request_id = rig.request(rig.planned_new(450))
    before = rig.server.api_calls
    summary = rig.run(request_id)

    assert summary.counts["created"] == 450 and summary.stopped is None
    linked = rig.org.query_all(
        f"SELECT blng__Account__r.{STRIPE_FIELD}, {TOKEN_FIELD} FROM blng__PaymentMethod__c"
    )
    assert len(linked) == 450
    for record in linked:
        assert record["blng__Account__r"][STRIPE_FIELD][4:] == record[TOKEN_FIELD][3:]
    # 3 + 3 collection calls, 3 + 3 read-backs, and the describe that finds the Stripe field
    assert rig.server.api_calls - before <= 6 + 6 + 2


def test_a_commit_whose_response_is_lost_is_not_written_twice(rig: Rig):
    request_id = rig.request(rig.planned_new(5))
    rig.server.knobs.lose_next_responses = 1  # the Account batch commits, its answer is lost
    summary = rig.run(request_id)

    assert summary.counts["created"] == 5
    assert rig.count("SELECT Id FROM Account") == 5
    assert duplicates(rig) == (0, 0)
    rows = rig.store.journal(request_id).load()
    assert {r.state for r in rows} == {RowState.CREATED}
    assert all(r.account_id and r.payment_method_id for r in rows)


def test_lost_responses_on_both_phases(rig: Rig):
    request_id = rig.request(rig.planned_new(3))
    rig.server.knobs.lose_response_rate = 0.5
    rig.server.knobs.reseed(7)
    summary = rig.run(request_id, max_attempts=20)
    rig.server.knobs.lose_response_rate = 0.0

    assert summary.counts["created"] == 3
    assert duplicates(rig) == (0, 0)


def test_bulk_api_above_the_threshold(rig: Rig):
    request_id = rig.request(rig.planned_new(30))
    summary = rig.run(request_id, bulk_threshold=10, bulk_job_size=20)

    assert summary.counts["created"] == 30
    assert len(rig.server.bulk.jobs) == 4  # 20 + 10 Accounts, 20 + 10 payment methods
    rows = rig.store.journal(request_id).load()
    assert all(r.job_id for r in rows)
    assert duplicates(rig) == (0, 0)


def test_a_bulk_job_left_open_by_a_crash_is_aborted_then_the_rows_are_sent(rig: Rig):
    request_id = rig.request(rig.planned_new(4))
    journal = rig.store.journal(request_id)

    class Crash(BaseException):
        pass

    writer = rig.writer
    real_write = writer.write

    def crash_after_job_created(batch: WriteBatch, on_job):
        def journal_then_die(job_id: str) -> None:
            on_job(job_id)
            raise Crash

        return real_write(batch, journal_then_die)

    writer.write = crash_after_job_created  # type: ignore[method-assign]
    with pytest.raises(Crash):
        rig.run(request_id, bulk_threshold=1)
    writer.write = real_write  # type: ignore[method-assign]
    (job_id,) = {r.job_id for r in journal.load()}

    summary = rig.run(request_id, bulk_threshold=1)

    assert rig.client.bulk_settle(job_id)["state"] == "Aborted"
    assert summary.counts["created"] == 4
    assert duplicates(rig) == (0, 0)


def test_bulk_results_are_matched_by_key_not_position():
    records = [{TOKEN_FIELD: "pm_a", "blng__Active__c": True}, {TOKEN_FIELD: "pm_b"}]
    assert bulk_csv(records) == (f"{TOKEN_FIELD},blng__Active__c\npm_a,true\npm_b,\n")
    answer = {
        "successfulResults": f'"sf__Id","sf__Created","{TOKEN_FIELD}"\n"a0M1","true","pm_b"\n',
        "failedResults": f'"sf__Id","sf__Error","{TOKEN_FIELD}"\n"","BAD: no","pm_a"\n',
    }
    failed, ok = match_bulk_results(records, answer, TOKEN_FIELD)
    assert ok.ok and ok.id == "a0M1"
    assert not failed.ok and failed.error == "BAD: no"
    assert match_bulk_results([{TOKEN_FIELD: "pm_c"}], answer, TOKEN_FIELD) == [None]


def test_the_writer_reports_salesforce_errors_per_record(rig: Rig):
    batch = WriteBatch(
        "b1",
        Op.PAYMENT_METHOD_CREATE,
        [{TOKEN_FIELD: "pm_x", "blng__Account__c": "001000000000000AAA"}],
        bulk=False,
    )
    (result,) = rig.writer.write(batch, lambda job: None)
    assert not result.ok and result.error


def test_rejected_rows_are_never_written(rig: Rig):
    planned = rig.planned_new(2)
    planned[1].status = RowStatus.REJECTED
    request_id = rig.request(planned)
    summary = rig.run(request_id)
    assert (summary.counts["created"], summary.counts["rejected"]) == (1, 1)
    assert rig.count("SELECT Id FROM Account") == 1
    assert rig.store.journal(request_id).load()[1].state is RowState.REJECTED
