"""The Salesforce adapter of import cross-checks: batched queries that fit in a URL, keyed as
asked. (End to end against the stand-in: test_import_plan_e2e.py.)"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote_plus

from bot.salesforce.imports_directory import SalesforceImportDirectory
from tests.import_fakes import sf_id

URL_LIMIT = 16_384  # Salesforce: URI and headers together


class RecordingClient:
    """Answers every query from `records`, filtered by nothing: the SOQL is what is tested."""

    stripe_customer_field = "Stripe_Customer_Id__c"

    def __init__(self, records: list[dict[str, Any]] | None = None):
        self.settings = SimpleNamespace(sf_token_field="blng__PaymentGatewayToken__c")
        self.records = records or []
        self.queries: list[str] = []

    def query(self, soql: str) -> list[dict[str, Any]]:
        self.queries.append(soql)
        return self.records

    def describe(self, sobject: str) -> dict[str, Any]:
        return {"keyPrefix": "a0G"}


def keys_in(soql: str) -> int:
    return len(re.findall(r"'(?:[^'\\]|\\.)*'", soql))


def test_one_query_per_chunk_of_200() -> None:
    client = RecordingClient()
    directory = SalesforceImportDirectory(client)  # type: ignore[arg-type]
    directory.payment_methods_by_token([f"pm_{i:024d}" for i in range(450)])
    assert [keys_in(q) for q in client.queries] == [200, 200, 50]
    assert all("FROM blng__PaymentMethod__c WHERE blng__PaymentGatewayToken__c IN (" in q
               for q in client.queries)  # fmt: skip


def test_long_names_are_cut_to_fit_in_the_url() -> None:
    client = RecordingClient()
    directory = SalesforceImportDirectory(client)  # type: ignore[arg-type]
    names = [f"Société Générale d'Équipement n°{i} " + "é" * 200 for i in range(200)]
    directory.accounts_by_name(names)
    assert len(client.queries) > 1
    assert sum(keys_in(q) for q in client.queries) == 200
    assert all(len(quote_plus(q)) < URL_LIMIT - 4000 for q in client.queries)


def test_quotes_and_wildcards_cannot_change_the_query() -> None:
    client = RecordingClient()
    SalesforceImportDirectory(client).accounts_by_name(["O'Brien 100% Ltd"])  # type: ignore[arg-type]
    assert client.queries == [
        "SELECT Id, Name, Stripe_Customer_Id__c FROM Account WHERE Name IN ('O\\'Brien 100% Ltd')"
    ]


def test_answers_are_keyed_as_asked() -> None:
    acme = sf_id("001", 1)
    client = RecordingClient(
        [
            {"Id": acme, "Name": "ACME Corp", "Stripe_Customer_Id__c": "cus_1"},
            {"Id": sf_id("001", 2), "Name": "Acme corp", "Stripe_Customer_Id__c": None},
        ]
    )
    directory = SalesforceImportDirectory(client)  # type: ignore[arg-type]
    by_id = directory.accounts_by_id([acme[:15], sf_id("001", 9)])
    assert list(by_id) == [acme[:15]]
    assert by_id[acme[:15]].stripe_customer_id == "cus_1"
    by_name = directory.accounts_by_name(["Acme Corp", "Nobody"])
    assert [a.id for a in by_name["Acme Corp"]] == [acme, sf_id("001", 2)]
    assert "Nobody" not in by_name
    assert directory.accounts_by_stripe_id(["cus_1", "cus_2"]) == {"cus_1": [by_id[acme[:15]]]}
    assert directory.gateway_key_prefix() == "a0G"
