"""Running an approved import: Accounts first, then the payment methods that hang off them.

The one piece of the bot that writes to a customer's billing system, so it is built around one
rule: **a write whose outcome is unknown is never sent again before Salesforce has been asked
what it holds.** Every row carries a state per step (its Account, its payment method):

    pending -> sending -> created | updated | skipped | failed

`sending` is stored (with the batch id) *before* a batch goes out and the outcome is stored
right after, so after a crash, a restart or a lost response the journal says exactly which
rows may have been written. Before any batch is sent (first attempt, retry or resume) the
engine reads back what Salesforce already holds for those rows (payment methods by token,
Accounts by Stripe Customer ID): a `sending` row found there was written by us (`created`);
a `pending` row found there was written by someone else since the plan was made (`skipped`,
or `failed` when it sits on another Account). Only what is still missing is sent. Account
updates need no read-back: setting the same Stripe Customer ID twice changes nothing.

Transient failures (`SalesforceError.retryable`) are retried with backoff through that same
read-back; anything else stops the run with the rows left exactly as they are, so the error
CSV can say which rows were written and which were not.

Small files go through sObject Collections (200 records a call, allOrNone=false, so one bad
row does not sink its batch); above the threshold, through Bulk API 2.0 jobs, whose id is
journalled as soon as the job exists so a restart waits for the job instead of racing it.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from commands.errors import SalesforceError
from commands.imports.crosscheck import AccountRecord, PaymentMethodRecord
from commands.imports.results import Action, PlannedRow, RowStatus

COLLECTION_SIZE = 200  # sObject Collections' limit per call
BULK_JOB_SIZE = 10_000  # rows per Bulk API 2.0 job: progress and journal granularity


class StepState(StrEnum):
    NONE = "none"  # this row has nothing to do for this step
    PENDING = "pending"
    SENDING = "sending"  # a write may have been issued: only a read-back can tell
    CREATED = "created"
    UPDATED = "updated"
    SKIPPED = "skipped"  # already in Salesforce, nothing written
    FAILED = "failed"


class RowState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    CREATED = "created"
    UPDATED = "updated"
    SKIPPED = "skipped"
    FAILED = "failed"
    REJECTED = "rejected"  # refused at validation; never sent


FINAL_ROW_STATES = frozenset(
    {RowState.CREATED, RowState.UPDATED, RowState.SKIPPED, RowState.FAILED, RowState.REJECTED}
)
_OPEN = (StepState.PENDING, StepState.SENDING)


class Op(StrEnum):
    """One kind of write; a batch holds one kind only."""

    ACCOUNT_CREATE = "account_create"
    ACCOUNT_UPDATE = "account_update"
    PAYMENT_METHOD_CREATE = "payment_method_create"


@dataclass
class RunRow:
    """One line of the file and where each of its writes stands.

    `account_fields` and `payment_method_fields` are Salesforce field values. An Account is
    written by one row only; the other rows naming it (same `account_key`) have
    `account_action` none, and their payment methods get its Id once it is known.
    """

    line: int
    account_action: str = "none"  # create | update | none
    account_id: str | None = None
    account_key: str | None = None  # rows naming the same Account share it
    account_fields: dict[str, Any] = field(default_factory=dict)
    stripe_customer_id: str | None = None
    account_state: StepState = StepState.NONE
    payment_method_fields: dict[str, Any] | None = None
    token: str | None = None
    payment_method_id: str | None = None
    payment_method_state: StepState = StepState.NONE
    rejected: bool = False
    batch: str | None = None
    job_id: str | None = None
    sent_at: float | None = None  # epoch seconds the batch went out
    error: str = ""

    @property
    def state(self) -> RowState:
        """The row's state as a person reads it: failed if any step failed, created if it
        created anything, updated if it only updated, skipped if nothing needed writing."""
        if self.rejected:
            return RowState.REJECTED
        steps = {self.account_state, self.payment_method_state} - {StepState.NONE}
        for step_state, row_state in (
            (StepState.FAILED, RowState.FAILED),
            (StepState.SENDING, RowState.SENDING),
            (StepState.PENDING, RowState.PENDING),
            (StepState.CREATED, RowState.CREATED),
            (StepState.UPDATED, RowState.UPDATED),
        ):
            if step_state in steps:
                return row_state
        return RowState.SKIPPED

    @property
    def writes(self) -> bool:
        """Whether the plan asked for any write (stable across runs and resumes)."""
        return not self.rejected and (
            self.account_action in ("create", "update") or self.payment_method_fields is not None
        )

    def note(self, text: str) -> None:
        self.error = f"{self.error}; {text}" if self.error else text


def run_row(planned: PlannedRow, *, stripe_field: str, token_field: str) -> RunRow:
    """The journal's starting point for one planned row: every write it asks for is pending.
    `stripe_field` and `token_field` are the org's API names (read-back looks them up)."""
    ok = planned.status is RowStatus.OK
    account_action = planned.account_action.value if ok else "none"
    writes_pm = ok and planned.payment_method_action is Action.CREATE
    pm_fields = dict(planned.payment_method_fields) if writes_pm else None
    return RunRow(
        line=planned.line,
        account_action=account_action,
        account_id=planned.account_id,
        account_key=planned.account_key,
        account_fields=dict(planned.account_fields) if ok else {},
        stripe_customer_id=planned.account_fields.get(stripe_field) or None,
        account_state=StepState.PENDING if account_action != "none" else StepState.NONE,
        payment_method_fields=pm_fields,
        token=(pm_fields or {}).get(token_field) or None,
        payment_method_state=StepState.PENDING if writes_pm else StepState.NONE,
        rejected=planned.status is RowStatus.REJECTED,
    )


