"""The audit's checks over fake ports: statuses, counts, messages, findings, failures."""

from __future__ import annotations

from datetime import date

import pytest

from commands.audit import AuditOptions, Status, run_checks
from commands.audit import stripe_check as stripe_check_module
from commands.audit.catalogue import CODES_IN_ORDER, STRIPE_CODES
from commands.audit.source import (
    AccountRow,
    AuditWindow,
    GatewayRow,
    InvoiceRow,
    TransactionRow,
)
from commands.errors import NotReadable, SalesforceError
from commands.stripe_facts import Found, StripePaymentMethod
from tests.audit_fakes import BATCH_SIZE_RECORD, STRIPE_GATEWAY, FakeSource, FakeStripe, pm_row

TODAY = date(2026, 11, 28)
WINDOW = AuditWindow(TODAY)


def run(source: FakeSource, stripe: FakeStripe | None = None, **options):
    results = run_checks(source, stripe, AuditOptions(window=WINDOW, **options))
    return {r.code: r for r in results}


# --- every check, in order, always -----------------------------------------------------------


def test_every_check_reports_once_in_catalogue_order_even_on_an_empty_org():
    results = run_checks(FakeSource(), FakeStripe(), AuditOptions(window=WINDOW))
    assert [r.code for r in results] == list(CODES_IN_ORDER)
    assert len(CODES_IN_ORDER) == 19
    statuses = {r.code: r.status for r in results}
    assert set(statuses.values()) == {Status.PASS}


# --- batch size --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "status"),
    [(70, Status.PASS), (50, Status.WARN), (1, Status.WARN), (0, Status.FAIL), (300, Status.FAIL)],
)
def test_batch_size_status_by_value(value, status):
    source = FakeSource(config=[{**BATCH_SIZE_RECORD, "blng__NumberValue__c": value}])
    check = run(source)["batch_size"]
    assert check.status == status
    assert check.count == value  # the number this check is about: the setting itself
    if status != Status.PASS:
        assert (
            "Setup > Installed Packages > Salesforce Billing > Configure > Payment tab"
            in check.message
        )
        assert check.findings[0].record_id == BATCH_SIZE_RECORD["Id"]
        assert check.findings[0].link.endswith(BATCH_SIZE_RECORD["Id"])
    else:
        assert check.findings == ()


def test_batch_size_unknown_when_the_record_is_not_found_says_why():
    source = FakeSource(config=[{"Id": "a0C1", "Name": "INVOICE_BATCH_SIZE"}])
    check = run(source)["batch_size"]
    assert check.status == Status.UNKNOWN
    assert "SF_BATCH_SIZE_SETTING" in check.message


def test_batch_size_unknown_when_the_settings_object_is_unreadable():
    denied = NotReadable("Salesforce: sObject type 'blng__BillingConfig__c' is not supported")
    check = run(FakeSource(failures={"batch_size": denied}))["batch_size"]
    assert check.status == Status.UNKNOWN
    assert "blng__BillingConfig__c" in check.message
    assert check.status != Status.PASS


# --- gateways ------------------------------------------------------------------------------------


def test_stripe_gateway_passes_and_names_the_default():
    other = GatewayRow("a0G2", "Authorize.net", "Authorize.net", True, False)
    check = run(FakeSource(gateway_rows=[STRIPE_GATEWAY, other]))["stripe_gateway"]
    assert check.status == Status.PASS
    assert check.count == 1
    assert "the default is Stripe" in check.message


def test_stripe_gateway_fails_when_only_inactive_stripe_gateways_exist():
    retired = GatewayRow("a0G3", "Stripe EU (retired)", "Stripe", False, False)
    authnet = GatewayRow("a0G2", "Authorize.net", "Authorize.net", True, True)
    check = run(FakeSource(gateway_rows=[retired, authnet]))["stripe_gateway"]
    assert check.status == Status.FAIL
    assert "no Stripe gateway is active" in check.message
    assert "the default is Authorize.net (type Authorize.net)" in check.message
    assert [f.record_name for f in check.findings] == ["Stripe EU (retired)"]


