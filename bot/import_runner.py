"""Approved imports run here: on a background thread, one at a time, resumed after a restart.

The import's state lives in SQLite (`bot/imports_store.py`) and never depends on Slack: a
progress edit or a result upload that fails (after slack-sdk's own retries of 429s and 5xx)
is logged and the run goes on. At start-up, `resume_pending` picks up every approved or
running import whose lease is free (its process is gone), so a crash or a deploy in the middle
of a run ends with the run finished by the next process, not with a half-imported file; it
also posts results a dead process never got to post, and expires overdue requests.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from bot.imports_store import ImportRequest, ImportStore, runner_identity, stored_report
from bot.services import Services
from bot.storage import mask_tokens_in
from commands.imports.approval import Status, expire_overdue
from commands.imports.csv_out import CSV_ENCODING
from commands.imports.outcome import (
    RowOutcome,
    error_csv,
    file_stem,
    success_csv,
    summary_line,
)
from commands.imports.report import plural
from commands.imports.run import ImportRun, RunOptions, RunProgress, RunSummary

log = logging.getLogger(__name__)

RUNNER = runner_identity()  # this process, as lease holder
HEARTBEAT_SECONDS = 15
PROGRESS_INTERVAL = 1.0  # seconds between edits of the progress message
IDLE_SECONDS = 5.0  # the worker thread ends after this long without work
# When Slack refuses the results (the upload step is not retried by slack-sdk), they are
# posted again this many seconds later, then at the next start-up.
REPORT_RETRIES = (2.0, 8.0, 30.0)


def best_effort(what: str, call: Callable[[], Any]) -> Any:
    """A Slack call whose failure is logged, never raised (None then): an import never depends
    on Slack, and slack-sdk has already retried rate limits and server errors."""
    try:
        return call()
    except Exception as exc:
        log.warning("Slack %s failed: %s", what, exc)
        return None


class ImportRunner:
    """One per process and services (see `runner_for`): a queue of work and one worker thread,
    so runs never overlap. The worker is a daemon, because a shutdown must not wait for a long
    import (the next process resumes it from the journal), and it exits when idle.
    """

    def __init__(self, services: Services, client: Any):
        self.services = services
        self.client = client  # slack_sdk.WebClient
        self.store = ImportStore(services.storage)
        self._queue: queue.Queue[tuple[str, int]] = queue.Queue()
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._report_attempts: dict[int, int] = {}
        # Called with each request the start-up sweep expired (the feature updates its message).
        self.on_expired: Callable[[ImportRequest], None] = lambda request: None

    # --- entry points -----------------------------------------------------------------------

    def start(self, request_id: int) -> None:
        self._submit("run", request_id)

    def resume_pending(self) -> None:
        """At start-up: expire overdue requests, resume runs, post results nobody posted."""
        self._submit("resume", 0)

    def wait_idle(self) -> None:
        """Block until everything queued so far is done (tests and the benchmark)."""
        self._queue.join()

    def _submit(self, kind: str, request_id: int) -> None:
        with self._lock:
            self._queue.put((kind, request_id))
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._work, name="import-runner", daemon=True
                )
                self._worker.start()

    def _work(self) -> None:
        while True:
            try:
                kind, request_id = self._queue.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._worker = None
                        return
                continue
            try:
                if kind == "resume":
                    self._resume()
                elif kind == "report":
                    self._post_results(request_id)
                else:
                    self._run(request_id)
            except Exception:  # a bug in one run must not stop the runner
                log.exception("import %s: %s failed", request_id, kind)
            finally:
                self._queue.task_done()

    def expire_overdue(self) -> None:
        """Mark overdue requests expired and let the feature update their messages."""
        pending = self.store.ids_with_status(Status.PENDING_APPROVAL)
        for facts in expire_overdue(self.store, pending, self.services.clock()):
            request = self.store.get(facts.id)
            if request:
                self.on_expired(request)

    def _resume(self) -> None:
        store = self.store
        self.expire_overdue()
        for request_id in store.ids_with_status(Status.APPROVED, Status.RUNNING):
            log.info("import %s: resuming", request_id)
            self._run(request_id)
        for request_id in store.unreported():
            self._post_results(request_id)

    # --- one run ----------------------------------------------------------------------------

    def _run(self, request_id: int) -> None:
        store = self.store
        if not store.claim(request_id, RUNNER, self.services.clock()):
            log.info("import %s: running elsewhere or not approved; not starting", request_id)
            return
        stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(request_id, stop), daemon=True)
        beat.start()
        try:
            summary = self._execute(request_id)
            status = Status.FAILED if summary.stopped else Status.DONE
            store.finish(
                request_id,
                RUNNER,
                status,
                summary.counts,
                self.services.clock(),
                error=mask_tokens_in(summary.stopped or ""),
            )
        except Exception as exc:
            log.exception("import %s stopped by an unexpected error", request_id)
            counts = store.state_counts(request_id)
            error = mask_tokens_in(f"the run stopped unexpectedly ({type(exc).__name__}: {exc})")
            store.finish(request_id, RUNNER, Status.FAILED, counts, self.services.clock(), error)
        finally:
            stop.set()
        self._post_results(request_id)

    def _execute(self, request_id: int) -> RunSummary:
        from bot.salesforce.import_writer import SalesforceImportWriter
        from bot.salesforce.imports_directory import SalesforceImportDirectory

        settings = self.services.settings
        directory = SalesforceImportDirectory(self.services.salesforce)
        writer = SalesforceImportWriter(
            self.services.salesforce,
            stripe_field=directory.stripe_customer_field,
            token_field=directory.token_field,
        )
        progress = ProgressMessage(self, request_id)
        options = RunOptions(
            bulk_threshold=settings.import_bulk_threshold, settle_seconds=settings.sf_timeout
        )
        run = ImportRun(self.store.journal(request_id), writer, directory, options, progress.show)
        progress.begin()
        return run.run()

    def _heartbeat(self, request_id: int, stop: threading.Event) -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            try:
                self.store.heartbeat(request_id, RUNNER, self.services.clock())
            except Exception:
                log.exception("import %s: heartbeat failed", request_id)

    # --- Slack ------------------------------------------------------------------------------

    def _post_results(self, request_id: int) -> None:
        """The final progress edit and the result files. What Slack refuses is tried again
        (`REPORT_RETRIES`): a thread left saying "running", or without its results, would not
        tell the truth. The files are posted once; the edit may be repeated."""
        request = self.store.get(request_id)
        if request is None or not request.approval_channel:
            return
        counts = self.store.state_counts(request_id)
        text = finished_text(request, counts)
        edited = not request.progress_ts or (
            best_effort(
                "progress update",
                lambda: self.client.chat_update(
                    channel=request.approval_channel, ts=request.progress_ts, text=text
                ),
            )
            is not None
        )
        posted = request.reported_at is not None or self._upload_results(request, text)
        if edited and posted:
            self._report_attempts.pop(request_id, None)
            return
        attempt = self._report_attempts.get(request_id, 0)
        if attempt < len(REPORT_RETRIES):
            self._report_attempts[request_id] = attempt + 1
            timer = threading.Timer(REPORT_RETRIES[attempt], self._submit, ("report", request_id))
            timer.daemon = True
            timer.start()

    def _upload_results(self, request: ImportRequest, text: str) -> bool:
        """The success and error CSVs in the thread; True once Slack has them."""
        request_id = request.id
        rows = self.store.rows(request_id)
        report = stored_report(request.report, rows)
        outcomes = [RowOutcome(r.planned, r.run) for r in rows]
        stem = file_stem(request.file_name)
        files = [
            {
                "content": success_csv(report, outcomes).encode(CSV_ENCODING),
                "filename": f"{stem}-success.csv",
                "title": f"Import #{request.id}: rows written or already there",
            },
            {
                "content": error_csv(report, outcomes).encode(CSV_ENCODING),
                "filename": f"{stem}-errors.csv",
                "title": f"Import #{request.id}: rows not written, with the reason",
            },
        ]
        # The progress message already reads as the summary; say it again only when there is
        # none (its post failed), so the thread does not show the same line twice.
        comment = (
            f"<@{request.requester}>, the result files of import #{request.id}:"
            if request.progress_ts
            else f"{text}\n<@{request.requester}>"
        )
        posted = best_effort(
            "result upload",
            lambda: self.client.files_upload_v2(
                channel=request.approval_channel,
                thread_ts=request.approval_ts,
                file_uploads=files,
                initial_comment=comment,
            ),
        )
        if posted is None:
            return False
        self.store.mark_reported(request_id, self.services.clock())
        return True


class ProgressMessage:
    """The one message in the approval thread that shows how far the run is."""

    def __init__(self, runner: ImportRunner, request_id: int):
        self.runner = runner
        self.request_id = request_id
        self.request = runner.store.get(request_id)
        self._last = 0.0

    def begin(self) -> None:
        request = self.request
        if request is None or request.progress_ts or not request.approval_channel:
            return
        total = sum(self.runner.store.state_counts(self.request_id).values())
        answer = best_effort(
            "progress post",
            lambda: self.runner.client.chat_postMessage(
                channel=request.approval_channel,
                thread_ts=request.approval_ts,
                text=f":hourglass_flowing_sand: Import #{request.id} is running: "
                f"0 of {plural(total, 'row')} done.",
            ),
        )
        if answer is not None:
            self.runner.store.set_fields(self.request_id, progress_ts=answer["ts"])
            self.request = self.runner.store.get(self.request_id)

    def show(self, progress: RunProgress) -> None:
        """At most one edit per PROGRESS_INTERVAL (Slack's chat.update is Tier 3)."""
        request = self.request
        now = time.monotonic()
        if request is None or not request.progress_ts or now - self._last < PROGRESS_INTERVAL:
            return
        self._last = now
        how = " through Bulk API 2.0" if progress.bulk else ""
        text = (
            f":hourglass_flowing_sand: Import #{request.id} is running{how}, writing "
            f"{progress.writing}: {progress.done:,} of {plural(progress.total, 'row')} done "
            f"({summary_line(progress.counts)})."
        )
        best_effort(
            "progress update",
            lambda: self.runner.client.chat_update(
                channel=request.approval_channel, ts=request.progress_ts, text=text
            ),
        )


def finished_text(request: ImportRequest, counts: dict[str, int]) -> str:
    summary = summary_line(counts)
    if request.status is Status.DONE:
        icon = ":white_check_mark:" if not counts.get("failed") else ":warning:"
        return f"{icon} Import #{request.id} finished: {summary}."
    return (
        f":x: Import #{request.id} stopped: {request.error}. So far: {summary}. The error CSV "
        "lists every row not written and why; send the same file again to finish (rows "
        "already in Salesforce are skipped)."
    )


def runner_for(services: Services, client: Any) -> ImportRunner:
    """The runner of these services (one per process in production)."""
    with services._lock:
        runner = getattr(services, "_import_runner", None)
        if runner is None:
            runner = services._import_runner = ImportRunner(services, client)
        return runner
