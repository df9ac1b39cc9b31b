"""Scheduled audits: APScheduler 3.11, its job kept in the bot's own SQLite file.

One scheduler per database
--------------------------
APScheduler 3 has no coordination between schedulers sharing a job store: two processes on one
database would both run every audit. The process that runs the scheduler is the one holding
an exclusive `flock` on a side file, `<DATABASE_PATH>.scheduler.lock`. Chosen over a lease row
with a heartbeat in the database because the kernel releases the lock the moment its holder
dies, however it dies (a lease outlives a crash until it expires, and needs a heartbeat
thread writing into the database all day, competing with real writes); and it has the same
reach as SQLite itself: processes on one host sharing one file. Another process finds the
lock taken, logs that it is standing by and tries again every `STANDBY_POLL_SECONDS`, so a
rolling restart (new process up before the old one exits) ends with a scheduler running.

The job
-------
The stored job names `run_scheduled_audit` by its import path with the database path as its
only argument: nothing secret is pickled into the database. It finds the running process's
services (registered by `start_scheduler`) or, failing that, rebuilds them from settings.
Missed runs are coalesced into one and still run up to `MISFIRE_GRACE_SECONDS` late.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from apscheduler.events import EVENT_SCHEDULER_SHUTDOWN
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.services import Services

log = logging.getLogger(__name__)

JOB_ID = "billing-audit"
MISFIRE_GRACE_SECONDS = 4 * 3600  # a summary a few hours late still helps; a day late does not
STANDBY_POLL_SECONDS = 30.0


@dataclass
class _Leader:
    """What the scheduler-running process registered for its database."""

    services: Services
    client: Any  # slack_sdk.WebClient
    scheduler: BackgroundScheduler | None = None


_leaders: dict[str, _Leader] = {}


class SchedulerLock:
    """An exclusive, non-blocking flock on `<database>.scheduler.lock`, held while open."""

    def __init__(self, database_path: str):
        self.path = f"{database_path}.scheduler.lock"
        self._file: IO[str] | None = None

    def acquire(self) -> bool:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 - held open for as long as we lead
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")  # for a person wondering who holds it
        handle.flush()
        self._file = handle
        return True

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def database_key(services: Services) -> str:
    return str(Path(services.settings.database_path).resolve())


def running_scheduler(services: Services) -> BackgroundScheduler | None:
    """The scheduler this process runs for this database (also after taking over)."""
    leader = _leaders.get(database_key(services))
    return leader.scheduler if leader else None


def start_scheduler(services: Services, client: Any) -> BackgroundScheduler | None:
    """The started scheduler, or None when SCHEDULER_ENABLED is false or another process
    holds the lock (this one then stands by and takes over when that one stops)."""
    settings = services.settings
    if not settings.scheduler_enabled:
        log.info("scheduled audits are off in this process (SCHEDULER_ENABLED=false)")
        return None
    lock = SchedulerLock(database_key(services))
    if lock.acquire():
        return _start(services, client, lock)
    log.info(
        "another process runs the audit scheduler for %s: standing by",
        settings.database_path,
    )
    threading.Thread(
        target=_stand_by, args=(services, client, lock), name="audit-standby", daemon=True
    ).start()
    return None


def _stand_by(services: Services, client: Any, lock: SchedulerLock) -> None:
    while True:
        time.sleep(STANDBY_POLL_SECONDS)
        if lock.acquire():
            log.info("the other scheduler stopped: this process runs scheduled audits now")
            _start(services, client, lock)
            return


def _start(services: Services, client: Any, lock: SchedulerLock) -> BackgroundScheduler:
    settings = services.settings
    key = database_key(services)
    leader = _leaders[key] = _Leader(services, client)
    scheduler = BackgroundScheduler(
        jobstores={
            "default": SQLAlchemyJobStore(
                url=f"sqlite:///{key}", engine_options={"connect_args": {"timeout": 30}}
            )
        },
        job_defaults={
            "coalesce": True,
            "misfire_grace_time": MISFIRE_GRACE_SECONDS,
            "max_instances": 1,
        },
        timezone=settings.timezone,
    )
    scheduler.add_job(
        run_scheduled_audit,
        CronTrigger.from_crontab(settings.audit_schedule, timezone=settings.timezone),
        args=[key],
        id=JOB_ID,
        name="billing audit",
        replace_existing=True,
    )

    def on_shutdown(_event: Any) -> None:
        _leaders.pop(key, None)
        lock.release()

    scheduler.add_listener(on_shutdown, EVENT_SCHEDULER_SHUTDOWN)
    try:
        scheduler.start()
    except Exception:
        on_shutdown(None)  # never hold the lock for a scheduler that is not running
        raise
    leader.scheduler = scheduler
    job = scheduler.get_job(JOB_ID)
    log.info(
        "scheduled audits: %r (%s); next at %s",
        settings.audit_schedule,
        settings.timezone,
        job.next_run_time if job else "never",
    )
    return scheduler


def run_scheduled_audit(database_path: str) -> None:
    """The stored job: audit, record, and post to ALERTS_CHANNEL (quiet mode permitting)."""
    from bot.features.audit import audit_and_post

    leader = _leaders.get(database_path)
    services, client = (leader.services, leader.client) if leader else _rebuild(database_path)
    try:
        audit_and_post(services, client, kind="scheduled", requested_by="schedule")
    except Exception:  # the scheduler would log it too, with less context
        log.exception("scheduled audit failed")


def _rebuild(database_path: str) -> tuple[Services, Any]:
    """Services from the environment: for a job run by a process that did not register."""
    from bot.config import load_settings
    from bot.slack_app import make_web_client

    settings = load_settings().replace(database_path=database_path)
    return Services(settings), make_web_client(settings)