def test_stripe_gateway_universal_extension_counts_as_stripe():
    gateway = GatewayRow("a0G4", "Stripe UX", "Stripe (Universal Extension)", True, False)
    check = run(FakeSource(gateway_rows=[gateway]))["stripe_gateway"]
    assert check.status == Status.PASS
    assert "no active gateway is marked Default" in check.message


# --- filter checks ---------------------------------------------------------------------------


def test_filter_checks_count_list_and_link_their_records():
    rows = [
        pm_row(1, token="tok_1Abcdefghijklmnop"),
        pm_row(2, token="btok_1Abcdefghijklmn"),
    ]
    check = run(FakeSource(rows_by_check={"pm_single_use_token": rows}))["pm_single_use_token"]
    assert check.status == Status.FAIL
    assert check.count == 2
    assert check.message.startswith("2 payment methods hold a single-use tok_ token")
    first = check.findings[0]
    assert (first.code, first.record_id, first.record_name) == (
        "pm_single_use_token",
        rows[0].id,
        "PM-0000001",
    )
    assert first.link == f"https://example.my.salesforce.com/{rows[0].id}"
    assert first.detail == "token tok_…mnop (Account: Acme Corporation)"
    assert "tok_1Abcdefghijklmnop" not in repr(check)


def test_warnings_for_what_still_charges_failures_for_what_breaks_a_run():
    source = FakeSource(
        rows_by_check={
            "pm_legacy_token": [pm_row(1, token="card_1Abcdefgh")],
            "card_expiring": [pm_row(2)],
            "pm_missing_gateway": [pm_row(3)],
        }
    )
    results = run(source)
    assert results["pm_legacy_token"].status == Status.WARN
    assert results["card_expiring"].status == Status.WARN
    assert results["pm_missing_gateway"].status == Status.FAIL


def test_findings_are_capped_but_the_count_stays_exact():
    rows = [pm_row(n) for n in range(12)]
    check = run(FakeSource(rows_by_check={"pm_inactive": rows}), max_findings=5)["pm_inactive"]
    assert check.count == 12
    assert len(check.findings) == 5
    assert "the first 5 are listed" in check.message


def test_a_check_that_finds_nothing_does_not_fetch_records():
    source = FakeSource()
    run(source)
    assert not [a for a in source.asked if a.startswith("rows:")]


def test_details_for_accounts_transactions_and_invoices():
    source = FakeSource(
        rows_by_check={
            "account_missing_stripe_id": [AccountRow("0011", "Globex", None)],
            "duplicate_stripe_customer_id": [AccountRow("0012", "Wayne", "cus_Wayne01", 2)],
            "autopay_inactive": [AccountRow("0013", "Dunder Mifflin", "cus_Dunder1")],
            "failed_transactions": [
                TransactionRow("a0T1", "PT-0000001", "Blue Sun", "Decline", "2026-11-27T10:00:00Z")
            ],
            "locked_invoices": [
                InvoiceRow("a0I1", "INV-0000001", "Blue Sun", "Action Required", True)
            ],
        }
    )
    results = run(source)
    assert results["account_missing_stripe_id"].findings[0].detail == (
        "has payment methods but no Stripe Customer ID"
    )
    assert results["duplicate_stripe_customer_id"].findings[0].detail == (
        "cus_Wayne01 is on 2 Accounts"
    )
    assert results["autopay_inactive"].findings[0].detail == (
        "its AutoPay payment method is inactive"
    )
    assert results["failed_transactions"].findings[0].detail == (
        "gateway status Decline on 2026-11-27 (Account: Blue Sun)"
    )
    assert results["locked_invoices"].findings[0].detail == (
        "Corrective Action: Action Required; locked (Account: Blue Sun)"
    )