@dataclass(frozen=True)
class WriteBatch:
    batch_id: str
    op: Op
    records: list[dict[str, Any]]
    bulk: bool


@dataclass(frozen=True)
class WriteResult:
    """One record's outcome, in the batch's order."""

    ok: bool
    id: str | None = None
    error: str = ""


class ImportWriter(Protocol):
    """Writes batches (the bot implements it over sObject Collections and Bulk API 2.0)."""

    def write(self, batch: WriteBatch, on_job: Callable[[str], None]) -> list[WriteResult | None]:
        """One result per record, in order; None where a bulk job left the record
        unprocessed. `on_job(job_id)` is called as soon as a Bulk API job exists."""
        ...

    def settle_job(self, job_id: str) -> None:
        """Wait until a bulk job started before a restart can no longer write (abort it if it
        was never closed), so that reading back what it wrote gives a final answer."""
        ...


class WrittenRecords(Protocol):
    """What Salesforce holds, read back by key (`ImportDirectory` answers both)."""

    def accounts_by_stripe_id(self, ids: Collection[str]) -> dict[str, list[AccountRecord]]: ...

    def payment_methods_by_token(
        self, tokens: Collection[str]
    ) -> dict[str, list[PaymentMethodRecord]]: ...


class ImportJournal(Protocol):
    """Where row states live between batches (the bot's SQLite)."""

    def load(self) -> list[RunRow]: ...

    def save(self, rows: Sequence[RunRow]) -> None:
        """Store these rows' states in one transaction."""
        ...


