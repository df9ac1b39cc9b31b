"""Audit benchmark: Salesforce API calls, memory and Stripe time against their floors.

    python bench/audit.py                           # 50,000 payment methods, Stripe sample 500
    python bench/audit.py --payment-methods 5000 --stripe-sample 0   # cross-check them all

Starts the Salesforce stand-in (HTTPS, pages of 2,000 records) and localstripe on 127.0.0.1,
seeds an org with enough Accounts for the requested payment methods (the seed's generated
Accounts hold about two each, with its documented defects), then runs every audit check the
way the bot does: the real `SalesforceClient` (simple-salesforce) and `StripeGateway` (Stripe
SDK, test-mode rate limit) under the adapter `bot/salesforce/audit_source.py`.

Printed, as ratios (figures to read, not a test):

- Salesforce API calls against the floor. Floor = one call per aggregate query (each
  `SELECT COUNT()` and the `GROUP BY … HAVING`) + one call per 2,000 records for every paged
  query (at least one call each): the payment-method stream for the Stripe cross-check, the
  Accounts-with-a-Stripe-ID stream, the settings and gateways, and the offending records each
  check lists. Describe calls (field discovery) are shown apart.
- Peak memory (tracemalloc) of the whole audit, against the peak of merely holding every
  payment-method record in memory at once (what an audit that paged everything into a list
  would need before judging anything).
- The Stripe cross-check's time inside Stripe calls against its rate-limit floor: requests /
  rate. Seeding Stripe at this size is quick (in-process bulk route), but cross-checking
  50,000 payment methods at test mode's 20 requests/s would take over an hour: the default
  uses AUDIT_STRIPE_SAMPLE (a deterministic sample) and says so.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import load_settings  # noqa: E402
from bot.salesforce.audit_source import PM, SalesforceAuditSource  # noqa: E402
from bot.salesforce.client import SalesforceClient  # noqa: E402
from bot.stripe_gateway import StripeGateway  # noqa: E402
from commands.audit import AuditOptions, Status, run_checks  # noqa: E402
from commands.audit.source import AuditWindow  # noqa: E402
from sandbox.salesforce import Org, start_salesforce  # noqa: E402
from sandbox.seed import plan, seed  # noqa: E402
from sandbox.stripe import start_stripe  # noqa: E402

PAGE = 2000
STRIPE_FIELD = "Stripe_Customer_Id__c"


class SalesforceMeter:
    """Wraps a client's `query` and `count` to note every query and the records it paged."""

    def __init__(self, client: SalesforceClient):
        self.queries: list[tuple[str, str, int]] = []  # (kind, soql, records)
        query, count = client.query, client.count

        def metered_query(soql: str) -> Iterator[dict[str, Any]]:
            seen = 0
            try:
                for record in query(soql):
                    seen += 1
                    yield record
            finally:
                kind = "aggregate" if "COUNT(" in soql.upper() else "paged"
                self.queries.append((kind, soql, seen))

        def metered_count(soql: str) -> int:
            self.queries.append(("aggregate", soql, 0))
            return count(soql)

        client.query = metered_query  # type: ignore[method-assign]
        client.count = metered_count  # type: ignore[method-assign]

    @property
    def floor(self) -> int:
        return sum(
            1 if kind == "aggregate" else max(1, math.ceil(n / PAGE)) for kind, _, n in self.queries
        )

    def paged(self) -> int:
        return sum(n for kind, _, n in self.queries if kind == "paged")


class TimedStripe:
    """The gateway, with the wall time spent inside its calls added up."""

    def __init__(self, gateway: StripeGateway):
        self.gateway = gateway
        self.livemode = gateway.livemode
        self.seconds = 0.0

    def _timed(self, method: str, ids: Any) -> Any:
        start = time.perf_counter()
        try:
            return getattr(self.gateway, method)(ids)
        finally:
            self.seconds += time.perf_counter() - start

    def payment_methods(self, ids: Any) -> Any:
        return self._timed("payment_methods", ids)

    def customers(self, ids: Any) -> Any:
        return self._timed("customers", ids)

    def dashboard_url(self, object_id: str) -> str:
        return self.gateway.dashboard_url(object_id)


