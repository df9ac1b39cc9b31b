"""`pm` with in-memory ports: one verdict per payment method, with reasons and fixes."""

from __future__ import annotations

import json
from datetime import date

import pytest

from commands.lookups.records import GatewayRecord
from commands.pm import lookup_payment_methods, render_text
from commands.render import to_json
from commands.stripe_facts import Found, StripeCustomer, StripePaymentMethod
from tests.lookup_fakes import FakeDirectory, FakeStripe, account, card, sf_id

TODAY = date(2026, 11, 28)
CUSTOMER = StripeCustomer("cus_Acme0001", Found.FOUND, name="Acme")
TOKEN = "pm_0010TestToken4242"  # the first payment method of account 1 (see lookup_fakes)


def check(
    fields=None, stripe_pm=None, customer=CUSTOMER, account_customer="cus_Acme0001", down=False
):
    """The verdict on one payment method of a one-method Account."""
    acc = account(1, "Acme", account_customer, [fields or {}])
    (record,) = acc.payment_methods
    pms = [stripe_pm] if stripe_pm else []
    if stripe_pm is None and record.token and record.token.startswith("pm_"):
        pms = [card(record.token, "cus_Acme0001")]
    stripe = FakeStripe([customer] if customer else [], pms, down=down)
    result = lookup_payment_methods(acc.id, FakeDirectory([acc]), stripe, TODAY)
    (only,) = result.payment_methods
    return only


def codes(checked):
    return [p.code for p in checked.problems]


def test_a_healthy_card_is_ready_to_charge():
    checked = check()
    assert (checked.verdict, checked.problems) == ("ready", [])
    assert checked.token_masked == "pm_…4242"
    assert checked.stripe.status == "found" and checked.stripe.reusable is True
    assert (checked.stripe.brand, checked.stripe.last4) == ("visa", "4242")
    assert checked.gateway.name == "Stripe" and checked.gateway.active is True


def test_json_has_the_documented_shape_and_no_whole_token():
    acc = account(1, "Acme", "cus_Acme0001", [{}])
    stripe = FakeStripe([CUSTOMER], [card(TOKEN, "cus_Acme0001")])
    result = lookup_payment_methods("Acme", FakeDirectory([acc]), stripe, TODAY)
    text = to_json(result)
    data = json.loads(text)
    assert list(data)[:2] == ["query", "payment_methods"]
    item = data["payment_methods"][0]
    assert set(item) >= {
        "id", "name", "url", "account", "active", "autopay", "type", "gateway",
        "token_masked", "stripe", "verdict", "problems",
    }  # fmt: skip
    assert set(item["stripe"]) >= {"status", "customer", "brand", "last4", "exp_month",
                                   "exp_year", "reusable"}  # fmt: skip
    assert TOKEN not in text


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"active": False}, "active_not_true"),
        ({"gateway": None, "gateway_id": None}, "gateway_not_found"),
        ({"gateway": GatewayRecord("a0G1", "Old", "Stripe", False)}, "gateway_inactive"),
        ({"gateway": GatewayRecord("a0G2", "AuthNet", "AuthorizeDotNet", True)},
         "gateway_not_stripe"),
        ({"token": None}, "missing_required"),
        ({"token": "not a token"}, "invalid_token"),
        ({"token": "tok_1MqLiJLkdIwHu7ix"}, "token_not_reusable"),
    ],
)  # fmt: skip
def test_salesforce_side_defects_block(fields, code):
    checked = check(fields)
    assert code in codes(checked)
    assert checked.verdict == "blocked"
    problem = next(p for p in checked.problems if p.code == code)
    assert len(problem.message.split(". ")) >= 2  # the finding, then how to fix it


def test_an_inactive_autopay_method_says_so():
    checked = check({"active": False, "autopay": True})
    assert "AutoPay" in checked.problems[0].message


def test_a_single_use_token_is_never_sent_to_stripe():
    acc = account(1, "Acme", "cus_Acme0001", [{"token": "tok_1MqLiJLkdIwHu7ix"}])
    stripe = FakeStripe([CUSTOMER])
    result = lookup_payment_methods("Acme", FakeDirectory([acc]), stripe, TODAY)
    assert ("payment_methods", []) not in stripe.asked
    assert all(kind != "payment_methods" for kind, _ in stripe.asked)
    assert result.payment_methods[0].stripe.reusable is False


def test_a_legacy_token_is_a_warning():
    legacy = "card_1MqLiJLkdIwHu7ix"
    checked = check({"token": legacy}, card(legacy, "cus_Acme0001"))
    assert (codes(checked), checked.verdict) == (["token_legacy"], "warning")


@pytest.mark.parametrize(
    ("stripe_pm", "fragment"),
    [
        (StripePaymentMethod(TOKEN, Found.MISSING), "Stripe has no payment method pm_…4242"),
        (card(TOKEN, "cus_Other0001"), "attached to cus_Other0001, not to"),
        (card(TOKEN, None), "not attached to any Stripe customer"),
    ],
)
def test_stripe_side_defects_block(stripe_pm, fragment):
    checked = check(stripe_pm=stripe_pm)
    assert checked.verdict == "blocked"
    assert any(fragment in p.message for p in checked.problems), checked.problems


def test_the_accounts_customer_missing_or_deleted_in_stripe_blocks():
    assert "stripe_customer_missing" in codes(check(customer=None))
    deleted = StripeCustomer("cus_Acme0001", Found.DELETED)
    assert "stripe_customer_deleted" in codes(check(customer=deleted))


