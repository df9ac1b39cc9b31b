"""Load: a burst of signed slash commands against the bot in HTTP mode, with slow upstreams.

    python bench/load.py                                  # 500 commands, 20 senders, 200 ms
    python bench/load.py --commands 1000 --senders 40 --latency 0.5

Slack gives an app three seconds to acknowledge a request and then shows the user an error
(and retries it); the answer itself may come later, through the command's response URL. This
starts the three stand-ins on 127.0.0.1 (Salesforce and Stripe seeded, each delaying every
call by `--latency` seconds through its knob) and the real bot exactly as the end-to-end tests
run it (`tests.plugins.bot.start_bot`: settings from an environment, the Bolt app, waitress),
then fires `--commands` slash commands (`customer` and `pm` lookups of seeded accounts, and
`help`) from `--senders` concurrent senders as fast as the bot takes them.

Printed: acknowledgement times (p50/p99/max, how many missed 3 s or were not HTTP 200), the
throughput of acknowledged commands, answers delivered at the response URLs (help is answered
in the ack) against commands sent, the time from sending a command to its answer (p50/p99),
and the WARNING/ERROR lines the bot logged. Figures to read, not a pass/fail test; the exit
status is 1 when an ack missed 3 s, an answer was lost or the bot logged an error.

Time to the answer is bounded by Stripe, not by the bot: every lookup asks Stripe, and the
gateway keeps under Stripe's test-mode rate limit (20 requests/s with bursts of 10), so a
burst of a few hundred lookups is answered at that rate.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandbox.slack_api import APPROVER, REQUESTER, SlackApiServer, start_slack_api  # noqa: E402
from sandbox.slack_sender import SlackSender  # noqa: E402
from sandbox.standins import data_standins  # noqa: E402
from tests.plugins.bot import SIGNING_SECRET, base_env, start_bot  # noqa: E402

ACK_LIMIT = 3.0  # Slack's deadline for the HTTP answer
STILL_LOOKING = ":hourglass"  # the progress line a slow lookup shows before its answer


@dataclass
class Sent:
    """One slash command and what became of it."""

    text: str
    started: float  # wall clock (the stand-in records answers on the same clock)
    ack: float = 0.0  # seconds to the HTTP answer
    status: int = 0
    response_url: str = ""
    answered_in_ack: bool = False


class LogTally(logging.Handler):
    """Counts what the bot logs at WARNING and above, and keeps the distinct lines."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: Counter[str] = Counter()
        self.lines: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[record.levelname] += 1
        self.lines[f"{record.levelname} {record.name}: {record.getMessage()[:160]}"] += 1


def commands(report: Any, count: int, rng: random.Random) -> list[str]:
    """A shuffled mix: 40% customer, 40% pm, 20% help, over the seed's named accounts (by
    name, Account Id, Stripe Customer ID, payment-method token and record Id)."""
    accounts = [a for v in report.accounts.values() for a in (v if isinstance(v, list) else [v])]
    customer, pm = [], []
    for account in accounts:
        customer.append(f"customer {account['name']}")
        customer.append(f"customer {account['id']}")
        if account.get("stripe_customer_id"):
            customer.append(f"customer {account['stripe_customer_id']}")
        pm.append(f"pm {account['name']}")
        for method in account.get("payment_methods", [])[:1]:
            pm.append(f"pm {method['id']}")
            if method.get("token"):
                pm.append(f"pm {method['token']}")
    kinds = [customer] * 4 + [pm] * 4 + [["help"]] * 2
    out = [rng.choice(rng.choice(kinds)) for _ in range(count)]
    rng.shuffle(out)
    return out


def fire(url: str, slack: SlackApiServer, texts: list[str], senders: int) -> list[Sent]:
    """Send every command, `senders` at a time, each sender on its own thread."""
    local = threading.local()
    users = (REQUESTER, APPROVER)

    def one(index_text: tuple[int, str]) -> Sent:
        index, text = index_text
        if not hasattr(local, "sender"):
            local.sender = SlackSender(url, SIGNING_SECRET, api=slack)
        sent = Sent(text, time.time())
        result = local.sender.slash("/billing", text, user=users[index % 2])
        sent.ack, sent.status = result.elapsed, result.status
        sent.response_url = result.response_url or ""
        sent.answered_in_ack = bool(result.body.strip())
        return sent

    with ThreadPoolExecutor(max_workers=senders, thread_name_prefix="sender") as pool:
        return list(pool.map(one, enumerate(texts)))


