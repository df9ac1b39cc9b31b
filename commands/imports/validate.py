"""Row checks that need nothing but the file: shapes, required values, duplicates.

Every problem of every row is collected (Data Loader stops at the first per row, which makes
an admin fix a file five times). Values are trimmed and normalised here, once: what later
steps read from `ParsedRow.values` is valid and in the form Salesforce takes, and a field
whose value failed a check is absent, so cross-checks never ask about a value already judged.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property, lru_cache
from typing import Any

from commands.csv_safe import FORMULA_STARTS, is_formula_like
from commands.ids import (
    ACCOUNT_PREFIX,
    is_salesforce_id,
    is_stripe_customer_id,
    mask_token,
    mask_tokens_in,
)
from commands.ids import token_kind as stripe_token_kind
from commands.imports.columns import Field, HeaderMatch, column_name
from commands.imports.reader import Limits, Record
from commands.imports.results import RowProblem
from commands.imports.scenario import REQUIRED, Scenario
from commands.problems import Severity

TRUE_WORDS = frozenset({"true", "yes", "y", "1", "x", "checked"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "unchecked"})
PAYMENT_TYPES = {
    "creditcard": "Credit Card",
    "card": "Credit Card",
    "ach": "ACH",
    "bankaccount": "ACH",
    "usbankaccount": "ACH",
}
CARD_TYPES = {
    "visa": "Visa",
    "mastercard": "Mastercard",
    "mc": "Mastercard",
    "americanexpress": "American Express",
    "amex": "American Express",
    "discover": "Discover",
}
MAX_NAME = 255  # Account.Name
EXPIRING_DAYS = 30
_WORD = re.compile(r"[^a-z0-9]+")
_FORMULA_FIRST = frozenset(FORMULA_STARTS)


@dataclass(slots=True)
class ParsedRow:
    """A data row: its cells as read, its valid values, and what is wrong with it."""

    line: int
    source: dict[str, str]
    values: dict[Field, Any] = field(default_factory=dict)
    problems: list[RowProblem] = field(default_factory=list)

    def add(self, column: str, code: str, message: str, severity: Severity | None = None) -> None:
        self.problems.append(RowProblem.of(self.line, column, code, message, severity))

    @property
    def rejected(self) -> bool:
        return any(p.severity == Severity.ERROR for p in self.problems)


@dataclass(frozen=True)
class RowContext:
    """What every row's checks share."""

    header: Sequence[str]
    match: HeaderMatch
    scenario: Scenario
    limits: Limits
    today: date
    gateway_prefix: str | None = None  # from describe, when Salesforce is reachable
    unclosed_quote_line: int | None = None

    @cached_property
    def names(self) -> list[str]:
        """Each column's name in problems and `source` (computed once, not per row)."""
        return [column_name(self.header, i) for i in range(len(self.header))]


def validate_rows(records: Sequence[Record], ctx: RowContext) -> list[ParsedRow]:
    rows = [parse_row(record, ctx) for record in records]
    flag_duplicates(rows, ctx)
    return rows


def parse_row(record: Record, ctx: RowContext) -> ParsedRow:
    cells, names = record.cells, ctx.names
    row = ParsedRow(record.line, source_cells(ctx.header, cells, names))
    _check_shape(row, cells, len(names))
    if record.line == ctx.unclosed_quote_line:
        row.add(
            "",
            "malformed_row",
            "a quoted value starting on this row is never closed, so the rest of the file was "
            "read into it: add the closing quote",
        )
    too_long: set[int] = set()
    for index, cell in enumerate(cells):
        if len(cell) > ctx.limits.max_cell_chars:
            too_long.add(index)
            column = column_name(ctx.header, index)
            row.add(
                column,
                "value_too_long",
                f"{column} holds {len(cell):,} characters; the most this import reads is "
                f"{ctx.limits.max_cell_chars:,}",
            )
        elif _looks_like_formula(cell):
            column = column_name(ctx.header, index)
            first = cell[:1] if cell[:1] in "\t\r" else cell.strip()[:1]
            shown = {"\t": "a tab", "\r": "a carriage return"}.get(first, f"“{first}”")
            row.add(column, "formula_injection", f"{column} starts with {shown}, like a formula")
    for fld, index in ctx.match.columns.items():
        if index in too_long or index >= len(cells):
            continue
        text = cells[index].strip()
        if text:
            _check_value(row, fld, names[index], text, ctx)
    _check_required(row, cells, ctx)
    _check_expiry(row, ctx)
    return row