def test_an_account_without_a_stripe_customer_id_blocks():
    checked = check(account_customer=None, customer=None)
    assert "stripe_customer_id_missing" in codes(checked)
    assert checked.verdict == "blocked"


def test_card_expiry_uses_the_clock():
    # A card is good until the end of its expiry month; "expiring" is that end within 30 days.
    expired = check(stripe_pm=card(TOKEN, "cus_Acme0001", exp=(10, 2026)))
    assert (codes(expired), expired.verdict) == (["card_expired"], "blocked")
    this_month = check(stripe_pm=card(TOKEN, "cus_Acme0001", exp=(11, 2026)))
    assert (codes(this_month), this_month.verdict) == (["card_expiring"], "warning")
    next_month = check(stripe_pm=card(TOKEN, "cus_Acme0001", exp=(12, 2026)))  # 33 days left
    assert next_month.verdict == "ready"


def test_without_stripe_the_salesforce_expiry_fields_are_used():
    checked = check({"card_exp_month": "3", "card_exp_year": "2025"}, down=True)
    assert "card_expired" in codes(checked)


def test_stripe_down_is_a_warning_never_ready():
    checked = check(down=True)
    assert checked.verdict == "warning"
    (problem,) = checked.problems  # said once, though customer and card were both asked
    assert problem.code == "stripe_unavailable"
    assert problem.message.startswith("Stripe unavailable: could not check")


def test_ach_that_stripe_does_not_hold_as_a_bank_account_gets_the_ach_action_advice():
    checked = check({"payment_type": "ACH"}, card(TOKEN, "cus_Acme0001"))
    assert "ach_not_verified" in codes(checked)
    assert "New Payment Method ACH action" in checked.problems[-1].message
    missing = check({"payment_type": "ACH"}, StripePaymentMethod(TOKEN, Found.MISSING))
    problem = next(p for p in missing.problems if p.code == "stripe_pm_missing")
    assert "New Payment Method ACH action" in problem.message
    bank = StripePaymentMethod(TOKEN, Found.FOUND, customer="cus_Acme0001", type="us_bank_account")
    assert check({"payment_type": "ACH"}, bank).verdict == "ready"
    sepa = StripePaymentMethod(TOKEN, Found.FOUND, customer="cus_Acme0001", type="sepa_debit")
    assert check({"payment_type": "ACH"}, sepa).verdict == "ready"


def test_by_token_and_by_record_id():
    acc = account(1, "Acme", "cus_Acme0001", [{}, {}])
    stripe = FakeStripe([CUSTOMER], [card(TOKEN, "cus_Acme0001")])
    directory = FakeDirectory([acc])
    by_token = lookup_payment_methods(f"`{TOKEN}`", directory, stripe, TODAY)
    assert [c.id for c in by_token.payment_methods] == [acc.payment_methods[0].id]
    assert by_token.query == "pm_…4242"
    by_id = lookup_payment_methods(acc.payment_methods[1].id, directory, stripe, TODAY)
    assert [c.id for c in by_id.payment_methods] == [acc.payment_methods[1].id]


def test_an_account_lookup_checks_every_method_with_one_round_of_stripe_calls():
    acc = account(1, "Acme", "cus_Acme0001", [{}] * 5)
    tokens = [m.token for m in acc.payment_methods]
    stripe = FakeStripe([CUSTOMER], [card(t, "cus_Acme0001") for t in tokens])
    directory = FakeDirectory([acc])
    result = lookup_payment_methods("cus_Acme0001", directory, stripe, TODAY)
    assert [c.verdict for c in result.payment_methods] == ["ready"] * 5
    assert directory.asked == ["accounts"]
    asked = dict(stripe.asked)  # one call each, made at the same time
    assert asked["customers"] == ["cus_Acme0001"]
    assert sorted(asked["payment_methods"]) == sorted(tokens)
    assert len(stripe.asked) == 2


def test_no_match_and_no_methods():
    directory = FakeDirectory([account(1, "Pied Piper", None)])
    result = lookup_payment_methods("Pied", directory, FakeStripe(), TODAY)
    assert (
        result.payment_methods == []
        and "No payment methods in Salesforce for Pied Piper" in result.hint
    )
    result = lookup_payment_methods("Hooli", directory, FakeStripe(), TODAY)
    assert "No Account name contains “Hooli”" in result.hint
    result = lookup_payment_methods(sf_id("a0M", 999), directory, FakeStripe(), TODAY)
    assert "No payment method has the Id" in result.hint
    result = lookup_payment_methods("pm_Unknown00001111", directory, FakeStripe(), TODAY)
    assert "No payment method has the token pm_…1111" in result.hint
    assert "pm_Unknown" not in result.hint + result.query


def test_many_accounts_show_five_and_a_narrowing_hint():
    many = [account(i, f"Acme {i:02d}", f"cus_A{i:04d}", [{}]) for i in range(1, 9)]
    result = lookup_payment_methods("Acme", FakeDirectory(many), FakeStripe(), TODAY)
    assert len({c.account.id for c in result.payment_methods}) == 5
    assert result.more == 3 and "3 more match" in result.hint


def test_render_text_shows_verdicts_and_masks_tokens():
    acc = account(1, "Acme", "cus_Acme0001", [{}, {"active": False}])
    stripe = FakeStripe([CUSTOMER], [card(m.token, "cus_Acme0001") for m in acc.payment_methods])
    text = render_text(lookup_payment_methods("Acme", FakeDirectory([acc]), stripe, TODAY))
    assert "✓ ready to charge" in text and "✗ blocked" in text
    assert "active_not_true" in text
    assert "TestToken" not in text
