"""`customer` with in-memory ports: what an agent reads for each kind of Account."""

from __future__ import annotations

import json

from commands.customer import ACCOUNT_LIMIT, lookup_customer, render_text
from commands.render import to_json
from commands.stripe_facts import Found, StripeCustomer
from tests.lookup_fakes import FakeDirectory, FakeStripe, account, sf_id

ACME = account(1, "Acme Corporation", "cus_Acme0001", [{}, {}, {"active": False}])
ACME_CUSTOMER = StripeCustomer(
    "cus_Acme0001",
    Found.FOUND,
    name="Acme Corporation, Inc.",
    email="billing@acme.example",
    default_payment_method="pm_10TestToken4242",
)


def lookup(text, accounts, customers=(), down=False, stripe=True):
    directory = FakeDirectory(accounts)
    port = FakeStripe(customers, down=down) if stripe else None
    return lookup_customer(text, directory, port), directory, port


def codes(match):
    return [p.code for p in match.problems]


def test_a_healthy_account_with_its_stripe_side():
    result, directory, stripe = lookup("acme", [ACME], [ACME_CUSTOMER])
    (match,) = result.matches
    assert (match.name, match.stripe_customer_id) == ("Acme Corporation", "cus_Acme0001")
    assert match.url.endswith(ACME.id)
    assert match.stripe.status == "found"
    assert match.stripe.email == "billing@acme.example"
    assert match.stripe.default_payment_method == "pm_…4242"  # masked
    assert match.stripe_url == "https://dashboard.stripe.com/test/customers/cus_Acme0001"
    assert (match.payment_methods_total, match.payment_methods_active) == (3, 2)
    assert match.problems == []  # "Inc." is not a different name
    assert (result.more, result.hint) == (0, "")
    # One Salesforce query for the Accounts, one for the other holders of its Stripe ID.
    assert directory.asked == ["accounts", "holders"]
    assert stripe.asked == [("customers", ["cus_Acme0001"])]


def test_json_has_the_documented_shape():
    result, _, _ = lookup("acme", [ACME], [ACME_CUSTOMER])
    data = json.loads(to_json(result))
    assert list(data)[:2] == ["query", "matches"]
    assert data["query"] == "acme"
    assert set(data["matches"][0]) >= {
        "id", "name", "url", "stripe_customer_id", "stripe", "stripe_url",
        "payment_methods_total", "payment_methods_active", "problems",
    }  # fmt: skip
    assert data["matches"][0]["stripe"]["status"] == "found"


def test_the_same_stripe_id_on_two_accounts_is_a_conflict_on_each():
    twin = account(2, "Acme EMEA", "cus_Acme0001")
    result, _, _ = lookup("acme", [ACME, twin], [ACME_CUSTOMER])
    first, second = sorted(result.matches, key=lambda m: m.name)
    assert "stripe_id_conflict" in codes(first)
    assert "stripe_id_conflict" in codes(second)
    conflict = next(p for p in first.problems if p.code == "stripe_id_conflict")
    assert "Acme EMEA" in conflict.message and conflict.severity == "error"


def test_a_conflict_with_an_account_outside_the_results_is_found_too():
    other = account(2, "Totally Different Co", "cus_Acme0001")
    result, directory, _ = lookup("acme", [ACME, other], [ACME_CUSTOMER])
    assert "stripe_id_conflict" in codes(result.matches[0])
    assert "Totally Different Co" in result.matches[0].problems[0].message


def test_a_reverse_lookup_needs_no_second_salesforce_query():
    twin = account(2, "Acme EMEA", "cus_Acme0001")
    result, directory, _ = lookup("cus_Acme0001", [ACME, twin], [ACME_CUSTOMER])
    assert {m.name for m in result.matches} == {"Acme Corporation", "Acme EMEA"}
    assert all("stripe_id_conflict" in codes(m) for m in result.matches)
    assert directory.asked == ["accounts"]


def test_stripe_name_mismatch_is_a_warning():
    renamed = StripeCustomer("cus_Acme0001", Found.FOUND, name="Globex")
    result, _, _ = lookup("acme", [ACME], [renamed])
    (problem,) = result.matches[0].problems
    assert (problem.code, problem.severity) == ("stripe_name_mismatch", "warning")
    assert "Globex" in problem.message and "Acme Corporation" in problem.message