class RunStopped(Exception):
    """The run cannot go on (Salesforce refused a whole call, or stayed unavailable)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class RunProgress:
    done: int  # rows in a final state
    total: int
    counts: dict[str, int]
    bulk: bool
    writing: str  # what the last batch wrote: "Accounts" or "payment methods"


@dataclass(frozen=True)
class RunSummary:
    rows: list[RunRow]
    stopped: str | None = None  # why the run ended early, if it did

    @property
    def counts(self) -> dict[str, int]:
        return count_states(self.rows)

    @property
    def unfinished(self) -> list[RunRow]:
        return [r for r in self.rows if r.state not in FINAL_ROW_STATES]


def count_states(rows: Iterable[RunRow]) -> dict[str, int]:
    counted = Counter(r.state.value for r in rows)
    return {state.value: counted.get(state.value, 0) for state in RowState}


def default_backoff(attempt: int) -> float:
    return min(30.0, 0.5 * 2 ** (attempt - 1))


@dataclass
class RunOptions:
    bulk_threshold: int = 2000
    collection_size: int = COLLECTION_SIZE
    bulk_job_size: int = BULK_JOB_SIZE
    max_attempts: int = 5
    backoff: Callable[[int], float] = default_backoff
    # A write whose answer never came may still be running in Salesforce (a client timeout,
    # a process killed mid-call): it is read back only this long after it was sent.
    settle_seconds: float = 20.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time


@dataclass
class _Unit:
    """One record to write, shared by the rows that need it (two rows of the same new
    Account create it once)."""

    op: Op
    key: str
    rows: list[RunRow]

    @property
    def lead(self) -> RunRow:
        return self.rows[0]

    @property
    def state(self) -> StepState:
        return _get(self.lead, self.op)

    def set(self, state: StepState, record_id: str | None = None, error: str = "") -> None:
        for row in self.rows:
            _set(row, self.op, state, record_id, error)

    def record(self) -> dict[str, Any]:
        row = self.lead
        if self.op is Op.ACCOUNT_CREATE:
            return dict(row.account_fields)
        if self.op is Op.ACCOUNT_UPDATE:
            return {**row.account_fields, "Id": row.account_id}
        return {**(row.payment_method_fields or {}), "blng__Account__c": row.account_id}


def _get(row: RunRow, op: Op) -> StepState:
    return row.payment_method_state if op is Op.PAYMENT_METHOD_CREATE else row.account_state


_WHAT = {
    Op.ACCOUNT_CREATE: "Account",
    Op.ACCOUNT_UPDATE: "Account",
    Op.PAYMENT_METHOD_CREATE: "payment method",
}


def _set(
    row: RunRow, op: Op, state: StepState, record_id: str | None = None, error: str = ""
) -> None:
    if op is Op.PAYMENT_METHOD_CREATE:
        row.payment_method_state = state
        if record_id:
            row.payment_method_id = record_id
    else:
        row.account_state = state
        if record_id:
            row.account_id = record_id
    if error:
        row.note(f"{_WHAT[op]}: {error}")


class ImportRun:
    """One run (or resumed run) of one import. Not thread-safe: one runner per import."""

    def __init__(
        self,
        journal: ImportJournal,
        writer: ImportWriter,
        records: WrittenRecords,
        options: RunOptions | None = None,
        on_progress: Callable[[RunProgress], None] | None = None,
    ):
        self.journal = journal
        self.writer = writer
        self.records = records
        self.options = options or RunOptions()
        self.on_progress = on_progress or (lambda progress: None)
        self.rows: list[RunRow] = []
        self.bulk = False

    def run(self) -> RunSummary:
        """Run to the end; returns the summary, with `stopped` set if the run had to stop."""
        self.rows = self.journal.load()
        self.bulk = sum(r.writes for r in self.rows) > self.options.bulk_threshold
        try:
            self._settle_bulk_jobs()
            self._phase([Op.ACCOUNT_CREATE, Op.ACCOUNT_UPDATE])
            self._link_payment_methods()
            self._phase([Op.PAYMENT_METHOD_CREATE])
        except RunStopped as stop:
            return RunSummary(self.rows, stopped=stop.reason)
        return RunSummary(self.rows)

    # --- phases ---------------------------------------------------------------------------

    def _settle_bulk_jobs(self) -> None:
        jobs = {r.job_id for r in self.rows if r.job_id and StepState.SENDING in _steps(r)}
        for job_id in sorted(jobs):
            self._call(lambda j=job_id: self.writer.settle_job(j))

    def _phase(self, ops: list[Op]) -> None:
        size = self.options.bulk_job_size if self.bulk else self.options.collection_size
        for op in ops:
            units = self._units(op)
            for start in range(0, len(units), size):
                self._send(units[start : start + size])
                self._report(op)

    def _units(self, op: Op) -> list[_Unit]:
        groups: dict[str, _Unit] = {}
        for row in self.rows:
            if _get(row, op) not in _OPEN or not _wants(row, op):
                continue
            key = _key(row, op)
            groups.setdefault(key, _Unit(op, key, [])).rows.append(row)
        return list(groups.values())

    def _link_payment_methods(self) -> None:
        """Give each waiting payment method its Account's Id (from the row that wrote the
        Account, for rows sharing it), or fail it with the reason its Account is missing."""
        writers = {r.account_key: r for r in self.rows if r.account_action != "none"}
        changed = []
        for row in self.rows:
            if row.payment_method_state not in _OPEN:
                continue
            owner = row if row.account_action != "none" else writers.get(row.account_key)
            if owner is None:  # the Account was there before the run
                linked = bool(row.account_id)
            else:
                linked = owner.account_state is not StepState.FAILED and bool(owner.account_id)
                if linked and row.account_id != owner.account_id:
                    row.account_id = owner.account_id
                    changed.append(row)
            if not linked:
                row.payment_method_state = StepState.FAILED
                row.note("payment method: not created, because its Account was not written")
                changed.append(row)
        if changed:
            self.journal.save(changed)

    # --- one batch --------------------------------------------------------------------------

    def _send(self, units: list[_Unit]) -> None:
        op = units[0].op
        attempt = 0
        while True:
            self._read_back(units)
            todo = [u for u in units if u.state is StepState.PENDING]
            if not todo:
                return
            batch = WriteBatch(uuid.uuid4().hex[:12], op, [u.record() for u in todo], self.bulk)
            rows = [row for u in todo for row in u.rows]
            sent_at = self.options.clock()
            for row in rows:
                _set(row, op, StepState.SENDING)
                row.batch, row.job_id, row.sent_at = batch.batch_id, None, sent_at
            self.journal.save(rows)

            def on_job(job_id: str, rows: list[RunRow] = rows) -> None:
                for row in rows:
                    row.job_id = job_id
                self.journal.save(rows)

            try:
                results = self.writer.write(batch, on_job)
            except SalesforceError as exc:
                job_id = rows[0].job_id
                if job_id:  # a bulk job may still be writing: let it finish first
                    self._call(lambda j=job_id: self.writer.settle_job(j))
                if not exc.retryable:
                    self._read_back(units)  # settle what, if anything, it wrote
                    raise RunStopped(f"Salesforce refused the batch: {exc.message}") from None
                attempt = self._wait_before_retry(attempt, exc.message)
                continue
            for unit, result in zip(todo, results, strict=True):
                if result is None:
                    continue  # left unprocessed by a bulk job: read back on the next turn
                if result.ok:
                    done = StepState.UPDATED if op is Op.ACCOUNT_UPDATE else StepState.CREATED
                    unit.set(done, result.id)
                else:
                    unit.set(StepState.FAILED, error=result.error or "rejected by Salesforce")
            self.journal.save(rows)
            if all(u.state is not StepState.SENDING for u in todo):
                return
            attempt = self._wait_before_retry(attempt, "some records were not processed")

    def _wait_before_retry(self, attempt: int, why: str) -> int:
        attempt += 1
        if attempt >= self.options.max_attempts:
            raise RunStopped(f"Salesforce stayed unavailable after {attempt} attempts ({why})")
        self.options.sleep(self.options.backoff(attempt))
        return attempt

    def _call(self, fn: Callable[[], Any]) -> Any:
        """A read with the same retry policy as writes (reads are always safe to repeat)."""
        attempt = 0
        while True:
            try:
                return fn()
            except SalesforceError as exc:
                if not exc.retryable:
                    raise RunStopped(f"Salesforce refused a read-back: {exc.message}") from None
                attempt = self._wait_before_retry(attempt, exc.message)

    def _read_back(self, units: list[_Unit]) -> None:
        """Settle every open unit against what Salesforce holds (see the module docstring)."""
        open_units = [u for u in units if u.state in _OPEN]
        if not open_units:
            return
        op = open_units[0].op
        sent = [
            r.sent_at or 0.0 for u in open_units if u.state is StepState.SENDING for r in u.rows
        ]
        if sent and op is not Op.ACCOUNT_UPDATE:
            wait = max(sent) + self.options.settle_seconds - self.options.clock()
            if wait > 0:
                self.options.sleep(wait)
        if op is Op.ACCOUNT_UPDATE:
            settled = [u for u in open_units if u.state is StepState.SENDING]
            for unit in settled:  # idempotent: sending it again is safe
                unit.set(StepState.PENDING)
        elif op is Op.ACCOUNT_CREATE:
            found = self._call(
                lambda: self.records.accounts_by_stripe_id([u.key for u in open_units])
            )
            settled = [u for u in open_units if _settle_account(u, found.get(u.key, []))]
        else:
            found = self._call(
                lambda: self.records.payment_methods_by_token([u.key for u in open_units])
            )
            settled = [u for u in open_units if _settle_payment_method(u, found.get(u.key, []))]
        if settled:
            self.journal.save([row for u in settled for row in u.rows])

    def _report(self, op: Op) -> None:
        done = sum(r.state in FINAL_ROW_STATES for r in self.rows)
        writing = "payment methods" if op is Op.PAYMENT_METHOD_CREATE else "Accounts"
        counts = count_states(self.rows)
        self.on_progress(RunProgress(done, len(self.rows), counts, self.bulk, writing))


def _steps(row: RunRow) -> set[StepState]:
    return {row.account_state, row.payment_method_state}


def _wants(row: RunRow, op: Op) -> bool:
    if op is Op.ACCOUNT_CREATE:
        return row.account_action == "create"
    if op is Op.ACCOUNT_UPDATE:
        return row.account_action == "update"
    return row.payment_method_fields is not None


def _key(row: RunRow, op: Op) -> str:
    """What identifies the record in Salesforce, and groups rows that share it."""
    if op is Op.ACCOUNT_CREATE:
        return row.stripe_customer_id or f"line {row.line}"
    if op is Op.ACCOUNT_UPDATE:
        return row.account_id or f"line {row.line}"
    return row.token or f"line {row.line}"


def _settle_account(unit: _Unit, found: list[AccountRecord]) -> bool:
    """Returns True when the unit changed state."""
    sending = unit.state is StepState.SENDING
    ids = [account.id for account in found]
    if len(ids) > 1:
        unit.set(
            StepState.FAILED,
            error=f"several Accounts now have this Stripe Customer ID ({', '.join(ids)}): "
            "not created again",
        )
    elif ids:
        # Ours if we had sent it; otherwise someone created it since the plan: use it.
        unit.set(StepState.CREATED if sending else StepState.SKIPPED, ids[0])
    elif sending:
        unit.set(StepState.PENDING)
    else:
        return False
    return True


def _settle_payment_method(unit: _Unit, found: list[PaymentMethodRecord]) -> bool:
    sending = unit.state is StepState.SENDING
    account_id = unit.lead.account_id
    ours = [pm for pm in found if pm.account_id == account_id]
    if ours:
        unit.set(StepState.CREATED if sending else StepState.SKIPPED, ours[0].id)
    elif found:
        unit.set(
            StepState.FAILED,
            error=f"token_on_other_account: already on Account {found[0].account_id}",
        )
    elif sending:
        unit.set(StepState.PENDING)
    else:
        return False
    return True
