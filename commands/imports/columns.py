"""Which column is which: header cells matched to the fields an import knows.

Admins build these files by hand or export them from Salesforce, so a header may be a label
("Payment Gateway Token"), an API name ("blng__PaymentGatewayToken__c") or either with odd
case, spaces, underscores or punctuation. All of them normalise to the same key. A header that
matches nothing is reported (`unknown_column`) and ignored; two columns meaning the same field
make the file unusable, because the import could not know which one to trust.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from commands.imports.reader import FileRejected


class Field(StrEnum):
    """The fields an import understands; the value is the label shown to users."""

    ACCOUNT_ID = "Account Id"
    ACCOUNT_NAME = "Account Name"
    STRIPE_CUSTOMER_ID = "Stripe Customer ID"
    GATEWAY_ID = "Payment Gateway (record ID)"
    ACTIVE = "Active"
    TOKEN = "Payment Gateway Token"
    PAYMENT_TYPE = "Payment Type"
    CARD_TYPE = "Card Type"
    CARD_LAST_FOUR = "Card Last Four"
    EXP_MONTH = "Expiration Month"
    EXP_YEAR = "Expiration Year"
    AUTOPAY = "AutoPay"


# Other spellings of each field: Salesforce labels and API names, and what exports call them.
# A bare "Account" is deliberately absent: in list views it holds the Account's *name*.
ALIASES: dict[Field, tuple[str, ...]] = {
    Field.ACCOUNT_ID: ("Account ID", "AccountId", "Id", "blng__Account__c"),
    Field.ACCOUNT_NAME: ("Name", "Account.Name", "blng__Account__r.Name"),
    Field.STRIPE_CUSTOMER_ID: ("Stripe_Customer_Id__c", "stripeGC__Customer_Id__c"),
    Field.GATEWAY_ID: (
        "Payment Gateway record ID",
        "Payment Gateway",
        "Payment Gateway Id",
        "blng__PaymentGateway__c",
    ),
    Field.ACTIVE: ("blng__Active__c",),
    Field.TOKEN: ("Token", "Gateway Token", "blng__PaymentGatewayToken__c"),
    Field.PAYMENT_TYPE: ("blng__PaymentType__c",),
    Field.CARD_TYPE: ("blng__CardType__c",),
    Field.CARD_LAST_FOUR: ("Last Four", "blng__CardLastFour__c"),
    Field.EXP_MONTH: ("Card Expiration Month", "Exp Month", "blng__CardExpirationMonth__c"),
    Field.EXP_YEAR: ("Card Expiration Year", "Exp Year", "blng__CardExpirationYear__c"),
    Field.AUTOPAY: ("Auto Pay", "blng__AutoPay__c"),
}

_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def normalise(header: str) -> str:
    """`Payment Gateway (record ID)`, `payment_gateway_record_id` -> `paymentgatewayrecordid`."""
    return _NOT_ALNUM.sub("", header.casefold())


def _lookup(extra: Mapping[Field, Sequence[str]]) -> dict[str, Field]:
    table: dict[str, Field] = {}
    for field in Field:
        for name in (field.value, *ALIASES[field], *extra.get(field, ())):
            table.setdefault(normalise(name), field)
    return table


def column_name(header: Sequence[str], index: int) -> str:
    """How problems and result files name a column: its header, or “column N” when blank."""
    if index < len(header) and header[index]:
        return header[index]
    return f"column {index + 1}"


@dataclass(frozen=True)
class HeaderMatch:
    """Where each known field sits (column index), and the headers that matched nothing."""

    columns: dict[Field, int]
    unknown: list[int]


def match_header(
    header: Sequence[str], extra_aliases: Mapping[Field, Sequence[str]] | None = None
) -> HeaderMatch:
    """Match header cells to fields. `extra_aliases` adds the org's own API names (the Stripe
    Customer ID field discovered on Account, a Card Mapping token field)."""
    lookup = _lookup(extra_aliases or {})
    seen: dict[str, int] = {}
    columns: dict[Field, int] = {}
    unknown: list[int] = []
    for index, text in enumerate(header):
        if not text:
            continue
        key = normalise(text)
        field = lookup.get(key)
        first = seen.get(key, columns.get(field) if field else None)
        if first is not None:
            meaning = f" (both mean “{field.value}”)" if field else ""
            raise FileRejected(
                f"the header has “{header[first]}” in column {first + 1} and “{text}” in "
                f"column {index + 1}{meaning}: keep one of them"
            )
        seen[key] = index
        if field is None:
            unknown.append(index)
        else:
            columns[field] = index
    return HeaderMatch(columns, unknown)
