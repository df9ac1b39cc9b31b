"""``python -m sandbox --seed demo [--accounts N]``: both stand-ins, seeded, until Ctrl-C.

Starts the Salesforce stand-in (``sandbox.salesforce``) and localstripe (``sandbox.stripe``),
both on 127.0.0.1, fills them with ``sandbox.seed``'s deterministic data, prints the settings a
bot process needs as ``KEY=VALUE`` lines (``SF_INSTANCE_URL``, ``SF_ACCESS_TOKEN``,
``SF_CA_BUNDLE``, ``STRIPE_API_BASE``, ``STRIPE_API_KEY``), then the seed report, then
``READY``, and serves until SIGINT or SIGTERM. Everything it started is stopped on the way out
(the localstripe child also exits on its own if this process is killed outright), and the
org's SQLite file lives in a private temporary folder removed on exit.

The lines are flushed one by one, so a script can read them from a pipe
(``python -m sandbox --seed demo | tee sandbox.env``) and a ``.env`` file can be made from the
``KEY=VALUE`` lines alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from typing import Any

from sandbox.standins import DEFAULT_STRIPE_FIELD, Interrupted, data_standins, interrupt_on_signals

SETTING_KEYS = (
    "SF_INSTANCE_URL",
    "SF_ACCESS_TOKEN",
    "SF_CA_BUNDLE",
    "STRIPE_API_BASE",
    "STRIPE_API_KEY",
)


def _print(line: str = "") -> None:
    print(line, flush=True)


def _named_lines(report: Any) -> list[str]:
    lines = ["named accounts:"]
    for key, value in report.accounts.items():
        for info in value if isinstance(value, list) else [value]:
            tokens = ", ".join(pm["token"] or "(blank)" for pm in info["payment_methods"])
            lines.append(
                f"  {key:<20} {info['name']!r:<28} {info['id']}  "
                f"stripe={info['stripe_customer_id'] or '(blank)'}  pms=[{tokens}]"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    """Run the sandbox until interrupted; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="Salesforce and Stripe stand-ins on 127.0.0.1, optionally seeded.",
    )
    parser.add_argument(
        "--seed",
        choices=("demo", "none"),
        default="none",
        help="'demo' fills both stand-ins with the deterministic demo data",
    )
    parser.add_argument("--accounts", type=int, default=40, help="Accounts to seed (default 40)")
    parser.add_argument(
        "--today",
        type=dt.date.fromisoformat,
        default=None,
        help="the date card expiries are relative to (default: today, UTC)",
    )
    parser.add_argument(
        "--stripe-field",
        default=DEFAULT_STRIPE_FIELD,
        help="API name of the Account's Stripe Customer ID field",
    )
    parser.add_argument("--salesforce-port", type=int, default=0)
    parser.add_argument("--stripe-port", type=int, default=0)
    parser.add_argument(
        "--json", action="store_true", help="print the seed report as one JSON line instead of text"
    )
    args = parser.parse_args(argv)

    from sandbox.seed import format_counts

    try:
        with (
            interrupt_on_signals(),
            data_standins(
                seed_demo=args.seed == "demo",
                accounts=args.accounts,
                today=args.today,
                stripe_field=args.stripe_field,
                salesforce_port=args.salesforce_port,
                stripe_port=args.stripe_port,
            ) as standins,
        ):
            settings = standins.settings()
            for key in SETTING_KEYS:
                _print(f"{key}={settings.get(key) or ''}")
            report = standins.report
            if report is not None:
                if args.json:
                    _print(json.dumps(report.to_dict(), sort_keys=True))
                else:
                    _print(format_counts(report))
                    for line in _named_lines(report):
                        _print(line)
            _print("READY: serving until Ctrl-C")
            while standins.stripe.running:
                time.sleep(0.5)
            print("localstripe exited unexpectedly", file=sys.stderr, flush=True)
            return 1
    except Interrupted:
        return 0


if __name__ == "__main__":
    sys.exit(main())
