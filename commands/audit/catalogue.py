"""Every audit check: its stable code, its title, and what finding something means.

The codes are part of the product (the CSV, `--json`, the stored history and people's
searches all use them): they never change once published. Where a code is shared with
import validation and lookups (`card_expired`, `stripe_pm_missing`, …) the fix sentence comes
from `commands.problems`, so the three never word the same problem differently.
"""

from __future__ import annotations

from dataclasses import dataclass

from commands.audit.model import Status
from commands.problems import CODES


@dataclass(frozen=True)
class CheckSpec:
    code: str
    title: str
    one: str  # "payment method has no Payment Gateway": follows a count of 1
    many: str  # "payment methods have no Payment Gateway": follows any other count
    when_found: Status  # WARN for what still charges today, FAIL for what breaks a run
    fix: str = ""

    def summary(self, count: int) -> str:
        if count == 0:
            return "none found"
        return f"{count:,} {self.one if count == 1 else self.many}"

    @property
    def how_to_fix(self) -> str:
        return self.fix or CODES.get(self.code, (None, ""))[1]


def _spec(code: str, title: str, one: str, many: str, when_found: Status, fix: str = "") -> None:
    SPECS[code] = CheckSpec(code, title, one, many, when_found, fix)


SPECS: dict[str, CheckSpec] = {}
FAIL, WARN = Status.FAIL, Status.WARN

_spec(
    "batch_size",
    "Payment creation batch size",
    "setting is not at the recommended 70",
    "settings are not at the recommended 70",
    FAIL,
)
_spec(
    "stripe_gateway",
    "Stripe payment gateway",
    "problem with the Stripe payment gateway",
    "problems with the Stripe payment gateway",
    FAIL,
    "Create or activate a Payment Gateway of type Stripe (or Stripe (Universal Extension)).",
)
_spec(
    "account_missing_stripe_id",
    "Accounts with payment methods but no Stripe Customer ID",
    "Account has payment methods but no Stripe Customer ID",
    "Accounts have payment methods but no Stripe Customer ID",
    FAIL,
    "Fill in the Account's Stripe Customer ID (cus_…) from Stripe.",
)
_spec(
    "account_malformed_stripe_id",
    "Malformed Stripe Customer IDs",
    "Account has a Stripe Customer ID that is not cus_…",
    "Accounts have a Stripe Customer ID that is not cus_…",
    FAIL,
    "Stripe Customer IDs look like cus_… with no spaces: copy it again from Stripe.",
)
_spec(
    "duplicate_stripe_customer_id",
    "Stripe Customer IDs on several Accounts",
    "Account shares its Stripe Customer ID with another Account",
    "Accounts share their Stripe Customer ID with another Account",
    FAIL,
    CODES["stripe_id_conflict"][1],
)
_spec(
    "pm_missing_gateway",
    "Payment methods without a Payment Gateway",
    "payment method has no Payment Gateway",
    "payment methods have no Payment Gateway",
    FAIL,
    "Set the Payment Gateway to the Stripe gateway record.",
)
_spec(
    "pm_missing_token",
    "Payment methods without a gateway token",
    "payment method has no Payment Gateway Token",
    "payment methods have no Payment Gateway Token",
    FAIL,
    "Fill in the Payment Gateway Token with the Stripe payment method id (pm_…).",
)
_spec(
    "pm_inactive",
    "Inactive payment methods",
    "payment method is inactive",
    "payment methods are inactive",
    WARN,
    CODES["active_not_true"][1],
)
_spec(
    "pm_single_use_token",
    "Single-use tok_ tokens",
    "payment method holds a single-use tok_ token",
    "payment methods hold a single-use tok_ token",
    FAIL,
    CODES["token_not_reusable"][1],
)
_spec(
    "pm_legacy_token",
    "Legacy card_/src_/ba_ tokens",
    "payment method holds a legacy card_/src_/ba_ token",
    "payment methods hold a legacy card_/src_/ba_ token",
    WARN,
    "Legacy Card and Source objects still charge but Stripe is retiring them: migrate to pm_….",
)
_spec("card_expired", "Expired cards", "card has expired", "cards have expired", FAIL)
_spec(
    "card_expiring",
    "Cards expiring within 30 days",
    "card expires within 30 days",
    "cards expire within 30 days",
    WARN,
)
_spec(
    "autopay_inactive",
    "Inactive AutoPay payment methods",
    "Account's AutoPay payment method is inactive",
    "Accounts' AutoPay payment methods are inactive",
    FAIL,
    "Activate the AutoPay payment method, or make an active one the AutoPay method.",
)
_spec(
    "stripe_pm_missing",
    "Payment methods Stripe does not have",
    "payment method's token is unknown to Stripe",
    "payment methods' tokens are unknown to Stripe",
    FAIL,
)
_spec(
    "stripe_pm_other_customer",
    "Payment methods not attached to the Account's Stripe customer",
    "payment method is attached to another Stripe customer, or to none",
    "payment methods are attached to another Stripe customer, or to none",
    FAIL,
)
_spec(
    "stripe_customer_missing",
    "Stripe customers that do not exist",
    "Account's Stripe Customer ID is unknown to Stripe",
    "Accounts' Stripe Customer IDs are unknown to Stripe",
    FAIL,
)
_spec(
    "stripe_customer_deleted",
    "Deleted Stripe customers",
    "Account points at a deleted Stripe customer",
    "Accounts point at a deleted Stripe customer",
    FAIL,
)
_spec(
    "failed_transactions",
    "Recent failed payment transactions",
    "recent payment transaction did not succeed at the gateway",
    "recent payment transactions did not succeed at the gateway",
    WARN,
    "Open the transaction for the gateway's response; fix the payment method and retry.",
)
_spec(
    "locked_invoices",
    "Invoices locked or needing action",
    "invoice is locked or marked Action Required",
    "invoices are locked or marked Action Required",
    FAIL,
    "Resolve the Corrective Action on the invoice so the next payment run picks it up.",
)

CODES_IN_ORDER: tuple[str, ...] = tuple(SPECS)
STRIPE_CODES = (
    "stripe_pm_missing",
    "stripe_pm_other_customer",
    "stripe_customer_missing",
    "stripe_customer_deleted",
)