def source_cells(
    header: Sequence[str], cells: Sequence[str], names: Sequence[str] | None = None
) -> dict[str, str]:
    """The row as header -> cell, for the result CSVs; cells beyond the header keep a name."""
    names = names if names is not None else [column_name(header, i) for i in range(len(header))]
    if len(cells) == len(names):
        return dict(zip(names, cells, strict=True))
    source = {column_name(header, i): cell for i, cell in enumerate(cells)}
    return source | {name: "" for name in names[len(cells) :]}


def _looks_like_formula(cell: str) -> bool:
    """`csv_safe.is_formula_like`, on the cell as sent or after leading spaces; the first
    character decides cheaply for the many cells that are plainly data."""
    first = cell[:1]
    if first not in _FORMULA_FIRST and not (
        first.isspace() and cell.lstrip()[:1] in _FORMULA_FIRST
    ):
        return False
    return is_formula_like(cell) or is_formula_like(cell.strip())


def _check_shape(row: ParsedRow, cells: Sequence[str], width: int) -> None:
    if len(cells) > width and any(c.strip() for c in cells[width:]):
        row.add(
            "",
            "malformed_row",
            f"this row has {len(cells)} values but the header has {width} columns: a value "
            "holding the delimiter probably needs quotes",
        )
    elif len(cells) < width:
        row.add(
            "",
            "malformed_row",
            f"this row has {len(cells)} values but the header has {width} columns: the "
            "missing ones are read as empty",
            Severity.WARNING,
        )


def _check_required(row: ParsedRow, cells: Sequence[str], ctx: RowContext) -> None:
    """Each required group whose columns are in the file needs a value on every row (a
    column missing from the header is reported once, on line 1, not on every row)."""
    for group in REQUIRED[ctx.scenario]:
        present = [f for f in group if f in ctx.match.columns]
        if not present or any(_cell(cells, ctx.match.columns[f]) for f in present):
            continue
        names = " or ".join(ctx.names[ctx.match.columns[f]] for f in present)
        row.add(ctx.names[ctx.match.columns[present[0]]], "missing_required", f"{names} is empty")


def _cell(cells: Sequence[str], index: int) -> str:
    return cells[index].strip() if index < len(cells) else ""


# --- one value -----------------------------------------------------------------------------


def _check_value(row: ParsedRow, fld: Field, column: str, text: str, ctx: RowContext) -> None:
    value = _CHECKS[fld](row, column, text, ctx)
    if value is not None:
        row.values[fld] = value


def _account_id(row: ParsedRow, column: str, text: str, ctx: RowContext) -> str | None:
    return _salesforce_id(row, column, text, ACCOUNT_PREFIX, "an Account")


def _gateway_id(row: ParsedRow, column: str, text: str, ctx: RowContext) -> str | None:
    if ctx.gateway_prefix is None and text.startswith(ACCOUNT_PREFIX):
        row.add(column, "invalid_salesforce_id", f"{text[:40]} is an Account Id, not a gateway's")
        return None
    return _salesforce_id(row, column, text, ctx.gateway_prefix, "a Payment Gateway")


@lru_cache(maxsize=1024)
def _valid_id(text: str, prefix: str | None) -> bool:
    """Files repeat the same gateway Id on every row: check each distinct one once."""
    return is_salesforce_id(text, prefix)


def _salesforce_id(
    row: ParsedRow, column: str, text: str, prefix: str | None, what: str
) -> str | None:
    if _valid_id(text, prefix):
        return text
    if is_salesforce_id(text):
        message = f"{text} is not {what} Id ({what} Ids start with {prefix})"
    elif len(text) == 18 and text.isalnum():
        message = (
            f"{text} fails the 18-character Id check: it was mistyped, or its letters changed "
            "case (for example in a spreadsheet)"
        )
    else:
        message = f"“{_shown(text)}” is not a Salesforce Id (15 or 18 letters and digits)"
    row.add(column, "invalid_salesforce_id", message)
    return None


