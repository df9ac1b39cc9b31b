"""Cross-checks and the plan, with in-memory Salesforce and Stripe: each code, batching, and
what the run engine is told to write."""

from __future__ import annotations

import pytest

from commands.errors import SalesforceError
from commands.imports import (
    AccountRecord,
    Action,
    PaymentMethodRecord,
    PlannedRow,
    RowStatus,
    Scenario,
)
from commands.imports.csv_out import error_csv, problems_csv, rows_csv
from commands.imports.report import render_text
from commands.stripe_facts import Found
from tests.import_fakes import (
    ACME,
    GATEWAY,
    GATEWAY_OFF,
    GATEWAY_OTHER,
    GLOBEX,
    TWIN_A,
    FakeDirectory,
    FakeStripe,
    csv_bytes,
    prepare,
    sf_id,
)
from tests.import_fakes import (
    EXISTING_HEADER as BY_ID,
)
from tests.import_fakes import (
    NEW_HEADER as NEW,
)
from tests.import_fakes import (
    PM_HEADER as PM_ONLY,
)

MISSING_ACCOUNT = sf_id("001", 99)
MISSING_GATEWAY = sf_id("a0G", 99)


def stripe_world() -> FakeStripe:
    stripe = FakeStripe()
    for cus in ("cus_acme", "cus_new", "cus_globex", "cus_twin_a"):
        stripe.add_customer(cus)
    stripe.add_customer("cus_gone", Found.DELETED)
    stripe.add_card("pm_acme_1", "cus_acme").add_card("pm_acme_2", "cus_acme")
    stripe.add_card("pm_new_1", "cus_new").add_card("pm_new_2", "cus_new")
    stripe.add_card("pm_globex_1", "cus_globex")
    stripe.add_card("pm_old", "cus_new", exp=(1, 2026))
    stripe.add_card("pm_soon", "cus_new", exp=(6, 2026))
    stripe.add_card("pm_loose", None)
    return stripe


def run(
    header: list[str],
    *rows: list[str],
    scenario: Scenario | None = None,
    directory: FakeDirectory | None = None,
    stripe: FakeStripe | None = None,
):  # noqa: ANN201 - ImportReport
    return prepare(
        csv_bytes(header, *rows),
        scenario,
        directory=directory or FakeDirectory.standard(),
        stripe=stripe or stripe_world(),
    )


# --- every cross-check code -----------------------------------------------------------------

