"""Bulk API 2.0 ingest jobs: create, upload CSV, UploadComplete, results.

Salesforce processes a job asynchronously; the stand-in processes it when the client marks the
upload complete (the PATCH answers `UploadComplete`, the next GET shows `JobComplete`), which
keeps polling clients such as `sf.bulk2.Account.insert(..., wait=...)` on their normal path.
Rows succeed or fail one by one (Bulk API is never all-or-none) with the same checks as a
REST write; CSV values follow Bulk API rules: an empty cell leaves a field alone, `#N/A`
clears it, and a mistyped value is INVALID_TYPE_ON_FIELD_IN_RECORD. A file whose line endings
do not match the job's `lineEnding` fails the job, as in Salesforce.
"""

from __future__ import annotations

import csv
import io
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from .errors import SalesforceError
from .org import Org
from .schema import BULK_JOB_PREFIX
from .values import format_datetime, normalize_id

DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
TERMINAL = ("JobComplete", "Failed", "Aborted")


def _job_error(status: int, code: str, message: str) -> SalesforceError:
    return SalesforceError(status, code, message)


@dataclass
class IngestJob:
    id: str
    operation: str
    sobject: str
    external_id_field: str | None
    line_ending: str
    column_delimiter: str
    created_by: str
    created_date: str
    api_version: str
    state: str = "Open"
    modstamp: str = ""
    data: str | None = None
    header: list[str] = field(default_factory=list)
    successes: list[tuple[str, bool, list[str]]] = field(default_factory=list)
    failures: list[tuple[str, str, list[str]]] = field(default_factory=list)
    unprocessed: list[list[str]] = field(default_factory=list)
    error_message: str | None = None

    def info(self, full: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.sobject,
            "createdById": self.created_by,
            "createdDate": self.created_date,
            "systemModstamp": self.modstamp or self.created_date,
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.api_version),
            "jobType": "V2Ingest",
            "contentUrl": f"services/data/v{self.api_version}/jobs/ingest/{self.id}/batches",
            "lineEnding": self.line_ending,
            "columnDelimiter": self.column_delimiter,
        }
        if self.external_id_field:
            body["externalIdFieldName"] = self.external_id_field
        if full:
            body.update(
                numberRecordsProcessed=len(self.successes) + len(self.failures),
                numberRecordsFailed=len(self.failures),
                retries=0,
                totalProcessingTime=0,
                apiActiveProcessingTime=0,
                apexProcessingTime=0,
            )
            if self.error_message:
                body["errorMessage"] = self.error_message
        return body


