"""The Salesforce client through simple-salesforce against the stand-in over HTTPS: every auth
mode, session renewal, Stripe-field discovery, paging, call counting and error translation."""

from __future__ import annotations

import pytest

from bot.config import load_settings
from bot.salesforce.client import SalesforceClient, discover_stripe_field
from commands.errors import ConfigurationError, NotReadable, SalesforceError
from sandbox.salesforce import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_PASSWORD,
    DEFAULT_SECURITY_TOKEN,
    DEFAULT_USERNAME,
    Org,
)


def client_for(server, **env: str) -> SalesforceClient:
    base = {"SF_CA_BUNDLE": server.ca_bundle, "SF_TIMEOUT": "3"}
    return SalesforceClient(load_settings({**base, **env}, dotenv_path=None))


def token_env(server) -> dict[str, str]:
    return {"SF_INSTANCE_URL": server.instance_url, "SF_ACCESS_TOKEN": server.access_token}


def login_env(server, mode: str, tmp_path) -> dict[str, str]:
    common = {"SF_LOGIN_URL": server.instance_url}
    if mode == "password":
        return {
            **common,
            "SF_USERNAME": DEFAULT_USERNAME,
            "SF_PASSWORD": DEFAULT_PASSWORD,
            "SF_SECURITY_TOKEN": DEFAULT_SECURITY_TOKEN,
            "SF_CLIENT_ID": DEFAULT_CLIENT_ID,
            "SF_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
        }
    if mode == "client_credentials":
        return {
            **common,
            "SF_CLIENT_ID": DEFAULT_CLIENT_ID,
            "SF_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
        }
    key = tmp_path / "jwt.key"
    key.write_bytes(server.jwt_private_key_pem)
    return {
        **common,
        "SF_USERNAME": DEFAULT_USERNAME,
        "SF_CLIENT_ID": DEFAULT_CLIENT_ID,
        "SF_PRIVATE_KEY_FILE": str(key),
    }


def test_access_token_mode_queries(sf_org: Org, sf_server) -> None:
    sf_org.create("Account", {"Name": "Acme", "Stripe_Customer_Id__c": "cus_A1"})
    client = client_for(sf_server, **token_env(sf_server))
    rows = client.query_list("SELECT Name, Stripe_Customer_Id__c FROM Account")
    assert [(r["Name"], r["Stripe_Customer_Id__c"]) for r in rows] == [("Acme", "cus_A1")]
    assert client.api_calls == 1


@pytest.mark.parametrize("mode", ["password", "client_credentials", "jwt"])
def test_login_modes_and_transparent_renewal(sf_org, sf_server, tmp_path, mode: str) -> None:
    sf_org.create("Account", {"Name": "Acme"})
    client = client_for(sf_server, **login_env(sf_server, mode, tmp_path))
    assert client.settings.salesforce_auth == mode
    assert client.count("SELECT COUNT() FROM Account") == 1
    sf_server.expire_sessions()
    # The next call meets INVALID_SESSION_ID, logs in again once, and succeeds.
    assert client.count("SELECT COUNT() FROM Account") == 1


def test_expired_token_without_credentials_says_what_to_do(sf_server) -> None:
    client = client_for(sf_server, **token_env(sf_server))
    sf_server.expire_sessions()
    with pytest.raises(SalesforceError) as info:
        client.count("SELECT COUNT() FROM Account")
    assert "renew SF_ACCESS_TOKEN" in info.value.message
    assert sf_server.access_token not in info.value.message


def test_refused_login_is_a_clear_error(sf_server, tmp_path) -> None:
    env = login_env(sf_server, "password", tmp_path) | {"SF_PASSWORD": "wrong"}
    with pytest.raises(SalesforceError) as info:
        client_for(sf_server, **env).count("SELECT COUNT() FROM Account")
    assert info.value.message.startswith("Salesforce login (password) was refused: ")
    assert "wrong" not in info.value.message


