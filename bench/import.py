"""Import benchmark: figures to read, not a pass/fail test.

    python bench/import.py                 # offline read + validate of 10,000 and 100,000 rows
    python bench/import.py --rows 5000     # other sizes

Offline part: a CSV of new customers and payment methods (one row in fifty has a problem) is
generated in memory and run through `prepare_import` without Salesforce or Stripe, which is
every file-level check. It prints rows per second (best of a few runs, without tracing) and
the peak memory traced by `tracemalloc` during one more run (tracing slows Python down, so
speed and memory are measured apart).

API-call part (`api_call_figures`, `--calls-only` to run it alone): each scenario's 1,000-row
file is validated with the real Salesforce directory and run by the real engine and writer
against the Salesforce stand-in (Stripe is left out: its calls are not Salesforce's budget),
then the same for 50,000 new customers through Bulk API 2.0. It prints the calls the stand-in
answered against the floor: the validation's lookups plus one collection call per 200 records.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from dataclasses import dataclass
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from commands.ids import to_18  # noqa: E402
from commands.imports import Limits, prepare_import  # noqa: E402

HEADER = (
    "Account Name,Stripe Customer ID,Payment Gateway (record ID),Active,Payment Gateway Token,"
    "Payment Type,Card Type,Card Last Four,Card Expiration Month,Card Expiration Year,AutoPay"
)
GATEWAY = to_18("a0G000000000001")
TODAY = date(2026, 6, 15)


def generate(rows: int) -> bytes:
    """New customers with one card each; every 50th row carries a mistake."""
    lines = [HEADER]
    for i in range(rows):
        active, token = "true", f"pm_1Bench{i:08d}"
        if i % 50 == 7:
            active = "maybe"
        elif i % 50 == 21:
            token = f"tok_1Bench{i:08d}"
        autopay = "yes" if i % 3 else "no"
        lines.append(
            f'"Customer {i:06d}, Inc.",cus_Bench{i:08d},{GATEWAY},{active},{token},'
            f"Credit Card,Visa,{i % 10000:04d},{1 + i % 12},{2027 + i % 5},{autopay}"
        )
    return ("\r\n".join(lines) + "\r\n").encode()


@dataclass
class Figures:
    rows: int
    megabytes: float
    seconds: float
    peak_mb: float
    rejected: int

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds


def measure(rows: int, repeats: int) -> Figures:
    data = generate(rows)
    limits = Limits(max_bytes=len(data), max_rows=rows)

    def prepare():  # noqa: ANN202 - ImportReport
        return prepare_import(
            data,
            filename="bench.csv",
            scenario=None,
            directory=None,
            stripe=None,
            limits=limits,
            today=TODAY,
        )

    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        report = prepare()
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    prepare()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return Figures(rows, len(data) / 1e6, best, peak / 1e6, report.plan.rejected_rows)


def offline_figures(sizes: list[int], repeats: int) -> None:
    print("Offline read + validate (prepare_import without Salesforce or Stripe)")
    print(f"{'rows':>9} {'file MB':>8} {'seconds':>8} {'rows/s':>9} {'peak MB':>8} {'rejected':>9}")
    for rows in sizes:
        f = measure(rows, repeats if rows <= 10_000 else 1)
        print(
            f"{f.rows:>9,} {f.megabytes:>8.1f} {f.seconds:>8.2f} {f.rows_per_second:>9,.0f} "
            f"{f.peak_mb:>8.1f} {f.rejected:>9,}"
        )


# --- API calls: a real run against the Salesforce stand-in --------------------------------

STRIPE_FIELD = "Stripe_Customer_Id__c"
TOKEN_FIELD = "blng__PaymentGatewayToken__c"


@dataclass
class CallFigures:
    scenario: str
    rows: int
    written: int  # records created or updated
    writes_floor: int  # one collection call per 200 records, or the bulk jobs' fixed calls
    lookups: int  # the validation's queries (and describes), counted once in the floor
    run_calls: int  # the run: writes, read-backs (and bulk polling)
    seconds: float

    @property
    def floor(self) -> int:
        return self.lookups + self.writes_floor

    @property
    def actual(self) -> int:
        return self.lookups + self.run_calls


def _scenario_file(scenario: str, rows: int, org, gateway: str) -> tuple[bytes, int]:  # noqa: ANN001
    """A clean file for `scenario` and how many records the run writes."""
    methods = "Payment Gateway (record ID),Active,Payment Gateway Token"
    header = {
        "new": f"Account Name,Stripe Customer ID,{methods}",
        "existing": f"Account Id,Stripe Customer ID,{methods}",
        "payment-methods": f"Account Id,{methods}",
    }[scenario]
    ids: list[str] = []
    if scenario != "new":
        linked = scenario == "payment-methods"
        ids = org.create_many(
            "Account",
            [
                {
                    "Name": f"Existing {i:06d}",
                    **({STRIPE_FIELD: f"cus_Call{i:08d}"} if linked else {}),
                }
                for i in range(rows)
            ],
        )
    lines = [header]
    for i in range(rows):
        cus, token = f"cus_Call{i:08d}", f"pm_1Call{i:08d}"
        lines.append(
            {
                "new": f"Customer {i:06d},{cus},{gateway},true,{token}",
                "existing": f"{ids[i] if ids else ''},{cus},{gateway},true,{token}",
                "payment-methods": f"{ids[i] if ids else ''},{gateway},true,{token}",
            }[scenario]
        )
    written = rows * (2 if scenario != "payment-methods" else 1)
    return ("\n".join(lines) + "\n").encode(), written


def measure_calls(scenario: str, rows: int, bulk_threshold: int = 2000) -> CallFigures:
    """Validate with the real directory, then run with the real writer and a SQLite journal,
    counting the API calls the Salesforce stand-in answered in each step."""
    import tempfile
    from datetime import UTC, datetime

    from bot.config import load_settings
    from bot.imports_store import ImportStore, StoredRow
    from bot.salesforce.client import SalesforceClient
    from bot.salesforce.import_writer import SalesforceImportWriter
    from bot.salesforce.imports_directory import SalesforceImportDirectory
    from bot.storage import Storage
    from commands.imports import Scenario
    from commands.imports.approval import Status, expiry
    from commands.imports.run import ImportRun, RunOptions, run_row
    from sandbox.salesforce import Org, start_salesforce

    now = datetime.now(UTC)
    org = Org(stripe_customer_field=STRIPE_FIELD)
    server = start_salesforce(org, port=0)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(
                {**server.settings(), "DATABASE_PATH": f"{tmp}/bench.db"}, dotenv_path=None
            )
            gateway = org.create(
                "blng__PaymentGateway__c",
                {"Name": "Stripe", "blng__Active__c": True, "blng__GatewayType__c": "Stripe"},
            )
            data, written = _scenario_file(scenario, rows, org, gateway)
            client = SalesforceClient(settings)
            directory = SalesforceImportDirectory(client)
            start, before = time.perf_counter(), server.api_calls
            report = prepare_import(
                data,
                filename="calls.csv",
                scenario=Scenario(scenario),
                directory=directory,
                stripe=None,
                limits=Limits(max_bytes=len(data), max_rows=rows),
                today=TODAY,
            )
            lookups = server.api_calls - before
            assert not report.plan.rejected_rows, report.problems[:3]
            store = ImportStore(Storage(settings.database_path))
            names = {"stripe_field": STRIPE_FIELD, "token_field": TOKEN_FIELD}
            request_id = store.create(
                requester="U_BENCH", source="bench", file_name="calls.csv", file_id="",
                scenario=scenario, note="", report={}, reply_channel="",
                rows=[StoredRow(run_row(p, **names), p) for p in report.planned],
                created_at=now, expires_at=expiry(now, 24),
            )  # fmt: skip
            store.decide(request_id, Status.APPROVED, decided_by="U_OK", decided_at=now)
            writer = SalesforceImportWriter(client, poll_seconds=0.05, **names)
            options = RunOptions(bulk_threshold=bulk_threshold)
            before = server.api_calls
            summary = ImportRun(store.journal(request_id), writer, directory, options).run()
            run_calls = server.api_calls - before
            seconds = time.perf_counter() - start
            assert summary.stopped is None and not summary.unfinished, summary.stopped
    finally:
        server.stop()
        org.close()
    bulk = rows > bulk_threshold
    phases = 1 if scenario == "payment-methods" else 2
    if bulk:  # per job: create, upload, close, one status poll, two result files
        jobs = phases * -(-rows // 10_000)
        writes_floor = jobs * 6
    else:
        writes_floor = phases * -(-rows // 200)
    return CallFigures(scenario, rows, written, writes_floor, lookups, run_calls, seconds)


def api_call_figures(rows: int, bulk_rows: int) -> None:
    print(f"Salesforce API calls: a {rows:,}-row import of each scenario, and {bulk_rows:,} "
          "rows through Bulk API 2.0")  # fmt: skip
    print(
        f"{'scenario':<16} {'rows':>7} {'written':>8} {'lookups':>8} {'run':>6} "
        f"{'floor':>6} {'actual':>7} {'ratio':>6} {'seconds':>8}"
    )
    cases = [("new", rows, 2000), ("existing", rows, 2000), ("payment-methods", rows, 2000)]
    if bulk_rows:
        cases.append(("new", bulk_rows, 2000))
    for scenario, n, threshold in cases:
        f = measure_calls(scenario, n, threshold)
        label = scenario + (" (bulk)" if n > threshold else "")
        print(
            f"{label:<16} {f.rows:>7,} {f.written:>8,} {f.lookups:>8,} {f.run_calls:>6,} "
            f"{f.floor:>6,} {f.actual:>7,} {f.actual / f.floor:>6.2f} {f.seconds:>8.1f}"
        )
    print(
        "floor = the validation's lookups + one collection call per 200 records written (bulk: "
        "6 calls per job of 10,000);\nrun = writes + one read-back query per batch of 200 "
        "(what Salesforce already holds, re-read before each write)."
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per size (best kept)")
    parser.add_argument("--call-rows", type=int, default=1000, help="rows per API-call run")
    parser.add_argument(
        "--bulk-rows", type=int, default=50_000, help="rows of the Bulk API run (0: skip)"
    )
    parser.add_argument("--calls-only", action="store_true", help="skip the offline figures")
    args = parser.parse_args()
    if not args.calls_only:
        offline_figures(args.rows, args.repeats)
        print()
    api_call_figures(args.call_rows, args.bulk_rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
