"""The three import scenarios of Stripe's connector guide, and telling them apart by header.

A billing admin rarely knows which "scenario" their spreadsheet is; the columns say it. The
rule is small and explainable, and the report repeats the reason, so a surprise is visible
before anything is written (`--scenario` or the modal overrides it).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from commands.imports.columns import Field


class Scenario(StrEnum):
    NEW = "new"  # create Accounts (Name + Stripe Customer ID) and their payment methods
    EXISTING = "existing"  # set the Stripe Customer ID on existing Accounts, add payment methods
    PAYMENT_METHODS = "payment-methods"  # only payment methods, on Accounts already linked


DESCRIPTIONS = {
    Scenario.NEW: "new customers and payment methods",
    Scenario.EXISTING: "existing customers and payment methods",
    Scenario.PAYMENT_METHODS: "payment methods only",
}


_PAYMENT_METHOD = ((Field.GATEWAY_ID,), (Field.ACTIVE,), (Field.TOKEN,))

# What each scenario needs, as groups of alternatives: one field of each group must be there.
# Stripe's guide lists the Account and payment-method fields; the payment method's Account
# (a required master-detail) must resolve too, hence an Account column in every scenario.
REQUIRED: dict[Scenario, tuple[tuple[Field, ...], ...]] = {
    Scenario.NEW: ((Field.ACCOUNT_NAME,), (Field.STRIPE_CUSTOMER_ID,), *_PAYMENT_METHOD),
    Scenario.EXISTING: (
        (Field.ACCOUNT_ID, Field.ACCOUNT_NAME),
        (Field.STRIPE_CUSTOMER_ID,),
        *_PAYMENT_METHOD,
    ),
    Scenario.PAYMENT_METHODS: (
        (Field.ACCOUNT_ID, Field.ACCOUNT_NAME, Field.STRIPE_CUSTOMER_ID),
        *_PAYMENT_METHOD,
    ),
}


def missing_groups(scenario: Scenario, fields: Collection[Field]) -> list[tuple[Field, ...]]:
    """The requirement groups of `scenario` that none of `fields` satisfies."""
    return [group for group in REQUIRED[scenario] if not any(f in fields for f in group)]


@dataclass(frozen=True)
class Detection:
    scenario: Scenario
    reason: str


def detect(fields: Collection[Field]) -> Detection:
    """Pick the scenario the columns describe, with the reason in words."""
    if Field.ACCOUNT_ID in fields:
        if Field.STRIPE_CUSTOMER_ID in fields:
            return Detection(
                Scenario.EXISTING,
                "the file has Account Id and Stripe Customer ID columns: existing Accounts "
                "get their Stripe Customer ID",
            )
        return Detection(
            Scenario.PAYMENT_METHODS,
            "the file has Account Id but no Stripe Customer ID column: payment methods are "
            "added to existing Accounts",
        )
    if Field.ACCOUNT_NAME in fields and Field.STRIPE_CUSTOMER_ID in fields:
        return Detection(
            Scenario.NEW,
            "the file has Account Name and Stripe Customer ID but no Account Id: new Accounts "
            "are created (to match existing Accounts by name instead, choose the "
            "“existing” scenario)",
        )
    return Detection(
        Scenario.PAYMENT_METHODS,
        "the file has payment-method columns without Account Name + Stripe Customer ID: "
        "payment methods are added to existing Accounts",
    )


def columns_help() -> str:
    """What each scenario's file needs, for `billing-bot import --help` and help texts."""
    lines = ["Columns each scenario needs (one of the names joined by “or”):"]
    for scenario, groups in REQUIRED.items():
        needed = ", ".join(" or ".join(f.value for f in group) for group in groups)
        lines.append(f"  {scenario.value}: {needed}")
    optional = [f.value for f in Field if not any(f in g for gs in REQUIRED.values() for g in gs)]
    lines.append(f"  optional: {', '.join(optional)}")
    lines.append("Headers may also be API names (blng__PaymentGatewayToken__c); case, spaces and")
    lines.append("underscores do not matter.")
    return "\n".join(lines)
