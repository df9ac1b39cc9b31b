"""Lookup benchmark: how close `customer` and `pm` come to the fewest round trips they need.

    python bench/lookup.py                       # 50 ms and 200 ms, 7 runs each
    python bench/lookup.py --latency 0.1 --runs 11

Starts the Salesforce stand-in and localstripe on 127.0.0.1, seeds them (the seed's "Acme
Corporation" has 5 payment methods), then delays every Salesforce API call and every Stripe
request by the same fixed latency (each stand-in's `latency` knob) and times the lookups the
way the bot runs them: the real `SalesforceClient` (simple-salesforce over HTTPS) and
`StripeGateway` (Stripe SDK), with the org's shape already discovered (describes are cached
once per process; the first, cold lookup is shown apart).

The floor is the fewest sequential round trips an answer needs: one Salesforce query, then
every Stripe call at once, so 2 x latency. The goal is a median within 1.2x of it. Also
printed: Salesforce API calls and Stripe requests per lookup. Figures to read, not a test.

Runs are spaced by `--gap` seconds (0.5 by default), as lookups typed by people are: back to
back, a `pm` of 6 Stripe requests every 0.1 s would measure the gateway's own rate limit
(20 requests/s in test mode, after a burst of 10), not the lookup. `--gap 0` shows that.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import load_settings  # noqa: E402
from bot.salesforce.client import SalesforceClient  # noqa: E402
from bot.salesforce.lookups import SalesforceLookups  # noqa: E402
from bot.stripe_gateway import StripeGateway  # noqa: E402
from commands.customer import lookup_customer  # noqa: E402
from commands.pm import lookup_payment_methods  # noqa: E402
from sandbox.salesforce import Org, start_salesforce  # noqa: E402
from sandbox.seed import seed  # noqa: E402
from sandbox.stripe import start_stripe  # noqa: E402

STRIPE_FIELD = "Stripe_Customer_Id__c"


@dataclass
class Row:
    what: str
    latency: float
    median: float
    best: float
    sf_calls: float
    stripe_calls: float

    @property
    def floor(self) -> float:
        return 2 * self.latency

    @property
    def ratio(self) -> float:
        return self.median / self.floor


def measure(
    what: str,
    run: Callable[[], Any],
    latency: float,
    runs: int,
    sf: Any,
    stripe: Any,
    gap: float = 0.0,
) -> Row:
    times = []
    sf_before, stripe_before = sf.api_calls, stripe.request_count
    for _ in range(runs):
        time.sleep(gap)
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return Row(
        what,
        latency,
        statistics.median(times),
        min(times),
        (sf.api_calls - sf_before) / runs,
        (stripe.request_count - stripe_before) / runs,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, nargs="+", default=[0.05, 0.2])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--accounts", type=int, default=40, help="accounts to seed")
    parser.add_argument("--gap", type=float, default=0.5, help="seconds between runs")
    args = parser.parse_args(argv)

    org = Org(stripe_customer_field=STRIPE_FIELD)
    sf = start_salesforce(org, port=0)
    stripe = start_stripe(port=0)
    try:
        report = seed(org, stripe.api_base, stripe.api_key, accounts=args.accounts)
        acme = report.accounts["healthy"]
        settings = load_settings({**sf.settings(), **stripe.settings()}, dotenv_path=None)
        directory = SalesforceLookups(SalesforceClient(settings))
        gateway = StripeGateway(settings)
        today = date.today()
        lookups: dict[str, Callable[[], Any]] = {
            "customer by name": lambda: lookup_customer(acme["name"], directory, gateway),
            "customer by cus_": lambda: lookup_customer(
                acme["stripe_customer_id"], directory, gateway
            ),
            "pm by name (5 methods)": lambda: lookup_payment_methods(
                acme["name"], directory, gateway, today
            ),
            "pm by Account Id": lambda: lookup_payment_methods(
                acme["id"], directory, gateway, today
            ),
        }
        print(
            f"Seeded {args.accounts} accounts; {acme['name']!r} has "
            f"{len(acme['payment_methods'])} payment methods."
        )
        cold = measure("cold start", lookups["customer by name"], 0.0, 1, sf, stripe)
        print(
            f"Cold first lookup (describes for discovery): {cold.sf_calls:.0f} Salesforce API "
            f"calls, {cold.median * 1000:.0f} ms without added latency.\n"
        )
        # The same lookups with no added latency: what the clients and the stand-ins cost in
        # CPU (Stripe SDK objects, JSON, TLS, localstripe's single thread), the part of the
        # time above the floor that is not a round trip.
        unloaded = {
            what: measure(what, run, 0.0, args.runs, sf, stripe, args.gap).median
            for what, run in lookups.items()
        }
        rows = []
        for latency in args.latency:
            sf.knobs.update({"latency": latency})
            stripe.knobs.set(latency=latency)
            for what, run in lookups.items():
                run()  # one unmeasured run at this latency (connections warm)
                rows.append(measure(what, run, latency, args.runs, sf, stripe, args.gap))
        sf.knobs.update({"latency": 0.0})
        stripe.knobs.reset()
    finally:
        sf.stop()
        stripe.stop()
        org.close()

    print("floor = 1 Salesforce round trip + 1 parallel round of Stripe calls = 2 x latency")
    print("at 0 ms = the same lookup with no added latency (CPU of clients and stand-ins)")
    header = (
        f"{'lookup':<24}{'latency':>9}{'floor':>8}{'median':>9}{'best':>8}{'ratio':>7}"
        f"{'at 0 ms':>9}{'SF calls':>10}{'Stripe req':>12}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r.what:<24}{r.latency * 1000:>7.0f}ms{r.floor * 1000:>6.0f}ms"
            f"{r.median * 1000:>7.0f}ms{r.best * 1000:>6.0f}ms{r.ratio:>6.2f}x"
            f"{unloaded[r.what] * 1000:>7.0f}ms{r.sf_calls:>10.1f}{r.stripe_calls:>12.1f}"
        )
    worst = max(rows, key=lambda r: r.ratio)
    verdict = "within" if worst.ratio <= 1.2 else "above"
    print(
        f"\nWorst ratio {worst.ratio:.2f}x ({worst.what}, {worst.latency * 1000:.0f} ms): "
        f"{verdict} the 1.2x goal; medians of {args.runs} runs, {args.gap:g} s apart."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