def _account_name(row: ParsedRow, column: str, text: str, ctx: RowContext) -> str | None:
    if len(text) > MAX_NAME:
        row.add(
            column,
            "value_too_long",
            f"the Account Name has {len(text)} characters; Salesforce takes {MAX_NAME}",
        )
        return None
    return text


def _stripe_customer(row: ParsedRow, column: str, text: str, ctx: RowContext) -> str | None:
    if is_stripe_customer_id(text):
        return text
    row.add(
        column,
        "invalid_stripe_customer_id",
        f"“{_shown(text)}” is not a Stripe Customer ID (cus_…)",
    )
    return None


def _token(row: ParsedRow, column: str, text: str, ctx: RowContext) -> str | None:
    kind = stripe_token_kind(text)
    if kind in ("reusable", "legacy"):
        if kind == "legacy":
            row.add(
                column,
                "token_legacy",
                f"{mask_token(text)} is a legacy Stripe id that Stripe is retiring",
                Severity.WARNING,
            )
        return text
    if kind == "single_use":
        row.add(column, "token_not_reusable", f"{mask_token(text)} is a single-use token")
    else:
        # Never echo it whole: people paste card numbers into the wrong column.
        row.add(
            column,
            "invalid_token",
            f"“{mask_token(text)}” is not a Stripe payment method id (pm_…)",
        )
    return None


def _active(row: ParsedRow, column: str, text: str, ctx: RowContext) -> bool | None:
    value = _boolean(row, column, text)
    if value is False:
        row.add(column, "active_not_true", f"{column} is “{_shown(text)}”; it must be true")
        return None
    return value


def _boolean(row: ParsedRow, column: str, text: str, ctx: RowContext | None = None) -> bool | None:
    word = text.casefold()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    row.add(column, "invalid_boolean", f"{column} is “{_shown(text)}”: use true or false")
    return None


def _choice(choices: dict[str, str], allowed: str) -> Callable[..., str | None]:
    def check(row: ParsedRow, column: str, text: str, ctx: RowContext) -> str | None:
        value = choices.get(_WORD.sub("", text.casefold()))
        if value is None:
            row.add(column, "invalid_value", f"{column} is “{_shown(text)}”: use {allowed}")
        return value

    return check


def _last_four(row: ParsedRow, column: str, text: str, ctx: RowContext) -> str | None:
    if re.fullmatch(r"\d{4}", text):
        return text
    row.add(column, "invalid_value", f"{column} should be 4 digits (a spreadsheet may drop a 0)")
    return None


def _month(row: ParsedRow, column: str, text: str, ctx: RowContext) -> str | None:
    # isdigit() alone also passes "²" and other digits int() cannot read.
    if text.isascii() and text.isdigit() and 1 <= int(text) <= 12:
        return f"{int(text):02d}"
    row.add(column, "invalid_value", f"{column} is “{_shown(text)}”: use 1 to 12")
    return None


def _year(row: ParsedRow, column: str, text: str, ctx: RowContext) -> str | None:
    if re.fullmatch(r"\d{2}", text):
        return str(2000 + int(text))
    if re.fullmatch(r"20\d{2}", text):
        return text
    row.add(column, "invalid_value", f"{column} is “{_shown(text)}”: use a year such as 2028")
    return None


_CHECKS: dict[Field, Callable[[ParsedRow, str, str, RowContext], Any]] = {
    Field.ACCOUNT_ID: _account_id,
    Field.ACCOUNT_NAME: _account_name,
    Field.STRIPE_CUSTOMER_ID: _stripe_customer,
    Field.GATEWAY_ID: _gateway_id,
    Field.ACTIVE: _active,
    Field.TOKEN: _token,
    Field.PAYMENT_TYPE: _choice(PAYMENT_TYPES, "Credit Card or ACH"),
    Field.CARD_TYPE: _choice(CARD_TYPES, "Visa, Mastercard, American Express or Discover"),
    Field.CARD_LAST_FOUR: _last_four,
    Field.EXP_MONTH: _month,
    Field.EXP_YEAR: _year,
    Field.AUTOPAY: _boolean,
}


