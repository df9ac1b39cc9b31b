"""Problems as a support agent reads them: what is wrong with this record, then what to do.

Each message is two sentences: the finding about this record (with its values, tokens
masked) and the fix, taken from the shared code table unless the situation calls for a more
precise one. One place builds them, so `customer`, `pm` and their renderings agree.
"""

from __future__ import annotations

import re

from commands.problems import CODES, Problem, Severity

# Words that differ between a company's legal and everyday names; ignored when comparing the
# Account's name with the Stripe customer's.
_LEGAL_SUFFIXES = {
    "inc", "incorporated", "llc", "ltd", "limited", "corp", "corporation", "co", "company",
    "gmbh", "ag", "sa", "sas", "sarl", "bv", "nv", "plc", "pty", "srl", "spa", "oy", "ab",
}  # fmt: skip


def problem(
    code: str, finding: str, fix: str | None = None, severity: Severity | None = None
) -> Problem:
    """`finding` says what is wrong here; `fix` (default: the code's own) says what to do."""
    how = fix if fix is not None else CODES.get(code, (Severity.ERROR, ""))[1]
    finding = finding.rstrip()
    if finding and finding[-1] not in ".:!?":
        finding += "."
    return Problem.of(code, f"{finding} {how}".strip(), severity)


def same_company(a: str | None, b: str | None) -> bool:
    """True when two names plausibly name the same company ("Acme, Inc." = "ACME")."""

    def words(name: str | None) -> list[str]:
        tokens = re.findall(r"\w+", (name or "").casefold())
        return [t for t in tokens if t not in _LEGAL_SUFFIXES] or tokens

    return words(a) == words(b)