CASES = [
    ("account_not_found-id", BY_ID, [MISSING_ACCOUNT, "cus_acme", GATEWAY, "true", "pm_acme_2"],
     None, "Account Id", "account_not_found"),
    ("account_not_found-name", NEW, ["Nobody Ltd", "cus_new", GATEWAY, "true", "pm_new_1"],
     Scenario.EXISTING, "Account Name", "account_not_found"),
    ("account_ambiguous", NEW, ["springfield nuclear", "cus_new", GATEWAY, "true", "pm_new_1"],
     Scenario.EXISTING, "Account Name", "account_ambiguous"),
    ("account_exists", NEW, ["globex", "cus_new", GATEWAY, "true", "pm_new_1"], None,
     "Account Name", "account_exists"),
    ("gateway_not_found", NEW, ["New Co", "cus_new", MISSING_GATEWAY, "true", "pm_new_1"], None,
     "Payment Gateway (record ID)", "gateway_not_found"),
    ("gateway_inactive", NEW, ["New Co", "cus_new", GATEWAY_OFF, "true", "pm_new_1"], None,
     "Payment Gateway (record ID)", "gateway_inactive"),
    ("gateway_not_stripe", NEW, ["New Co", "cus_new", GATEWAY_OTHER, "true", "pm_new_1"], None,
     "Payment Gateway (record ID)", "gateway_not_stripe"),
    ("token_already_imported", BY_ID, [ACME, "cus_acme", GATEWAY, "true", "pm_acme_1"], None,
     "Payment Gateway Token", "token_already_imported"),
    ("token_on_other_account-existing", BY_ID, [GLOBEX, "cus_globex", GATEWAY, "true", "pm_acme_1"],
     None, "Payment Gateway Token", "token_on_other_account"),
    ("token_on_other_account-new", NEW, ["New Co", "cus_new", GATEWAY, "true", "pm_acme_1"], None,
     "Payment Gateway Token", "token_on_other_account"),
    ("stripe_id_conflict-account-has-another", BY_ID,
     [ACME, "cus_new", GATEWAY, "true", "pm_new_1"], None, "Stripe Customer ID",
     "stripe_id_conflict"),
    ("stripe_id_conflict-id-on-another-account", BY_ID,
     [GLOBEX, "cus_acme", GATEWAY, "true", "pm_acme_2"], None, "Stripe Customer ID",
     "stripe_id_conflict"),
    ("stripe_id_conflict-new-customer-exists", NEW,
     ["Acme Renamed", "cus_acme", GATEWAY, "true", "pm_acme_2"], None, "Stripe Customer ID",
     "stripe_id_conflict"),
    ("stripe_customer_missing", NEW, ["New Co", "cus_unknown", GATEWAY, "true", "pm_new_1"], None,
     "Stripe Customer ID", "stripe_customer_missing"),
    ("stripe_customer_deleted", NEW, ["New Co", "cus_gone", GATEWAY, "true", "pm_new_1"], None,
     "Stripe Customer ID", "stripe_customer_deleted"),
    ("stripe_pm_missing", NEW, ["New Co", "cus_new", GATEWAY, "true", "pm_unknown"], None,
     "Payment Gateway Token", "stripe_pm_missing"),
    ("stripe_pm_other_customer", NEW, ["New Co", "cus_new", GATEWAY, "true", "pm_globex_1"], None,
     "Payment Gateway Token", "stripe_pm_other_customer"),
    ("stripe_pm_other_customer-detached", NEW, ["New Co", "cus_new", GATEWAY, "true", "pm_loose"],
     None, "Payment Gateway Token", "stripe_pm_other_customer"),
    ("stripe_pm_other_customer-account-customer", PM_ONLY, [ACME, GATEWAY, "true", "pm_new_1"],
     None, "Payment Gateway Token", "stripe_pm_other_customer"),
    ("card_expired-from-stripe", NEW, ["New Co", "cus_new", GATEWAY, "true", "pm_old"], None,
     "Payment Gateway Token", "card_expired"),
    ("card_expiring-from-stripe", NEW, ["New Co", "cus_new", GATEWAY, "true", "pm_soon"], None,
     "Payment Gateway Token", "card_expiring"),
    ("stripe_customer_id_missing", PM_ONLY, [GLOBEX, GATEWAY, "true", "pm_globex_1"], None,
     "Stripe Customer ID", "stripe_customer_id_missing"),
]  # fmt: skip


@pytest.mark.parametrize(("header", "row", "scenario", "column", "code"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])  # fmt: skip
def test_each_cross_check_is_reported_on_its_line_and_column(
    header: list[str], row: list[str], scenario: Scenario | None, column: str, code: str
) -> None:
    report = run(header, row, scenario=scenario)
    assert (2, column, code) in [(p.line, p.column, p.code) for p in report.problems]


def test_ambiguous_names_are_never_resolved_to_the_first() -> None:
    report = run(NEW, ["Springfield Nuclear", "cus_new", GATEWAY, "true", "pm_new_1"],
                 scenario=Scenario.EXISTING)  # fmt: skip
    (row,) = report.planned
    assert row.status == RowStatus.REJECTED
    assert row.account_id is None
    problem = next(p for p in report.problems if p.code == "account_ambiguous")
    assert TWIN_A in problem.message and "use the Account Id" in problem.message


# --- Stripe or Salesforce unavailable -------------------------------------------------------


def test_stripe_unavailable_is_a_warning_not_a_rejection() -> None:
    stripe = stripe_world()
    stripe.unavailable = True
    report = run(NEW, ["New Co", "cus_new", GATEWAY, "true", "pm_new_1"], stripe=stripe)
    assert report.plan.rejected_rows == 0
    assert report.problems == []
    assert any("Stripe could not check 2 of 2" in s for s in report.skipped_checks)
    assert report.warnings


def test_salesforce_failure_skips_its_checks_and_keeps_the_file_checks() -> None:
    directory = FakeDirectory.standard()
    directory.fail = SalesforceError("Salesforce did not answer within 20s (query)")
    report = run(NEW, ["New Co", "cus_new", GATEWAY, "maybe", "pm_new_1"], directory=directory)
    assert report.skipped_checks[0] == (
        "Salesforce cross-checks skipped: Salesforce did not answer within 20s (query)"
    )
    assert [p.code for p in report.problems] == ["invalid_boolean"]


