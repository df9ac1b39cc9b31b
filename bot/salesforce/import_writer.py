"""The import run's writes: `commands.imports.run.ImportWriter` over `SalesforceClient`.

Small batches go through sObject Collections (one call of at most 200 records,
`allOrNone=false`, results in input order). Batches of a run above IMPORT_BULK_THRESHOLD go
through one Bulk API 2.0 ingest job each; the job's result files list records by content, not
position, so each result is matched back to its record by the field that identifies it (the
token, the Stripe Customer ID, or the Id of an updated Account). Salesforce's error texts can
quote a field's value, so tokens in them are masked before they reach the journal and CSVs.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from bot.salesforce.client import SalesforceClient
from bot.storage import mask_tokens_in
from commands.imports.run import Op, WriteBatch, WriteResult

PAYMENT_METHOD = "blng__PaymentMethod__c"


class SalesforceImportWriter:
    def __init__(
        self,
        client: SalesforceClient,
        *,
        stripe_field: str,
        token_field: str,
        poll_seconds: float = 2.0,
    ):
        self.client = client
        self.poll_seconds = poll_seconds
        # op -> (sobject, bulk operation, the field that identifies a record in bulk results)
        self._targets = {
            Op.ACCOUNT_CREATE: ("Account", "insert", stripe_field),
            Op.ACCOUNT_UPDATE: ("Account", "update", "Id"),
            Op.PAYMENT_METHOD_CREATE: (PAYMENT_METHOD, "insert", token_field),
        }

    def write(self, batch: WriteBatch, on_job: Callable[[str], None]) -> list[WriteResult | None]:
        sobject, operation, key_field = self._targets[batch.op]
        if not batch.bulk:
            write = self.client.update if operation == "update" else self.client.create
            saved = write(sobject, batch.records, all_or_none=False)
            return [WriteResult(r.success, r.id, mask_tokens_in(r.error_text)) for r in saved]
        answer = self.client.bulk_insert(
            sobject,
            bulk_csv(batch.records),
            poll_seconds=self.poll_seconds,
            operation=operation,
            on_job_created=on_job,
        )
        return match_bulk_results(batch.records, answer, key_field)

    def settle_job(self, job_id: str) -> None:
        self.client.bulk_settle(job_id, poll_seconds=self.poll_seconds)


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def bulk_csv(records: list[dict[str, Any]]) -> str:
    """The upload for one job: every field any record has, LF line endings. Data for
    Salesforce, not for a spreadsheet, so cells are written exactly as they are."""
    columns = list(dict.fromkeys(name for record in records for name in record))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for record in records:
        writer.writerow([_cell(record.get(name)) for name in columns])
    return out.getvalue()


def match_bulk_results(
    records: list[dict[str, Any]], answer: dict[str, Any], key_field: str
) -> list[WriteResult | None]:
    """One result per record in order; None for a record neither result file mentions (the
    job stopped before it), which the engine reads back and sends again if missing."""
    outcome: dict[str, WriteResult] = {}
    for row in csv.DictReader(io.StringIO(answer.get("successfulResults") or "")):
        outcome[row.get(key_field) or row.get("sf__Id", "")] = WriteResult(True, row["sf__Id"])
    for row in csv.DictReader(io.StringIO(answer.get("failedResults") or "")):
        key = row.get(key_field) or ""
        error = mask_tokens_in(row.get("sf__Error") or "") or "rejected by Salesforce"
        outcome[key] = WriteResult(False, None, error)
    return [outcome.get(_cell(record.get(key_field))) for record in records]
