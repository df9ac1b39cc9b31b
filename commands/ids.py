"""Identifier rules for Salesforce Ids and Stripe object ids.

Kept free of any client library: imports, lookups and the audit all judge ids the same way,
and the Salesforce stand-in mints Ids with the same checksum so both sides agree.
"""

from __future__ import annotations

import re

# Key prefixes: the first three characters of an Id say which object it belongs to. The
# standard Account prefix is fixed; managed-package prefixes vary by org, so callers pass the
# prefix they learned from describe when they have it.
ACCOUNT_PREFIX = "001"

_ID_CHARS = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")
_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def _checksum(id15: str) -> str:
    suffix = ""
    for chunk_start in range(0, 15, 5):
        chunk = id15[chunk_start : chunk_start + 5]
        bits = sum(1 << i for i, ch in enumerate(chunk) if "A" <= ch <= "Z")
        suffix += _CHECKSUM_ALPHABET[bits]
    return suffix


def to_18(sf_id: str) -> str:
    """The 18-character, case-safe form of a 15- or 18-character Id (ValueError if invalid)."""
    if not is_salesforce_id(sf_id):
        raise ValueError(f"not a Salesforce Id: {sf_id!r}")
    return sf_id[:15] + _checksum(sf_id[:15])


def is_salesforce_id(value: str, prefix: str | None = None) -> bool:
    """True for a 15-character Id, or an 18-character Id whose checksum matches.

    With `prefix`, the Id must also belong to that object (its key prefix).
    """
    if not isinstance(value, str) or not _ID_CHARS.match(value):
        return False
    if len(value) == 18 and value[15:].upper() != _checksum(value[:15]):
        return False
    return prefix is None or value[:3] == prefix


def looks_like_salesforce_id(value: str) -> bool:
    """Shape only (15 or 18 alphanumerics, at least one digit): used to route free text."""
    return bool(_ID_CHARS.match(value)) and any(c.isdigit() for c in value)


# Stripe ------------------------------------------------------------------------------------

_STRIPE_ID = re.compile(r"^(?P<prefix>[a-z]+)_(?P<rest>[A-Za-z0-9_]{3,250})$")
REUSABLE_TOKEN_PREFIXES = ("pm_",)
LEGACY_TOKEN_PREFIXES = ("card_", "src_", "ba_")
SINGLE_USE_TOKEN_PREFIXES = ("tok_", "btok_")


def is_stripe_customer_id(value: str) -> bool:
    match = _STRIPE_ID.match(value or "")
    return bool(match) and match.group("prefix") == "cus"


def token_kind(value: str) -> str:
    """Classify a gateway token: 'reusable', 'legacy', 'single_use' or 'invalid'."""
    match = _STRIPE_ID.match(value or "")
    if not match:
        return "invalid"
    prefixed = match.group("prefix") + "_"
    if prefixed in REUSABLE_TOKEN_PREFIXES:
        return "reusable"
    if prefixed in LEGACY_TOKEN_PREFIXES:
        return "legacy"
    if prefixed in SINGLE_USE_TOKEN_PREFIXES:
        return "single_use"
    return "invalid"


def mask_token(value: str | None) -> str:
    """`pm_1Abc…4242` -> `pm_…4242`: enough to recognise a token, never enough to use one."""
    if not value:
        return ""
    value = str(value)
    prefix, sep, rest = value.partition("_")
    if not sep or len(rest) <= 4:
        return "…" + value[-4:] if len(value) > 4 else "…"
    return f"{prefix}_…{rest[-4:]}"


_TOKEN_WORD = re.compile(r"\b(?:pm|card|tok|src|ba|btok|sk|rk|pk)_[A-Za-z0-9_]{4,}")


def mask_tokens_in(text: str | None) -> str:
    """Mask every Stripe-token-looking word (pm_, card_, tok_, src_, ba_, sk_, rk_) in free
    text: a message or cell that repeats what someone typed or a record holds."""
    return _TOKEN_WORD.sub(lambda m: mask_token(m.group(0)), text or "")