def accounts_for(payment_methods: int, today: date) -> int:
    """The fewest seed Accounts holding at least this many payment methods (the plan is pure:
    no I/O, so asking it is cheap)."""
    per = sum(len(a.pms) for a in plan(2000, today)) / 2000
    accounts = max(30, math.ceil(payment_methods / per))
    while sum(len(a.pms) for a in plan(accounts, today)) < payment_methods:
        accounts += max(1, accounts // 200)
    return accounts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--payment-methods", type=int, default=50_000)
    parser.add_argument(
        "--stripe-sample", type=int, default=500, help="AUDIT_STRIPE_SAMPLE (0: all)"
    )
    parser.add_argument(
        "--stripe-rate", type=float, default=20.0, help="requests/s (test mode's limit)"
    )
    args = parser.parse_args(argv)

    today = date.today()
    accounts = accounts_for(args.payment_methods, today)
    org = Org(stripe_customer_field=STRIPE_FIELD)
    sf = start_salesforce(org, port=0, page_size=PAGE)
    stripe = start_stripe(port=0)
    try:
        started = time.perf_counter()
        report = seed(org, stripe.api_base, stripe.api_key, accounts=accounts, today=today)
        pms = report.totals[PM]
        print(
            f"Seeded {accounts:,} Accounts, {pms:,} payment methods "
            f"(Stripe via {report.stripe_mode}) in {time.perf_counter() - started:.1f} s."
        )
        with tempfile.TemporaryDirectory() as home:
            settings = load_settings(
                {**sf.settings(), **stripe.settings(), "DATABASE_PATH": f"{home}/bot.db"},
                dotenv_path=None,
            )
            figures = measure(settings, today, args.stripe_sample, args.stripe_rate, report)
    finally:
        sf.stop()
        stripe.stop()
        org.close()
    print_figures(figures, args)
    return 0


def measure(settings: Any, today: date, sample: int, rate: float, report: Any) -> dict[str, Any]:
    client = SalesforceClient(settings)
    client.stripe_customer_field  # noqa: B018 - discovery (one describe) before measuring
    described = client.api_calls
    meter = SalesforceMeter(client)
    stripe = TimedStripe(StripeGateway(settings, rate=rate))
    options = AuditOptions(window=AuditWindow(today), stripe_sample=sample)

    tracemalloc.start()
    started = time.perf_counter()
    results = run_checks(SalesforceAuditSource(client, options.window), stripe, options)
    elapsed = time.perf_counter() - started
    _, audit_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    calls = client.api_calls - described
    queries, floor, paged = list(meter.queries), meter.floor, meter.paged()

    source = SalesforceAuditSource(client, options.window)
    fields, _ = source._shape(PM, with_stripe_id=True)
    tracemalloc.start()
    everything = list(client.query(f"SELECT {fields} FROM {PM}"))
    _, all_records_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del everything

    mismatched = {
        r.code: (r.count, report.expected[r.code])
        for r in results
        if r.status != Status.UNKNOWN
        and r.code not in ("stripe_pm_missing", "stripe_pm_other_customer")
        and r.code not in ("stripe_customer_missing", "stripe_customer_deleted")
        and r.count != report.expected[r.code]
    }
    return {
        "elapsed": elapsed,
        "calls": calls,
        "describes": described,
        "floor": floor,
        "queries": queries,
        "paged": paged,
        "audit_peak": audit_peak,
        "all_records_peak": all_records_peak,
        "stripe_seconds": stripe.seconds,
        "stripe_requests": stripe.gateway.calls,
        "rate": rate,
        "findings": sum(len(r.findings) for r in results),
        "unknown": [r.code for r in results if r.status == Status.UNKNOWN],
        "mismatched": mismatched,
        "stripe_scope": next(r.note for r in results if r.code == "stripe_pm_missing"),
    }


def print_figures(f: dict[str, Any], args: argparse.Namespace) -> None:
    aggregates = sum(1 for kind, _, _ in f["queries"] if kind == "aggregate")
    paged = [(soql, n) for kind, soql, n in f["queries"] if kind == "paged"]
    stripe_floor = f["stripe_requests"] / f["rate"]
    print(f"\nAudit of every check: {f['elapsed']:.1f} s, {f['findings']:,} findings listed.")
    print(
        f"Salesforce API calls: {f['calls']} measured vs floor {f['floor']} "
        f"= {aggregates} aggregate queries + {len(paged)} paged queries at one call per "
        f"{PAGE:,} records ({f['paged']:,} records): ratio {f['calls'] / f['floor']:.2f}x "
        f"(+{f['describes']} describe for field discovery, before the audit)."
    )
    largest = sorted(paged, key=lambda q: -q[1])[:3]
    for soql, n in largest:
        print(f"    {n:>7,} records  {soql[:90]}")
    print(
        f"Peak memory (tracemalloc): {f['audit_peak'] / 1e6:.1f} MB for the whole audit vs "
        f"{f['all_records_peak'] / 1e6:.1f} MB to hold every payment-method record at once: "
        f"ratio {f['audit_peak'] / f['all_records_peak']:.2f}x."
    )
    print(
        f"Stripe cross-check ({f['stripe_scope']}): {f['stripe_seconds']:.1f} s in Stripe calls "
        f"vs floor {f['stripe_requests']} requests / {f['rate']:g} per s = {stripe_floor:.1f} s: "
        f"ratio {f['stripe_seconds'] / stripe_floor if stripe_floor else 0:.2f}x."
    )
    if args.stripe_sample:
        print(
            f"    (AUDIT_STRIPE_SAMPLE={args.stripe_sample}: all {args.payment_methods:,} at "
            f"{f['rate']:g}/s would take about {2 * args.payment_methods / f['rate'] / 60:.0f} "
            "minutes of payment-method and customer requests.)"
        )
    if f["unknown"] or f["mismatched"]:
        print(f"Checks unknown: {f['unknown']}; counts not as seeded: {f['mismatched']}")
    else:
        print("Every Salesforce check's count matched the seed's expected count.")


if __name__ == "__main__":
    sys.exit(main())
