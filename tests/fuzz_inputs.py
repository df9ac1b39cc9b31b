"""Hostile input and the promises it must not break, shared by the property tests
(`tests/test_reliability_fuzz.py`) and the long run (`bench/fuzz.py`).

Import files: whatever bytes an admin uploads, `prepare_import` either refuses the file with a
reason (`FileRejected`) or returns a report in which every problem has a known code, a line and
a message, every rejected row says why, and the CSVs the bot writes from it hold no cell a
spreadsheet would run and no whole token. Nothing else may escape.

Lookups: whatever a person types, `commands.lookups.query.parse` routes it without raising,
and the SOQL the real adapter (`bot.salesforce.lookups.SalesforceLookups`) builds from it finds
exactly the Accounts whose name contains the cleaned text, run by the Salesforce stand-in's own
SOQL parser and compiler in process (no HTTP, so a long run can try many inputs).

Each check returns the promises broken, as sentences (empty: all kept), so the property tests
assert on it and the bench counts it.
"""

from __future__ import annotations

import csv
import io
import re
import string
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hypothesis import strategies as st

from bot.config import load_settings
from bot.salesforce.client import SalesforceClient
from bot.salesforce.lookups import SalesforceLookups
from commands.csv_safe import is_formula_like
from commands.ids import to_18
from commands.imports import FileRejected, Limits, RowStatus
from commands.imports.columns import ALIASES, Field, normalise
from commands.imports.csv_out import error_csv, problems_csv
from commands.lookups.query import MAX_QUERY, QueryKind, clean, parse
from commands.problems import CODES, Severity
from tests.import_fakes import prepare

LIMITS = Limits(max_bytes=20_000, max_rows=30, max_cell_chars=300)
_TOKEN = re.compile(r"\b(?:pm|card|tok|src|ba)_[A-Za-z0-9]{8,}")

# --- import files ---------------------------------------------------------------------------

_HEADERS = [name for field in Field for name in (field.value, *ALIASES[field])]
_VALUES = [
    to_18("001000000000001"), "001000000000001", to_18("a0G000000000001"), "a0G000000000001",
    to_18("a0M000000000001"), "001000000000001ZZZ", "0010000000000", "001' OR Id != '",
    "cus_Acme1234567890", "cus_", "acct_1", "pm_1Abcdefghijklmnop", "card_1Abcdefghijklmn",
    "tok_visa1234567890", "src_123456789012", "ba_1234567890123", "pm_", "pm_ 12",
    "true", "TRUE", "True", "yes", "1", "false", "no", "0", "maybe", "", " ", "  true  ",
    "=HYPERLINK(\"https://evil.example\",\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1",
    "-12", "O'Brien 100% Ltd", '"quoted"', 'a "quote" inside', "semi;colon", "tab\tbed",
    "comma, inside", "line\nbreak", "<!channel>", "<@U0APPROVER>", "<https://evil|click>",
    "Ünïcødé 🚀 名前", "\u200b", "\x00", "\x1b[31m", "\ufeff", "%", "_", "\\", "x" * 301,
    "Credit Card", "ACH", "Visa", "4242", "12", "2031", "13", "1999",
]  # fmt: skip
_TYPED = string.ascii_letters + string.digits + string.punctuation + " éüß€🚀"  # what people type
_ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1252"]


