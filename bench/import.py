"""Import benchmark: figures to read, not a pass/fail test.

    python bench/import.py                 # offline read + validate of 10,000 and 100,000 rows
    python bench/import.py --rows 5000     # other sizes

Offline part: a CSV of new customers and payment methods (one row in fifty has a problem) is
generated in memory and run through `prepare_import` without Salesforce or Stripe, which is
every file-level check. It prints rows per second (best of a few runs, without tracing) and
the peak memory traced by `tracemalloc` during one more run (tracing slows Python down, so
speed and memory are measured apart).

The API-call part (Salesforce calls for a 1,000-row import of each scenario against the floor,
and a Bulk API 2.0 run of 50,000 rows) is `api_call_figures`, filled in with the run engine.
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


def api_call_figures() -> None:
    """Salesforce API calls per scenario against the floor; filled in with the run engine."""
    print("API-call figures: not measured yet (they come with the run engine).")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per size (best kept)")
    args = parser.parse_args()
    offline_figures(args.rows, args.repeats)
    print()
    api_call_figures()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