@pytest.mark.parametrize("field", ["Stripe_Customer_Id__c", "stripeGC__Customer_Id__c"])
def test_discovers_each_known_stripe_field(sf_start, field: str) -> None:
    org = Org(stripe_customer_field=field)
    try:
        server = sf_start(org)
        assert client_for(server, **token_env(server)).stripe_customer_field == field
    finally:
        org.close()


def test_no_stripe_field_is_a_configuration_error(sf_start) -> None:
    org = Org(stripe_customer_field=None)
    try:
        server = sf_start(org)
        with pytest.raises(ConfigurationError) as info:
            _ = client_for(server, **token_env(server)).stripe_customer_field
        assert "set SF_STRIPE_CUSTOMER_FIELD" in info.value.message
    finally:
        org.close()


def test_several_candidates_are_named() -> None:
    describe = {
        "fields": [
            {"name": "Stripe_Customer_Id__c", "label": "Stripe Customer ID"},
            {"name": "stripeGC__Customer_Id__c", "label": "Customer ID"},
            {"name": "Legacy_Id__c", "label": "Stripe customer id"},
        ]
    }
    with pytest.raises(ConfigurationError) as info:
        discover_stripe_field(describe)
    assert "(Legacy_Id__c, Stripe_Customer_Id__c, stripeGC__Customer_Id__c)" in info.value.message


def test_an_override_that_does_not_exist_is_refused(sf_server) -> None:
    client = client_for(sf_server, **token_env(sf_server), SF_STRIPE_CUSTOMER_FIELD="Nope__c")
    with pytest.raises(ConfigurationError, match="Nope__c"):
        _ = client.stripe_customer_field


def test_paging_follows_next_records_url_with_one_call_per_page(sf_start) -> None:
    org = Org(stripe_customer_field="Stripe_Customer_Id__c")
    try:
        org.create_many("Account", [{"Name": f"A{i:04d}"} for i in range(450)])
        server = sf_start(org, page_size=200)
        client = client_for(server, **token_env(server))
        names = [r["Name"] for r in client.query("SELECT Name FROM Account ORDER BY Name")]
        assert names == [f"A{i:04d}" for i in range(450)]
        assert client.api_calls == 3
    finally:
        org.close()


def test_collections_create_in_chunks_of_200_with_per_record_results(sf_org, sf_server) -> None:
    client = client_for(sf_server, **token_env(sf_server))
    records = [{"Name": f"N{i}"} for i in range(250)] + [{"Name": ""}]
    results = client.create("Account", records)
    assert len(results) == 251
    assert all(r.success for r in results[:250])
    assert not results[250].success and "REQUIRED_FIELD_MISSING" in results[250].error_text
    assert client.api_calls == 2
    assert sf_org.count("Account") == 250


def test_unreadable_objects_and_bad_queries_are_translated(sf_org, sf_server) -> None:
    client = client_for(sf_server, **token_env(sf_server))
    sf_org.set_access("blng__BillingConfig__c", readable=False)
    with pytest.raises(NotReadable):
        client.query_list("SELECT Id FROM blng__BillingConfig__c")
    with pytest.raises(SalesforceError) as info:
        client.query_list("SELECT Id FROM Account WHERE")
    assert info.value.code == "MALFORMED_QUERY"


def test_faults_become_retryable_errors_not_tracebacks(sf_server) -> None:
    client = client_for(sf_server, **token_env(sf_server))
    sf_server.knobs.update({"fault_rate": 1.0})
    with pytest.raises(SalesforceError) as info:
        client.count("SELECT COUNT() FROM Account")
    assert info.value.retryable
    sf_server.knobs.update({"fault_rate": 0.0, "timeout_rate": 1.0, "timeout_seconds": 5})
    with pytest.raises(SalesforceError) as info:
        client.count("SELECT COUNT() FROM Account")
    assert info.value.code == "TIMEOUT"
    assert "did not answer within 3s" in info.value.message
