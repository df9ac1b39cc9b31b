"""Import fault trials in CI (issue 8): one trial of each fault, at a seeded random moment.

The trials and their checks live in `tests/fault_trials.py`; `bench/faults.py` runs many of
each. Here every fault kind runs once per seed in `SEEDS`, so a regression in the run engine's
recovery (a duplicate record, a row left half-done, a thread that says something else than
the org holds) fails the suite.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fault_trials import FAULTS, run_trial
from tests.plugins.bot import BotRig, RunningBot

SEEDS = (1,)


@pytest.fixture
def rig(bot_factory, seeded) -> BotRig:
    """The bot_rig, with Salesforce's timeout (and so the wait before a write whose answer was
    lost is read back) at 2 s instead of 5: the trials wait for it often."""
    running = bot_factory({**seeded.settings(), "SF_TIMEOUT": "2"})
    return BotRig(
        **{k: getattr(running, k) for k in RunningBot.__dataclass_fields__},
        seed=seeded.report,
        sf=seeded.sf_server,
        org=seeded.org,
        stripe=seeded.stripe_server,
    )


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("kind", FAULTS)
def test_an_import_under_a_fault_ends_complete_once_and_told_truly(
    rig: BotRig, kind: str, seed: int, tmp_path: Path
) -> None:
    trial = run_trial(rig, kind, seed, tmp_path)
    assert trial.problems == []