def test_without_any_service_the_skipped_checks_are_named() -> None:
    report = prepare(csv_bytes(NEW, ["New Co", "cus_new", GATEWAY, "true", "pm_new_1"]))
    assert report.skipped_checks == [
        "Salesforce cross-checks skipped: not configured",
        "Stripe cross-checks skipped: not configured",
    ]
    assert "Not checked: Salesforce cross-checks skipped" in render_text(report)


# --- batching -------------------------------------------------------------------------------


def test_each_question_is_asked_once_for_all_rows() -> None:
    directory, stripe = FakeDirectory.standard(), stripe_world()
    rows = [[f"Co {i}", f"cus_{i:04d}", GATEWAY, "true", f"pm_{i:04d}"] for i in range(300)]
    run(NEW, *rows, directory=directory, stripe=stripe)
    assert directory.calls == [
        ("accounts_by_name", 300),
        ("accounts_by_stripe_id", 300),
        ("gateways_by_id", 1),
        ("payment_methods_by_token", 300),
    ]
    assert stripe.calls == [("customers", 300), ("payment_methods", 300)]


# --- the plan -------------------------------------------------------------------------------


def test_new_customer_with_two_cards_creates_one_account() -> None:
    report = run(
        NEW,
        ["New Co", "cus_new", GATEWAY, "true", "pm_new_1"],
        ["New Co", "cus_new", GATEWAY, "true", "pm_new_2"],
    )
    first, second = report.planned
    assert (first.account_action, second.account_action) == (Action.CREATE, Action.NONE)
    assert first.account_key == second.account_key == "cus_new"
    assert first.account_id is None and second.account_id is None
    assert first.account_fields == {"Name": "New Co", "Stripe_Customer_Id__c": "cus_new"}
    assert "blng__Account__c" not in first.payment_method_fields
    assert vars(report.plan) == {
        "accounts_create": 1,
        "accounts_update": 0,
        "payment_methods_create": 2,
        "skipped": 0,
        "rejected_rows": 0,
    }


def test_a_rejected_row_does_not_claim_its_accounts_creation() -> None:
    report = run(
        NEW,
        ["New Co", "cus_new", GATEWAY, "true", "tok_12345"],
        ["New Co", "cus_new", GATEWAY, "true", "pm_new_2"],
    )
    assert [r.status for r in report.planned] == [RowStatus.REJECTED, RowStatus.OK]
    assert report.planned[1].account_action == Action.CREATE
    assert report.plan.accounts_create == 1


def test_payment_method_fields_use_the_orgs_field_names_and_stripes_card() -> None:
    directory = FakeDirectory.standard()
    directory.stripe_customer_field = "stripeGC__Customer_Id__c"
    directory.token_field = "Card_Token__c"
    report = run(BY_ID, [GLOBEX, "cus_globex", GATEWAY, "yes", "pm_globex_1"], directory=directory)
    (row,) = report.planned
    assert row.account_action == Action.UPDATE
    assert row.account_id == GLOBEX
    assert row.account_fields == {"stripeGC__Customer_Id__c": "cus_globex"}
    assert row.payment_method_fields == {
        "blng__Account__c": GLOBEX,
        "blng__PaymentGateway__c": GATEWAY,
        "blng__Active__c": True,
        "Card_Token__c": "pm_globex_1",
        "blng__PaymentType__c": "Credit Card",
        "blng__CardType__c": "Visa",
        "blng__CardLastFour__c": "4242",
        "blng__CardExpirationMonth__c": "12",
        "blng__CardExpirationYear__c": "2030",
    }


def test_existing_scenario_updates_only_empty_stripe_ids() -> None:
    report = run(
        BY_ID,
        [ACME, "cus_acme", GATEWAY, "true", "pm_acme_2"],
        [GLOBEX, "cus_globex", GATEWAY, "true", "pm_globex_1"],
    )
    assert [r.account_action for r in report.planned] == [Action.NONE, Action.UPDATE]
    assert report.plan.accounts_update == 1
    assert report.plan.payment_methods_create == 2


