"""The two ways a run loses track of what it wrote, end to end: Salesforce commits a batch and
the answer is lost; the bot's process is killed (SIGKILL) in the middle of a batch and a new
one starts. Both must end with every row in a final state and no record created twice."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from bot.imports_store import ImportStore
from commands.imports.approval import Status
from commands.imports.run import FINAL_ROW_STATES, StepState
from sandbox.slack_api import APPROVER
from sandbox.slack_sender import SlackSender
from tests.import_rig import NEW, STRIPE_FIELD, TOKEN_FIELD, WAIT, ImportWorld, csv_bytes
from tests.plugins.bot import SIGNING_SECRET

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def world(bot_rig) -> Iterator[ImportWorld]:
    yield ImportWorld(bot_rig)
    bot_rig.sf.knobs.update({"latency": 0.0, "lose_next_responses": 0})


def request_with(world: ImportWorld, stem: str, n: int) -> tuple[dict, list[tuple[str, str, str]]]:
    customers = world.customers(stem, n)
    gateway = world.gateway()
    rows = [[name, cus, gateway, "true", card] for name, cus, card in customers]
    file_name = f"{stem.lower().replace(' ', '-')}.csv"
    world.submit(world.upload(csv_bytes(NEW, rows), file_name))
    return world.wait_request(file_name), customers


def no_duplicates(world: ImportWorld, customers: list[tuple[str, str, str]]) -> None:
    stripe_ids = [cus for _, cus, _ in customers]
    tokens = [card for _, _, card in customers]
    accounts = world.accounts_with(stripe_ids)
    methods = world.payment_methods(tokens)
    assert sorted(a[STRIPE_FIELD] for a in accounts) == sorted(stripe_ids)
    assert sorted(m[TOKEN_FIELD] for m in methods) == sorted(tokens)


def rows_final(world: ImportWorld, request: dict) -> list:
    store = ImportStore(world.rig.services.storage)
    rows = [r.run for r in store.rows(world.request_number(request))]
    assert all(r.state in FINAL_ROW_STATES for r in rows)
    return rows


def test_a_commit_whose_response_is_lost_creates_nothing_twice(world: ImportWorld) -> None:
    request, customers = request_with(world, "Lost Answer Co", 3)
    world.rig.sf.knobs.lose_next_responses = 2  # the Account batch, then the payment methods

    world.click(request, "import_approve")
    results = world.wait_results(request, timeout=60)

    assert world.rig.sf.knobs.lose_next_responses == 0
    no_duplicates(world, customers)
    assert {r.state.value for r in rows_final(world, request)} == {"created"}
    assert len(results["success"]) == 3 and results["errors"] == []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BotProcess:
    """`billing-bot run --mode http` in a child process, against the test's stand-ins."""

    def __init__(self, env: dict[str, str], log: Path):
        self.port = free_port()
        self.log = log.open("ab")
        child_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SF_"))},
            **env,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "PYTHONPATH": str(ROOT),
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--mode", "http"],
            env=child_env,
            cwd=log.parent,  # no .env file there
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{self.port}/slack/events"
        deadline = time.monotonic() + WAIT
        while True:  # waiting for start-up, not timing it
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the bot process did not start; see {log}")
            time.sleep(0.1)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[list[BotProcess]]:
    started: list[BotProcess] = []
    yield started
    for process in started:
        process.stop()


def test_a_process_killed_mid_import_is_resumed_by_the_next_one(world, processes, tmp_path):
    rig = world.rig
    request, customers = request_with(world, "Killed Run Co", 30)
    store = ImportStore(rig.services.storage)
    request_id = world.request_number(request)
    first = BotProcess(rig.env, tmp_path / "bot.log")
    processes.append(first)

    rig.sf.knobs.latency = 1.0  # every Salesforce call takes a second: time to be killed
    SlackSender(first.url, SIGNING_SECRET, api=rig.slack).click(
        APPROVER, world.message(request), "import_approve"
    )

    def payment_methods_in_flight() -> bool:
        return any(r.run.payment_method_state is StepState.SENDING for r in store.rows(request_id))

    deadline = time.monotonic() + 60
    while not payment_methods_in_flight():  # waiting for the moment, not timing it
        assert time.monotonic() < deadline, "the run never reached the payment methods"
        assert first.proc.poll() is None, "the bot process died on its own"
        time.sleep(0.05)
    first.kill()
    assert store.get(request_id).status is Status.RUNNING
    in_flight = {r.run.batch for r in store.rows(request_id)}

    rig.sf.knobs.latency = 0.0
    second = BotProcess(rig.env, tmp_path / "bot.log")  # resumes at start-up
    processes.append(second)
    results = world.wait_results(request, timeout=60)

    no_duplicates(world, customers)
    rows = rows_final(world, request)
    assert {r.state.value for r in rows} == {"created"}
    # The batch in flight had reached Salesforce: it was read back, not sent again.
    assert {r.batch for r in rows} == in_flight
    assert store.get(request_id).status is Status.DONE
    assert len(results["success"]) == 30 and results["errors"] == []


def test_slack_failing_never_changes_what_the_import_did(world: ImportWorld) -> None:
    rig = world.rig
    request, customers = request_with(world, "Slack Trouble Co", 2)
    store = ImportStore(rig.services.storage)
    request_id = world.request_number(request)
    rig.slack.fail_next("chat.update", "ratelimited", retry_after=1)  # slack-sdk retries it
    rig.slack.fail_next("files.getUploadURLExternal", "internal_error")  # a hard failure

    world.click(request, "import_approve")
    done = rig.slack.wait_until(
        lambda: store.get(request_id).status is Status.DONE, WAIT, what="the run to finish"
    )
    assert done
    no_duplicates(world, customers)
    refused = rig.slack.wait_until(
        lambda: [c for c in rig.slack.calls_to("files.getUploadURLExternal") if not c.ok],
        WAIT,
        what="the refused upload",
    )
    assert len(refused) == 1  # the first upload of the results was refused

    results = world.wait_results(request)  # posted again a little later, no restart needed
    assert len(results["success"]) == 2
    rig.slack.wait_until(lambda: store.get(request_id).reported_at, WAIT, what="reported_at")
    progress = [m for m in world.thread(request) if "Import #" in m.get("text", "")]
    assert any("finished: 2 created" in m["text"] for m in progress)
