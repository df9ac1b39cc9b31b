"""Putting user text into SOQL without letting it change the query's meaning.

Salesforce string literals escape quotes, backslashes and control characters with a
backslash; inside LIKE, `%` and `_` are wildcards unless escaped as `\\%` and `\\_`. Every
value that reaches a query goes through `quote` or `like`; nothing is concatenated raw.
"""

from __future__ import annotations

from collections.abc import Iterable

_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}

# Salesforce rejects string literals longer than this in WHERE clauses.
MAX_LITERAL = 4000


def _escape(value: str) -> str:
    return "".join(_ESCAPES.get(ch, ch) for ch in value)


def quote(value: str) -> str:
    """A SOQL string literal holding exactly `value`."""
    return "'" + _escape(str(value)[:MAX_LITERAL]) + "'"


def like(value: str, *, contains: bool = True) -> str:
    """A LIKE pattern matching `value` literally (case-insensitive in Salesforce)."""
    escaped = _escape(str(value)[: MAX_LITERAL - 2]).replace("%", "\\%").replace("_", "\\_")
    return f"'%{escaped}%'" if contains else f"'{escaped}'"


def in_list(values: Iterable[str]) -> str:
    """`('a','b')` for IN clauses; callers chunk long lists (see `chunks`)."""
    items = [quote(v) for v in values]
    if not items:
        raise ValueError("IN needs at least one value")
    return "(" + ",".join(items) + ")"


def chunks(values: list[str], size: int = 200) -> Iterable[list[str]]:
    """Split IN lists so a query stays well inside SOQL's length limit."""
    for start in range(0, len(values), size):
        yield values[start : start + size]
