"""Driving an import end to end through the stand-ins, as people in Slack would.

A thin layer over the `bot_rig` fixture: make Stripe customers with cards and Salesforce
Accounts that no other test uses (the seeded org is shared by a test module), put a CSV in
Slack, submit the upload modal, find the approval message, click, and read the result CSVs
the bot uploaded to the thread.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from commands.imports.approval import Status, expiry
from sandbox.slack_api import (
    APPROVALS_CHANNEL,
    APPROVER,
    REQUESTER,
    SUPPORT_CHANNEL,
    serve_wsgi,
)
from sandbox.stripe import post_seed_ops
from tests.import_fakes import EXISTING_HEADER, NEW_HEADER, PM_HEADER

NEW, EXISTING, PM_ONLY = NEW_HEADER, EXISTING_HEADER, PM_HEADER
TOKEN_FIELD = "blng__PaymentGatewayToken__c"
STRIPE_FIELD = "Stripe_Customer_Id__c"
WAIT = 30.0  # seconds; generous for two shared cores, never a timing assertion

_unique = itertools.count(1)


def stored_request(
    store: Any,
    rows: Iterable[Any] = (),
    *,
    created_at: datetime,
    requester: str = "U_REQ",
    hours: int = 24,
    approved: bool = False,
) -> int:
    """An import request in `store` (a `bot.imports_store.ImportStore`), approved by U_APP
    when asked, with `rows` (`StoredRow`s) as its journal."""
    request_id = store.create(
        requester=requester,
        source="modal",
        file_name="test.csv",
        file_id="F1",
        scenario="new",
        note="",
        report={},
        reply_channel="C1",
        rows=rows,
        created_at=created_at,
        expires_at=expiry(created_at, hours),
    )
    if approved:
        store.decide(request_id, Status.APPROVED, decided_by="U_APP", decided_at=created_at)
    return request_id


class Recorder:
    """A WSGI app that records the headers of every request it gets (a host that is not
    Slack's: nothing should ever reach it)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list:
        self.requests.append({k: v for k, v in environ.items() if k.startswith("HTTP_")})
        start_response("200 OK", [("Content-Type", "text/csv")])
        return [b"Account Name\nEvil\n"]


@contextmanager
def elsewhere() -> Iterator[tuple[Recorder, str]]:
    """A recording server on 127.0.0.1: (recorder, base URL)."""
    recorder = Recorder()
    server = serve_wsgi(recorder)
    try:
        yield recorder, server.url
    finally:
        server.stop()


def csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def read_csv(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


@dataclass
class ImportWorld:
    rig: Any  # tests.plugins.bot.BotRig

    @property
    def slack(self) -> Any:
        return self.rig.slack

    # --- data in Stripe and Salesforce ------------------------------------------------------

    def gateway(self, key: str = "stripe") -> str:
        return self.rig.seed.gateways[key]["id"]

    def customers(self, stem: str, n: int) -> list[tuple[str, str, str]]:
        """(name, customer id, card token) for `n` new customers, created in one batch through
        the Stripe stand-in's seed route (the SDK would take a call per object)."""
        names = [self.unique(stem) for _ in range(n)]
        ops: list[dict[str, Any]] = []
        for i, name in enumerate(names):
            ops.append({"op": "customer", "ref": f"c{i}", "params": {"name": name}})
            ops.append(
                {
                    "op": "payment_method",
                    "ref": f"p{i}",
                    "params": {
                        "type": "card",
                        "card": {
                            "number": "4242424242424242",
                            "exp_month": 12,
                            "exp_year": 2031,
                            "cvc": "123",
                        },
                    },
                    "attach": f"@c{i}",
                }  # fmt: skip
            )
        refs = post_seed_ops(self.rig.stripe.api_base, ops)
        return [(name, refs[f"c{i}"], refs[f"p{i}"]) for i, name in enumerate(names)]

    def account(self, name: str, stripe_id: str | None = None) -> str:
        fields: dict[str, Any] = {"Name": name}
        if stripe_id:
            fields[STRIPE_FIELD] = stripe_id
        return self.rig.org.create("Account", fields)

    def unique(self, stem: str) -> str:
        return f"{stem} {next(_unique):03d}"

    # --- what Salesforce holds ----------------------------------------------------------------

    def payment_methods(self, tokens: list[str]) -> list[dict[str, Any]]:
        quoted = ",".join(f"'{t}'" for t in tokens)
        return self.rig.org.query_all(
            f"SELECT Id, blng__Account__c, blng__Active__c, blng__PaymentGateway__c, "
            f"{TOKEN_FIELD} FROM blng__PaymentMethod__c WHERE {TOKEN_FIELD} IN ({quoted})"
        )

    def accounts_with(self, stripe_ids: list[str]) -> list[dict[str, Any]]:
        quoted = ",".join(f"'{s}'" for s in stripe_ids)
        return self.rig.org.query_all(
            f"SELECT Id, Name, {STRIPE_FIELD} FROM Account WHERE {STRIPE_FIELD} IN ({quoted})"
        )

    # --- Slack --------------------------------------------------------------------------------

    def upload(self, data: bytes, name: str = "import.csv", user: str = REQUESTER) -> dict:
        return self.slack.add_file(data, name, user=user)

    def open_modal(self, user: str = REQUESTER, channel: str = SUPPORT_CHANNEL) -> dict:
        before = len(self.slack.calls_to("views.open"))
        self.rig.sender.slash("/billing", "import", user=user, channel=channel)
        self.slack.wait_for("views.open", before + 1, WAIT)
        view = self.slack.current_view(user)
        assert view is not None, "no modal opened"
        return view

    def submit(
        self,
        file: dict,
        user: str = REQUESTER,
        channel: str = SUPPORT_CHANNEL,
        scenario: str | None = None,
        note: str = "",
    ) -> Any:
        view = self.open_modal(user, channel)
        values: dict[str, Any] = {"file": [file["id"]]}
        if scenario:
            values["choice"] = scenario
        if note:
            values["text"] = note
        return self.rig.sender.view_submission(user, view, values)

    def private_replies(self, user: str = REQUESTER, channel: str = SUPPORT_CHANNEL) -> list:
        return self.slack.ephemeral(channel, user)

    def wait_private(self, needle: str, user: str = REQUESTER, channel: str = SUPPORT_CHANNEL):
        def find() -> dict | None:
            return next(
                (m for m in self.private_replies(user, channel) if needle in m.get("text", "")),
                None,
            )

        return self.slack.wait_until(find, WAIT, what=f"a private reply containing {needle!r}")

    def approval_messages(self) -> list[dict]:
        return [
            m
            for m in self.slack.messages(APPROVALS_CHANNEL)
            if m.get("text", "").startswith("Import request #")
            and m.get("thread_ts", m["ts"]) == m["ts"]
        ]

    def wait_request(self, file_name: str) -> dict:
        def find() -> dict | None:
            return next((m for m in self.approval_messages() if file_name in m["text"]), None)

        return self.slack.wait_until(find, WAIT, what=f"an approval request for {file_name}")

    def message(self, message: dict) -> dict:
        return self.slack.message(APPROVALS_CHANNEL, message["ts"])

    def click(self, message: dict, action: str, user: str = APPROVER) -> Any:
        return self.rig.sender.click(user, self.message(message), action)

    def wait_message(self, message: dict, check: Callable[[dict], bool], what: str) -> dict:
        def find() -> dict | None:
            current = self.message(message)
            return current if current and check(current) else None

        return self.slack.wait_until(find, WAIT, what=what)

    def thread(self, message: dict) -> list[dict]:
        return self.slack.thread(APPROVALS_CHANNEL, message["ts"])

    def wait_results(self, message: dict, timeout: float = WAIT) -> dict[str, list[dict]]:
        """The success and error CSVs posted at the end of the run, by kind."""

        def find() -> dict[str, list[dict]] | None:
            files = {
                f["name"]: f
                for m in self.thread(message)
                for f in m.get("files") or []
                if f["name"].endswith(("-success.csv", "-errors.csv"))
            }
            if len(files) < 2:
                return None
            return {
                ("success" if name.endswith("-success.csv") else "errors"): read_csv(
                    self.slack.file_content(f["id"])
                )
                for name, f in files.items()
            }

        return self.slack.wait_until(find, timeout, what="the result CSVs in the thread")

    def request_number(self, message: dict) -> int:
        return int(message["text"].split("#", 1)[1].split(" ", 1)[0])


def text_of(message: dict) -> str:
    """A message's text and the text of its blocks, as a person reads it."""
    parts = [message.get("text", "")]
    for block in message.get("blocks") or []:
        for key in ("text",):
            if isinstance(block.get(key), dict):
                parts.append(block[key].get("text", ""))
        for item in block.get("fields") or []:
            parts.append(item.get("text", ""))
        for item in block.get("elements") or []:
            if isinstance(item, dict) and "text" in item:
                text = item["text"]
                parts.append(text.get("text", "") if isinstance(text, dict) else str(text))
    return "\n".join(parts)


def buttons(message: dict) -> list[str]:
    return [
        el.get("action_id", "")
        for block in message.get("blocks") or []
        if block.get("type") == "actions"
        for el in block.get("elements", [])
    ]
