"""Reading what a person typed after `/billing customer` or `/billing pm`.

People paste from everywhere: Slack turns an e-mail address into `<mailto:a@b.co|a@b.co>`, a
URL into `<https://…|label>`, wraps code in backticks, and escapes `&`, `<` and `>` as HTML
entities. The text is cleaned of all that, then routed by its shape: a Stripe Customer ID
(`cus_…`), a gateway token (`pm_…`, `card_…`, `tok_…`…), a Salesforce Id (by its key prefix:
Account or payment method), or else an Account name. Nothing here talks to Salesforce; the
key prefixes come from the caller.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from commands.ids import (
    ACCOUNT_PREFIX,
    is_salesforce_id,
    is_stripe_customer_id,
    looks_like_salesforce_id,
    mask_token,
    token_kind,
)

# Account.Name holds at most 255 characters: longer text cannot match anything.
MAX_QUERY = 255

_SLACK_LINK = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
_INVISIBLE = re.compile("[\u200b-\u200d\u2060\ufeff]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Half a UTF-16 pair cannot be encoded for Salesforce (a shell passes undecodable bytes on as
# these): shown as the replacement character, as a decoder would.
_SURROGATE = re.compile("[\ud800-\udfff]")
# What people wrap a name in: quotes, and Slack's bold, italic and strike-through marks. A
# lone ASCII apostrophe is part of names (O'Brien), so it is never stripped.
_WRAPPERS = {'"': '"', "“": "”", "‘": "’", "*": "*", "_": "_", "~": "~"}


class QueryKind(StrEnum):
    EMPTY = "empty"
    TOO_LONG = "too_long"
    NAME = "name"
    ACCOUNT_ID = "account_id"
    PAYMENT_METHOD_ID = "payment_method_id"
    STRIPE_CUSTOMER = "stripe_customer"
    TOKEN = "token"


@dataclass(frozen=True, slots=True)
class LookupQuery:
    text: str  # cleaned; what reaches Salesforce (always through bot/salesforce/soql.py)
    kind: QueryKind
    # Why an Id-shaped text is searched as a name: "bad_checksum", or the key prefix of an
    # Id of some other object. Used to explain a miss, never to change the query.
    id_note: str = ""

    @property
    def shown(self) -> str:
        """The query as it may be echoed in Slack, logs and JSON: tokens masked."""
        return mask_token(self.text) if self.kind is QueryKind.TOKEN else self.text


def _unlink(match: re.Match[str]) -> str:
    target, label = match.group(1), match.group(2)
    if label:
        return label
    if target.startswith(("mailto:", "tel:")):
        return target.split(":", 1)[1]
    if target.startswith(("@", "#", "!")):
        return target[1:]
    return target


def clean(text: str | None) -> str:
    """The plain text a person meant, from what Slack delivered."""
    text = _SLACK_LINK.sub(_unlink, text or "")
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    text = unicodedata.normalize("NFC", _SURROGATE.sub("\ufffd", text))
    text = _INVISIBLE.sub("", _CONTROL.sub(" ", text.replace("`", " ")))
    text = " ".join(text.split())
    while len(text) > 2 and _WRAPPERS.get(text[0]) == text[-1]:
        text = text[1:-1].strip()
    return text


def parse(text: str | None, payment_method_prefix: str | None = None) -> LookupQuery:
    """Route cleaned text by its shape.

    `payment_method_prefix` is the key prefix of `blng__PaymentMethod__c` in this org (it
    varies by org); callers fetch it only when the text looks like an Id.
    """
    cleaned = clean(text)
    if not cleaned:
        return LookupQuery("", QueryKind.EMPTY)
    if len(cleaned) > MAX_QUERY:
        return LookupQuery(cleaned, QueryKind.TOO_LONG)
    if is_stripe_customer_id(cleaned):
        return LookupQuery(cleaned, QueryKind.STRIPE_CUSTOMER)
    if token_kind(cleaned) != "invalid":
        return LookupQuery(cleaned, QueryKind.TOKEN)
    if looks_like_salesforce_id(cleaned):
        if not is_salesforce_id(cleaned):
            return LookupQuery(cleaned, QueryKind.NAME, id_note="bad_checksum")
        if cleaned.startswith(ACCOUNT_PREFIX):
            return LookupQuery(cleaned, QueryKind.ACCOUNT_ID)
        if payment_method_prefix and cleaned.startswith(payment_method_prefix):
            return LookupQuery(cleaned, QueryKind.PAYMENT_METHOD_ID)
        return LookupQuery(cleaned, QueryKind.NAME, id_note=cleaned[:3])
    return LookupQuery(cleaned, QueryKind.NAME)


def needs_key_prefix(text: str | None) -> bool:
    """True when routing `text` depends on the org's payment-method key prefix."""
    cleaned = clean(text)
    return looks_like_salesforce_id(cleaned) and not cleaned.startswith(ACCOUNT_PREFIX)