def test_missing_and_deleted_customers():
    gone = account(2, "Hooli", "cus_Deleted01")
    result, _, _ = lookup(
        "i", [gone, account(3, "Vandelay Industries", "cus_Missing01")],
        [StripeCustomer("cus_Deleted01", Found.DELETED)],
    )  # fmt: skip
    by_name = {m.name: m for m in result.matches}
    assert codes(by_name["Hooli"]) == ["stripe_customer_deleted"]
    assert by_name["Hooli"].stripe.status == "deleted"
    assert codes(by_name["Vandelay Industries"]) == ["stripe_customer_missing"]


def test_no_or_malformed_stripe_customer_id():
    result, _, stripe = lookup(
        "co",
        [account(1, "Globex Co", None, [{}]), account(2, "Initech Co", "cus-123"),
         account(3, "Pied Piper Co", None)],
    )  # fmt: skip
    by_name = {m.name: m for m in result.matches}
    assert codes(by_name["Globex Co"]) == ["stripe_customer_id_missing"]
    assert by_name["Globex Co"].problems[0].severity == "error"  # it has payment methods
    assert by_name["Pied Piper Co"].problems[0].severity == "warning"  # a prospect
    assert codes(by_name["Initech Co"]) == ["invalid_stripe_customer_id"]
    assert all(m.stripe.status == "not_checked" for m in result.matches)
    assert stripe.asked == []  # nothing worth asking Stripe


def test_stripe_down_keeps_the_salesforce_answer():
    result, _, _ = lookup("acme", [ACME], down=True)
    (match,) = result.matches
    assert match.stripe.status == "unavailable"
    (problem,) = match.problems
    assert problem.code == "stripe_unavailable" and problem.severity == "warning"
    assert problem.message.startswith("Stripe unavailable: could not check")
    assert match.payment_methods_total == 3
    assert "Stripe unavailable" in render_text(result)


def test_stripe_not_configured_is_said_plainly():
    result, _, _ = lookup("acme", [ACME], stripe=False)
    assert "STRIPE_API_KEY" in result.matches[0].problems[0].message
    assert result.matches[0].stripe_url is None


def test_more_than_a_handful_shows_five_and_says_how_many_more():
    many = [account(i, f"Acme {i:02d}", f"cus_Acme{i:04d}") for i in range(1, 13)]
    result, directory, _ = lookup("acme", many)
    assert len(result.matches) == ACCOUNT_LIMIT
    assert result.more == 12 - ACCOUNT_LIMIT
    assert "7 more Accounts match" in result.hint
    assert "count" in directory.asked


def test_no_match_says_so_and_what_to_try():
    result, directory, _ = lookup("Nonexistent", [ACME])
    assert result.matches == []
    assert "No Account name contains “Nonexistent”" in result.hint
    assert "cus_" in result.hint and "Account Id" in result.hint
    assert "No Account name contains" in render_text(result)


def test_wrong_kinds_of_text_are_explained_without_asking_salesforce():
    for text, words in [
        ("", "Type an Account name"),
        ("x" * 300, "longer than any Account name"),
        (sf_id("a0M", 7), "payment method's Id"),
        ("pm_1MqLiJLkdIwHu7ixUEgbFdYF", "payment-method token"),
    ]:
        result, directory, _ = lookup(text, [ACME])
        assert result.matches == [] and words in result.hint, text
        assert "accounts" not in directory.asked
    result, _, _ = lookup("pm_1MqLiJLkdIwHu7ixUEgbFdYF", [ACME])
    assert "FdYF" in result.hint and "pm_1MqLiJ" not in result.hint + result.query


def test_unknown_ids_and_ids_of_other_objects():
    result, _, _ = lookup(sf_id("001", 999), [ACME])
    assert "No Account has the Id" in result.hint
    result, _, _ = lookup("006000000000001", [ACME])
    assert "another kind of record (prefix 006)" in result.hint
    result, _, _ = lookup("cus_Nobody0001", [ACME])
    assert "No Account has the Stripe Customer ID cus_Nobody0001" in result.hint
