"""Identifier rules and SOQL quoting: pure functions every capability leans on."""

from __future__ import annotations

import pytest

from bot.salesforce.soql import in_list, like, quote
from commands.ids import is_salesforce_id, mask_token, to_18, token_kind


def test_to_18_adds_the_case_safe_checksum() -> None:
    # Salesforce's documented example pair.
    assert to_18("001A0000006Vm9r") == "001A0000006Vm9rIAC"
    assert is_salesforce_id("001A0000006Vm9rIAC")
    assert not is_salesforce_id("001A0000006Vm9rIAD")  # bad checksum
    assert not is_salesforce_id("001A0000006Vm9rIAC", prefix="a0X")
    assert not is_salesforce_id("001A0000006Vm9")
    assert not is_salesforce_id("001A0000006Vm9r'OR'")


@pytest.mark.parametrize(
    ("token", "kind"),
    [
        ("pm_1PqR2sT3uV4wX5yZ", "reusable"),
        ("card_1AbCdEf", "legacy"),
        ("src_1AbCdEf", "legacy"),
        ("ba_1AbCdEf", "legacy"),
        ("tok_visa123", "single_use"),
        ("cus_ABC123", "invalid"),
        ("pm_", "invalid"),
        ("", "invalid"),
        ("pm_abc' OR '1'='1", "invalid"),
    ],
)
def test_token_kind(token: str, kind: str) -> None:
    assert token_kind(token) == kind


def test_mask_token_keeps_prefix_and_last_four() -> None:
    assert mask_token("pm_1PqR2sT3uV4wX4242") == "pm_…4242"
    assert mask_token("card_1AbCdEf9999") == "card_…9999"
    assert mask_token("") == ""
    assert "secret" not in mask_token("nosecretatall")


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("Acme", "'Acme'"),
        ("O'Brien", "'O\\'Brien'"),
        ("back\\slash", "'back\\\\slash'"),
        ("' OR Name != '", "'\\' OR Name != \\''"),
        ("line\nbreak", "'line\\nbreak'"),
    ],
)
def test_quote_escapes_what_salesforce_escapes(value: str, literal: str) -> None:
    assert quote(value) == literal


def test_like_escapes_wildcards() -> None:
    assert like("100%_off") == "'%100\\%\\_off%'"
    assert like("x", contains=False) == "'x'"


def test_in_list_quotes_each_value_and_refuses_empty() -> None:
    assert in_list(["a", "b'c"]) == "('a','b\\'c')"
    with pytest.raises(ValueError):
        in_list([])


def test_very_long_values_are_cut_to_salesforces_literal_limit() -> None:
    assert len(quote("x" * 10_000)) == 4002
