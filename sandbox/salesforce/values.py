"""Field values: what a write may carry for each field type, how it is stored and returned.

Salesforce is strict about types on the way in (a word in a checkbox is a JSON parser error,
an Id of the wrong shape is MALFORMED_ID) and particular on the way out (datetimes as
`2024-05-01T12:00:00.000+0000`, empty text as null). The stand-in copies both, so code that
works against it sends what Salesforce accepts and reads what Salesforce returns.

Storage in SQLite: booleans as 0/1, numbers as REAL/INTEGER, dates as `YYYY-MM-DD`, datetimes
as the fixed-width UTC text above (so text order is time order), Ids as 18-character text.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from commands.ids import is_salesforce_id, to_18

from .errors import SalesforceError
from .schema import Field

UTC = dt.UTC

_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_DATETIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
    r"(Z|[+-]\d{2}:?\d{2})?$"
)
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def format_datetime(value: dt.datetime) -> str:
    """Salesforce's REST datetime text, always UTC with milliseconds."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def parse_datetime(text: str) -> dt.datetime | None:
    """ISO 8601 as Salesforce accepts it (zone optional on writes: UTC); None if invalid."""
    match = _DATETIME_RE.match(text.strip())
    if not match:
        date_only = _DATE_RE.match(text.strip())
        if not date_only:
            return None
        try:
            return dt.datetime(*map(int, date_only.groups()), tzinfo=UTC)
        except ValueError:
            return None
    year, month, day, hour, minute, second, frac, zone = match.groups()
    try:
        micro = int((frac or "0").ljust(6, "0")[:6])
        tz = UTC
        if zone and zone != "Z":
            sign = -1 if zone[0] == "-" else 1
            digits = zone[1:].replace(":", "")
            tz = dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
        return dt.datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            micro,
            tzinfo=tz,
        )
    except ValueError:
        return None


def parse_date(text: str) -> dt.date | None:
    match = _DATE_RE.match(text.strip())
    if not match:
        return None
    try:
        return dt.date(*map(int, match.groups()))
    except ValueError:
        return None


_CASE_BITS = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
    "1" * 26 + "0" * 36,
)


def fast_to_18(id15: str) -> str:
    """`commands.ids.to_18` for an Id already known to be 15 alphanumerics, but quicker.

    Seeding mints and checks hundreds of thousands of Ids; the tests check that both give
    the same answer.
    """
    bits = id15.translate(_CASE_BITS)
    return (
        id15
        + _CHECKSUM_ALPHABET[int(bits[4::-1], 2)]
        + _CHECKSUM_ALPHABET[int(bits[9:4:-1], 2)]
        + _CHECKSUM_ALPHABET[int(bits[14:9:-1], 2)]
    )


def normalize_id(value: str) -> str | None:
    """The 18-character Id for a 15- or 18-character Id (any letter case for 18), else None.

    Salesforce accepts an 18-character Id whatever its letter case, because the last three
    characters say which of the first fifteen are upper case; `commands.ids` judges the
    canonical form, this restores it first.
    """
    if not isinstance(value, str):
        return None
    if len(value) == 18 and value.isascii() and value.isalnum() and fast_to_18(value[:15]) == value:
        return value
    if is_salesforce_id(value):
        return to_18(value)
    if len(value) == 18 and value.isalnum():
        chars = list(value[:15])
        for chunk in range(3):
            bits = _CHECKSUM_ALPHABET.find(value[15 + chunk].upper())
            if bits < 0:
                return None
            for i in range(5):
                pos = chunk * 5 + i
                if chars[pos].isalpha():
                    chars[pos] = chars[pos].upper() if bits & (1 << i) else chars[pos].lower()
        restored = "".join(chars)
        if is_salesforce_id(restored + value[15:].upper()):
            return to_18(restored)
    return None


def _json_token(value: Any) -> str:
    if isinstance(value, bool):
        return "VALUE_TRUE" if value else "VALUE_FALSE"
    if isinstance(value, int):
        return "VALUE_NUMBER_INT"
    if isinstance(value, float):
        return "VALUE_NUMBER_FLOAT"
    if isinstance(value, str):
        return "VALUE_STRING"
    if isinstance(value, list):
        return "START_ARRAY"
    return "START_OBJECT"


_JAVA_TYPES = {
    "boolean": "boolean",
    "double": "double",
    "currency": "double",
    "percent": "double",
    "int": "int",
    "date": "date",
    "datetime": "datetime",
    "reference": "id",
    "id": "id",
}


