"""Reading what people type after `/billing customer` and `/billing pm`."""

from __future__ import annotations

import pytest

from commands.ids import to_18
from commands.lookups.query import MAX_QUERY, LookupQuery, QueryKind, clean, needs_key_prefix, parse

ACCOUNT_15 = "001000000000001"
PM_15 = "a0M000000000042"


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("  Acme   Corp ", "Acme Corp"),
        ("`Acme`", "Acme"),
        ("```Acme Corp```", "Acme Corp"),
        ("<mailto:billing@acme.example|billing@acme.example>", "billing@acme.example"),
        ("<mailto:billing@acme.example>", "billing@acme.example"),
        ("<https://acme.example|Acme>", "Acme"),
        ("<https://acme.example>", "https://acme.example"),
        ("AT&amp;T", "AT&T"),
        ("&lt;!channel&gt;", "<!channel>"),
        ("“Acme”", "Acme"),
        ('"Acme Corp"', "Acme Corp"),
        ("O'Brien", "O'Brien"),
        ("'", "'"),
        ("Acme\nCorp\t", "Acme Corp"),
        ("Ac\x00me", "Ac me"),
        ("Ac\u200bme", "Acme"),
        ("Cafe\u0301", "Café"),  # NFC, as Salesforce stores it
        ("", ""),
        (None, ""),
        ("``` ```", ""),
        ("*Acme Corp*", "Acme Corp"),
        ("_Acme_", "Acme"),
        ("~Acme~", "Acme"),
        ("_", "_"),
        ("%_%", "%_%"),
    ],
)
def test_clean_removes_slack_formatting_and_keeps_what_was_meant(typed, meant):
    assert clean(typed) == meant


@pytest.mark.parametrize(
    ("typed", "kind"),
    [
        ("Acme", QueryKind.NAME),
        ("cus_NffrFeUfNV2Hib", QueryKind.STRIPE_CUSTOMER),
        ("`cus_NffrFeUfNV2Hib`", QueryKind.STRIPE_CUSTOMER),
        ("pm_1MqLiJLkdIwHu7ixUEgbFdYF", QueryKind.TOKEN),
        ("card_1MqLiJLkdIwHu7ix", QueryKind.TOKEN),
        ("tok_visa", QueryKind.TOKEN),
        ("ba_1MqLiJLkdIwHu7ix", QueryKind.TOKEN),
        (ACCOUNT_15, QueryKind.ACCOUNT_ID),
        (to_18(ACCOUNT_15), QueryKind.ACCOUNT_ID),
        (PM_15, QueryKind.PAYMENT_METHOD_ID),
        (to_18(PM_15), QueryKind.PAYMENT_METHOD_ID),
        ("", QueryKind.EMPTY),
        ("x" * (MAX_QUERY + 1), QueryKind.TOO_LONG),
        ("x" * MAX_QUERY, QueryKind.NAME),
        ("%", QueryKind.NAME),
        ("' OR Name != '", QueryKind.NAME),
    ],
)
def test_parse_routes_by_shape(typed, kind):
    assert parse(typed, payment_method_prefix="a0M").kind is kind


def test_an_id_with_a_bad_checksum_is_searched_as_a_name_and_remembered():
    good = to_18(ACCOUNT_15)
    bad = good[:15] + ("AAB" if good[15:] != "AAB" else "AAC")
    query = parse(bad, "a0M")
    assert (query.kind, query.id_note) == (QueryKind.NAME, "bad_checksum")


def test_an_id_of_another_object_is_searched_as_a_name_and_its_prefix_remembered():
    query = parse("006000000000001", "a0M")
    assert (query.kind, query.id_note) == (QueryKind.NAME, "006")


def test_without_the_org_prefix_a_payment_method_id_is_not_guessed():
    assert parse(PM_15, None).kind is QueryKind.NAME


def test_the_prefix_is_needed_only_for_ids_that_are_not_accounts():
    assert needs_key_prefix(PM_15)
    assert not needs_key_prefix(ACCOUNT_15)
    assert not needs_key_prefix("Acme Corporation")
    assert not needs_key_prefix("cus_123abc")


def test_a_token_is_masked_wherever_the_query_is_shown():
    query = parse("pm_1MqLiJLkdIwHu7ixUEgbFdYF")
    assert query.shown == "pm_…FdYF"
    assert query.text == "pm_1MqLiJLkdIwHu7ixUEgbFdYF"
    assert LookupQuery("Acme", QueryKind.NAME).shown == "Acme"
