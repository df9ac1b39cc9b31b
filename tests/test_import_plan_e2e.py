"""Import cross-checks end to end: the real Salesforce adapter over HTTPS to the stand-in, the
real Stripe gateway to localstripe, both seeded with the well-known accounts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot.config import load_settings
from bot.salesforce.client import SalesforceClient
from bot.salesforce.imports_directory import SalesforceImportDirectory
from bot.stripe_gateway import StripeGateway
from commands.imports import ImportReport, Limits, RowStatus, Scenario, prepare_import
from tests.import_fakes import NEW_HEADER as NEW
from tests.import_fakes import PM_HEADER as PM_ONLY
from tests.import_fakes import csv_bytes, stripe_customer_with_cards
from tests.plugins.stripe import Seeded


@dataclass
class World:
    seeded: Seeded
    client: SalesforceClient
    directory: SalesforceImportDirectory
    stripe: StripeGateway

    def account(self, key: str, index: int = 0) -> dict[str, Any]:
        found = self.seeded.report.accounts[key]
        return found[index] if isinstance(found, list) else found

    def gateway(self, key: str) -> str:
        return self.seeded.report.gateways[key]["id"]

    def new_customer(self, name: str, cards: int = 1) -> tuple[str, list[str]]:
        return stripe_customer_with_cards(self.seeded.stripe_client(), name, cards)

    def prepare(
        self, header: list[str], *rows: list[str], scenario: Scenario | None = None
    ) -> ImportReport:
        return prepare_import(
            csv_bytes(header, *rows),
            filename="e2e.csv",
            scenario=scenario,
            directory=self.directory,
            stripe=self.stripe,
            limits=Limits(),
            today=self.seeded.today,
        )


@pytest.fixture(scope="module")
def world(seeded: Seeded, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    environ = {
        **seeded.settings(),
        "DATABASE_PATH": str(tmp_path_factory.mktemp("db") / "bot.db"),
    }
    settings = load_settings(environ, dotenv_path=None)
    client = SalesforceClient(settings)
    yield World(seeded, client, SalesforceImportDirectory(client), StripeGateway(settings))


def problems(report: ImportReport) -> list[tuple[int, str, str]]:
    return [(p.line, p.column, p.code) for p in report.problems]


def test_new_customers_are_planned_and_conflicts_found(world: World) -> None:
    cus, (card_1, card_2) = world.new_customer("Brand New Ltd", cards=2)
    acme = world.account("healthy")
    stripe_gw = world.gateway("stripe")
    report = world.prepare(
        NEW,
        ["Brand New Ltd", cus, stripe_gw, "true", card_1],
        ["Brand New Ltd", cus, stripe_gw, "yes", card_2],
        ["Acme Renamed", acme["stripe_customer_id"], stripe_gw, "true", card_1[:-1] + "X"],
        [
            "Other Co",
            "cus_NoSuchCustomer1",
            world.gateway("inactive"),
            "true",
            acme["payment_methods"][0]["token"],
        ],
        ["Third Co", cus, world.gateway("not_stripe"), "true", "pm_NoSuchMethod1"],
    )
    found = problems(report)
    assert (4, "Stripe Customer ID", "stripe_id_conflict") in found
    assert (4, "Payment Gateway Token", "stripe_pm_missing") in found
    assert (5, "Stripe Customer ID", "stripe_customer_missing") in found
    assert (5, "Payment Gateway (record ID)", "gateway_inactive") in found
    assert (5, "Payment Gateway Token", "token_on_other_account") in found
    assert (6, "Payment Gateway (record ID)", "gateway_not_stripe") in found
    assert (6, "Stripe Customer ID", "duplicate_in_file") in found
    assert vars(report.plan) == {
        "accounts_create": 1,
        "accounts_update": 0,
        "payment_methods_create": 2,
        "skipped": 0,
        "rejected_rows": 3,
    }
    first = report.planned[0]
    assert first.account_fields == {"Name": "Brand New Ltd", "Stripe_Customer_Id__c": cus}
    assert first.payment_method_fields["blng__CardLastFour__c"] == "4242"
    assert first.payment_method_fields["blng__CardExpirationYear__c"] == "2031"
    assert report.skipped_checks == []


def test_existing_accounts_by_name_same_name_twins_and_reruns(world: World) -> None:
    acme, globex = world.account("healthy"), world.account("no_stripe_id")
    twin = world.account("same_name", 1)
    quoted = world.account("injection")  # O'Brien 100% Ltd: a quote and a LIKE wildcard
    stripe_gw = world.gateway("stripe")

    def row(account: dict[str, Any], name: str | None = None, cus: str = "stripe_customer_id"):
        token = account["payment_methods"][0]["token"]
        return [name or account["name"], account[cus], stripe_gw, "true", token]

    report = world.prepare(
        NEW,
        row(acme, name="acme corporation"),
        row(globex, cus="stripe_customer_real"),
        row(twin),
        row(quoted),
        scenario=Scenario.EXISTING,
    )
    found = problems(report)
    assert (2, "Payment Gateway Token", "token_already_imported") in found
    assert (3, "Payment Gateway Token", "token_already_imported") in found
    assert (4, "Account Name", "account_ambiguous") in found
    assert (5, "Payment Gateway Token", "token_already_imported") in found
    statuses = [row.status for row in report.planned]
    assert statuses == [RowStatus.SKIP, RowStatus.OK, RowStatus.REJECTED, RowStatus.SKIP]
    assert report.planned[1].account_id == globex["id"]
    assert report.planned[1].account_fields == {
        "Stripe_Customer_Id__c": globex["stripe_customer_real"]
    }
    assert report.plan.accounts_update == 1
    assert report.plan.payment_methods_create == 0


def test_payment_methods_for_existing_accounts_check_stripe_ownership(world: World) -> None:
    acme, hooli = world.account("healthy"), world.account("deleted_customer")
    _, (stranger,) = world.new_customer("Someone Else")
    stripe_gw = world.gateway("stripe")
    report = world.prepare(
        PM_ONLY,
        [acme["id"], stripe_gw, "true", stranger],
        [hooli["id"], stripe_gw, "true", hooli["payment_methods"][0]["token"]],
        [acme["id"][:15], stripe_gw, "true", acme["payment_methods"][1]["token"]],
    )
    found = problems(report)
    assert report.scenario == Scenario.PAYMENT_METHODS
    assert (2, "Payment Gateway Token", "stripe_pm_other_customer") in found
    assert (3, "Payment Gateway Token", "token_already_imported") in found
    assert (4, "Payment Gateway Token", "token_already_imported") in found
    assert report.planned[0].payment_method_fields["blng__Account__c"] == acme["id"]


def test_deleted_customers_are_told_from_missing_ones(world: World) -> None:
    hooli = world.account("deleted_customer")
    _, (card,) = world.new_customer("Hooli card holder")
    report = world.prepare(PM_ONLY, [hooli["id"], world.gateway("stripe"), "true", card])
    assert (2, "Stripe Customer ID", "stripe_customer_deleted") in problems(report)


def test_lookups_are_batched_not_per_row(world: World) -> None:
    stripe_gw = world.gateway("stripe")
    rows = [
        [f"Bulk Co {i}", f"cus_Bulk{i:05d}", stripe_gw, "true", f"pm_Bulk{i:05d}"]
        for i in range(450)
    ]
    before = world.seeded.sf_server.api_calls
    world.stripe = _NoStripe()  # only Salesforce calls are counted here
    try:
        report = world.prepare(NEW, *rows)
    finally:
        world.stripe = StripeGateway(world.client.settings)
    calls = world.seeded.sf_server.api_calls - before
    # 450 names, Stripe IDs and tokens: 3 chunks of 200 each, one gateway query, and the two
    # describes (Account, gateway) unless an earlier test cached them.
    assert 3 * 3 + 1 <= calls <= 3 * 3 + 1 + 2
    assert report.plan.accounts_create == 450


class _NoStripe:
    livemode = False

    def customers(self, ids: Any) -> dict:
        return {}

    def payment_methods(self, ids: Any) -> dict:
        return {}

    def dashboard_url(self, object_id: str) -> str:
        return object_id
