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
import signal
import sys
import time
from typing import Any

SETTING_KEYS = (
    "SF_INSTANCE_URL", "SF_ACCESS_TOKEN", "SF_CA_BUNDLE", "STRIPE_API_BASE", "STRIPE_API_KEY",
)


class _Interrupted(Exception):
    """SIGINT or SIGTERM: raised wherever the main thread is, so cleanup always runs."""


def _interrupt(signum: int, frame: Any) -> None:
    raise _Interrupted(signum)


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
    parser.add_argument("--seed", choices=("demo", "none"), default="none",
                        help="'demo' fills both stand-ins with the deterministic demo data")
    parser.add_argument("--accounts", type=int, default=40, help="Accounts to seed (default 40)")
    parser.add_argument("--today", type=dt.date.fromisoformat, default=None,
                        help="the date card expiries are relative to (default: today, UTC)")
    parser.add_argument("--stripe-field", default="Stripe_Customer_Id__c",
                        help="API name of the Account's Stripe Customer ID field")
    parser.add_argument("--salesforce-port", type=int, default=0)
    parser.add_argument("--stripe-port", type=int, default=0)
    parser.add_argument("--json", action="store_true",
                        help="print the seed report as one JSON line instead of text")
    args = parser.parse_args(argv)

    from sandbox.salesforce import Org, start_salesforce
    from sandbox.seed import format_counts, seed
    from sandbox.stripe import start_stripe

    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.signal(signum, _interrupt) for signum in signals}
    org = Org(stripe_customer_field=args.stripe_field, set_audit_fields=True)
    stripe_server = salesforce = None
    try:
        stripe_server = start_stripe(port=args.stripe_port)
        salesforce = start_salesforce(org, port=args.salesforce_port)
        report = None
        if args.seed == "demo":
            report = seed(org, stripe_server.api_base, stripe_server.api_key,
                          accounts=args.accounts, today=args.today)
        settings = {**salesforce.settings(), **stripe_server.settings()}
        for key in SETTING_KEYS:
            _print(f"{key}={settings.get(key) or ''}")
        if report is not None:
            if args.json:
                _print(json.dumps(report.to_dict(), sort_keys=True))
            else:
                _print(format_counts(report))
                for line in _named_lines(report):
                    _print(line)
        _print("READY: serving until Ctrl-C")
        while stripe_server.running:
            time.sleep(0.5)
        print("localstripe exited unexpectedly", file=sys.stderr, flush=True)
        return 1
    except _Interrupted:
        return 0
    finally:
        for signum in signals:  # a second Ctrl-C must not cut the cleanup short
            signal.signal(signum, signal.SIG_IGN)
        if salesforce is not None:
            salesforce.stop()
        if stripe_server is not None:
            stripe_server.stop()
        org.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


if __name__ == "__main__":
    sys.exit(main())
