"""From checked rows to the writes a run makes: Accounts to create or update, payment methods
to create, rows to skip because Salesforce already has them.

Each Account is written once however many rows name it, by the first row that can be
written; later rows link to it through `account_key`. A row whose only errors are elsewhere
does not stop its Account from being created by a sibling row, and a rejected row never
claims an Account write.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from commands.imports.columns import Field
from commands.imports.crosscheck import CrossCheck, Resolved
from commands.imports.results import Action, Plan, PlannedRow, RowProblem, RowStatus
from commands.imports.scenario import Scenario
from commands.imports.validate import CARD_TYPES, ParsedRow, account_key
from commands.stripe_facts import Found

DEFAULT_STRIPE_FIELD = "Stripe_Customer_Id__c"
DEFAULT_TOKEN_FIELD = "blng__PaymentGatewayToken__c"
STRIPE_PAYMENT_TYPES = {"card": "Credit Card", "us_bank_account": "ACH"}

# File fields copied to the payment method as they are (validation normalised them).
_PM_FIELDS = {
    Field.GATEWAY_ID: "blng__PaymentGateway__c",
    Field.ACTIVE: "blng__Active__c",
    Field.PAYMENT_TYPE: "blng__PaymentType__c",
    Field.CARD_TYPE: "blng__CardType__c",
    Field.CARD_LAST_FOUR: "blng__CardLastFour__c",
    Field.EXP_MONTH: "blng__CardExpirationMonth__c",
    Field.EXP_YEAR: "blng__CardExpirationYear__c",
    Field.AUTOPAY: "blng__AutoPay__c",
}


@dataclass(frozen=True)
class FieldNames:
    """The org's API names for the two fields that vary by org (DESIGN section 5)."""

    stripe_customer: str = DEFAULT_STRIPE_FIELD
    token: str = DEFAULT_TOKEN_FIELD


def build_plan(
    rows: Sequence[ParsedRow],
    *,
    scenario: Scenario,
    checks: CrossCheck,
    names: FieldNames,
    file_errors: Sequence[RowProblem] = (),
) -> tuple[list[PlannedRow], Plan]:
    """`file_errors` (a required column missing) reject every row."""
    planned: list[PlannedRow] = []
    claimed: set[str] = set()
    for row in rows:
        resolved = checks.of(row)
        entry = _plan_row(row, scenario, resolved, names, file_errors)
        if entry.status == RowStatus.OK and entry.account_action != Action.NONE:
            if entry.account_key in claimed:
                entry.account_action, entry.account_fields = Action.NONE, {}
            claimed.add(entry.account_key or "")
        nothing_to_do = entry.account_action == entry.payment_method_action == Action.NONE
        if entry.status == RowStatus.OK and nothing_to_do:
            entry.status = RowStatus.SKIP
        planned.append(entry)
    return planned, _count(planned)


def _plan_row(
    row: ParsedRow,
    scenario: Scenario,
    resolved: Resolved,
    names: FieldNames,
    file_errors: Sequence[RowProblem],
) -> PlannedRow:
    account = resolved.account
    cus = row.values.get(Field.STRIPE_CUSTOMER_ID)
    account_id = account.id if account else row.values.get(Field.ACCOUNT_ID)
    action, fields = Action.NONE, {}
    if scenario == Scenario.NEW and account is None:
        action = Action.CREATE
        fields = {"Name": row.values.get(Field.ACCOUNT_NAME), names.stripe_customer: cus}
    elif scenario == Scenario.EXISTING and cus and not (account and account.stripe_customer_id):
        action = Action.UPDATE
        fields = {names.stripe_customer: cus}
    if action == Action.CREATE:
        account_id = None  # the run engine links the payment method to the Account it creates
    pm_action = Action.NONE if resolved.already_imported else Action.CREATE
    rejected = row.rejected or bool(file_errors)
    return PlannedRow(
        line=row.line,
        status=RowStatus.REJECTED if rejected else RowStatus.OK,
        account_action=action,
        account_id=account_id,
        account_fields=fields,
        payment_method_action=pm_action,
        payment_method_fields=(
            _payment_method_fields(row, resolved, names, account_id)
            if pm_action == Action.CREATE
            else {}
        ),
        account_key=cus if scenario == Scenario.NEW else (account_id or account_key(row)),
        source=row.source,
        problems=[*file_errors, *row.problems],
    )


def _payment_method_fields(
    row: ParsedRow, resolved: Resolved, names: FieldNames, account_id: str | None
) -> dict[str, Any]:
    fields: dict[str, Any] = {"blng__Account__c": account_id} if account_id else {}
    for fld, api_name in _PM_FIELDS.items():
        if fld in row.values:
            fields[api_name] = row.values[fld]
    token = row.values.get(Field.TOKEN)
    if token:
        fields[names.token] = token
    fields.update({k: v for k, v in _from_stripe(resolved, token).items() if k not in fields})
    return fields


def _from_stripe(resolved: Resolved, token: str | None) -> dict[str, Any]:
    """Card details the file left out, as Stripe knows them; the payment type by the token's
    kind when Stripe was not asked (a `ba_` is a bank account; everything else is a card)."""
    method = resolved.stripe_pm
    fields: dict[str, Any] = {
        "blng__PaymentType__c": "ACH" if (token or "").startswith("ba_") else "Credit Card"
    }
    if method is None or method.status != Found.FOUND:
        return fields
    if method.type in STRIPE_PAYMENT_TYPES:
        fields["blng__PaymentType__c"] = STRIPE_PAYMENT_TYPES[method.type]
    if method.brand and method.brand.replace("_", "") in CARD_TYPES:
        fields["blng__CardType__c"] = CARD_TYPES[method.brand.replace("_", "")]
    if method.last4:
        fields["blng__CardLastFour__c"] = method.last4
    if method.exp_month and method.exp_year:
        fields["blng__CardExpirationMonth__c"] = f"{method.exp_month:02d}"
        fields["blng__CardExpirationYear__c"] = str(method.exp_year)
    return fields


def _count(planned: Sequence[PlannedRow]) -> Plan:
    plan = Plan()
    for entry in planned:
        if entry.status == RowStatus.REJECTED:
            plan.rejected_rows += 1
            continue
        if entry.status == RowStatus.SKIP:
            plan.skipped += 1
            continue
        plan.accounts_create += entry.account_action == Action.CREATE
        plan.accounts_update += entry.account_action == Action.UPDATE
        plan.payment_methods_create += entry.payment_method_action == Action.CREATE
    return plan
