"""File-level checks of every row: each problem code with its line and column, and scenarios."""

from __future__ import annotations

import pytest

from commands.imports import Scenario
from commands.imports.validate import FALSE_WORDS, TRUE_WORDS
from tests.import_fakes import EXISTING_HEADER as EXISTING
from tests.import_fakes import GATEWAY, TODAY, csv_bytes, prepare, sf_id
from tests.import_fakes import NEW_HEADER as NEW

PM_ONLY = ["Account Name", "Payment Gateway (record ID)", "Active", "Payment Gateway Token"]
ACCOUNT = sf_id("001", 7)
GOOD_NEW = ["Acme", "cus_acme", GATEWAY, "true", "pm_acme_1"]
GOOD_EXISTING = [ACCOUNT, "cus_acme", GATEWAY, "true", "pm_acme_1"]


def with_cell(row: list[str], index: int, value: str) -> list[str]:
    return [*row[:index], value, *row[index + 1 :]]


def expiry(month: int, year: int) -> tuple[list[str], list[list[str]]]:
    header = NEW + ["Card Expiration Month", "Card Expiration Year"]
    return header, [GOOD_NEW + [str(month), str(year)]]


# (id, header, rows, scenario or None, the (line, column, code) that must be reported)
CASES = [
    ("missing_required-value", NEW, [with_cell(GOOD_NEW, 4, " ")], None,
     (2, "Payment Gateway Token", "missing_required")),
    ("missing_required-column", NEW[:4], [GOOD_NEW[:4]], None,
     (1, "Payment Gateway Token", "missing_required")),
    ("missing_required-scenario-mismatch", PM_ONLY, [GOOD_NEW[:1] + GOOD_NEW[2:]], Scenario.NEW,
     (1, "Stripe Customer ID", "missing_required")),
    ("missing_required-one-of-account-columns", PM_ONLY, [["", *GOOD_NEW[2:]]], None,
     (2, "Account Name", "missing_required")),
    ("unknown_column", NEW + ["Colour"], [GOOD_NEW + ["blue"]], None,
     (1, "Colour", "unknown_column")),
    ("invalid_salesforce_id-shape", EXISTING, [with_cell(GOOD_EXISTING, 0, "001-not-an-id")], None,
     (2, "Account Id", "invalid_salesforce_id")),
    ("invalid_salesforce_id-checksum", EXISTING,
     [with_cell(GOOD_EXISTING, 0, ACCOUNT[:15] + "ZZZ")], None,
     (2, "Account Id", "invalid_salesforce_id")),
    ("invalid_salesforce_id-checksum-case", EXISTING,
     [with_cell(GOOD_EXISTING, 0, ACCOUNT[:15] + ACCOUNT[15:].lower())], None, None),
    ("invalid_salesforce_id-not-an-account", EXISTING, [with_cell(GOOD_EXISTING, 0, GATEWAY)], None,
     (2, "Account Id", "invalid_salesforce_id")),
    ("invalid_salesforce_id-account-as-gateway", NEW, [with_cell(GOOD_NEW, 2, ACCOUNT)], None,
     (2, "Payment Gateway (record ID)", "invalid_salesforce_id")),
    ("invalid_stripe_customer_id", NEW, [with_cell(GOOD_NEW, 1, "CUS_acme")], None,
     (2, "Stripe Customer ID", "invalid_stripe_customer_id")),
    ("invalid_token", NEW, [with_cell(GOOD_NEW, 4, "4242424242424242")], None,
     (2, "Payment Gateway Token", "invalid_token")),
    ("token_not_reusable", NEW, [with_cell(GOOD_NEW, 4, "tok_visa_12345")], None,
     (2, "Payment Gateway Token", "token_not_reusable")),
    ("token_legacy", NEW, [with_cell(GOOD_NEW, 4, "card_1AbCdEf")], None,
     (2, "Payment Gateway Token", "token_legacy")),
    ("active_not_true", NEW, [with_cell(GOOD_NEW, 3, "No")], None,
     (2, "Active", "active_not_true")),
    ("invalid_boolean-active", NEW, [with_cell(GOOD_NEW, 3, "maybe")], None,
     (2, "Active", "invalid_boolean")),
    ("invalid_boolean-autopay", NEW + ["AutoPay"], [GOOD_NEW + ["sometimes"]], None,
     (2, "AutoPay", "invalid_boolean")),
    ("duplicate_in_file-token", NEW, [GOOD_NEW, ["Beta", "cus_beta", GATEWAY, "yes", "pm_acme_1"]],
     None, (3, "Payment Gateway Token", "duplicate_in_file")),
    ("duplicate_in_file-new-customer-two-names", NEW,
     [GOOD_NEW, ["Acme Two", "cus_acme", GATEWAY, "yes", "pm_acme_2"]], None,
     (3, "Stripe Customer ID", "duplicate_in_file")),
    ("duplicate_in_file-account-two-customers", EXISTING,
     [GOOD_EXISTING, [ACCOUNT, "cus_other", GATEWAY, "yes", "pm_acme_2"]], None,
     (3, "Stripe Customer ID", "duplicate_in_file")),
    ("duplicate_in_file-customer-two-accounts", EXISTING,
     [GOOD_EXISTING, [sf_id("001", 8), "cus_acme", GATEWAY, "yes", "pm_acme_2"]], None,
     (3, "Stripe Customer ID", "duplicate_in_file")),
    ("card_expired", *expiry(5, 2026), None, (2, "Card Expiration Year", "card_expired")),
    ("card_expiring", *expiry(6, 2026), None, (2, "Card Expiration Year", "card_expiring")),
    ("formula_injection", NEW, [with_cell(GOOD_NEW, 0, "+Acme")], None,
     (2, "Account Name", "formula_injection")),
    ("invalid_value-payment-type", NEW + ["Payment Type"], [GOOD_NEW + ["Cheque"]], None,
     (2, "Payment Type", "invalid_value")),
    ("invalid_value-card-type", NEW + ["Card Type"], [GOOD_NEW + ["Diners"]], None,
     (2, "Card Type", "invalid_value")),
    ("invalid_value-last-four", NEW + ["Card Last Four"], [GOOD_NEW + ["424"]], None,
     (2, "Card Last Four", "invalid_value")),
    ("invalid_value-month", *expiry(13, 2028), None, (2, "Card Expiration Month", "invalid_value")),
    ("value_too_long-name", NEW, [with_cell(GOOD_NEW, 0, "N" * 256)], None,
     (2, "Account Name", "value_too_long")),
    ("malformed_row", NEW, [["Acme", "Inc", *GOOD_NEW[1:]]], None, (2, "", "malformed_row")),
]  # fmt: skip


