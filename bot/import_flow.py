"""The Slack side of an import, after Bolt has acked: from a shared CSV to an approval request,
and from a click in the approvals channel to one stored decision and a run.

Intake (modal, message shortcut or DM alike): download the file from Slack's file host only,
prepare it (validation, cross-checks, plan), show the requester the report privately, and, if
there is anything to write and Salesforce could be asked (the plan rests on it), store the
request and post it to the approvals channel with the error CSV in its thread. Stripe checks
that could not be made are shown as a warning on the request, for the approver to weigh.
Nothing is written before approval.

Decisions: only configured approvers, never the requester, once (the store's conditional
update), before the request expires; the approval message is then edited to show the decision
and lose its buttons, and an approval hands the import to the runner.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from bot.features.import_blocks import (
    approval_blocks,
    import_modal,
    notice_modal,
    preview_lines,
    reject_modal,
    report_blocks,
    request_summary,
    shown,
)
from bot.import_runner import best_effort, runner_for
from bot.imports_store import ImportRequest, ImportStore, StoredRow, report_record
from bot.services import Services
from bot.slack_files import DownloadRefused, download
from bot.slack_text import escape
from bot.storage import log_command
from commands.imports import FileRejected, ImportReport, Scenario, prepare_import
from commands.imports.approval import (
    DecisionOutcome,
    Refusal,
    check,
    decide,
    expire_overdue,
    expiry,
    refusal_text,
    when,
)
from commands.imports.csv_out import CSV_ENCODING, error_csv
from commands.imports.outcome import file_stem
from commands.imports.reader import check_size
from commands.imports.report import plan_summary, plural
from commands.imports.run import run_row

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reply:
    """Where a requester is answered privately: ephemeral in `channel`, else in their DM."""

    user: str
    channel: str | None = None
    ephemeral: bool = True


@dataclass(frozen=True)
class Upload:
    """A CSV someone shared with the bot, and what they said about it."""

    file: dict[str, Any]  # Slack's file object
    user: str
    reply: Reply
    source: str  # modal, message_shortcut or dm
    scenario: Scenario | None = None  # None: detect from the columns
    note: str = ""

    @property
    def name(self) -> str:
        return str(self.file.get("name") or "upload.csv")


def mention(user_id: str) -> str:
    return f"<@{user_id}>"


def is_csv(file: dict[str, Any]) -> bool:
    return file.get("filetype") == "csv" or str(file.get("name", "")).lower().endswith(".csv")


class ImportFlow:
    def __init__(self, services: Services, client: Any):
        from bot.slack_app import access_for

        self.services = services
        self.client = client  # slack_sdk.WebClient
        self.store = ImportStore(services.storage)
        self.access = access_for(services, client)
        self.runner = runner_for(services, client)
        self.runner.on_expired = self.refresh_approval_message

    @property
    def settings(self) -> Any:
        return self.services.settings

    # --- talking to people --------------------------------------------------------------------

    def tell(self, reply: Reply, text: str, blocks: list | None = None) -> None:
        """Private answer; an ephemeral message the bot may not post falls back to the DM."""
        if reply.channel and reply.ephemeral:
            try:
                self.client.chat_postEphemeral(
                    channel=reply.channel, user=reply.user, text=text, blocks=blocks
                )
                return
            except Exception as exc:
                log.info("ephemeral reply in %s failed (%s); answering by DM", reply.channel, exc)
        # A user ID as the channel posts in the bot's DM with them (no im:write needed).
        channel = reply.channel if reply.channel and not reply.ephemeral else reply.user
        self.client.chat_postMessage(channel=channel, text=text, blocks=blocks)

    def record(self, user: str, action: str, args: str, outcome: str, detail: str = "") -> None:
        log_command(
            self.services.db,
            user_id=user,
            command=action,
            args=args,
            outcome=outcome,
            detail=detail,
        )

    # --- intake -------------------------------------------------------------------------------

    def open_modal(
        self, trigger_id: str, user: str, channel: str | None, file: dict | None = None
    ) -> str:
        """The upload modal, or a notice saying why not (refusal, imports not set up)."""
        if not self.settings.approvals_channel:
            view = notice_modal(
                "Imports are off",
                "Imports are not set up here: APPROVALS_CHANNEL is not configured. "
                f"Please ask {self.settings.access_contact}.",
            )
            self.client.views_open(trigger_id=trigger_id, view=view)
            return "not_configured"
        if not self.access.allowed("import", user, channel):
            self.client.views_open(
                trigger_id=trigger_id,
                view=notice_modal("Import a CSV", self.access.refusal("import")),
            )
            self.record(user, "import", "", "refused")
            return "refused"
        metadata: dict[str, Any] = {"channel": channel}
        if file:
            metadata["file"] = {
                k: file.get(k) for k in ("id", "name", "size", "filetype", "url_private_download")
            }
        view = import_modal(metadata, self.settings.approvals_channel, file and file.get("name"))
        self.client.views_open(trigger_id=trigger_id, view=view)
        return "modal_opened"

    def receive(self, upload: Upload) -> str:
        """Check a shared CSV and, if it can be imported, ask for approval. Returns the outcome
        for the command log."""
        name, reply = upload.name, upload.reply
        try:
            outcome = self._receive(upload)
        except (FileRejected, DownloadRefused) as exc:
            self.tell(reply, f"I can't import *{escape(name)}*: {escape(exc.reason)}.")
            outcome = "file_rejected"
        except Exception:
            ref = hashlib.sha1(f"{upload.user}{name}{self.services.clock()}".encode()).hexdigest()
            log.exception("import of %s for %s failed (ref %s)", name, upload.user, ref[:8])
            self.tell(
                reply,
                f"Sorry, something went wrong checking *{escape(name)}* (ref {ref[:8]}). "
                "Nothing was written. The details are in the bot's log.",
            )
            outcome = "error"
        self.record(upload.user, "import", name, outcome, detail=upload.source)
        return outcome

    def _receive(self, upload: Upload) -> str:
        from bot.features.imports import import_directory, import_limits, local_today

        reply, file = upload.reply, upload.file
        self.tell(
            reply,
            f":mag: Checking *{escape(upload.name)}*: every row, against Salesforce and Stripe…",
        )
        if not file.get("url_private_download") or file.get("file_access") == "check_file_info":
            file = self.client.files_info(file=file["id"])["file"]
        limits = import_limits(self.settings)
        check_size(int(file.get("size") or 0), limits)
        data = download(file.get("url_private_download", ""), self.settings, limits.max_bytes)
        directory = import_directory(self.services)
        report = prepare_import(
            data,
            filename=upload.name,
            scenario=upload.scenario,
            directory=directory,
            stripe=self.services.stripe,
            limits=limits,
            today=local_today(self.services),
        )
        plan = report.plan
        writes = plan.accounts_create + plan.accounts_update + plan.payment_methods_create
        salesforce_unchecked = [c for c in report.skipped_checks if c.startswith("Salesforce")]
        if salesforce_unchecked or directory is None:
            # The plan itself (which Accounts exist, which tokens are in) rests on Salesforce.
            why = "; ".join(salesforce_unchecked) or "Salesforce is not configured"
            self._answer(
                reply,
                report,
                f":warning: Not sent for approval, because Salesforce could not be checked "
                f"({escape(why)}). Nothing was written; please try again later.",
            )
            return "checks_skipped"
        if not writes:
            self._answer(
                reply,
                report,
                "Nothing to import: every row is already in Salesforce or was rejected. "
                "Nothing was sent for approval.",
            )
            return "nothing_to_import"
        request = self._create(report, upload, directory)
        posted = self._post_for_approval(request, report)
        if posted is None:
            self.store.fail_unposted(
                request.id, "the approval message could not be posted", self.services.clock()
            )
            self._answer(
                reply,
                report,
                ":x: I could not post the request in the approvals channel, so it was not "
                "sent. Nothing was written; please try again.",
            )
            return "error"
        self._answer(
            reply,
            report,
            f":inbox_tray: Sent to <#{self.settings.approvals_channel}> for approval as request "
            f"#{request.id}{posted}. Nothing is written until someone else approves it; it "
            f"expires on {when(request.expires_at)}.",
        )
        return "sent_for_approval"

    def _answer(self, reply: Reply, report: ImportReport, outcome: str) -> None:
        """The report, privately, and the rejected rows as a CSV in the requester's DM."""
        text = f"{escape(report.filename)}: {escape(plan_summary(report))}. {outcome}"
        self.tell(reply, text, report_blocks(report, outcome))
        if report.has_rejections:
            # The answer is given; the CSV repeats its rejected rows. Slack refusing the file
            # must not turn "sent for approval" into "something went wrong".
            best_effort(
                "rejected rows for the requester", lambda: self._rejected_rows(reply, report)
            )

    def _rejected_rows(self, reply: Reply, report: ImportReport) -> None:
        """The rejected rows as a CSV, where the requester was answered (or in their DM)."""
        comment: str | None = (
            f"The {plural(report.plan.rejected_rows, 'row')} of *{escape(report.filename)}* "
            "that cannot be imported, each with the reason:"
        )
        channel = reply.channel if reply.channel and not reply.ephemeral else None
        if channel is None:  # files need a channel ID: posting to the user ID gives the DM's
            channel = self.client.chat_postMessage(channel=reply.user, text=comment)["channel"]
            comment = None
        self.client.files_upload_v2(
            channel=channel,
            content=error_csv(report).encode(CSV_ENCODING),
            filename=file_stem(report.filename) + "-rejected-rows.csv",
            title=f"Rows of {report.filename} that cannot be imported",
            initial_comment=comment,
        )

    def _create(self, report: ImportReport, upload: Upload, directory: Any) -> ImportRequest:
        now = self.services.clock()
        stripe_field, token_field = directory.stripe_customer_field, directory.token_field
        request_id = self.store.create(
            requester=upload.user,
            source=upload.source,
            file_name=report.filename,
            file_id=str(upload.file.get("id") or ""),
            scenario=report.scenario.value,
            note=upload.note.strip()[:500],
            report={**report_record(report), "preview": preview_lines(report)},
            reply_channel=upload.reply.channel or "",
            rows=[
                StoredRow(run_row(p, stripe_field=stripe_field, token_field=token_field), p)
                for p in report.planned
            ],
            created_at=now,
            expires_at=expiry(now, self.settings.import_expiry_hours),
        )
        return self.store.get(request_id)  # type: ignore[return-value]

    def _post_for_approval(self, request: ImportRequest, report: ImportReport) -> str | None:
        """Post the request; returns a link text for the requester ('' without a permalink),
        or None when the message could not be posted."""
        channel = self.settings.approvals_channel
        try:
            answer = self.client.chat_postMessage(
                channel=channel, text=request_summary(request), blocks=approval_blocks(request)
            )
        except Exception as exc:
            log.warning("import #%s: approval message not posted: %s", request.id, exc)
            return None
        ts = answer["ts"]
        self.store.set_fields(request.id, approval_channel=channel, approval_ts=ts)
        if report.has_rejections:
            best_effort(
                "rejected rows upload",
                lambda: self.client.files_upload_v2(
                    channel=channel,
                    thread_ts=ts,
                    content=error_csv(report).encode(CSV_ENCODING),
                    filename=file_stem(report.filename) + "-rejected-rows.csv",
                    title=f"Import #{request.id}: rows that will not be imported",
                    initial_comment=f"{plural(report.plan.rejected_rows, 'row')} of this file "
                    "cannot be imported and are left out; the reasons are in the CSV.",
                ),
            )
        link = best_effort(
            "permalink", lambda: self.client.chat_getPermalink(channel=channel, message_ts=ts)
        )
        return f" (<{link['permalink']}|see the request>)" if link else ""

    # --- decisions ----------------------------------------------------------------------------

    def _decide(
        self, request_id: int, user: str, approve: bool, reason: str = ""
    ) -> DecisionOutcome:
        return decide(
            self.store,
            request_id,
            decider=user,
            approve=approve,
            is_approver=self.access.user_allowed("approve", user),
            now=self.services.clock(),
            reason=reason,
        )

    def locate(self, request_id: int, channel: str, message_ts: str | None) -> None:
        """Remember the approval message from a click on it, in case the click beat the bot
        storing where it posted the message (a person rarely does; a script can)."""
        request = self.store.get(request_id)
        if request and not request.approval_ts and message_ts:
            self.store.set_fields(request_id, approval_channel=channel, approval_ts=message_ts)

    def approve(self, request_id: int, user: str, channel: str) -> None:
        outcome = self._decide(request_id, user, approve=True)
        self._after_decision(outcome, user, channel, "approve")
        if outcome.decided:
            self.runner.start(request_id)

    def ask_reason(self, request_id: int, user: str, channel: str, trigger_id: str) -> None:
        """Reject asks why first (a modal); the rules are checked before it opens."""
        now = self.services.clock()
        is_approver = self.access.user_allowed("approve", user)
        refusal = check(self.store.facts(request_id), user, is_approver=is_approver, now=now)
        if refusal is None:
            request = self.store.get(request_id)
            self.client.views_open(trigger_id=trigger_id, view=reject_modal(request))
            return
        expired_now = refusal is Refusal.EXPIRED and bool(
            expire_overdue(self.store, [request_id], now)
        )
        outcome = DecisionOutcome(
            self.store.facts(request_id), refusal=refusal, expired_now=expired_now
        )
        self._after_decision(outcome, user, channel, "reject")

    def reject(self, request_id: int, user: str, reason: str) -> None:
        outcome = self._decide(request_id, user, approve=False, reason=reason.strip())
        request = self.store.get(request_id)
        channel = request.approval_channel if request else self.settings.approvals_channel
        self._after_decision(outcome, user, channel, "reject")
        if outcome.decided and request:
            best_effort(
                "rejection notice",
                lambda: self.client.chat_postMessage(
                    channel=request.approval_channel,
                    thread_ts=request.approval_ts,
                    text=f"{mention(request.requester)} import #{request.id} was rejected by "
                    f"{mention(user)}: “{shown(request.reason)}”. Nothing was written.",
                ),
            )

    def _after_decision(
        self, outcome: DecisionOutcome, user: str, channel: str, action: str
    ) -> None:
        request_id = outcome.request.id if outcome.request else 0
        if outcome.decided or outcome.expired_now:
            self.refresh_approval_message(self.store.get(request_id))
        if outcome.decided:
            self.record(user, f"import {action}", f"#{request_id}", "ok")
            return
        text = refusal_text(outcome, contact=self.settings.access_contact, mention=mention)
        self.tell(Reply(user, channel), text)
        refusal = outcome.refusal.value if outcome.refusal else "refused"
        self.record(user, f"import {action}", f"#{request_id}", f"refused:{refusal}")

    def refresh_approval_message(self, request: ImportRequest | None) -> None:
        """Show the decision on the approval message (the buttons go with it)."""
        if request is None or not request.approval_ts:
            return
        best_effort(
            "approval message update",
            lambda: self.client.chat_update(
                channel=request.approval_channel,
                ts=request.approval_ts,
                text=request_summary(request),
                blocks=approval_blocks(request),
            ),
        )