def test_card_details_say_expired_or_expiring():
    source = FakeSource(
        rows_by_check={
            "card_expired": [_card(1, "03", "2025")],
            "card_expiring": [_card(2, "11", "2026")],
        }
    )
    results = run(source)
    assert results["card_expired"].findings[0].detail == (
        "card expired: 03/2025 (Account: Acme Corporation)"
    )
    assert results["card_expiring"].findings[0].detail == (
        "card expiring: 11/2026 (Account: Acme Corporation)"
    )


def _card(n: int, month: str, year: str):
    from dataclasses import replace

    return replace(pm_row(n), exp_month=month, exp_year=year)


# --- malformed IDs: judged in Python, record by record ------------------------------------------


def test_malformed_stripe_ids_are_judged_record_by_record():
    accounts = [
        AccountRow("0011", "Good", "cus_Good0001"),
        AccountRow("0012", "Dash", "cus-Seed000001x"),
        AccountRow("0013", "Upper", "CUS_Seed000002x"),
        AccountRow("0014", "Space", "cus_ Seed000003x"),
        AccountRow("0015", "Blank", "   "),
        AccountRow("0016", "Pasted a payment method", "pm_1SecretTokenValue42"),
        AccountRow("0017", "Digits", "00012345"),
    ]
    check = run(FakeSource(stripe_ids=accounts))["account_malformed_stripe_id"]
    assert check.status == Status.FAIL
    assert check.count == 5
    assert [f.record_name for f in check.findings] == [
        "Dash",
        "Upper",
        "Space",
        "Pasted a payment method",
        "Digits",
    ]
    pasted = check.findings[3].detail
    assert "pm_1SecretTokenValue42" not in pasted
    assert "pm_…ue42" in pasted


# --- failures are contained -------------------------------------------------------------------


def test_a_salesforce_error_makes_that_check_unknown_and_the_others_still_run():
    timeout = SalesforceError("Salesforce did not answer within 5s (count)", retryable=True)
    source = FakeSource(
        failures={"pm_inactive": timeout},
        rows_by_check={"pm_missing_token": [pm_row(1, token="")]},
    )
    results = run(source)
    assert results["pm_inactive"].status == Status.UNKNOWN
    assert results["pm_inactive"].message == (
        "could not check: Salesforce did not answer within 5s (count)"
    )
    assert results["pm_missing_token"].status == Status.FAIL
    assert results["batch_size"].status == Status.PASS


def test_a_passing_hiccup_is_retried_once():
    hiccup = SalesforceError("Salesforce error (count): Server unavailable.", retryable=True)
    source = FakeSource(
        fail_once={"pm_inactive": hiccup},
        rows_by_check={"pm_inactive": [pm_row(1, active=False)]},
    )
    check = run(source)["pm_inactive"]
    assert check.status == Status.WARN and check.count == 1
    assert source.asked.count("pm_inactive") == 2


def test_a_refusal_is_not_retried():
    denied = NotReadable("Salesforce: sObject type 'blng__Invoice__c' is not supported")
    source = FakeSource(failures={"locked_invoices": denied})
    assert run(source)["locked_invoices"].status == Status.UNKNOWN
    assert source.asked.count("locked_invoices") == 1


def test_an_error_while_listing_records_is_unknown_too():
    source = FakeSource(
        rows_by_check={"pm_inactive": [pm_row(1, active=False)]},
        failures={"rows:pm_inactive": SalesforceError("Salesforce could not be reached (query)")},
    )
    assert run(source)["pm_inactive"].status == Status.UNKNOWN


def test_a_bug_in_a_check_is_unknown_not_a_crash(caplog):
    source = FakeSource(failures={"locked_invoices": KeyError("boom")})
    check = run(source)["locked_invoices"]
    assert check.status == Status.UNKNOWN
    assert "internal error" in check.message


# --- the Stripe cross-check ---------------------------------------------------------------------