@st.composite
def import_files(draw: st.DrawFn) -> bytes:
    """Bytes an admin might upload: CSV-like text from the columns and values imports know,
    hostile cells among them, any delimiter, quoting, line ending and encoding; sometimes cut
    short or with stray bytes spliced in; sometimes not text at all."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=600))
    known, typed = st.sampled_from(_HEADERS), st.text(alphabet=_TYPED, max_size=12)
    header_cell = st.one_of(known, known, typed)
    values = st.sampled_from(_VALUES)
    anything = st.text(max_size=4)  # control characters too: rarely, or every file is binary
    cell = st.one_of(values, values, values, st.text(alphabet=_TYPED, max_size=16), anything)
    header = draw(st.lists(header_cell, min_size=1, max_size=8, unique_by=normalise))
    rows = draw(st.lists(st.lists(cell, min_size=1, max_size=9), min_size=1, max_size=12))
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    if draw(st.booleans()):
        out = io.StringIO()
        quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]))
        writer = csv.writer(out, delimiter=delimiter, lineterminator=newline, quoting=quoting)
        writer.writerows([header, *rows])
        text = out.getvalue()
    else:  # joined by hand: stray quotes and ragged rows stay as typed
        text = newline.join(delimiter.join(row) for row in [header, *rows])
    data = text.encode(draw(st.sampled_from(_ENCODINGS)), errors="replace")
    if draw(st.integers(0, 4)) == 0:
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] + draw(st.binary(max_size=8)) + data[cut:]
    return data


def check_import(data: bytes) -> list[str]:
    """Prepare `data` offline (no Salesforce, no Stripe) and list the promises broken."""
    return examine_import(data)[1]


def examine_import(data: bytes) -> tuple[str, list[str]]:
    """How preparing `data` ended (`refused: …` or `reported row by row`), and the promises
    broken."""
    try:
        report = prepare(data, limits=LIMITS)
    except FileRejected as exc:
        if not exc.reason.strip():
            return "refused", ["a file was rejected without a reason"]
        return "refused: " + re.split(r"[:(“]", exc.reason, maxsplit=1)[0].strip(), []
    broken = []
    for problem in report.problems:
        if problem.code not in CODES:
            broken.append(f"unknown problem code {problem.code!r}")
        if not problem.message.strip() or problem.line < 1:  # a whole row has no column
            broken.append(f"a {problem.code} problem without its line or message")
    file_errors = any(
        p.severity is Severity.ERROR and p.line <= 1 for p in report.problems
    )  # header problems reject every row
    for row in report.planned:
        errors = [p for p in row.problems if p.severity is Severity.ERROR]
        if row.status is RowStatus.REJECTED and not errors and not file_errors:
            broken.append(f"line {row.line} was rejected without a reason")
        if row.status is not RowStatus.REJECTED and errors:
            broken.append(f"line {row.line} has errors but is not rejected")
    if report.plan.rejected_rows != sum(r.status is RowStatus.REJECTED for r in report.planned):
        broken.append("the plan's count of rejected rows disagrees with the rows")
    tokens = set(_TOKEN.findall(data.decode("utf-8", errors="ignore")))
    for name, text in (("error CSV", error_csv(report)), ("problems CSV", problems_csv(report))):
        broken += _unsafe_cells(name, text, tokens)
    return "reported row by row", broken


def _unsafe_cells(name: str, text: str, tokens: set[str]) -> list[str]:
    broken = []
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            if is_formula_like(cell):
                broken.append(f"the {name} has a cell a spreadsheet would run: {cell[:40]!r}")
    if tokens & set(_TOKEN.findall(text)):
        broken.append(f"the {name} shows a whole token")
    return broken


# --- lookups --------------------------------------------------------------------------------

# Account names that SOQL built carelessly would match wrongly or choke on.
HOSTILE_NAMES = [
    "O'Brien 100% Ltd", "Back\\slash Co", "Under_score Inc", "Per%cent Corp", "Quote\"d LLC",
    "Evil <!channel> Co", "Ping <@U0APPROVER> Ltd", "Link <https://evil.example|click> plc",
    "Amp &amp; Sons", "Star *bold* GmbH", "Tick `code` SA", "Ünïcødé Straße AG", "名前 株式会社",
    "' OR Name != '", "Acme Corporation", "ACME corp", "Tab\tName", "Semi; colon",
]  # fmt: skip
QUERY_PIECES = [
    *string.printable, "%", "_", "'", "\\", "\x00", "é", "ß", "“", "”", "😀", "\u200b",
    "&lt;", "&gt;", "&amp;", "<!channel>", "<@U1>", "<https://x|y>",
]  # fmt: skip


def queries() -> st.SearchStrategy[str]:
    """What people type after `/billing customer`: any text, the hostile names and pieces of
    them, Slack's markup and entities."""
    return st.one_of(
        st.lists(st.sampled_from(QUERY_PIECES), max_size=30).map("".join),
        st.sampled_from(HOSTILE_NAMES).flatmap(
            lambda name: st.tuples(st.integers(0, len(name)), st.integers(0, len(name))).map(
                lambda ij: name[min(ij) : max(ij)]
            )
        ),
        st.text(max_size=300),
    )