def answers(slack: SlackApiServer, sent: list[Sent]) -> dict[str, float]:
    """Response URL -> when its answer (not the "still looking" line) arrived."""
    wanted = {s.response_url for s in sent if not s.answered_in_ack}
    found: dict[str, float] = {}
    for record in slack.responses:
        text = str(record.payload.get("text") or "")
        if record.url in wanted and not text.startswith(STILL_LOOKING):
            found.setdefault(record.url, record.time)
    return found


def wait_for_answers(slack: SlackApiServer, sent: list[Sent], timeout: float) -> dict[str, float]:
    expected = sum(1 for s in sent if not s.answered_in_ack)
    with contextlib.suppress(AssertionError):  # what is missing is reported as lost
        slack.wait_until(lambda: len(answers(slack, sent)) >= expected, timeout, what="answers")
    return answers(slack, sent)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commands", type=int, default=500)
    parser.add_argument("--senders", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per upstream call")
    parser.add_argument("--accounts", type=int, default=40, help="accounts to seed")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the command mix")
    parser.add_argument("--wait", type=float, default=600, help="seconds to wait for answers")
    args = parser.parse_args(argv)

    tally = LogTally()
    logging.getLogger().addHandler(tally)
    logging.getLogger().setLevel(logging.INFO)
    logging.getLogger("stripe").setLevel(logging.WARNING)  # as the bot's own set-up does
    with data_standins(accounts=args.accounts) as standins, tempfile.TemporaryDirectory() as tmp:
        slack = start_slack_api(port=0)
        bot = start_bot(slack, {**base_env(slack, Path(tmp) / "bot.db"), **standins.settings()})
        try:
            standins.salesforce.reset_counters()
            standins.stripe.reset_stats()
            standins.salesforce.knobs.update({"latency": args.latency})
            standins.stripe.knobs.set(latency=args.latency)
            texts = commands(standins.report, args.commands, random.Random(args.seed))
            began = time.time()
            sent = fire(bot.url, slack, texts, args.senders)
            acked = time.time()
            answered = wait_for_answers(slack, sent, args.wait)
            upstream = (
                f"upstream calls: {standins.salesforce.api_calls} Salesforce API calls, "
                f"{standins.stripe.request_count} Stripe requests "
                f"({standins.stripe.request_count / (time.time() - began):.1f}/s)"
            )
        finally:
            bot.stop()
            slack.stop()
    return report(args, sent, answered, began, acked, tally, upstream)


def report(
    args: argparse.Namespace,
    sent: list[Sent],
    answered: dict[str, float],
    began: float,
    acked: float,
    tally: LogTally,
    upstream: str,
) -> int:
    acks = [s.ack for s in sent]
    late = sum(1 for s in sent if s.ack > ACK_LIMIT)
    not_ok = sum(1 for s in sent if s.status != 200)
    in_ack = sum(1 for s in sent if s.answered_in_ack)
    delivered = in_ack + sum(1 for s in sent if s.response_url in answered)
    to_answer = [answered[s.response_url] - s.started for s in sent if s.response_url in answered]
    to_answer += [s.ack for s in sent if s.answered_in_ack]
    mix = Counter(s.text.split(" ", 1)[0] for s in sent)
    ms = 1000
    print(
        f"{len(sent)} slash commands ({', '.join(f'{n} {k}' for k, n in mix.items())}) from "
        f"{args.senders} concurrent senders; Salesforce and Stripe delayed "
        f"{args.latency * ms:.0f} ms per call"
    )
    print(
        f"ack: p50 {percentile(acks, 50) * ms:.0f} ms, p99 {percentile(acks, 99) * ms:.0f} ms, "
        f"max {max(acks) * ms:.0f} ms; over {ACK_LIMIT:.0f} s: {late}; not HTTP 200: {not_ok}"
    )
    print(f"throughput: {len(sent) / (acked - began):.1f} commands acked/s")
    print(
        f"answers delivered: {delivered} / {len(sent)} ({in_ack} help answers in the ack); "
        f"time to answer p50 {percentile(to_answer, 50):.2f} s, "
        f"p99 {percentile(to_answer, 99):.2f} s"
    )
    print(upstream)
    levels = ", ".join(f"{n} {level}" for level, n in sorted(tally.counts.items())) or "none"
    print(f"bot log lines at WARNING or above: {levels}")
    for line, n in tally.lines.most_common(8):
        print(f"  {n} x {line}")
    lost = len(sent) - delivered
    return 1 if late or not_ok or lost or tally.counts["ERROR"] or tally.counts["CRITICAL"] else 0


if __name__ == "__main__":
    sys.exit(main())