def stripe_world() -> tuple[FakeSource, FakeStripe]:
    """Acme: fine (a pm_ and a legacy card_). Umbrella: a pm on another customer. Stark: a
    detached pm. Monsters: a pm Stripe never had. Hooli: a deleted customer. Vandelay: a
    typo'd customer id (its pm is on the real one). Globex: no Stripe ID, so its pm is only
    checked for existence. Wonka: a tok_, never asked about."""
    stripe = FakeStripe()
    for customer in ("cus_Acme01", "cus_Umbr01", "cus_Stark1", "cus_Mons01", "cus_Wonk01"):
        stripe.customer(customer)
    stripe.customer("cus_Hooli1", Found.DELETED)
    world = [
        # (pm number, account name, Account's Stripe ID, token, attached in Stripe to)
        (1, "Acme", "cus_Acme01", "pm_Acme00001", "cus_Acme01"),
        (2, "Acme", "cus_Acme01", "card_Acme02", "cus_Acme01"),
        (3, "Umbrella", "cus_Umbr01", "pm_Umbr00001", "cus_Other1"),
        (4, "Stark", "cus_Stark1", "pm_Stark0001", None),
        (5, "Monsters", "cus_Mons01", "pm_Mons00001", False),
        (6, "Hooli", "cus_Hooli1", "pm_Hooli0001", "cus_Hooli1"),
        (7, "Vandelay", "cus_Typo01", "pm_Vand00001", "cus_Real01"),
        (8, "Globex", None, "pm_Glob00001", "cus_Glob01"),
        (9, "Wonka", "cus_Wonk01", "tok_Wonk00001", False),
    ]
    rows = []
    for n, name, stripe_id, token, attached in world:
        account = f"001{name:0>12}"[:15] + "AAA"
        rows.append(pm_row(n, account=account, account_name=name, stripe_id=stripe_id, token=token))
        if attached is not False:
            stripe.attach(token, attached)
    return FakeSource(payment_methods=rows), stripe


def test_stripe_cross_check_finds_each_kind_of_mismatch():
    source, stripe = stripe_world()
    results = run(source, stripe)
    names = {code: [f.record_name for f in results[code].findings] for code in STRIPE_CODES}
    assert names["stripe_pm_missing"] == ["PM-0000005"]
    assert sorted(names["stripe_pm_other_customer"]) == ["PM-0000003", "PM-0000004", "PM-0000007"]
    assert names["stripe_customer_missing"] == ["Vandelay"]
    assert names["stripe_customer_deleted"] == ["Hooli"]
    other = {f.record_name: f.detail for f in results["stripe_pm_other_customer"].findings}
    assert other["PM-0000003"] == (
        "pm_…0001 is attached to cus_Other1, not the Account's cus_Umbr01 (Account: Umbrella)"
    )
    assert other["PM-0000004"].startswith("pm_…0001 is attached to no customer")
    assert (
        results["stripe_customer_deleted"].findings[0].detail == "cus_Hooli1 was deleted in Stripe"
    )
    for code in STRIPE_CODES:
        assert "checked all 9 payment methods" in results[code].message


def test_single_use_tokens_and_blank_ids_are_left_to_the_salesforce_checks():
    source, stripe = stripe_world()
    run(source, stripe)
    asked_pms = {t for chunk in stripe.pm_requests for t in chunk}
    asked_customers = {c for chunk in stripe.customer_requests for c in chunk}
    assert "tok_Wonk00001" not in asked_pms
    assert "pm_Glob00001" in asked_pms  # existence is still checked
    assert None not in asked_customers and "" not in asked_customers


