"""Ack time: how fast the bot answers Slack's HTTP request when Salesforce and Stripe are slow.

    python bench/ack.py                 # 50 concurrent lookups, upstreams answering after 1 s
    python bench/ack.py --concurrent 100 --latency 2

Slack shows the user an error unless the app answers the request within 3 seconds, however
slow the org is. This runs the same set-up as `bench/load.py` (seeded stand-ins, the real bot
over HTTP) with every Salesforce and Stripe call delayed by `--latency`, sends `--concurrent`
signed `customer`/`pm` lookups at once, and prints the p50/p99 time to the HTTP 200 and the
ratio p99 / 3 s (below 1 is inside Slack's limit; the lower, the more head-room).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from load import ACK_LIMIT, commands, fire, percentile  # noqa: E402

from sandbox.slack_api import start_slack_api  # noqa: E402
from sandbox.standins import data_standins  # noqa: E402
from tests.plugins.bot import base_env, start_bot  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrent", type=int, default=50, help="lookups sent at once")
    parser.add_argument("--latency", type=float, default=1.0, help="seconds per upstream call")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the lookup mix")
    args = parser.parse_args(argv)

    import logging
    import random

    # waitress warns whenever requests queue for a worker thread; this run queues on purpose.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    with data_standins(accounts=40) as standins, tempfile.TemporaryDirectory() as tmp:
        slack = start_slack_api(port=0)
        bot = start_bot(slack, {**base_env(slack, Path(tmp) / "bot.db"), **standins.settings()})
        try:
            standins.salesforce.knobs.update({"latency": args.latency})
            standins.stripe.knobs.set(latency=args.latency)
            texts = [
                t
                for t in commands(standins.report, args.concurrent * 3, random.Random(args.seed))
                if not t.startswith("help")  # help is answered in the ack: no upstream at all
            ][: args.concurrent]
            sent = fire(bot.url, slack, texts, senders=len(texts))
        finally:
            bot.stop()
            slack.stop()
    acks = [s.ack for s in sent]
    p50, p99 = percentile(acks, 50), percentile(acks, 99)
    print(
        f"{len(sent)} concurrent signed lookups, Salesforce and Stripe answering after "
        f"{args.latency:.1f} s"
    )
    print(f"time to HTTP 200: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")
    print(f"p99 / {ACK_LIMIT:.0f} s (Slack's limit): {p99 / ACK_LIMIT:.3f}")
    not_ok = sum(1 for s in sent if s.status != 200)
    print(f"not HTTP 200: {not_ok}")
    return 1 if not_ok or p99 > ACK_LIMIT else 0


if __name__ == "__main__":
    sys.exit(main())
