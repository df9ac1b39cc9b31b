"""Writing CSVs that a spreadsheet opens as data, never as formulas.

Every CSV the bot writes (audit findings, import results) can carry text that came from a
Salesforce record or an uploaded file. Excel, LibreOffice and Google Sheets run a cell that
starts with `=`, `+`, `-` or `@` (and, in some versions, a tab or carriage return) as a
formula, so such a cell is prefixed with a single quote, as OWASP's CSV-injection guidance
recommends (DESIGN section 7). Plain negative numbers are left alone: they are data.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")


def is_formula_like(value: str) -> bool:
    return value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.match(value)


def neutralise(value: Any) -> str:
    """The cell as text, with a leading `'` when a spreadsheet would evaluate it."""
    text = "" if value is None else str(value)
    return "'" + text if is_formula_like(text) else text


def write_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A whole CSV document (RFC 4180 quoting, `\\r\\n` lines), every cell neutralised."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return out.getvalue()
