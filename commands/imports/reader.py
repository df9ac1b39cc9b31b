"""Bytes to a table: encoding, delimiter, header and records with their line numbers.

Files come from spreadsheets on every platform: Excel's "CSV UTF-8" (with a byte-order mark),
plain CSV in Windows-1252, "Unicode text" in UTF-16, semicolons where the decimal separator is
a comma, tabs from copy-and-paste. Each is read, and the ones that may have lost characters on
the way say so. Anything that is not text at all is refused with a reason a person can act
on, and the limits are checked before the whole file is held as rows.

Line numbers are physical lines of the file where a record starts (header = line 1 in the
usual case), so a quoted value spanning lines does not shift every later number: the admin
opens the file in an editor and finds the row where the report says it is.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field


class FileRejected(Exception):
    """The file cannot be used at all; `reason` says why, in words for the person who sent it."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 5_000_000
    max_rows: int = 2000
    max_cell_chars: int = 10_000  # longer values are reported on their row, not read as data


DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}

# Signatures of files people upload by mistake, with what to do instead.
_NOT_CSV = (
    (b"PK\x03\x04", "an Excel workbook (.xlsx) or another zip file"),
    (b"\xd0\xcf\x11\xe0", "an old-style Excel workbook (.xls)"),
    (b"%PDF", "a PDF document"),
)
_SAVE_AS = "in Excel, use File > Save As > CSV UTF-8 and send that file"
_CONTROL = frozenset(chr(c) for c in (*range(0, 9), 11, 12, *range(14, 32), 127))


@dataclass(frozen=True, slots=True)
class Record:
    line: int  # physical line where the record starts
    cells: list[str]


@dataclass
class Table:
    encoding: str  # "UTF-8", "UTF-8 with BOM", "UTF-16", "Windows-1252"
    delimiter: str  # "comma", "semicolon" or "tab"
    header: list[str]
    header_line: int
    records: list[Record]
    warnings: list[str] = field(default_factory=list)
    # The record whose quoted value is never closed and swallowed the rest of the file.
    unclosed_quote_line: int | None = None


def read_table(data: bytes, limits: Limits) -> Table:
    """Decode, sniff and parse; raise FileRejected when there is nothing usable."""
    check_size(len(data), limits)
    text, encoding, warnings = decode(data)
    if not text.strip():
        raise FileRejected("the file is empty")
    delimiter = sniff_delimiter(text)
    records = _records(text, delimiter, limits)
    try:
        header_record = next(records)
    except StopIteration:
        raise FileRejected("the file is empty") from None
    rows = list(records)
    if not rows:
        raise FileRejected("the file has a header but no rows")
    header = [cell.strip().lstrip("\ufeff").strip() for cell in header_record.cells]
    table = Table(encoding, DELIMITERS[delimiter], header, header_record.line, rows, warnings)
    # Quotes come in pairs in a well-formed file; an odd count and a last value spanning
    # lines means a quote opened there ran to the end of the file.
    if text.count('"') % 2 and any("\n" in c or "\r" in c for c in rows[-1].cells):
        table.unclosed_quote_line = rows[-1].line
    return table


def check_size(size: int, limits: Limits) -> None:
    """Refuse an oversized file by its size alone (callers check before downloading it)."""
    if size > limits.max_bytes:
        raise FileRejected(f"the file is {_size(size)}; the limit is {_size(limits.max_bytes)}")


def decode(data: bytes) -> tuple[str, str, list[str]]:
    """The text, the encoding's name, and a warning when the encoding may have cost characters."""
    if not data:
        raise FileRejected("the file is empty")
    if data.startswith(b"\xef\xbb\xbf"):
        return _check_text(_strict(data[3:], "utf-8")), "UTF-8 with BOM", []
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = _check_text(_strict(data, "utf-16"))
        return (
            text,
            "UTF-16",
            ["The file is UTF-16 (Excel's “Unicode text”): it was read, but CSV UTF-8 is safer."],
        )
    for signature, what in _NOT_CSV:
        if data.startswith(signature):
            raise FileRejected(f"this is {what}, not a CSV file: {_SAVE_AS}")
    if b"\x00" in data:
        raise FileRejected(f"this does not look like a CSV file (it holds binary data): {_SAVE_AS}")
    try:
        return _check_text(data.decode("utf-8")), "UTF-8", []
    except UnicodeDecodeError:
        pass
    text = _check_text(_strict(data, "cp1252"))
    return (
        text,
        "Windows-1252",
        [
            "The file is not UTF-8; it was read as Windows-1252. Check accented names in the "
            "plan, or save the file as CSV UTF-8."
        ],
    )


def _strict(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        raise FileRejected(
            f"the file is not readable text (neither UTF-8, UTF-16 nor Windows-1252): {_SAVE_AS}"
        ) from None


def _check_text(text: str) -> str:
    sample = text[:65536]
    controls = sum(1 for ch in sample if ch in _CONTROL)
    if "\x00" in text or controls > max(2, len(sample) // 100):
        raise FileRejected(f"this does not look like a CSV file (it holds binary data): {_SAVE_AS}")
    return text


def sniff_delimiter(text: str) -> str:
    """Comma, semicolon or tab: whichever the first non-blank line (outside quotes) has most of.

    Counting on the header alone is enough: it has no free text, and sniffing the whole file
    would let a comma inside an unquoted company name outvote the real delimiter.
    """
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    seen_text = False
    for ch in text[:65536]:
        if ch == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif ch in "\r\n":
            if seen_text:
                break
        elif ch in counts:
            counts[ch] += 1
            seen_text = True
        elif not ch.isspace():
            seen_text = True
    return max(counts, key=lambda d: counts[d])  # ties keep the dict order: comma first


def _records(text: str, delimiter: str, limits: Limits) -> Iterator[Record]:
    """Non-blank records with their starting line; refuses past the row limit as it goes."""
    # The csv module's per-field limit is process-wide; raise it (never lower it) so a long
    # cell becomes a row problem reported by validation instead of a parser error.
    csv.field_size_limit(max(csv.field_size_limit(), limits.max_bytes + 1))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    next_line = 1
    rows = -1  # the first non-blank record is the header
    try:
        for cells in reader:
            line, next_line = next_line, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            rows += 1
            if rows > limits.max_rows:
                raise FileRejected(
                    f"the file has more than {limits.max_rows:,} rows, the most one import "
                    "takes: split it into smaller files"
                )
            yield Record(line, cells)
    except csv.Error as exc:  # lenient parsing leaves little, but never a traceback
        raise FileRejected(
            f"the file could not be read as CSV near line {next_line}: {exc}"
        ) from None


def _size(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f} MB"
    if n >= 1000:
        return f"{n / 1000:.0f} KB"
    return f"{n} bytes"
