"""Hostile input to `customer` and `pm`, end to end against the stand-ins over HTTP.

The real `SalesforceClient` (simple-salesforce over HTTPS) and `StripeGateway` (Stripe SDK)
talk to the seeded Salesforce stand-in, whose SOQL parser rejects what Salesforce rejects, and
to localstripe. No text may change a query's meaning or make Salesforce answer an error; the
seed holds an Account named "O'Brien 100% Ltd" for exactly this.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import stripe
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import load_settings
from bot.salesforce.client import SalesforceClient
from bot.salesforce.lookups import SalesforceLookups
from bot.stripe_gateway import StripeGateway, _reason
from commands.customer import CustomerResult, lookup_customer
from commands.ids import to_18
from commands.lookups.query import clean
from commands.pm import PmResult, lookup_payment_methods

QUOTED = "O'Brien 100% Ltd"


@dataclass
class Lookups:
    directory: SalesforceLookups
    stripe: StripeGateway
    seeded: Any

    def customer(self, text: str) -> CustomerResult:
        return lookup_customer(text, self.directory, self.stripe)

    def pm(self, text: str) -> PmResult:
        return lookup_payment_methods(text, self.directory, self.stripe, self.seeded.today)

    @property
    def api_calls(self) -> int:
        return self.seeded.sf_server.api_calls

    def account(self, key: str) -> dict[str, Any]:
        return self.seeded.report.accounts[key]


@pytest.fixture(scope="module")
def lookups(seeded: Any) -> Iterator[Lookups]:
    config = load_settings(seeded.settings(), dotenv_path=None)
    found = Lookups(SalesforceLookups(SalesforceClient(config)), StripeGateway(config), seeded)
    found.customer("warm up")  # describes are cached once per process; later counts are exact
    yield found


def names(result: CustomerResult) -> list[str]:
    return [m.name for m in result.matches]


@pytest.mark.parametrize(
    "text",
    [
        "'",
        "\\",
        "\\'",
        "' OR Name != '",
        "' OR ''='",
        "%' OR Name LIKE '%",
        "Acme') OR (Name != '",
        '"',
        "\\%",
        "\\_",
        "_",
        "__",
        "Ünïcødé 🚀 名前",
        "a\u0000b",
        "SELECT Id FROM Account",
        "*",
        "\\n",
    ],
)
def test_injection_attempts_match_literally_and_never_error(lookups: Lookups, text: str) -> None:
    result = lookups.customer(text)  # raises SalesforceError on any Salesforce error
    wanted = clean(text).lower()
    assert all(wanted in (name or "").lower() for name in names(result)), names(result)
    assert result.more == 0 or wanted  # never "everything"


def test_a_percent_sign_matches_only_names_with_a_percent_sign(lookups: Lookups) -> None:
    assert names(lookups.customer("%")) == [QUOTED]
    assert names(lookups.customer("100%")) == [QUOTED]
    assert names(lookups.customer("%%")) == []


def test_quotes_find_the_account_named_with_one(lookups: Lookups) -> None:
    assert names(lookups.customer("O'Brien")) == [QUOTED]
    assert names(lookups.customer("o'brien 100% LTD")) == [QUOTED]
    assert names(lookups.customer("`O'Brien`")) == [QUOTED]
    assert [c.account.name for c in lookups.pm("O'Brien").payment_methods] == [QUOTED] * len(
        lookups.account("injection")["payment_methods"]
    )


def test_newlines_null_bytes_and_slack_formatting_are_cleaned(lookups: Lookups) -> None:
    for text in ("Acme\nCorporation", "Acme\x00Corporation", "  *Acme*  ", "<http://x|Acme>"):
        result = lookups.customer(text)
        assert "Acme Corporation" in names(result), text


def test_very_long_text_is_refused_without_a_query(lookups: Lookups) -> None:
    before = lookups.api_calls
    for text in ("A" * 10_000, "'" * 10_000, "%" * 10_000):
        result = lookups.customer(text)
        assert result.matches == [] and "longer than any Account name" in result.hint
        assert lookups.pm(text).payment_methods == []
    assert lookups.api_calls == before


def test_the_longest_allowed_text_of_quotes_and_backslashes_is_a_valid_query(
    lookups: Lookups,
) -> None:
    for text in ("'" * 255, "\\" * 255, "%_" * 127):
        assert lookups.customer(text).matches == []
        assert lookups.pm(text).payment_methods == []


def test_a_token_with_injection_is_not_a_token_and_finds_nothing(lookups: Lookups) -> None:
    result = lookups.pm("pm_abc' OR '1'='1")
    assert result.payment_methods == []


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.text(
        alphabet=st.sampled_from(
            list(string.printable) + ["%", "_", "'", "\\", "\x00", "é", "ß", "“", "😀"]
        ),
        max_size=60,
    )
)
def test_any_text_is_a_literal_substring_search(lookups: Lookups, text: str) -> None:
    result = lookups.customer(text)
    wanted = clean(text)
    if not wanted or len(wanted) > 255:
        assert result.matches == []
        return
    for match in result.matches:
        if match.name is not None and wanted.isascii():
            assert wanted.lower() in match.name.lower() or wanted.startswith(("cus_", "001"))


# --- Ids of the wrong object, unknown Ids, bad checksums ----------------------------------------


def test_a_payment_method_id_given_to_customer_points_to_pm(lookups: Lookups) -> None:
    pm_id = lookups.account("healthy")["payment_methods"][0]["id"]
    result = lookups.customer(pm_id)
    assert result.matches == []
    assert "payment method's Id" in result.hint and f"pm {pm_id}" in result.hint


def test_an_account_id_given_to_pm_lists_its_payment_methods(lookups: Lookups) -> None:
    healthy = lookups.account("healthy")
    for account_id in (healthy["id"], healthy["id"][:15]):
        result = lookups.pm(account_id)
        assert {c.id for c in result.payment_methods} == {
            p["id"] for p in healthy["payment_methods"]
        }


def test_unknown_ids_and_bad_checksums(lookups: Lookups) -> None:
    real = lookups.account("healthy")["id"]
    unknown = to_18(real[:5] + "ZZZZZZZZZZ")
    assert "No Account has the Id" in lookups.customer(unknown).hint
    assert lookups.pm(unknown).payment_methods == []
    bad = real[:15] + ("AAA" if real[15:] != "AAA" else "BBB")
    assert "last three characters do not match" in lookups.customer(bad).hint
    pm_id = lookups.account("healthy")["payment_methods"][0]["id"]
    unknown_pm = to_18(pm_id[:5] + "ZZZZZZZZZZ")
    result = lookups.pm(unknown_pm)
    assert result.payment_methods == [] and "No payment method has the Id" in result.hint
    other_object = lookups.seeded.report.gateways["stripe"]["id"]  # a gateway's Id
    assert f"prefix {other_object[:3]}" in lookups.customer(other_object).hint


def test_unknown_token_and_stripe_customer(lookups: Lookups) -> None:
    assert "pm_…0000" in lookups.pm("pm_NoSuchToken0000").hint
    assert "No Account has the Stripe Customer ID" in lookups.customer("cus_NoSuch0000").hint


# --- round trips ----------------------------------------------------------------------------------


def test_salesforce_api_calls_per_lookup(lookups: Lookups) -> None:
    healthy = lookups.account("healthy")

    def calls(run: Any) -> int:
        before = lookups.api_calls
        run()
        return lookups.api_calls - before

    # Accounts with payment methods in one query; the other holders of its Stripe ID in a
    # second one, asked at the same time as Stripe.
    assert calls(lambda: lookups.customer(healthy["name"])) == 2
    assert calls(lambda: lookups.customer(healthy["stripe_customer_id"])) == 1
    assert calls(lambda: lookups.pm(healthy["name"])) == 1
    assert calls(lambda: lookups.pm(healthy["payment_methods"][0]["id"])) == 1
    assert calls(lambda: lookups.pm(healthy["payment_methods"][0]["token"])) == 1
    assert calls(lambda: lookups.customer("Zzyzx Nothing")) == 1


def test_stripe_error_sentences_never_carry_a_whole_token() -> None:
    token = "pm_1MqLiJLkdIwHu7ixUEgbFdYF"
    error = stripe.InvalidRequestError(f"No such PaymentMethod: '{token}'", "id", http_status=400)
    assert token not in _reason(error) and "pm_…FdYF" in _reason(error)