def _parser_error(f: Field, value: Any) -> SalesforceError:
    java = _JAVA_TYPES.get(f.type, "String")
    shown = value if isinstance(value, str) else repr(value)
    return SalesforceError(
        400,
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {java} from {_json_token(value)} value {shown} "
        "or request may be missing a required field",
    )


def _csv_type_error(f: Field, value: Any) -> SalesforceError:
    return SalesforceError(
        400,
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        f"{f.label}: value not of required type: {value}",
        [f.name],
    )


_PLAIN_TEXT = frozenset({"string", "textarea", "phone", "url"})


def coerce(f: Field, value: Any, *, csv: bool = False) -> Any:
    """A written value, checked against the field and converted to its stored form.

    `csv` selects Bulk API semantics (every value arrives as text, type errors are
    INVALID_TYPE_ON_FIELD_IN_RECORD) instead of REST JSON (JSON_PARSER_ERROR).
    Reference existence and required-ness are checked by the caller, which sees the record.
    """
    if type(value) is str and f.type in _PLAIN_TEXT and value and len(value) <= f.length:
        return value  # the common case when seeding: short text in a text field
    error = _csv_type_error if csv else _parser_error
    if f.type == "boolean":
        if value is None:
            return 0
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
            return int(value.strip().lower() in ("true", "1"))
        if isinstance(value, int) and value in (0, 1):
            return value
        raise error(f, value)
    if value is None:
        return None
    if f.is_number:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise error(f, value)
        try:
            number = float(value) if not isinstance(value, int) else value
        except ValueError:
            raise error(f, value) from None
        if isinstance(number, float) and not math.isfinite(number):
            raise error(f, value)
        if f.type == "int":
            if float(number) != int(number):
                raise error(f, value)
            return int(number)
        limit = 10 ** max(f.precision - f.scale, 1)
        if abs(number) >= limit:
            raise SalesforceError(
                400,
                "NUMBER_OUTSIDE_VALID_RANGE",
                f"{f.label}: value outside of valid range on numeric field: {value}",
                [f.name],
            )
        return round(float(number), f.scale)
    if f.type == "date":
        if not isinstance(value, str):
            raise error(f, value)
        if value.strip() == "":
            return None
        parsed_dt = parse_datetime(value)
        if parsed_dt is None:
            raise error(f, value)
        return (
            parsed_dt.date().isoformat()
            if _DATE_RE.match(value.strip())
            else parsed_dt.astimezone(UTC).date().isoformat()
        )
    if f.type == "datetime":
        if not isinstance(value, str):
            raise error(f, value)
        if value.strip() == "":
            return None
        parsed = parse_datetime(value)
        if parsed is None:
            raise error(f, value)
        return format_datetime(parsed)
    if f.is_id:
        if not isinstance(value, str):
            raise error(f, value)
        if value == "":
            return None
        normalized = normalize_id(value)
        if normalized is None:
            raise SalesforceError(
                400, "MALFORMED_ID", f"{f.label}: id value of incorrect type: {value}", [f.name]
            )
        return normalized
    # Text-like fields.
    if isinstance(value, bool):
        value = "true" if value else "false"
    elif isinstance(value, (int, float)):
        value = str(value)
    elif not isinstance(value, str):
        raise error(f, value)
    if value == "":
        return None  # Salesforce stores empty text as null
    if f.length and len(value) > f.length:
        raise SalesforceError(
            400,
            "STRING_TOO_LONG",
            f"{f.label}: data value too large: {value[:255]} (max length={f.length})",
            [f.name],
        )
    if f.type == "email" and not _EMAIL_RE.match(value):
        raise SalesforceError(
            400, "INVALID_EMAIL_ADDRESS", f"{f.label}: invalid email address: {value}", [f.name]
        )
    if f.type == "picklist" and f.restricted and value not in f.picklist:
        raise SalesforceError(
            400,
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"{f.label}: bad value for restricted picklist field: {value}",
            [f.name],
        )
    return value


def to_json(f: Field, stored: Any) -> Any:
    """A stored value as the REST API returns it."""
    if f.type == "boolean":
        return bool(stored)
    if stored is None:
        return None
    if f.type == "int":
        return int(stored)
    if f.is_number:
        return float(stored)
    return stored


def to_csv(f: Field, stored: Any) -> str:
    """A stored value as Bulk API result CSVs show it."""
    value = to_json(f, stored)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