@pytest.mark.parametrize(("header", "rows", "scenario", "expected"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])  # fmt: skip
def test_each_problem_is_reported_on_its_line_and_column(
    header: list[str], rows: list[list[str]], scenario: Scenario | None, expected: tuple | None
) -> None:
    report = prepare(csv_bytes(header, *rows), scenario)
    found = [(p.line, p.column, p.code) for p in report.problems]
    if expected is None:
        assert found == []
    else:
        assert expected in found


def test_every_problem_of_a_row_is_reported_not_just_the_first() -> None:
    report = prepare(csv_bytes(NEW, ["", "cus-1", "nope", "perhaps", "tok_12345"]))
    assert sorted(p.column for p in report.problems) == [
        "Account Name",
        "Active",
        "Payment Gateway (record ID)",
        "Payment Gateway Token",
        "Stripe Customer ID",
    ]
    assert report.plan.rejected_rows == 1


def test_a_missing_required_column_rejects_every_row_once() -> None:
    report = prepare(csv_bytes(NEW[:4], GOOD_NEW[:4], ["Beta", "cus_beta", GATEWAY, "true"]))
    assert [(p.line, p.code) for p in report.problems] == [(1, "missing_required")]
    assert report.plan.rejected_rows == 2
    assert all(row.problems[0].code == "missing_required" for row in report.planned)


@pytest.mark.parametrize("word", sorted(TRUE_WORDS) + ["TRUE", "Yes", "X", "Checked"])
def test_true_spellings_are_accepted(word: str) -> None:
    report = prepare(csv_bytes(NEW, with_cell(GOOD_NEW, 3, word)))
    assert report.problems == []
    assert report.planned[0].payment_method_fields["blng__Active__c"] is True


@pytest.mark.parametrize("word", sorted(FALSE_WORDS) + ["FALSE", "No", "N"])
def test_false_spellings_mean_not_active(word: str) -> None:
    report = prepare(csv_bytes(NEW, with_cell(GOOD_NEW, 3, word)))
    assert [p.code for p in report.problems] == ["active_not_true"]


def test_tokens_are_masked_in_messages() -> None:
    report = prepare(csv_bytes(NEW, GOOD_NEW, with_cell(GOOD_NEW, 4, "4000056655665556")))
    assert all("4000056655665556" not in p.message for p in report.problems)
    assert all("pm_acme_1" not in p.message for p in report.problems)


def test_expiry_is_judged_against_today() -> None:
    # TODAY is 15 June 2026: a card good through June is expiring, through May expired.
    assert TODAY.month == 6
    header, rows = expiry(6, 26)
    report = prepare(csv_bytes(header, *rows))
    assert [p.code for p in report.problems] == ["card_expiring"]
    assert report.planned[0].payment_method_fields["blng__CardExpirationYear__c"] == "2026"
    assert report.planned[0].payment_method_fields["blng__CardExpirationMonth__c"] == "06"


def test_card_fields_are_normalised_for_salesforce() -> None:
    header = NEW + ["Payment Type", "Card Type", "Card Last Four", "AutoPay"]
    report = prepare(csv_bytes(header, GOOD_NEW + ["credit card", "AMEX", "0005", "x"]))
    fields = report.planned[0].payment_method_fields
    assert fields["blng__PaymentType__c"] == "Credit Card"
    assert fields["blng__CardType__c"] == "American Express"
    assert fields["blng__CardLastFour__c"] == "0005"
    assert fields["blng__AutoPay__c"] is True


# --- scenarios ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "scenario"),
    [
        (NEW, Scenario.NEW),
        (EXISTING, Scenario.EXISTING),
        (["Account Id", *PM_ONLY[1:]], Scenario.PAYMENT_METHODS),
        (PM_ONLY, Scenario.PAYMENT_METHODS),
        (["Stripe Customer ID", *PM_ONLY[1:]], Scenario.PAYMENT_METHODS),
    ],
)
def test_scenario_is_detected_from_the_columns(header: list[str], scenario: Scenario) -> None:
    report = prepare(csv_bytes(header, ["x"] * len(header)))
    assert report.scenario == scenario
    assert report.scenario_detected
    assert report.scenario_reason


def test_chosen_scenario_overrides_detection() -> None:
    report = prepare(csv_bytes(NEW, GOOD_NEW), Scenario.EXISTING)
    assert report.scenario == Scenario.EXISTING
    assert not report.scenario_detected
    assert report.problems == []  # Account Name is one of the ways to find an existing Account
    assert report.plan.accounts_update == 1


def test_payment_methods_scenario_never_writes_accounts() -> None:
    report = prepare(csv_bytes(NEW, GOOD_NEW), Scenario.PAYMENT_METHODS)
    assert report.plan.accounts_create == report.plan.accounts_update == 0
    assert report.plan.payment_methods_create == 1