# --- card expiry ---------------------------------------------------------------------------


def expiry_problem(month: int, year: int, today: date) -> tuple[str, str] | None:
    """(code, message) when a card is expired or expires within 30 days, else None.

    A card is good through the last day of its expiry month.
    """
    last_day = date(year, month, calendar.monthrange(year, month)[1])
    if last_day < today:
        return "card_expired", f"the card expired at the end of {month:02d}/{year}"
    if (last_day - today).days <= EXPIRING_DAYS:
        return "card_expiring", f"the card expires at the end of {month:02d}/{year}"
    return None


def _check_expiry(row: ParsedRow, ctx: RowContext) -> None:
    month, year = row.values.get(Field.EXP_MONTH), row.values.get(Field.EXP_YEAR)
    if month is None or year is None:
        return
    found = expiry_problem(int(month), int(year), ctx.today)
    if found:
        column = ctx.names[ctx.match.columns[Field.EXP_YEAR]]
        row.add(column, *found)


# --- duplicates ----------------------------------------------------------------------------


def flag_duplicates(rows: Sequence[ParsedRow], ctx: RowContext) -> None:
    """The first row with a token or an Account counts; later rows that repeat the token, or
    give the same Account different data, are rejected with a pointer to the first."""
    columns = {f: ctx.names[i] for f, i in ctx.match.columns.items()}
    first_token: dict[str, int] = {}
    account_cus: dict[str, tuple[int, str]] = {}  # account key -> (line, Stripe Customer ID)
    cus_account: dict[str, tuple[int, str]] = {}  # Stripe Customer ID -> (line, account key)
    names: dict[str, tuple[int, str]] = {}  # NEW: Stripe Customer ID -> (line, name)
    for row in rows:
        token = row.values.get(Field.TOKEN)
        if token:
            if token in first_token:
                row.add(
                    columns[Field.TOKEN],
                    "duplicate_in_file",
                    f"{mask_token(token)} is also on line {first_token[token]}",
                )
            else:
                first_token[token] = row.line
        cus = row.values.get(Field.STRIPE_CUSTOMER_ID)
        if not cus:
            continue
        if ctx.scenario == Scenario.NEW:
            name = row.values.get(Field.ACCOUNT_NAME)
            seen = names.setdefault(cus, (row.line, name or ""))
            if name and seen[1] and name.casefold() != seen[1].casefold():
                row.add(
                    columns[Field.STRIPE_CUSTOMER_ID],
                    "duplicate_in_file",
                    f"{cus} is on line {seen[0]} for the Account “{_shown(seen[1])}”",
                )
        elif ctx.scenario == Scenario.EXISTING:
            key = account_key(row)
            if key is None:
                continue
            seen_cus = account_cus.setdefault(key, (row.line, cus))
            seen_key = cus_account.setdefault(cus, (row.line, key))
            if seen_cus[1] != cus:
                row.add(
                    columns[Field.STRIPE_CUSTOMER_ID],
                    "duplicate_in_file",
                    f"line {seen_cus[0]} gives this Account the Stripe Customer ID {seen_cus[1]}",
                )
            elif seen_key[1] != key:
                row.add(
                    columns[Field.STRIPE_CUSTOMER_ID],
                    "duplicate_in_file",
                    f"{cus} is also on line {seen_key[0]}, for another Account",
                )


def account_key(row: ParsedRow) -> str | None:
    """What identifies the row's existing Account in the file: its Id, else its name."""
    if Field.ACCOUNT_ID in row.values:
        return "id:" + row.values[Field.ACCOUNT_ID][:15]
    if Field.ACCOUNT_NAME in row.values:
        return "name:" + row.values[Field.ACCOUNT_NAME].casefold()
    return None


def _shown(text: str, limit: int = 60) -> str:
    """A value as echoed in a message: shortened, and any token in it masked (the message
    reaches Slack and the problems CSV, even when the token sits in the wrong column)."""
    text = mask_tokens_in(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
