"""Fuzzing at volume: hostile import files and lookup text, 100,000+ inputs, repeatable.

    python bench/fuzz.py                                 # 100,000 files, 20,000 lookup texts
    python bench/fuzz.py --files 500000 --queries 100000 --seed 7

The inputs start as examples of the hypothesis strategies in `tests/fuzz_inputs.py` (CSV-like
files built from the columns and values imports know, hostile cells among them, every
delimiter, quoting, line ending and encoding; lookup text with Slack's markup and SOQL's special
characters). hypothesis draws an example in about 10 ms, too slow for volume, so each example is
then mutated `--mutants` times by a seeded random generator (bytes flipped, inserted, deleted,
duplicated or spliced from another example; quotes, delimiters, line breaks, byte-order marks,
NULs and formula characters inserted). The same `--seed` gives the same inputs.

Every input goes through the checks the property tests use (`check_import`, `check_query`):
an import file is refused with a reason or reported row by row with codes and messages, and the
CSVs written from it hold no formula and no whole token; a lookup text finds exactly the
Account names that contain it. Printed: inputs run, how they ended, exceptions found (type and
where), rejections without a reason and other broken promises, with the first inputs of each.
Exit status 1 when anything was found.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.fuzz_inputs import (  # noqa: E402
    QUERY_PIECES,
    examine_import,
    examine_query,
    import_files,
    lookup_org,
    queries,
)

T = TypeVar("T")
SPLICES = [b'"', b",", b";", b"\t", b"\n", b"\r\n", b"\r", b"\xef\xbb\xbf", b"\x00", b"=", b"+",
           b"-", b"@", b'""', b"\xff", b"\xc3", b"pm_1Abcdefghijklmnop", b"\\"]  # fmt: skip


def examples(strategy: st.SearchStrategy[T], count: int, run_seed: int) -> list[T]:
    """`count` examples of a strategy, the same ones for the same seed."""
    found: list[T] = []

    @seed(run_seed)
    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(example: T) -> None:
        found.append(example)

    collect()
    return found


def mutate_bytes(data: bytes, other: bytes, rng: random.Random) -> bytes:
    """One to four edits of the kinds that break a CSV reader."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        at = rng.randint(0, len(out))
        kind = rng.randrange(6)
        if kind == 0 and out:
            out[rng.randrange(len(out))] = rng.randrange(256)
        elif kind == 1:
            out[at:at] = rng.choice(SPLICES)
        elif kind == 2:
            del out[at : at + rng.randint(1, 16)]
        elif kind == 3:
            out[at:at] = out[at : at + rng.randint(1, 64)]
        elif kind == 4 and other:
            start = rng.randrange(len(other))
            out[at:at] = other[start : start + rng.randint(1, 64)]
        else:
            del out[at:]
    return bytes(out)


def mutate_text(text: str, other: str, rng: random.Random) -> str:
    """One to three edits: a piece of Slack markup or SOQL inserted, characters removed or
    repeated, a slice of another example, any code point."""
    for _ in range(rng.randint(1, 3)):
        at = rng.randint(0, len(text))
        kind = rng.randrange(5)
        if kind == 0:
            text = text[:at] + rng.choice(QUERY_PIECES) + text[at:]
        elif kind == 1:
            text = text[:at] + text[at + rng.randint(1, 8) :]
        elif kind == 2:
            text = text[:at] + text[at : at + rng.randint(1, 8)] * 2 + text[at + 8 :]
        elif kind == 3 and other:
            text = text[:at] + other[: rng.randint(1, 20)] + text[at:]
        else:
            text = text[:at] + chr(rng.randrange(0x20, 0x2FFFF)) + text[at:]
    return text


class Tally:
    """What the inputs of one kind did."""

    def __init__(self, name: str):
        self.name = name
        self.inputs = 0
        self.outcomes: Counter[str] = Counter()
        self.exceptions: Counter[str] = Counter()
        self.broken: Counter[str] = Counter()
        self.first: dict[str, Any] = {}

    def run(self, value: Any, examine: Callable[[Any], tuple[str, list[str]]]) -> None:
        self.inputs += 1
        try:
            outcome, broken = examine(value)
        except Exception as exc:
            where = traceback.extract_tb(exc.__traceback__)[-1]
            key = f"{type(exc).__name__} at {Path(where.filename).name}:{where.lineno}"
            self.exceptions[key] += 1
            self.first.setdefault(key, value)
            return
        self.outcomes[outcome] += 1
        for promise in broken:
            key = promise.split(":")[0][:90]
            self.broken[key] += 1
            self.first.setdefault(key, value)

    def report(self, seconds: float) -> int:
        print(f"\n{self.name}: {self.inputs:,} inputs in {seconds:.0f} s")
        for outcome, n in self.outcomes.most_common():
            print(f"  {n:>8,}  {outcome}")
        print(f"  exceptions found: {sum(self.exceptions.values())}")
        for key, n in self.exceptions.most_common():
            print(f"    {n} x {key}; first input: {self.first[key]!r:.200}")
        unexplained = sum(n for k, n in self.broken.items() if "without a reason" in k)
        print(f"  rejections without a reason: {unexplained}")
        print(f"  other broken promises: {sum(self.broken.values()) - unexplained}")
        for key, n in self.broken.most_common():
            print(f"    {n} x {key}; first input: {self.first[key]!r:.200}")
        return sum(self.exceptions.values()) + sum(self.broken.values())


def fuzz(seeds: list[T], total: int, mutate: Callable[[T, T, random.Random], T],
         run: Callable[[T], None], rng: random.Random) -> None:  # fmt: skip
    """Each seed as it is, then mutants of seeds chosen at random, `total` inputs in all."""
    for value in seeds[:total]:
        run(value)
    for _ in range(total - min(total, len(seeds))):
        run(mutate(rng.choice(seeds), rng.choice(seeds), rng))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=100_000, help="import files to try")
    parser.add_argument("--queries", type=int, default=20_000, help="lookup texts to try")
    parser.add_argument("--mutants", type=int, default=24, help="mutants per hypothesis example")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    found = 0

    started = time.perf_counter()
    files = Tally("import files (read, detect, validate, plan; error and problems CSVs)")
    file_seeds = examples(import_files(), max(1, args.files // (args.mutants + 1)), args.seed)
    fuzz(file_seeds, args.files, mutate_bytes,
         lambda data: files.run(data, examine_import), rng)  # fmt: skip
    found += files.report(time.perf_counter() - started)

    started = time.perf_counter()
    texts = Tally("lookup texts (parse, then the Account query run by the stand-in's SOQL)")
    query_seeds = examples(queries(), max(1, args.queries // (args.mutants + 1)), args.seed)
    with lookup_org() as directory:
        fuzz(query_seeds, args.queries, mutate_text,
             lambda text: texts.run(text, lambda t: examine_query(t, directory)),
             rng)  # fmt: skip
    found += texts.report(time.perf_counter() - started)

    print(f"\n{files.inputs + texts.inputs:,} inputs run; {found} failures found")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
