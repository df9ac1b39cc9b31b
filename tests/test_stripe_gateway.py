"""The Stripe gateway through the Stripe SDK against localstripe on 127.0.0.1."""

from __future__ import annotations

import stripe

from bot.config import load_settings
from bot.stripe_gateway import StripeGateway
from commands.stripe_facts import Found


def gateway(server, **env: str) -> StripeGateway:
    settings = load_settings({**server.settings(), "STRIPE_TIMEOUT": "3", **env}, dotenv_path=None)
    return StripeGateway(settings, rate=200)


def make_customer(client: stripe.StripeClient, name: str = "Acme Corporation") -> tuple[str, str]:
    customer = client.v1.customers.create(params={"name": name, "email": "ap@acme.test"})
    pm = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        }
    )
    client.v1.payment_methods.attach(pm.id, params={"customer": customer.id})
    client.v1.customers.update(
        customer.id, params={"invoice_settings": {"default_payment_method": pm.id}}
    )
    return customer.id, pm.id


def test_found_missing_and_deleted_customers(stripe_api, stripe_client) -> None:
    live, pm_id = make_customer(stripe_client)
    gone, _ = make_customer(stripe_client, "Gone Ltd")
    stripe_client.v1.customers.delete(gone)
    answers = gateway(stripe_api).customers([live, gone, "cus_neverexisted1", live])
    assert set(answers) == {live, gone, "cus_neverexisted1"}
    assert answers[live].status is Found.FOUND
    assert (answers[live].name, answers[live].email) == ("Acme Corporation", "ap@acme.test")
    assert answers[live].default_payment_method == pm_id
    assert answers[gone].status is Found.DELETED
    assert answers["cus_neverexisted1"].status is Found.MISSING


def test_payment_methods_attached_detached_missing(stripe_api, stripe_client) -> None:
    customer, attached = make_customer(stripe_client)
    _, detached = make_customer(stripe_client, "Other")
    stripe_client.v1.payment_methods.detach(detached)
    answers = gateway(stripe_api).payment_methods([attached, detached, "pm_doesnotexist1"])
    assert answers[attached].status is Found.FOUND
    assert answers[attached].customer == customer
    assert (answers[attached].last4, answers[attached].exp_year) == ("4242", 2030)
    assert answers[detached].customer is None
    assert answers["pm_doesnotexist1"].status is Found.MISSING


def test_rate_limits_are_retried_then_reported_unavailable(stripe_api, stripe_client) -> None:
    customer, _ = make_customer(stripe_client)
    stripe_api.knobs.set(rate_limit_rate=1.0)
    stripe_api.reset_stats()
    answer = gateway(stripe_api).customers([customer])[customer]
    assert answer.status is Found.UNAVAILABLE
    assert answer.error == "Stripe is rate-limiting requests"
    assert stripe_api.request_count == 4  # the first try and three retries


def test_a_passing_rate_limit_is_ridden_out(stripe_api, stripe_client) -> None:
    customer, _ = make_customer(stripe_client)
    stripe_api.knobs.set(rate_limit_rate=0.5, fault_seed=7)
    answers = gateway(stripe_api).customers([customer])
    assert answers[customer].status is Found.FOUND


def test_a_down_stripe_is_unavailable_not_an_exception() -> None:
    settings = load_settings(
        {
            "STRIPE_API_KEY": "sk_test_nothing_here",
            "STRIPE_API_BASE": "http://127.0.0.1:9",
            "STRIPE_TIMEOUT": "2",
        },
        dotenv_path=None,
    )
    answer = StripeGateway(settings).payment_methods(["pm_123456"])["pm_123456"]
    assert answer.status is Found.UNAVAILABLE
    assert answer.error == "Stripe could not be reached"


def test_a_bad_key_says_so_without_the_key(stripe_api) -> None:
    gw = gateway(stripe_api, STRIPE_API_KEY="sk_x")  # localstripe rejects keys of 5 chars or less
    answer = gw.customers(["cus_abc123"])["cus_abc123"]
    assert answer.status is Found.UNAVAILABLE
    assert "sk_x" not in (answer.error or "")


def test_dashboard_links_follow_the_key_mode(stripe_api) -> None:
    gw = gateway(stripe_api)
    assert gw.dashboard_url("cus_123") == "https://dashboard.stripe.com/test/customers/cus_123"
    live = gateway(stripe_api, STRIPE_API_KEY="sk_live_abcdefgh")
    assert live.dashboard_url("pm_123") == "https://dashboard.stripe.com/payment_methods/pm_123"
