"""Checks against Salesforce and Stripe: does each row's Account, gateway and token agree?

Everything is asked in bulk: the directory answers one query per chunk of keys, and Stripe
is called once per kind with every id (the gateway bounds its own concurrency). All answers
are fetched before any row is judged, so a failure half-way leaves no row half-checked: the
whole side is reported as skipped instead, and the file-level checks still stand.

`ImportDirectory` is also what the run engine uses to reconcile a batch whose response was
lost (which Accounts hold these Stripe Customer IDs, which payment methods hold these tokens).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from commands.errors import UpstreamError
from commands.ids import mask_token
from commands.imports.columns import Field
from commands.imports.scenario import Scenario
from commands.imports.validate import ParsedRow, expiry_problem
from commands.problems import Severity
from commands.stripe_facts import Found, StripePaymentMethod, StripePort

STRIPE_GATEWAY_TYPES = ("Stripe", "Stripe (Universal Extension)")


@dataclass(frozen=True)
class AccountRecord:
    id: str  # 18 characters
    name: str
    stripe_customer_id: str | None = None


@dataclass(frozen=True)
class GatewayRecord:
    id: str
    name: str
    active: bool
    gateway_type: str | None

    @property
    def is_stripe(self) -> bool:
        return (self.gateway_type or "").casefold().startswith("stripe")


@dataclass(frozen=True)
class PaymentMethodRecord:
    id: str
    account_id: str
    token: str
    active: bool | None = None


class ImportDirectory(Protocol):
    """What an import asks Salesforce. Implementations batch: one query per chunk of keys."""

    @property
    def stripe_customer_field(self) -> str: ...  # the Account field holding the Stripe ID

    @property
    def token_field(self) -> str: ...  # the payment-method field holding the token

    def gateway_key_prefix(self) -> str | None: ...

    def accounts_by_id(self, ids: Collection[str]) -> dict[str, AccountRecord]:
        """Keyed by each id as given (15 or 18 characters); absent when not found."""
        ...

    def accounts_by_name(self, names: Collection[str]) -> dict[str, list[AccountRecord]]:
        """Keyed by each name as given; Salesforce compares names without regard to case."""
        ...

    def accounts_by_stripe_id(self, ids: Collection[str]) -> dict[str, list[AccountRecord]]: ...

    def gateways_by_id(self, ids: Collection[str]) -> dict[str, GatewayRecord]: ...

    def payment_methods_by_token(
        self, tokens: Collection[str]
    ) -> dict[str, list[PaymentMethodRecord]]: ...


@dataclass
class Resolved:
    """What the cross-checks learned about one row, for the plan."""

    account: AccountRecord | None = None  # the existing Account the row writes to
    already_imported: bool = False  # the token is already on that Account
    stripe_pm: StripePaymentMethod | None = None


@dataclass
class CrossCheck:
    resolved: dict[int, Resolved] = field(default_factory=dict)  # by line
    skipped_checks: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def of(self, row: ParsedRow) -> Resolved:
        return self.resolved.setdefault(row.line, Resolved())


def cross_check(
    rows: Sequence[ParsedRow],
    *,
    scenario: Scenario,
    columns: dict[Field, str],
    directory: ImportDirectory | None,
    stripe: StripePort | None,
    today: date,
) -> CrossCheck:
    result = CrossCheck()
    if directory is None:
        result.skipped_checks.append("Salesforce cross-checks skipped: not configured")
    else:
        try:
            answers = _SalesforceAnswers.fetch(rows, scenario, directory)
        except UpstreamError as exc:
            result.skipped_checks.append(f"Salesforce cross-checks skipped: {exc.message}")
        else:
            judge = _SalesforceJudge(scenario, columns, answers)
            for row in rows:
                judge.judge(row, result.of(row))
    if stripe is None:
        result.skipped_checks.append("Stripe cross-checks skipped: not configured")
    else:
        _check_stripe(rows, columns, stripe, today, result)
    return result


# --- Salesforce ----------------------------------------------------------------------------


@dataclass
class _SalesforceAnswers:
    by_id: dict[str, AccountRecord]
    by_name: dict[str, list[AccountRecord]]
    by_stripe: dict[str, list[AccountRecord]]
    gateways: dict[str, GatewayRecord]
    tokens: dict[str, list[PaymentMethodRecord]]

    @classmethod
    def fetch(
        cls, rows: Sequence[ParsedRow], scenario: Scenario, directory: ImportDirectory
    ) -> _SalesforceAnswers:
        def values(fld: Field, rows_: Sequence[ParsedRow] = rows) -> list[str]:
            return list(dict.fromkeys(r.values[fld] for r in rows_ if fld in r.values))

        # Existing Accounts are looked up by name when the row has no Id; new ones too, to
        # warn before a second Account of the same name is created.
        by_name_rows = [r for r in rows if Field.ACCOUNT_ID not in r.values]
        names = values(Field.ACCOUNT_NAME, by_name_rows)
        ids, cus, gateways, tokens = (
            values(Field.ACCOUNT_ID),
            values(Field.STRIPE_CUSTOMER_ID),
            values(Field.GATEWAY_ID),
            values(Field.TOKEN),
        )
        return cls(
            by_id=directory.accounts_by_id(ids) if ids else {},
            by_name=directory.accounts_by_name(names) if names else {},
            by_stripe=directory.accounts_by_stripe_id(cus) if cus else {},
            gateways=directory.gateways_by_id(gateways) if gateways else {},
            tokens=directory.payment_methods_by_token(tokens) if tokens else {},
        )


@dataclass
class _SalesforceJudge:
    """Judges one row at a time against the answers fetched for the whole file."""

    scenario: Scenario
    columns: dict[Field, str]
    answers: _SalesforceAnswers

    def judge(self, row: ParsedRow, resolved: Resolved) -> None:
        resolved.account = self._resolve_account(row)
        self._check_gateway(row)
        self._check_token(row, resolved)

    def _column(self, fld: Field) -> str:
        return self.columns.get(fld, fld.value)

    def _resolve_account(self, row: ParsedRow) -> AccountRecord | None:
        cus = row.values.get(Field.STRIPE_CUSTOMER_ID)
        holders = self.answers.by_stripe.get(cus, []) if cus else []
        if self.scenario == Scenario.NEW:
            return self._new_account(row, cus, holders)
        account = self._find_account(row, holders)
        if account is None:
            return None
        cus_column = self._column(Field.STRIPE_CUSTOMER_ID)
        if cus and account.stripe_customer_id and account.stripe_customer_id != cus:
            row.add(
                cus_column,
                "stripe_id_conflict",
                f"the Account {_named(account)} already has the Stripe Customer ID "
                f"{account.stripe_customer_id}",
            )
        others = [a for a in holders if not _same_id(a.id, account.id)]
        if others:
            row.add(cus_column, "stripe_id_conflict", f"{cus} is already on {_accounts(others)}")
        if not account.stripe_customer_id and self.scenario == Scenario.PAYMENT_METHODS:
            row.add(
                cus_column,
                "stripe_customer_id_missing",
                f"the Account {_named(account)} has no Stripe Customer ID: the connector cannot "
                "charge its payment methods (the “existing” scenario sets it)",
                Severity.WARNING,
            )
        return account

    def _new_account(
        self, row: ParsedRow, cus: str | None, holders: list[AccountRecord]
    ) -> AccountRecord | None:
        """A new customer: none yet, or the one this same file created last time (a re-run)."""
        name = row.values.get(Field.ACCOUNT_NAME)
        if not cus or not name:
            return None
        if not holders:
            namesakes = self.answers.by_name.get(name, [])
            if namesakes:
                row.add(
                    self._column(Field.ACCOUNT_NAME),
                    "account_exists",
                    f"an Account named “{name}” already exists ({_ids(namesakes)}): the import "
                    "creates another",
                )
            return None
        if len(holders) == 1 and holders[0].name.casefold() == name.casefold():
            return holders[0]
        row.add(
            self._column(Field.STRIPE_CUSTOMER_ID),
            "stripe_id_conflict",
            f"{cus} is already on {_accounts(holders)}",
        )
        return None

    def _find_account(self, row: ParsedRow, holders: list[AccountRecord]) -> AccountRecord | None:
        """By Id, else by exact name, else (payment methods only) by Stripe Customer ID."""
        if Field.ACCOUNT_ID in row.values:
            account_id = row.values[Field.ACCOUNT_ID]
            found = self.answers.by_id.get(account_id)
            if found is None:
                row.add(
                    self._column(Field.ACCOUNT_ID),
                    "account_not_found",
                    f"no Account has the Id {account_id}",
                )
            return found
        if Field.ACCOUNT_NAME in row.values:
            name = row.values[Field.ACCOUNT_NAME]
            found_by_name = self.answers.by_name.get(name, [])
            return _one(row, self._column(Field.ACCOUNT_NAME), found_by_name, f"“{name}”")
        cus = row.values.get(Field.STRIPE_CUSTOMER_ID)
        if cus:
            column = self._column(Field.STRIPE_CUSTOMER_ID)
            return _one(row, column, holders, f"the Stripe ID {cus}")
        return None

    def _check_gateway(self, row: ParsedRow) -> None:
        gateway_id = row.values.get(Field.GATEWAY_ID)
        if gateway_id is None:
            return
        column = self._column(Field.GATEWAY_ID)
        gateway = self.answers.gateways.get(gateway_id)
        if gateway is None:
            row.add(column, "gateway_not_found", f"no Payment Gateway has the Id {gateway_id}")
        elif not gateway.active:
            row.add(
                column, "gateway_inactive", f"the Payment Gateway “{gateway.name}” is not active"
            )
        elif not gateway.is_stripe:
            row.add(
                column,
                "gateway_not_stripe",
                f"the Payment Gateway “{gateway.name}” is of type {gateway.gateway_type or 'none'}",
            )

    def _check_token(self, row: ParsedRow, resolved: Resolved) -> None:
        token = row.values.get(Field.TOKEN)
        account = resolved.account
        cus = row.values.get(Field.STRIPE_CUSTOMER_ID)
        new_account = self.scenario == Scenario.NEW and not (
            cus and self.answers.by_stripe.get(cus)
        )
        if not token or (account is None and not new_account):
            return  # the Account is unknown: nothing to compare the token's Account with
        holders = self.answers.tokens.get(token, [])
        column = self._column(Field.TOKEN)
        if account and any(_same_id(pm.account_id, account.id) for pm in holders):
            resolved.already_imported = True
            row.add(
                column,
                "token_already_imported",
                f"{mask_token(token)} is already on the Account {_named(account)}",
            )
        elif holders:
            row.add(
                column,
                "token_on_other_account",
                f"{mask_token(token)} is already on the Account "
                f"{', '.join(pm.account_id for pm in holders[:3])}",
            )


def _one(
    row: ParsedRow, column: str, found: list[AccountRecord], what: str
) -> AccountRecord | None:
    """Exactly one match, or a problem: never the first of several."""
    if len(found) == 1:
        return found[0]
    if not found:
        row.add(column, "account_not_found", f"no Account matches {what}")
    else:
        row.add(
            column,
            "account_ambiguous",
            f"{len(found)} Accounts match {what} ({_ids(found)}): use the Account Id",
        )
    return None


# --- Stripe --------------------------------------------------------------------------------


def _check_stripe(
    rows: Sequence[ParsedRow],
    columns: dict[Field, str],
    stripe: StripePort,
    today: date,
    result: CrossCheck,
) -> None:
    """Customers exist and are not deleted; payment methods exist, belong to the row's
    customer, and their cards have not expired. Rows already imported are not asked about."""
    todo = [r for r in rows if not result.of(r).already_imported]
    expected = {r.line: _expected_customer(r, result.of(r)) for r in todo}
    customer_ids = [c for c in dict.fromkeys(expected.values()) if c]
    tokens = list(dict.fromkeys(r.values[Field.TOKEN] for r in todo if Field.TOKEN in r.values))
    try:
        customers = stripe.customers(customer_ids) if customer_ids else {}
        methods = stripe.payment_methods(tokens) if tokens else {}
    except UpstreamError as exc:
        result.skipped_checks.append(f"Stripe cross-checks skipped: {exc.message}")
        return
    unavailable = [c for c in customers.values() if c.status == Found.UNAVAILABLE]
    unavailable += [m for m in methods.values() if m.status == Found.UNAVAILABLE]
    if unavailable:
        result.skipped_checks.append(
            f"Stripe could not check {len(unavailable)} of {len(customers) + len(methods)} "
            f"ids ({unavailable[0].error or 'unavailable'}): those rows are not checked"
        )
        result.warnings.append(
            "Some Stripe checks could not be made; run the dry run again before approving."
        )
    cus_column = columns.get(Field.STRIPE_CUSTOMER_ID, Field.STRIPE_CUSTOMER_ID.value)
    for row in todo:
        cus = expected[row.line]
        customer = customers.get(cus) if cus else None
        if customer and customer.status == Found.MISSING:
            row.add(cus_column, "stripe_customer_missing", f"Stripe has no customer {cus}")
        elif customer and customer.status == Found.DELETED:
            row.add(cus_column, "stripe_customer_deleted", f"the Stripe customer {cus} is deleted")
        token = row.values.get(Field.TOKEN)
        method = methods.get(token) if token else None
        if method is not None:
            result.of(row).stripe_pm = method
            _judge_payment_method(row, columns, method, cus, today)


def _expected_customer(row: ParsedRow, resolved: Resolved) -> str | None:
    """The customer the row's payment method must belong to: the file's, else the Account's."""
    if Field.STRIPE_CUSTOMER_ID in row.values:
        return row.values[Field.STRIPE_CUSTOMER_ID]
    return resolved.account.stripe_customer_id if resolved.account else None