def test_rerunning_the_same_file_plans_nothing() -> None:
    directory, stripe = FakeDirectory.standard(), stripe_world()
    rows = [
        ["Acme Corporation", "cus_acme", GATEWAY, "true", "pm_acme_2"],
        ["Globex", "cus_globex", GATEWAY, "true", "pm_globex_1"],
    ]
    first = run(NEW, *rows, scenario=Scenario.EXISTING, directory=directory, stripe=stripe)
    assert (first.plan.accounts_update, first.plan.payment_methods_create) == (1, 2)
    # What the run would have written:
    directory.accounts[1] = AccountRecord(GLOBEX, "Globex", "cus_globex")
    for n, planned in enumerate(first.planned):
        account = planned.account_id or ""
        token = planned.payment_method_fields["blng__PaymentGatewayToken__c"]
        directory.payment_methods.append(PaymentMethodRecord(sf_id("a0M", 50 + n), account, token))
    again = run(NEW, *rows, scenario=Scenario.EXISTING, directory=directory, stripe=stripe)
    assert vars(again.plan) == {
        "accounts_create": 0,
        "accounts_update": 0,
        "payment_methods_create": 0,
        "skipped": 2,
        "rejected_rows": 0,
    }
    assert {p.code for p in again.problems} == {"token_already_imported"}


def test_rerunning_new_customers_finds_the_accounts_created_last_time() -> None:
    directory = FakeDirectory.standard()
    directory.accounts.append(AccountRecord(sf_id("001", 50), "New Co", "cus_new"))
    directory.payment_methods.append(
        PaymentMethodRecord(sf_id("a0M", 50), sf_id("001", 50), "pm_new_1")
    )
    report = run(
        NEW,
        ["New Co", "cus_new", GATEWAY, "true", "pm_new_1"],
        ["New Co", "cus_new", GATEWAY, "true", "pm_new_2"],
        directory=directory,
    )
    assert [r.status for r in report.planned] == [RowStatus.SKIP, RowStatus.OK]
    assert report.planned[1].account_id == sf_id("001", 50)
    assert report.plan.accounts_create == 0
    assert report.plan.payment_methods_create == 1


def test_planned_rows_round_trip_through_storage() -> None:
    report = run(NEW, ["New Co", "cus_new", GATEWAY, "true", "pm_new_1"], ["", "", "", "", ""])
    for row in report.planned:
        assert PlannedRow.from_dict(row.to_dict()) == row


# --- what is written out --------------------------------------------------------------------


def test_error_csv_holds_rejected_rows_with_masked_tokens_and_neutralised_cells() -> None:
    report = run(
        NEW + ["Notes"],
        ["=cmd|' /C calc'!A0", "cus_new", GATEWAY, "true", "pm_new_1", "ok"],
        ["Bad Co", "cus_bad", GATEWAY, "no", "pm_secret_4242", "@SUM(1)"],
    )
    lines = error_csv(report).splitlines()
    assert lines[0] == "LINE,Account Name,Stripe Customer ID,Payment Gateway (record ID),Active," \
        "Payment Gateway Token,Notes,ERROR"  # fmt: skip
    assert len(lines) == 2
    assert lines[1].startswith("3,Bad Co,cus_bad,")
    assert "pm_…4242" in lines[1] and "pm_secret_4242" not in lines[1]
    assert "'@SUM(1)" in lines[1]
    assert "active_not_true: Active is “no”; it must be true" in lines[1]
    full = error_csv(report, mask_tokens=False)
    assert "pm_secret_4242" in full


def test_success_style_csv_neutralises_every_cell() -> None:
    report = run(NEW, ["=1+1", "cus_new", GATEWAY, "true", "pm_new_1"])
    text = rows_csv(report, report.planned, ["ID", "STATUS"], lambda row: ["001x", "Created"])
    assert text.splitlines()[1].startswith("2,'=1+1,cus_new,")
    assert text.splitlines()[1].endswith(",001x,Created")


def test_problems_csv_lists_every_problem_with_how_to_fix_it() -> None:
    report = run(NEW, ["New Co", "cus_new", GATEWAY, "no", "pm_new_1"])
    lines = problems_csv(report).splitlines()
    assert lines[0] == "line,column,code,severity,message,how to fix"
    assert lines[1].startswith("2,Active,active_not_true,error,")


def test_text_report_groups_problems_by_row() -> None:
    report = run(
        NEW + ["Colour"],
        ["New Co", "cus_new", GATEWAY, "no", "pm_new_1", "red"],
        ["Acme Corporation", "cus_acme", GATEWAY, "true", "pm_acme_1", "blue"],
    )
    text = render_text(report)
    assert "Scenario: new customers and payment methods (detected)" in text
    assert "Plan: 0 Accounts to create, 0 Accounts to update, 0 payment methods to create, " \
        "1 row skipped (already in Salesforce), 1 row rejected" in text  # fmt: skip
    assert "Header (line 1):" in text
    assert "Line 2 (rejected):" in text
    assert "Line 3 (skipped):" in text
