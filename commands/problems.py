"""Problem codes shared by import validation, `pm` checks and the audit (DESIGN section 7).

One vocabulary everywhere means a code seen in a lookup, an import's error CSV and an audit
summary always means the same thing, and users can search the README for it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


# code -> (default severity, how to fix it, in one sentence for a non-developer)
CODES: dict[str, tuple[Severity, str]] = {
    "missing_required": (Severity.ERROR, "Fill in the required value."),
    "unknown_column": (Severity.WARNING, "Rename the column to a known field or remove it."),
    "invalid_salesforce_id": (
        Severity.ERROR,
        "Use the 15- or 18-character Id of the right kind of record.",
    ),
    "invalid_stripe_customer_id": (Severity.ERROR, "Stripe Customer IDs look like cus_…"),
    "invalid_token": (
        Severity.ERROR,
        "Use the Stripe payment method id (pm_…) from the customer's Stripe record.",
    ),
    "token_not_reusable": (
        Severity.ERROR,
        "tok_… tokens are single-use: save the card as a payment method (pm_…) and use that id.",
    ),
    "active_not_true": (
        Severity.ERROR,
        "The Stripe connector only charges payment methods with Active = true.",
    ),
    "invalid_boolean": (Severity.ERROR, "Use true or false."),
    "invalid_value": (Severity.ERROR, "Use one of the values the message lists."),
    "malformed_row": (
        Severity.ERROR,
        "Quote values that contain the delimiter, so each row has one value per column.",
    ),
    "value_too_long": (Severity.ERROR, "Shorten the value to what Salesforce accepts."),
    "duplicate_in_file": (Severity.ERROR, "Keep one row per account or token."),
    "account_not_found": (
        Severity.ERROR,
        "Check the Account Id or exact Account Name in Salesforce.",
    ),
    "account_exists": (
        Severity.WARNING,
        "To link the existing Account instead of creating a second one, import it with the "
        "“existing” scenario.",
    ),
    "account_ambiguous": (
        Severity.ERROR,
        "Several Accounts have this name: use the Account Id instead.",
    ),
    "gateway_not_found": (Severity.ERROR, "Use the Id of an existing Payment Gateway record."),
    "gateway_inactive": (Severity.ERROR, "Activate the Payment Gateway or pick an active one."),
    "gateway_not_stripe": (Severity.ERROR, "Pick a Payment Gateway of a Stripe type."),
    "token_already_imported": (
        Severity.INFO,
        "Already in Salesforce on this Account: skipped, nothing to do.",
    ),
    "token_on_other_account": (
        Severity.ERROR,
        "This token already belongs to another Account's payment method in Salesforce.",
    ),
    "stripe_id_conflict": (
        Severity.ERROR,
        "Make sure each Stripe customer is linked to exactly one Account.",
    ),
    "stripe_customer_missing": (
        Severity.ERROR,
        "Stripe has no such customer: check the ID and the Stripe account (test or live).",
    ),
    "stripe_customer_deleted": (
        Severity.ERROR,
        "The Stripe customer was deleted: link the Account to its current customer.",
    ),
    "stripe_pm_missing": (
        Severity.ERROR,
        "Stripe has no such payment method: collect the card again and use the new pm_… id.",
    ),
    "stripe_pm_other_customer": (
        Severity.ERROR,
        "Attach the payment method to this Account's Stripe customer, or fix the Account's "
        "Stripe Customer ID.",
    ),
    "stripe_customer_id_missing": (
        Severity.ERROR,
        "Put the customer's Stripe Customer ID (cus_…) in the Account's Stripe Customer ID field.",
    ),
    "stripe_name_mismatch": (
        Severity.WARNING,
        "Check that the Account points at the right Stripe customer, then align the names.",
    ),
    "stripe_unavailable": (
        Severity.WARNING,
        "Stripe could not be asked: try again in a minute; if it persists, run "
        "`billing-bot doctor`.",
    ),
    "token_legacy": (
        Severity.WARNING,
        "card_/src_/ba_ tokens still charge but Stripe is retiring them: replace it with the "
        "customer's pm_… payment method.",
    ),
    "ach_not_verified": (
        Severity.ERROR,
        "ACH methods created in the Payment Center always fail (Stripe needs a verification "
        "step): create it again with the Account's New Payment Method ACH action.",
    ),
    "card_expired": (Severity.ERROR, "Ask the customer for a new card."),
    "card_expiring": (Severity.WARNING, "The card expires within 30 days: ask for a new one."),
    "formula_injection": (
        Severity.WARNING,
        "The cell starts like a spreadsheet formula; every CSV the bot writes neutralises it.",
    ),
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong (or worth knowing) about a row, record or setting."""

    code: str
    severity: Severity
    message: str

    @classmethod
    def of(cls, code: str, message: str, severity: Severity | None = None) -> Problem:
        default, _ = CODES.get(code, (Severity.ERROR, ""))
        return cls(code=code, severity=severity or default, message=message)

    @property
    def fix(self) -> str:
        return CODES.get(self.code, (self.severity, ""))[1]

    def to_dict(self) -> dict[str, str]:
        data = asdict(self)
        data["severity"] = str(self.severity)
        return data


def worst(problems: list[Problem]) -> Severity | None:
    """The most serious severity among problems, or None when there are none."""
    order = [Severity.ERROR, Severity.WARNING, Severity.INFO]
    for severity in order:
        if any(p.severity == severity for p in problems):
            return severity
    return None
