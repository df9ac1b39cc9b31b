"""Import fault trials (issue 8): one import, one fault at a random moment, then the promises.

Shared by `tests/test_reliability_faults.py` (one trial of each fault in CI) and
`bench/faults.py` (many seeded trials of each). A trial, through the real bot and the stand-ins:

1. new Stripe customers with cards, and a CSV of them (new-customers scenario) with one row
   validation rejects (a single-use `tok_` token), uploaded through the modal;
2. the fault armed at a random moment (a seeded `random.Random`), the import approved;
3. the wait until the run has ended and its result files are in the thread (the bot posts
   again what Slack refused; no restart is needed, except where the fault is the restart);
4. the checks: no Salesforce record twice (each Stripe customer on one Account, each token on
   one payment method), every row in a final state, and the thread telling the truth (the
   progress message and the result files' comment carry the run's counts, the success CSV
   lists exactly the rows whose payment method is in Salesforce and the error CSV the others).

Faults (`FAULTS`): the bot's process killed (SIGKILL) mid-run and a new one started;
Salesforce answering 503, or closing connections, for a window of up to 3 s; Salesforce
committing writes and losing the answers; Stripe answering 429 or 500 (the cross-checks at
upload); Slack answering 429 to `chat.update` or to the result upload (one to five times);
the database write-locked by another connection for a second.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.imports_store import ImportStore
from commands.imports.approval import Status
from commands.imports.outcome import summary_line
from commands.imports.run import FINAL_ROW_STATES, RowState
from sandbox.slack_api import APPROVER
from sandbox.slack_sender import SlackSender
from tests.import_rig import NEW, STRIPE_FIELD, TOKEN_FIELD, WAIT, ImportWorld, csv_bytes
from tests.plugins.bot import SIGNING_SECRET

LATENCY = 0.1  # seconds per Salesforce call during a run: the run lasts long enough to hit
CALLS_PER_RUN = 4  # read back and write the Accounts, then the payment methods
FINISH = 120.0  # seconds to wait for a run to end (a wait, never a timing assertion)
UPLOAD_STEPS = ("files.getUploadURLExternal", "upload", "files.completeUploadExternal")


@dataclass
class Trial:
    """One import under one fault, and what the checks found."""

    kind: str
    seed: int
    rows: int = 0
    fired: bool = False  # whether the fault met the bot (a late one may find nothing to hit)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Import:
    """A file sent for approval: its approval message and request."""

    file: File
    message: dict
    request_id: int

    @property
    def rig(self) -> Any:  # tests.plugins.bot.BotRig
        return self.file.rig

    @property
    def world(self) -> ImportWorld:
        return self.file.world

    @property
    def store(self) -> ImportStore:
        return ImportStore(self.rig.services.storage)

    def status(self) -> Status:
        request = self.store.get(self.request_id)
        return request.status if request else Status.FAILED

    def approve(self) -> None:
        self.world.click(self.message, "import_approve")

    def wait(self, done: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + FINISH
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {FINISH:.0f} s for {what}")
            time.sleep(0.05)

    def wait_ended(self) -> None:
        self.wait(lambda: self.status() in (Status.DONE, Status.FAILED), "the run to end")


# --- faults -----------------------------------------------------------------------------------


class AtCall:
    """Runs `action` as Salesforce receives a random one of the run's calls (the `n`-th from
    now, n in 1..CALLS_PER_RUN): the random moment every run fault starts at. `stop()` says
    whether it ran; once the run has ended it no longer can (nothing leaks into the next
    trial)."""

    def __init__(self, imp: Import, rng: random.Random, action: Callable[[], None]):
        self.sf = imp.rig.sf
        self.target = len(self.sf.calls) + rng.randint(1, CALLS_PER_RUN)
        self.action = action
        self.fired = threading.Event()
        self.ended = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        while not self.ended.is_set():
            if len(self.sf.calls) >= self.target:
                self.action()
                self.fired.set()
                return
            time.sleep(0.002)

    def stop(self) -> bool:
        self.ended.set()
        self.thread.join()
        return self.fired.is_set()


def salesforce_window(knob: str) -> Callable[[Import, random.Random], bool]:
    """Every Salesforce call answered by the fault (`knob` at 1.0) for 0.3 to 3 seconds."""

    def fault(imp: Import, rng: random.Random) -> bool:
        knobs, length = imp.rig.sf.knobs, rng.uniform(0.3, 3.0)

        def outage() -> None:
            knobs.update({knob: 1.0})
            time.sleep(length)
            knobs.update({knob: 0.0})

        start = AtCall(imp, rng, outage)
        imp.approve()
        imp.wait_ended()
        return start.stop()

    return fault


def salesforce_lost_response(imp: Import, rng: random.Random) -> bool:
    """Writes commit, then their answers are lost (the next one or two, from a random call)."""
    knobs = imp.rig.sf.knobs
    start = AtCall(imp, rng, lambda: knobs.update({"lose_next_responses": rng.randint(1, 2)}))
    imp.approve()
    imp.wait_ended()
    fired = start.stop() and knobs.lose_next_responses < 2
    knobs.update({"lose_next_responses": 0})
    return fired


def slack_rate_limited(methods: tuple[str, ...]) -> Callable[[Import, random.Random], bool]:
    """Slack answering 429 to one of `methods`, one to five times in a row, from the start of
    the run (slack-sdk retries Web API calls three times; the bot posts results again)."""

    def fault(imp: Import, rng: random.Random) -> bool:
        slack = imp.rig.slack
        method = rng.choice(methods)
        before = len([c for c in slack.calls_to(method) if c.fault])
        slack.fail_next(method, "ratelimited", retry_after=1, times=rng.randint(1, 5))
        imp.approve()
        imp.wait_ended()
        imp.wait(lambda: imp.store.get(imp.request_id).reported_at, "the results posted")
        return len([c for c in slack.calls_to(method) if c.fault]) > before

    return fault


def database_locked(imp: Import, rng: random.Random) -> bool:
    """Another connection holds the database's write lock for a second, from a random call."""
    path = imp.rig.settings.database_path

    def hold() -> None:
        connection = sqlite3.connect(path, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            time.sleep(1.0)
            connection.execute("ROLLBACK")
        finally:
            connection.close()

    start = AtCall(imp, rng, hold)
    imp.approve()
    imp.wait_ended()
    return start.stop()


def process_killed(imp: Import, rng: random.Random) -> bool:
    """The run goes to a bot process of its own, SIGKILLed as Salesforce receives a random one
    of the run's calls (a write may be committing); a new process resumes it at start-up."""
    from tests.test_import_run_faults import BotProcess

    log = imp.file.workdir / f"bot-{imp.request_id}.log"
    first = BotProcess(imp.rig.env, log)
    try:
        kill = AtCall(imp, rng, first.kill)
        SlackSender(first.url, SIGNING_SECRET, api=imp.rig.slack).click(
            APPROVER, imp.world.message(imp.message), "import_approve"
        )
        imp.wait(
            lambda: first.proc.poll() is not None or imp.status() is Status.DONE,
            "the kill or the end of the run",
        )
        fired = kill.stop()
    finally:
        first.stop()
    second = BotProcess(imp.rig.env, log)  # resumes the run at start-up
    try:
        imp.wait_ended()
        imp.wait(lambda: imp.store.get(imp.request_id).reported_at, "the results posted")
    finally:
        second.stop()
    return fired


# Faults during the run: each approves the import, arms itself, waits for the run to end and
# says whether it met the bot.
RUN_FAULTS: dict[str, Callable[[Import, random.Random], bool]] = {
    "process_killed": process_killed,
    "salesforce_5xx": salesforce_window("fault_rate"),
    "salesforce_dropped": salesforce_window("drop_rate"),
    "salesforce_lost_response": salesforce_lost_response,
    "slack_429_chat_update": slack_rate_limited(("chat.update",)),
    "slack_429_file_upload": slack_rate_limited(UPLOAD_STEPS),
    "database_locked": database_locked,
}
# Stripe is asked while the file is validated (the run writes to Salesforce only): a share of
# those calls fails, by knob, with the stand-in's counter of what it injected.
UPLOAD_FAULTS = {
    "stripe_429": ("rate_limit_rate", "rate_limited"),
    "stripe_5xx": ("error_rate", "errors_injected"),
}
FAULTS = (*RUN_FAULTS, *UPLOAD_FAULTS)


# --- one trial ----------------------------------------------------------------------------------


def run_trial(rig: Any, kind: str, seed: int, workdir: Path) -> Trial:
    """One import under fault `kind`; `Trial.problems` lists every promise broken."""
    rng = random.Random(f"{kind}/{seed}")
    trial = Trial(kind, seed)
    started = time.monotonic()
    try:
        file = make_file(rig, rng, workdir)
        trial.rows = len(file.tokens) + 1
        if kind in UPLOAD_FAULTS:
            trial.fired, message = send_under_stripe_fault(file, rng, *UPLOAD_FAULTS[kind])
        else:
            message = file.send()
        imp = file.imported(message)
        rig.sf.knobs.update({"latency": LATENCY})
        try:
            if kind in RUN_FAULTS:
                trial.fired = RUN_FAULTS[kind](imp, rng)
            else:
                imp.approve()
                imp.wait_ended()
        finally:
            rig.sf.knobs.update({"latency": 0.0, "fault_rate": 0.0, "drop_rate": 0.0})
        imp.wait(lambda: imp.store.get(imp.request_id).reported_at, "the results posted")
        trial.problems = check(imp)
    except Exception as exc:  # a trial that cannot finish is a failure found, not a crash
        trial.problems.append(f"{type(exc).__name__}: {exc}")
    trial.seconds = time.monotonic() - started
    return trial


@dataclass
class File:
    """A CSV of new customers (one row rejected), before it is sent."""

    rig: Any
    world: ImportWorld
    name: str
    data: bytes
    tokens: dict[int, str]  # line -> token, for the rows validation accepts
    customers: dict[int, str]  # line -> Stripe customer id, the same rows
    rejected_line: int
    workdir: Path

    def send(self) -> dict | None:
        """Upload it through the modal; the approval message, or None when the bot said it was
        not sent for approval (something could not be checked)."""
        self.world.submit(self.world.upload(self.data, self.name))

        def answered() -> tuple[dict | None] | None:
            request = [m for m in self.world.approval_messages() if self.name in m["text"]]
            if request:
                return (request[-1],)
            said = [m for m in self.world.private_replies() if self.name in m.get("text", "")]
            return (None,) if any("Not sent for approval" in m["text"] for m in said) else None

        return self.world.slack.wait_until(answered, WAIT, what=f"an answer to {self.name}")[0]

    def imported(self, message: dict | None) -> Import:
        if message is None:
            raise AssertionError(f"{self.name} was not sent for approval with nothing wrong")
        return Import(self, message, self.world.request_number(message))


def make_file(rig: Any, rng: random.Random, workdir: Path) -> File:
    world = ImportWorld(rig)
    customers = world.customers("Trial Co", rng.randint(2, 12))
    gateway = world.gateway()
    rows = [[name, cus, gateway, "true", card] for name, cus, card in customers]
    rejected = rng.randint(0, len(rows))
    rows.insert(rejected, [world.unique("Trial Bad"), customers[0][1], gateway, "true", "tok_1"])
    lines = {i + 2: row for i, row in enumerate(rows) if i != rejected}  # the header is line 1
    return File(
        rig,
        world,
        f"trial-{uuid.uuid4().hex[:8]}.csv",
        csv_bytes(NEW, rows),
        tokens={line: row[4] for line, row in lines.items()},
        customers={line: row[1] for line, row in lines.items()},
        rejected_line=rejected + 2,
        workdir=workdir,
    )


def send_under_stripe_fault(
    file: File, rng: random.Random, knob: str, stat: str
) -> tuple[bool, dict | None]:
    """Send the file while Stripe fails a share of the cross-checks. When the bot then says
    it was not sent for approval, nothing may have been written, and the same file sent
    again once Stripe answers goes through (imports are repeatable)."""
    stripe = file.rig.stripe
    before = stripe.stats()[stat]
    stripe.knobs.set(**{knob: rng.uniform(0.3, 1.0)})
    try:
        message = file.send()
    finally:
        stripe.knobs.reset()
    fired = stripe.stats()[stat] > before
    if message is None:
        if file.world.payment_methods(list(file.tokens.values())):
            raise AssertionError("payment methods written for a file not sent for approval")
        message = file.send()
    return fired, message


# --- the checks ----------------------------------------------------------------------------------


def check(imp: Import) -> list[str]:
    """The promises, as sentences for what is broken."""
    problems: list[str] = []
    world, store = imp.world, imp.store
    methods = world.payment_methods(list(imp.file.tokens.values()))
    accounts = world.accounts_with(sorted(set(imp.file.customers.values())))
    for what, values in (
        ("payment method", Counter(m[TOKEN_FIELD] for m in methods)),
        ("Account", Counter(a[STRIPE_FIELD] for a in accounts)),
    ):
        twice = [value for value, n in values.items() if n > 1]
        if twice:
            problems.append(f"{len(twice)} {what}(s) created twice")
    rows = store.rows(imp.request_id)
    unfinished = [r.run.line for r in rows if r.run.state not in FINAL_ROW_STATES]
    if unfinished:
        problems.append(f"rows not in a final state: lines {unfinished}")
    in_salesforce = {m[TOKEN_FIELD] for m in methods}
    written = {line for line, token in imp.file.tokens.items() if token in in_salesforce}
    created = {r.run.line for r in rows if r.run.state is RowState.CREATED}
    if created != written:
        problems.append(f"rows said created {sorted(created)} but in Salesforce {sorted(written)}")
    problems += thread_problems(imp, store.state_counts(imp.request_id), written)
    return problems


def thread_problems(imp: Import, counts: dict[str, int], written: set[int]) -> list[str]:
    """What the approval thread says, against the journal and the org."""
    problems: list[str] = []
    request = imp.store.get(imp.request_id)
    summary = summary_line(counts)
    word = "finished" if request.status is Status.DONE else "stopped"
    thread = imp.world.thread(imp.message)
    progress = next((m for m in thread if m["ts"] == request.progress_ts), None)
    if progress is not None:  # the one message that shows the run, edited to its summary
        if word not in progress["text"] or summary not in progress["text"]:
            problems.append(f"the progress message says {progress['text']!r}, not {summary!r}")
    elif not any(summary in m["text"] for m in thread if m.get("files")):
        problems.append(f"neither a progress message nor the result files say {summary!r}")
    results = imp.world.wait_results(imp.message, timeout=WAIT)
    success = {int(r["LINE"]) for r in results["success"]}
    errors = {int(r["LINE"]) for r in results["errors"]}
    if success != written:
        problems.append(f"the success CSV lists {sorted(success)}, not {sorted(written)}")
    expected_errors = set(imp.file.tokens) - written | {imp.file.rejected_line}
    if errors != expected_errors:
        problems.append(f"the error CSV lists {sorted(errors)}, not {sorted(expected_errors)}")
    return problems
