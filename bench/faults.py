"""Import fault trials at volume: every fault, many times, at seeded random moments.

    python bench/faults.py                          # 20 trials of each fault
    python bench/faults.py --trials 50 --seed 7 --faults process_killed salesforce_5xx

Starts the three stand-ins on 127.0.0.1 (Salesforce and Stripe seeded) and the real bot as the
end-to-end tests run it (`tests.plugins.bot.start_bot`), with `SF_TIMEOUT=2` so a write whose
answer was lost is read back after two seconds. Each trial (`tests/fault_trials.py`) imports a
CSV of 2 to 12 new customers plus one row validation rejects, with one fault at a random moment:
the bot process SIGKILLed and restarted; Salesforce 503s, dropped connections or commits whose
answers are lost; Stripe 429s or 500s during the cross-checks; Slack 429s on `chat.update` or
the result upload; the database write-locked by another connection for a second. Then it checks
that no Salesforce record exists twice, every row is in a final state and the approval thread
says what the org holds.

Printed: per fault, trials run, how many met the bot (a fault armed after the last write finds
nothing to hit), failures found and the median trial time; then each failure with its seed
(`--faults KIND --seed S --trials 1` runs it again). Exit status 1 when a trial failed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandbox.slack_api import start_slack_api  # noqa: E402
from sandbox.standins import data_standins  # noqa: E402
from tests.fault_trials import FAULTS, Trial, run_trial  # noqa: E402
from tests.plugins.bot import BotRig, RunningBot, base_env, start_bot  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20, help="trials of each fault")
    parser.add_argument("--seed", type=int, default=1, help="seed of the first trial")
    parser.add_argument("--faults", nargs="+", choices=FAULTS, default=list(FAULTS))
    args = parser.parse_args(argv)

    trials: list[Trial] = []
    with data_standins(accounts=23) as standins, tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        slack = start_slack_api(port=0)
        env = {**base_env(slack, workdir / "bot.db"), **standins.settings(), "SF_TIMEOUT": "2"}
        bot = start_bot(slack, env)
        rig = BotRig(
            **{k: getattr(bot, k) for k in RunningBot.__dataclass_fields__},
            seed=standins.report,
            sf=standins.salesforce,
            org=standins.org,
            stripe=standins.stripe,
        )
        try:
            for kind in args.faults:
                for seed in range(args.seed, args.seed + args.trials):
                    trial = run_trial(rig, kind, seed, workdir)
                    trials.append(trial)
                    mark = "." if not trial.problems else "F"
                    print(mark, end="", flush=True)
                    slack.reset()  # a Slack fault the trial did not use must not leak on
                print(f" {kind}", flush=True)
        finally:
            bot.stop()
            slack.stop()
    return report(trials)


def report(trials: list[Trial]) -> int:
    header = f"{'fault':<28}{'trials':>7}{'met the bot':>13}{'failures':>10}{'median s':>10}"
    print(f"\n{header}\n{'-' * len(header)}")
    for kind in dict.fromkeys(t.kind for t in trials):
        mine = [t for t in trials if t.kind == kind]
        print(
            f"{kind:<28}{len(mine):>7}{sum(t.fired for t in mine):>13}"
            f"{sum(bool(t.problems) for t in mine):>10}"
            f"{statistics.median(t.seconds for t in mine):>10.1f}"
        )
    failed = [t for t in trials if t.problems]
    rows = sum(t.rows for t in trials)
    print(f"\n{len(trials)} trials run ({rows} rows imported); {len(failed)} failures found")
    for t in failed:
        print(f"  {t.kind} seed {t.seed}: " + "; ".join(t.problems))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