def test_each_account_is_asked_about_once_even_across_chunks(monkeypatch):
    monkeypatch.setattr(stripe_check_module, "CHUNK", 2)
    stripe = FakeStripe()
    rows = [pm_row(n, account="001000000000001AAA", stripe_id="cus_Big001") for n in range(7)]
    for row in rows:
        stripe.attach(row.token, "cus_Big001")
    stripe.customer("cus_Big001")
    results = run(FakeSource(payment_methods=rows), stripe)
    assert [c for chunk in stripe.customer_requests for c in chunk] == ["cus_Big001"]
    assert len(stripe.pm_requests) == 4  # 7 payment methods, 2 a chunk
    assert all(results[c].status == Status.PASS for c in STRIPE_CODES)


def test_the_sample_is_deterministic_and_says_so():
    stripe = FakeStripe()
    rows = [pm_row(n, account=f"001{n:012d}AAA", stripe_id=f"cus_S{n:05d}") for n in range(50)]
    source = FakeSource(payment_methods=rows)
    first = run(source, stripe, stripe_sample=10)
    picked_first = sorted(t for chunk in stripe.pm_requests for t in chunk)
    stripe.pm_requests.clear()
    source.payment_methods = list(reversed(rows))  # same records, another order
    run(source, stripe, stripe_sample=10)
    picked_again = sorted(t for chunk in stripe.pm_requests for t in chunk)
    assert picked_first == picked_again
    assert len(picked_first) == 10
    assert "checked a sample of 10 of 50 payment methods (AUDIT_STRIPE_SAMPLE)" in (
        first["stripe_pm_missing"].message
    )
    assert first["stripe_pm_missing"].count == 10  # none of them exists in this Stripe


def test_a_sample_larger_than_the_org_checks_everything():
    source, stripe = stripe_world()
    results = run(source, stripe, stripe_sample=1000)
    assert "checked all 9 payment methods" in results["stripe_pm_missing"].message


def test_stripe_unavailable_makes_the_stripe_checks_unknown_with_the_reason():
    source, stripe = stripe_world()
    stripe.pms["pm_Acme00001"] = StripePaymentMethod(
        "pm_Acme00001", Found.UNAVAILABLE, error="Stripe is rate-limiting requests"
    )
    results = run(source, stripe)
    check = results["stripe_pm_missing"]
    assert check.status == Status.UNKNOWN
    assert check.message.startswith(
        "could not check 1 of 8 payment methods (Stripe is rate-limiting requests)"
    )
    assert check.count == 1  # what was found among the rest is still reported
    assert results["stripe_customer_missing"].status == Status.FAIL


def test_without_a_stripe_key_the_stripe_checks_are_unknown_not_configured():
    results = run(FakeSource(payment_methods=[pm_row(1)]), None)
    for code in STRIPE_CODES:
        assert results[code].status == Status.UNKNOWN
        assert "not configured" in results[code].message


def test_salesforce_failing_mid_stream_makes_the_stripe_checks_unknown():
    source, stripe = stripe_world()
    source.failures["iter_payment_methods"] = SalesforceError("Salesforce could not be reached")
    results = run(source, stripe)
    assert {results[c].status for c in STRIPE_CODES} == {Status.UNKNOWN}
    assert "could not be reached" in results["stripe_pm_missing"].message


# --- the window ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "expiring"),
    [
        (date(2026, 11, 28), [(2026, 11)]),
        (date(2026, 11, 1), [(2026, 11)]),
        (date(2026, 12, 1), [(2026, 12)]),
        (date(2026, 1, 31), [(2026, 1), (2026, 2)]),
        (date(2026, 12, 31), [(2026, 12)]),
        (date(2027, 2, 1), [(2027, 2)]),
    ],
)
def test_expiring_months_are_those_ending_within_30_days(today, expiring):
    assert AuditWindow(today).expiring_months == expiring


@pytest.mark.parametrize(
    ("month", "year", "state"),
    [
        ("10", "2026", "expired"),
        ("11", "2026", "expiring"),
        ("3", "2031", None),
        ("12", "25", "expired"),
        ("13", "2030", None),
        (None, "2030", None),
    ],
)
def test_card_state(month, year, state):
    assert WINDOW.card_state(month, year) == state