class BulkJobs:
    """The ingest jobs of one server, kept in memory."""

    def __init__(self, org: Org) -> None:
        self.org = org
        self.jobs: OrderedDict[str, IngestJob] = OrderedDict()
        self._lock = threading.Lock()

    def _job(self, job_id: str) -> IngestJob:
        job = self.jobs.get(job_id)
        if job is None:
            raise _job_error(404, "NOT_FOUND", f"Could not find job with id: {job_id}")
        return job

    def create(self, body: Any, version: str) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _job_error(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        operation = body.get("operation")
        if operation not in OPERATIONS:
            raise _job_error(400, "INVALIDJOB", f"InvalidJob : Invalid operation: {operation}")
        name = body.get("object")
        if not isinstance(name, str):
            raise _job_error(400, "INVALIDJOB", "InvalidJob : object is required")
        try:
            obj = self.org.sobject(name)
        except SalesforceError:
            raise _job_error(
                400, "INVALIDJOB", f"InvalidJob : Unable to find object: {name}"
            ) from None
        if body.get("contentType", "CSV") != "CSV":
            raise _job_error(400, "INVALIDJOB", "InvalidJob : contentType must be CSV")
        line_ending = body.get("lineEnding", "LF")
        delimiter = body.get("columnDelimiter", "COMMA")
        if line_ending not in LINE_ENDINGS:
            raise _job_error(400, "INVALIDJOB", f"InvalidJob : Invalid lineEnding: {line_ending}")
        if delimiter not in DELIMITERS:
            raise _job_error(
                400, "INVALIDJOB", f"InvalidJob : Invalid columnDelimiter: {delimiter}"
            )
        external = body.get("externalIdFieldName")
        if operation == "upsert":
            f = obj.field(external) if isinstance(external, str) else None
            if f is None or not (f.external_id or f.name == "Id"):
                raise _job_error(
                    400, "INVALIDJOB", f"InvalidJob : External ID was blank or invalid: {external}"
                )
            external = f.name
        now = format_datetime(self.org.clock())
        job = IngestJob(
            id=self.org.mint_id(BULK_JOB_PREFIX),
            operation=operation,
            sobject=obj.name,
            external_id_field=external if operation == "upsert" else None,
            line_ending=line_ending,
            column_delimiter=delimiter,
            created_by=self.org.default_user_id,
            created_date=now,
            api_version=version,
        )
        with self._lock:
            self.jobs[job.id] = job
        return job.info(full=False)

    def upload(self, job_id: str, data: bytes) -> None:
        job = self._job(job_id)
        with self._lock:
            if job.state != "Open":
                raise _job_error(
                    409,
                    "INVALIDJOBSTATE",
                    f"Job {job_id} is not open for uploads (state {job.state})",
                )
            if job.data is not None:
                raise _job_error(
                    400,
                    "INVALIDJOBSTATE",
                    f"Found multiple contents for job: <{job_id}>, please 'Close' / 'Abort' / "
                    "'Delete' the current Job then create a new Job and make sure the content "
                    "is uploaded only once",
                )
            text = data.decode("utf-8-sig", errors="replace")
            job.data = text

    def set_state(self, job_id: str, body: Any) -> dict[str, Any]:
        job = self._job(job_id)
        state = body.get("state") if isinstance(body, dict) else None
        with self._lock:
            if state == "UploadComplete":
                if job.state != "Open":
                    raise _job_error(
                        400, "INVALIDJOBSTATE", f"Cannot close job in state {job.state}"
                    )
                job.state = "UploadComplete"
                answer = job.info(full=False)
                self._process(job)
                return answer
            if state == "Aborted":
                if job.state in TERMINAL:
                    raise _job_error(
                        400, "INVALIDJOBSTATE", f"Cannot abort job in state {job.state}"
                    )
                job.state = "Aborted"
                job.modstamp = format_datetime(self.org.clock())
                if job.data:
                    job.header, rows = self._rows(job)
                    job.unprocessed = rows
                return job.info(full=False)
        raise _job_error(400, "INVALIDJOBSTATE", f"Invalid state: {state}")

    def delete(self, job_id: str) -> None:
        job = self._job(job_id)
        with self._lock:
            if job.state not in TERMINAL:
                raise _job_error(400, "INVALIDJOBSTATE", f"Cannot delete job in state {job.state}")
            del self.jobs[job_id]

    def info(self, job_id: str) -> dict[str, Any]:
        return self._job(job_id).info()

    def list(self) -> dict[str, Any]:
        return {
            "done": True,
            "records": [job.info(full=False) for job in self.jobs.values()],
            "nextRecordsUrl": None,
        }

    # processing --------------------------------------------------------------------------

    def _rows(self, job: IngestJob) -> tuple[list[str], list[list[str]]]:
        assert job.data is not None
        reader = csv.reader(
            io.StringIO(job.data, newline=""), delimiter=DELIMITERS[job.column_delimiter]
        )
        rows = [row for row in reader if row != []]
        if not rows:
            return [], []
        return rows[0], rows[1:]

    def _fail(self, job: IngestJob, message: str) -> None:
        job.state = "Failed"
        job.error_message = message
        job.modstamp = format_datetime(self.org.clock())

    def _process(self, job: IngestJob) -> None:
        if not job.data:
            self._fail(job, "InvalidBatch : No data uploaded for this job")
            return
        has_crlf = "\r\n" in job.data
        bare_lf = job.data.replace("\r\n", "").count("\n") > 0
        if (job.line_ending == "LF" and has_crlf) or (job.line_ending == "CRLF" and bare_lf):
            self._fail(
                job,
                f"ClientInputError : LineEnding is invalid on user data. Current "
                f"LineEnding setting is {job.line_ending}",
            )
            return
        header, rows = self._rows(job)
        job.header = header
        obj = self.org.sobject(job.sobject)
        seen: set[str] = set()
        for name in header:
            f = obj.field(name)
            if f is None:
                self._fail(job, f"InvalidBatch : Field name not found : {name}")
                return
            if f.name.lower() in seen:
                self._fail(job, f"InvalidBatch : Duplicate field name: {name}")
                return
            seen.add(f.name.lower())
        if job.operation in ("delete", "hardDelete") and [h.lower() for h in header] != ["id"]:
            self._fail(job, "InvalidBatch : The 'delete' batch must contain only ids")
            return
        if job.operation == "update" and "id" not in seen:
            self._fail(job, "InvalidBatch : Field name not found : Id")
            return
        inserts: list[tuple[dict[str, str], list[str]]] = []
        for row in rows:
            if len(row) != len(header):
                job.failures.append(
                    ("", "INVALID_FIELD:Number of columns does not match the header:--", row)
                )
                continue
            values = dict(zip(header, row, strict=True))
            has_id = any(k.lower() == "id" and v for k, v in values.items())
            if job.operation == "insert" or (job.operation == "upsert" and not has_id):
                inserts.append((values, row))
            else:
                self._process_row(job, values, row)
        if inserts:
            results = self.org.create_each(job.sobject, [v for v, _ in inserts], csv=True)
            for (_, row), result in zip(inserts, results, strict=True):
                if isinstance(result, SalesforceError):
                    job.failures.append(("", self._error_text(result), row))
                else:
                    job.successes.append((result, True, row))
        job.state = "JobComplete"
        job.modstamp = format_datetime(self.org.clock())

    def _process_row(self, job: IngestJob, values: dict[str, str], row: list[str]) -> None:
        record_id = ""
        try:
            id_value = next((v for k, v in values.items() if k.lower() == "id"), "")
            fields = {k: v for k, v in values.items() if k.lower() != "id"}
            operation = "update" if job.operation == "upsert" else job.operation
            normalized = normalize_id(id_value) or ""
            record_id = normalized
            if not normalized:
                raise SalesforceError(400, "MALFORMED_ID", f"Id: invalid id: {id_value}", ["Id"])
            try:
                if operation == "update":
                    self.org.update(job.sobject, normalized, fields, csv=True)
                else:
                    self.org.delete(job.sobject, normalized)
            except SalesforceError as exc:
                if exc.error_code == "NOT_FOUND":
                    raise SalesforceError(
                        400, "ENTITY_IS_DELETED", "entity is deleted", []
                    ) from None
                raise
            job.successes.append((normalized, False, row))
        except SalesforceError as exc:
            job.failures.append((record_id, self._error_text(exc), row))

    @staticmethod
    def _error_text(exc: SalesforceError) -> str:
        """The `sf__Error` cell: `CODE:message:field,field --`, as Salesforce writes it."""
        return f"{exc.error_code}:{exc.message}:{','.join(exc.fields or [])} --"

    # results -----------------------------------------------------------------------------

    def results(self, job_id: str, kind: str) -> str:
        job = self._job(job_id)
        kind = kind.lower()
        if kind in ("successfulresults", "failedresults") and job.state != "JobComplete":
            raise _job_error(
                400, "INVALIDJOBSTATE", f"Results are not available for a job in state {job.state}"
            )
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator=LINE_ENDINGS[job.line_ending])
        if kind == "successfulresults":
            writer.writerow(["sf__Id", "sf__Created", *job.header])
            for record_id, created, row in job.successes:
                writer.writerow([record_id, "true" if created else "false", *row])
        elif kind == "failedresults":
            writer.writerow(["sf__Id", "sf__Error", *job.header])
            for record_id, error, row in job.failures:
                writer.writerow([record_id, error, *row])
        else:
            writer.writerow(job.header)
            writer.writerows(job.unprocessed)
        return buffer.getvalue()
