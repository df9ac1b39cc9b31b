"""Run the Salesforce stand-in alone: `python -m sandbox.salesforce --port P`.

Prints the settings a client needs as KEY=VALUE lines (SF_INSTANCE_URL, SF_ACCESS_TOKEN and,
over TLS, SF_CA_BUNDLE), flushes, then serves until SIGINT or SIGTERM and removes its
temporary files. The org starts empty; `--db PATH` keeps its records in a file between runs.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from . import Org, start_salesforce


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.salesforce", description="Salesforce REST API stand-in on 127.0.0.1"
    )
    parser.add_argument("--port", type=int, default=0, help="port (0: any free port)")
    parser.add_argument(
        "--stripe-field",
        default="Stripe_Customer_Id__c",
        help="API name of the Account's Stripe Customer ID field ('none' for no such field)",
    )
    parser.add_argument("--page-size", type=int, default=2000, help="query page size")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per call")
    parser.add_argument(
        "--no-tls",
        action="store_true",
        help="plain HTTP (simple-salesforce cannot use it: it forces https)",
    )
    parser.add_argument("--db", default=None, help="SQLite file to keep the org in")
    args = parser.parse_args(argv)

    field = None if args.stripe_field.lower() == "none" else args.stripe_field
    org = Org(stripe_customer_field=field, path=args.db)
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    server = start_salesforce(
        org, port=args.port, tls=not args.no_tls, page_size=args.page_size, latency=args.latency
    )
    try:
        for key, value in server.settings().items():
            print(f"{key}={value}")
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        org.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