def _judge_payment_method(
    row: ParsedRow,
    columns: dict[Field, str],
    method: StripePaymentMethod,
    cus: str | None,
    today: date,
) -> None:
    column = columns[Field.TOKEN]
    shown = mask_token(method.id)
    if method.status == Found.MISSING:
        row.add(column, "stripe_pm_missing", f"Stripe has no payment method {shown}")
        return
    if method.status != Found.FOUND:
        return
    if cus and method.customer != cus:
        where = f"the customer {method.customer}" if method.customer else "no customer"
        row.add(
            column,
            "stripe_pm_other_customer",
            f"{shown} is attached to {where}, not {cus}",
        )
    given = Field.EXP_MONTH in row.values and Field.EXP_YEAR in row.values
    if not given and method.exp_month and method.exp_year:
        found = expiry_problem(method.exp_month, method.exp_year, today)
        if found:
            row.add(column, found[0], found[1] + " (according to Stripe)")


# --- wording -------------------------------------------------------------------------------


def _same_id(a: str, b: str) -> bool:
    return a[:15] == b[:15]  # 15-character Ids are the case-sensitive core of 18-character ones


def _named(account: AccountRecord) -> str:
    return f"“{account.name}” ({account.id})"


def _ids(accounts: list[AccountRecord]) -> str:
    shown = ", ".join(a.id for a in accounts[:3])
    return shown + (f" and {len(accounts) - 3} more" if len(accounts) > 3 else "")


def _accounts(accounts: list[AccountRecord]) -> str:
    if len(accounts) == 1:
        return f"the Account {_named(accounts[0])}"
    return f"{len(accounts)} Accounts ({_ids(accounts)})"
