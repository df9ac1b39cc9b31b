"""Scheduled audits: APScheduler with its job in the bot's database, one scheduler per
database (two real processes), the job firing without waiting for the clock."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.audit_store import AuditStore
from bot.config import load_settings
from bot.scheduling import JOB_ID, SchedulerLock, start_scheduler
from bot.services import Services
from bot.stripe_gateway import StripeGateway
from tests.plugins.bot import BotRig

REPO = Path(__file__).resolve().parent.parent


def scheduling_services(rig: BotRig, **changes) -> Services:
    settings = rig.services.settings.replace(scheduler_enabled=True, **changes)
    services = Services(settings)
    services.__dict__["stripe"] = StripeGateway(settings, rate=250)
    return services


def alerts_posts(rig: BotRig) -> list[dict]:
    """Summaries, not the replies in their threads."""
    return [m for m in rig.slack.messages(rig.alerts) if m.get("thread_ts") in (None, m["ts"])]


def test_disabled_scheduling_starts_nothing(tmp_path) -> None:
    settings = load_settings(
        {"DATABASE_PATH": str(tmp_path / "bot.db"), "SCHEDULER_ENABLED": "false"},
        dotenv_path=None,
    )
    assert start_scheduler(Services(settings), client=None) is None
    assert not Path(f"{tmp_path / 'bot.db'}.scheduler.lock").exists()


def test_the_lock_admits_one_holder_until_it_lets_go(tmp_path) -> None:
    first, second = SchedulerLock(str(tmp_path / "x.db")), SchedulerLock(str(tmp_path / "x.db"))
    assert first.acquire()
    assert not second.acquire()
    first.release()
    assert second.acquire()
    second.release()


def test_the_scheduler_keeps_its_job_in_the_database_and_fires_it(bot_rig: BotRig) -> None:
    services = scheduling_services(bot_rig, audit_schedule="30 7 * * mon-fri")
    scheduler = start_scheduler(services, bot_rig.app.client)
    assert scheduler is not None
    try:
        job = scheduler.get_job(JOB_ID)
        assert str(job.trigger) == (
            "cron[month='*', day='*', day_of_week='mon-fri', hour='7', minute='30']"
        )
        assert job.func_ref == "bot.scheduling:run_scheduled_audit"
        assert job.coalesce and job.misfire_grace_time > 0
        stored = services.db.execute("SELECT id FROM apscheduler_jobs").fetchall()
        assert stored == [(JOB_ID,)]
        job.modify(next_run_time=datetime.now(ZoneInfo("UTC")))
        scheduler.wakeup()
        post = bot_rig.slack.wait_until(
            lambda: next(iter(alerts_posts(bot_rig)), None), timeout=120, what="a summary"
        )
        assert post["blocks"][0]["text"]["text"].startswith("Billing audit:")
        runs = bot_rig.slack.wait_until(
            lambda: services.db.execute(
                "SELECT kind, requested_by, posted FROM audit_runs WHERE posted = 1"
            ).fetchall(),
            timeout=60,
            what="the run marked posted",
        )
        assert runs == [("scheduled", "schedule", 1)]
    finally:
        scheduler.shutdown(wait=True)
    # Shut down, the lock is free again; restarting replaces the job rather than adding one.
    again = start_scheduler(scheduling_services(bot_rig), bot_rig.app.client)
    assert again is not None
    again.shutdown(wait=False)
    assert services.db.execute("SELECT COUNT(*) FROM apscheduler_jobs").fetchone() == (1,)


CHILD = textwrap.dedent(
    """
    import sys, time
    from datetime import datetime
    from zoneinfo import ZoneInfo
    import bot.scheduling as scheduling
    from bot.config import load_settings
    from bot.services import Services
    from bot.slack_app import make_web_client

    scheduling.STANDBY_POLL_SECONDS = 0.2
    settings = load_settings(dotenv_path=None)
    services = Services(settings)
    scheduler = scheduling.start_scheduler(services, make_web_client(settings))
    print("LEADER" if scheduler else "STANDBY", flush=True)
    while scheduler is None:  # standing by: say when this process takes over
        time.sleep(0.1)
        if scheduling.running_scheduler(services) is not None:
            print("TOOK OVER", flush=True)
            break
    for line in sys.stdin:  # the test drives the child line by line; EOF ends it
        if line.strip() == "fire":
            posted = "SELECT COUNT(*) FROM audit_runs WHERE posted = 1"
            before = services.db.execute(posted).fetchone()[0]
            now = datetime.now(ZoneInfo("UTC"))
            running = scheduling.running_scheduler(services)
            running.get_job(scheduling.JOB_ID).modify(next_run_time=now)
            while services.db.execute(posted).fetchone()[0] == before:
                time.sleep(0.1)
            print("RAN", flush=True)
    """
)


@pytest.fixture
def children(bot_rig: BotRig) -> Iterator[list[subprocess.Popen]]:
    started: list[subprocess.Popen] = []
    yield started
    for child in started:
        if child.poll() is None:
            child.stdin.close()
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def spawn(rig: BotRig, children: list[subprocess.Popen]) -> subprocess.Popen:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SF_", "STRIPE_"))},
        **rig.env,
        "SCHEDULER_ENABLED": "true",
        "AUDIT_STRIPE_SAMPLE": "5",  # the cross-check itself is tested elsewhere
        "LOG_LEVEL": "WARNING",
    }
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD],
        cwd=REPO,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    children.append(child)
    return child


def said(child: subprocess.Popen) -> str:
    line = child.stdout.readline().strip()
    assert line, f"the child exited ({child.poll()}) without a word"
    return line


def test_two_processes_one_database_one_scheduler(bot_rig: BotRig, children) -> None:
    first = spawn(bot_rig, children)
    assert said(first) == "LEADER"
    second = spawn(bot_rig, children)
    assert said(second) == "STANDBY"

    first.stdin.write("fire\n")
    first.stdin.flush()
    assert said(first) == "RAN"
    store = AuditStore(bot_rig.services.db)
    assert store.runs() == 1
    assert len(alerts_posts(bot_rig)) == 1

    # The leader stops; the one standing by takes over, and nothing ran twice meanwhile.
    first.stdin.close()
    first.wait(timeout=30)
    assert said(second) == "TOOK OVER"
    assert store.runs() == 1
    second.stdin.write("fire\n")
    second.stdin.flush()
    assert said(second) == "RAN"
    assert store.runs() == 2
    bot_rig.slack.wait_until(lambda: len(alerts_posts(bot_rig)) == 2, timeout=60, what="2 posts")
