"""The run engine over fakes: ordering, batching, read-back before resend, resume, failures.

The fake org is a dict of Accounts and payment methods; the fake writer can commit a batch and
then lose the answer, refuse a whole call, reject single records, or leave bulk records
unprocessed, which is every way a real write can end.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import pytest

from commands.errors import SalesforceError
from commands.imports import Action, PlannedRow, RowStatus
from commands.imports.crosscheck import AccountRecord, PaymentMethodRecord
from commands.imports.run import (
    ImportRun,
    Op,
    RowState,
    RunOptions,
    RunRow,
    StepState,
    WriteBatch,
    WriteResult,
    run_row,
)


class FakeOrg:
    def __init__(self) -> None:
        self.accounts: dict[str, dict] = {}
        self.payment_methods: dict[str, dict] = {}
        self._ids = itertools.count(1)

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):015d}"


class FakeWriter:
    def __init__(self, org: FakeOrg) -> None:
        self.org = org
        self.batches: list[WriteBatch] = []
        self.reads = 0
        self.lose_next = 0  # commit, then raise a retryable error
        self.refuse_next = 0  # raise a non-retryable error, write nothing
        self.down = 0  # raise a retryable error, write nothing
        self.reject_tokens: set[str] = set()
        self.unprocessed_once: set[str] = set()
        self.jobs: list[str] = []
        self.settled: list[str] = []
        self.before_write: Callable[[WriteBatch], None] | None = None

    def write(self, batch: WriteBatch, on_job: Callable[[str], None]) -> list:
        self.batches.append(batch)
        if self.before_write:
            self.before_write(batch)
        if self.refuse_next:
            self.refuse_next -= 1
            raise SalesforceError("INVALID_FIELD: no such column", code="INVALID_FIELD")
        if self.down:
            self.down -= 1
            raise SalesforceError("Salesforce could not be reached", retryable=True)
        if batch.bulk:
            job = f"750{len(self.jobs):015d}"
            self.jobs.append(job)
            on_job(job)
        results = [self._one(batch, record) for record in batch.records]
        if self.lose_next:
            self.lose_next -= 1
            raise SalesforceError("connection dropped", retryable=True, code="CONNECTION")
        return results

    def _one(self, batch: WriteBatch, record: dict) -> WriteResult | None:
        if batch.op is Op.ACCOUNT_CREATE:
            new_id = self.org.new_id("001")
            self.org.accounts[new_id] = dict(record)
            return WriteResult(True, new_id)
        if batch.op is Op.ACCOUNT_UPDATE:
            self.org.accounts[record["Id"]].update(record)
            return WriteResult(True, record["Id"])
        token = record["Token"]
        if token in self.unprocessed_once:
            self.unprocessed_once.discard(token)
            return None
        if token in self.reject_tokens:
            return WriteResult(False, error="FIELD_CUSTOM_VALIDATION_EXCEPTION: card declined")
        new_id = self.org.new_id("a0M")
        self.org.payment_methods[new_id] = dict(record)
        return WriteResult(True, new_id)

    def settle_job(self, job_id: str) -> None:
        self.settled.append(job_id)

    def accounts_by_stripe_id(self, stripe_ids: Sequence[str]) -> dict:
        self.reads += 1
        found: dict[str, list[AccountRecord]] = {}
        for account_id, acc in self.org.accounts.items():
            if acc.get("Stripe") in stripe_ids:
                record = AccountRecord(account_id, acc["Name"], acc["Stripe"])
                found.setdefault(acc["Stripe"], []).append(record)
        return found

    def payment_methods_by_token(self, tokens: Sequence[str]) -> dict:
        self.reads += 1
        found: dict[str, list[PaymentMethodRecord]] = {}
        for pm_id, pm in self.org.payment_methods.items():
            if pm["Token"] in tokens:
                found.setdefault(pm["Token"], []).append(
                    PaymentMethodRecord(pm_id, pm["blng__Account__c"], pm["Token"])
                )
        return found


class MemoryJournal:
    def __init__(self, rows: list[RunRow]) -> None:
        self.rows = {r.line: r for r in rows}
        self.saves: list[list[tuple[int, str]]] = []

    def load(self) -> list[RunRow]:
        # a fresh copy, as a database would give
        return [RunRow(**vars(r)) for r in self.rows.values()]

    def save(self, rows: Sequence[RunRow]) -> None:
        self.saves.append([(r.line, r.state.value) for r in rows])
        for r in rows:
            self.rows[r.line] = RunRow(**vars(r))


def new_customer(line: int, stripe_id: str | None = None, token: str | None = None) -> RunRow:
    stripe_id = stripe_id or f"cus_{line:06d}"
    return RunRow(
        line=line,
        account_action="create",
        account_key=stripe_id,
        account_fields={"Name": f"Customer {line}", "Stripe": stripe_id},
        stripe_customer_id=stripe_id,
        account_state=StepState.PENDING,
        payment_method_fields={"Token": token or f"pm_{line:06d}", "blng__Active__c": True},
        token=token or f"pm_{line:06d}",
        payment_method_state=StepState.PENDING,
    )


def pm_only(line: int, account_id: str, token: str | None = None) -> RunRow:
    token = token or f"pm_{line:06d}"
    return RunRow(
        line=line,
        account_id=account_id,
        payment_method_fields={"Token": token, "blng__Active__c": True},
        token=token,
        payment_method_state=StepState.PENDING,
    )


def no_sleep() -> RunOptions:
    return RunOptions(sleep=lambda seconds: None)


def run(rows: list[RunRow], writer: FakeWriter, **options) -> tuple:
    journal = MemoryJournal(rows)
    opts = no_sleep()
    for key, value in options.items():
        setattr(opts, key, value)
    summary = ImportRun(journal, writer, writer, opts).run()
    return summary, journal


def test_accounts_are_created_before_their_payment_methods_and_linked():
    org = FakeOrg()
    writer = FakeWriter(org)
    summary, journal = run([new_customer(2), new_customer(3)], writer)

    assert [b.op for b in writer.batches] == [Op.ACCOUNT_CREATE, Op.PAYMENT_METHOD_CREATE]
    assert summary.counts["created"] == 2 and summary.stopped is None
    by_name = {a["Name"]: i for i, a in org.accounts.items()}
    for pm in org.payment_methods.values():
        line = int(pm["Token"][3:])
        assert pm["blng__Account__c"] == by_name[f"Customer {line}"]
    assert all(r.state is RowState.CREATED for r in journal.rows.values())


def test_batches_hold_at_most_200_records_and_state_is_stored_before_each_send():
    org = FakeOrg()
    account = org.new_id("001")
    org.accounts[account] = {"Name": "Acme"}
    writer = FakeWriter(org)
    seen_in_journal: list[str] = []
    rows = [pm_only(line, account) for line in range(2, 452)]
    journal = MemoryJournal(rows)

    def check(batch: WriteBatch) -> None:
        tokens = {r["Token"] for r in batch.records}
        states = {r.state.value for r in journal.rows.values() if r.token in tokens}
        seen_in_journal.append(",".join(sorted(states)))

    writer.before_write = check
    ImportRun(journal, writer, writer, no_sleep()).run()

    assert [len(b.records) for b in writer.batches] == [200, 200, 50]
    assert seen_in_journal == ["sending", "sending", "sending"]
    assert len(org.payment_methods) == 450


def test_lost_response_is_read_back_not_resent():
    org = FakeOrg()
    writer = FakeWriter(org)
    writer.lose_next = 1
    summary, _ = run([new_customer(2), new_customer(3)], writer)

    assert len(org.accounts) == 2  # the first batch committed once, never again
    assert len(org.payment_methods) == 2
    assert summary.counts["created"] == 2
    assert [b.op for b in writer.batches] == [Op.ACCOUNT_CREATE, Op.PAYMENT_METHOD_CREATE]


def test_lost_response_on_payment_methods_is_read_back_not_resent():
    org = FakeOrg()
    account = org.new_id("001")
    org.accounts[account] = {"Name": "Acme"}
    writer = FakeWriter(org)
    writer.lose_next = 1
    summary, journal = run([pm_only(2, account), pm_only(3, account)], writer)

    assert len(org.payment_methods) == 2
    assert len(writer.batches) == 1
    assert {r.payment_method_id for r in journal.rows.values()} == set(org.payment_methods)


def test_resume_after_a_crash_mid_batch_settles_sending_rows_by_reading_back():
    org = FakeOrg()
    account = org.new_id("001")
    org.accounts[account] = {"Name": "Acme"}
    writer = FakeWriter(org)
    rows = [pm_only(line, account) for line in range(2, 6)]
    journal = MemoryJournal(rows)

    class Crash(BaseException):
        pass

    def crash_after_commit(batch: WriteBatch) -> None:
        for record in batch.records[:2]:  # two records reached Salesforce, then the process died
            pm_id = org.new_id("a0M")
            org.payment_methods[pm_id] = dict(record)
        raise Crash

    writer.before_write = crash_after_commit
    with pytest.raises(Crash):
        ImportRun(journal, writer, writer, no_sleep()).run()
    assert {r.state for r in journal.rows.values()} == {RowState.SENDING}

    writer.before_write = None
    summary = ImportRun(journal, writer, writer, no_sleep()).run()

    tokens = [pm["Token"] for pm in org.payment_methods.values()]
    assert sorted(tokens) == sorted(set(tokens)) and len(tokens) == 4  # zero duplicates
    assert summary.counts["created"] == 4
    assert len(writer.batches[-1].records) == 2  # only the two that never arrived


def test_rows_already_in_salesforce_before_the_run_are_skipped():
    org = FakeOrg()
    account = org.new_id("001")
    org.accounts[account] = {"Name": "Acme"}
    org.payment_methods[org.new_id("a0M")] = {"Token": "pm_000002", "blng__Account__c": account}
    other = org.new_id("001")
    org.payment_methods[org.new_id("a0M")] = {"Token": "pm_000003", "blng__Account__c": other}
    writer = FakeWriter(org)
    summary, journal = run([pm_only(2, account), pm_only(3, account), pm_only(4, account)], writer)

    assert journal.rows[2].state is RowState.SKIPPED
    assert journal.rows[3].state is RowState.FAILED
    assert "token_on_other_account" in journal.rows[3].error
    assert journal.rows[4].state is RowState.CREATED
    assert [len(b.records) for b in writer.batches] == [1]


def test_a_new_account_that_appeared_since_the_plan_is_used_not_duplicated():
    org = FakeOrg()
    existing = org.new_id("001")
    org.accounts[existing] = {"Name": "Customer 2", "Stripe": "cus_000002"}
    writer = FakeWriter(org)
    summary, journal = run([new_customer(2)], writer)

    assert len(org.accounts) == 1
    assert journal.rows[2].account_state is StepState.SKIPPED
    assert next(iter(org.payment_methods.values()))["blng__Account__c"] == existing
    assert journal.rows[2].state is RowState.CREATED


def test_rows_sharing_a_new_account_create_it_once():
    org = FakeOrg()
    writer = FakeWriter(org)
    rows = [new_customer(2, "cus_same", "pm_a"), new_customer(3, "cus_same", "pm_b")]
    summary, journal = run(rows, writer)

    assert len(org.accounts) == 1
    assert {pm["blng__Account__c"] for pm in org.payment_methods.values()} == set(org.accounts)
    assert summary.counts["created"] == 2


def test_a_row_naming_an_account_another_row_creates_is_linked_to_it():
    org = FakeOrg()
    writer = FakeWriter(org)
    sibling = new_customer(3, "cus_same", "pm_b")
    sibling.account_action, sibling.account_state, sibling.account_fields = (
        "none",
        StepState.NONE,
        {},
    )
    summary, journal = run([new_customer(2, "cus_same", "pm_a"), sibling], writer)

    (account_id,) = org.accounts
    assert journal.rows[3].account_id == account_id
    assert {pm["blng__Account__c"] for pm in org.payment_methods.values()} == {account_id}
    assert summary.counts["created"] == 2


def test_planned_rows_become_pending_writes():
    planned = PlannedRow(
        line=2,
        status=RowStatus.OK,
        account_action=Action.CREATE,
        account_id=None,
        account_fields={"Name": "Acme", "Stripe_Customer_Id__c": "cus_1"},
        payment_method_action=Action.CREATE,
        payment_method_fields={"blng__PaymentGatewayToken__c": "pm_1", "blng__Active__c": True},
        account_key="cus_1",
        source={},
    )
    row = run_row(
        planned, stripe_field="Stripe_Customer_Id__c", token_field="blng__PaymentGatewayToken__c"
    )
    assert (row.account_state, row.payment_method_state) == (StepState.PENDING, StepState.PENDING)
    assert (row.stripe_customer_id, row.token, row.account_key) == ("cus_1", "pm_1", "cus_1")

    planned.status = RowStatus.REJECTED
    rejected = run_row(planned, stripe_field="Stripe_Customer_Id__c", token_field="x")
    assert rejected.state is RowState.REJECTED and not rejected.writes
    planned.status = RowStatus.SKIP
    planned.account_action = planned.payment_method_action = Action.NONE
    skipped = run_row(planned, stripe_field="Stripe_Customer_Id__c", token_field="x")
    assert skipped.state is RowState.SKIPPED and not skipped.writes


def test_a_record_salesforce_rejects_fails_its_row_only():
    org = FakeOrg()
    writer = FakeWriter(org)
    writer.reject_tokens = {"pm_000003"}
    summary, journal = run([new_customer(2), new_customer(3)], writer)

    assert journal.rows[2].state is RowState.CREATED
    assert journal.rows[3].state is RowState.FAILED
    assert "card declined" in journal.rows[3].error
    assert journal.rows[3].account_state is StepState.CREATED  # the Account was still made


def test_payment_method_of_a_failed_account_is_not_sent():
    org = FakeOrg()
    writer = FakeWriter(org)
    original = writer._one

    def fail_accounts(batch, record):
        if batch.op is Op.ACCOUNT_CREATE and record["Name"] == "Customer 3":
            return WriteResult(False, error="DUPLICATE_VALUE: duplicate value found")
        return original(batch, record)

    writer._one = fail_accounts
    summary, journal = run([new_customer(2), new_customer(3)], writer)

    assert journal.rows[3].state is RowState.FAILED
    assert "DUPLICATE_VALUE" in journal.rows[3].error
    assert "its Account was not written" in journal.rows[3].error
    assert [pm["Token"] for pm in org.payment_methods.values()] == ["pm_000002"]


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(round(seconds, 3))
        self.now += seconds


def test_transient_errors_are_retried_with_backoff_and_read_back_once_settled():
    org = FakeOrg()
    writer = FakeWriter(org)
    writer.down = 2
    t = FakeTime()
    summary, _ = run([new_customer(2)], writer, sleep=t.sleep, clock=t.clock)

    assert summary.counts["created"] == 1
    # backoff, then the rest of the 20 s a lost write may still take, before each read-back
    assert t.waits == [0.5, 19.5, 1.0, 19.0]


def test_a_resumed_batch_is_read_back_only_when_salesforce_can_no_longer_be_writing_it():
    org = FakeOrg()
    account = org.new_id("001")
    writer = FakeWriter(org)
    t = FakeTime()
    row = pm_only(2, account)
    row.payment_method_state = StepState.SENDING
    row.sent_at = t.now - 5
    summary, _ = run([row], writer, sleep=t.sleep, clock=t.clock, settle_seconds=20.0)

    assert t.waits == [15.0]
    assert summary.counts["created"] == 1


def test_salesforce_down_for_good_stops_the_run_with_rows_accounted_for():
    org = FakeOrg()
    writer = FakeWriter(org)
    writer.down = 99
    summary, journal = run([new_customer(2)], writer, max_attempts=3)

    assert summary.stopped and "unavailable after 3 attempts" in summary.stopped
    assert journal.rows[2].state is RowState.SENDING  # may or may not be written: said so
    assert not org.accounts


def test_a_whole_call_refused_stops_the_run_and_leaves_rows_pending():
    org = FakeOrg()
    writer = FakeWriter(org)
    writer.refuse_next = 1
    summary, journal = run([new_customer(2)], writer)

    assert summary.stopped and "INVALID_FIELD" in summary.stopped
    assert journal.rows[2].state is RowState.PENDING


def test_account_updates_are_resent_without_read_back_because_they_are_idempotent():
    org = FakeOrg()
    account = org.new_id("001")
    org.accounts[account] = {"Name": "Acme"}
    row = RunRow(
        line=2,
        account_action="update",
        account_id=account,
        account_fields={"Stripe": "cus_x"},
        stripe_customer_id="cus_x",
        account_state=StepState.PENDING,
    )
    writer = FakeWriter(org)
    writer.lose_next = 1
    summary, journal = run([row], writer)

    assert org.accounts[account]["Stripe"] == "cus_x"
    assert journal.rows[2].state is RowState.UPDATED
    assert writer.reads == 0 and len(writer.batches) == 2


def test_bulk_above_the_threshold_journals_the_job_and_reads_back_unprocessed_records():
    org = FakeOrg()
    account = org.new_id("001")
    org.accounts[account] = {"Name": "Acme"}
    writer = FakeWriter(org)
    writer.unprocessed_once = {"pm_000004"}
    rows = [pm_only(line, account) for line in range(2, 8)]
    summary, journal = run(rows, writer, bulk_threshold=3, bulk_job_size=4)

    assert all(b.bulk for b in writer.batches)
    assert [len(b.records) for b in writer.batches] == [4, 1, 2]
    assert summary.counts["created"] == 6
    assert all(r.job_id for r in journal.rows.values())


def test_resume_waits_for_a_bulk_job_started_before_the_crash():
    org = FakeOrg()
    account = org.new_id("001")
    row = pm_only(2, account)
    row.payment_method_state = StepState.SENDING
    row.job_id = "750000000000000042"
    writer = FakeWriter(org)
    summary, _ = run([row], writer)

    assert writer.settled == ["750000000000000042"]
    assert summary.counts["created"] == 1


def test_rejected_and_skipped_rows_are_never_sent():
    org = FakeOrg()
    writer = FakeWriter(org)
    rejected = RunRow(line=2, rejected=True)
    skipped = RunRow(line=3, payment_method_state=StepState.SKIPPED)
    summary, _ = run([rejected, skipped], writer)

    assert writer.batches == []
    assert summary.counts["rejected"] == 1 and summary.counts["skipped"] == 1
    assert summary.unfinished == []


def test_progress_is_reported_after_each_batch():
    org = FakeOrg()
    account = org.new_id("001")
    org.accounts[account] = {"Name": "Acme"}
    writer = FakeWriter(org)
    seen = []
    journal = MemoryJournal([pm_only(line, account) for line in range(2, 402)])
    ImportRun(journal, writer, writer, no_sleep(), on_progress=seen.append).run()

    assert [p.done for p in seen] == [200, 400]
    assert seen[-1].total == 400 and seen[-1].counts["created"] == 400