class _InProcessSf:
    """The few simple-salesforce calls a lookup makes, answered by an `Org` in this process."""

    def __init__(self, org: Any):
        self.org = org

    def query(self, soql: str) -> dict[str, Any]:
        return self.org.query(soql)

    def query_more(self, url: str, identifier_is_url: bool = False) -> dict[str, Any]:
        return self.org.query_more(url.rsplit("/", 1)[1])

    def restful(self, path: str) -> dict[str, Any]:
        return self.org.describe(path.split("/")[1])


class InProcessClient(SalesforceClient):
    """The real `SalesforceClient` over an in-process `Org`. The stand-in's errors (a
    malformed query above all) are not the client library's, so they reach the caller as they
    are, never translated into a polite "no match"."""

    def __init__(self, org: Any):
        super().__init__(
            load_settings(
                {"SF_INSTANCE_URL": "https://org.invalid", "SF_ACCESS_TOKEN": "00D!fuzz"},
                dotenv_path=None,
            )
        )
        self.org = org

    def _connect(self) -> Any:
        return _InProcessSf(self.org)


@contextmanager
def lookup_org() -> Iterator[SalesforceLookups]:
    """The lookup adapter over an in-process org holding the hostile names."""
    from sandbox.salesforce import Org

    org = Org(stripe_customer_field="Stripe_Customer_Id__c")
    try:
        for name in HOSTILE_NAMES:
            org.create("Account", {"Name": name})
        yield SalesforceLookups(InProcessClient(org))
    finally:
        org.close()


def _ascii_lower(text: str) -> str:
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def check_query(text: str, directory: SalesforceLookups) -> list[str]:
    """Parse `text` as a lookup does and run the Account query the adapter builds for it;
    the promises broken."""
    return examine_query(text, directory)[1]


def examine_query(text: str, directory: SalesforceLookups) -> tuple[str, list[str]]:
    """How `text` was read (its kind), and the promises broken."""
    query = parse(text, directory.payment_method_prefix())
    cleaned = clean(text)
    broken = []
    if query.kind is QueryKind.EMPTY and cleaned:
        broken.append(f"{text!r} was read as empty")
    if query.kind is QueryKind.TOO_LONG and len(cleaned) <= MAX_QUERY:
        broken.append(f"{text!r} was read as too long")
    if query.kind is QueryKind.TOKEN and query.shown == query.text and len(query.text) > 8:
        broken.append("a token is shown whole")
    if any(ch in query.text for ch in "\x00\n\r\t`"):
        broken.append(f"control characters or backticks reached the query: {query.text!r}")
    if query.kind is not QueryKind.NAME:
        return f"read as {query.kind}", broken
    found = sorted(a.name or "" for a in directory.accounts(query, limit=200))
    # The stand-in's LIKE (SQLite's) ignores the case of ASCII letters only.
    wanted = _ascii_lower(query.text)
    expected = sorted(n for n in HOSTILE_NAMES if wanted in _ascii_lower(n))
    if found != expected:
        broken.append(f"{text!r} (read as {query.text!r}) found {found}, not {expected}")
    return f"read as a name, {len(found)} found", broken
