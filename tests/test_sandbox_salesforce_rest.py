"""Records, describe, validation, collections, composite and Bulk API 2.0 on the stand-in.

Everything goes through simple-salesforce (or raw requests where simple-salesforce has no
helper) over HTTPS, so the tests exercise the same wire protocol the bot uses.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)

from commands.ids import is_salesforce_id
from sandbox.salesforce import KEY_PREFIXES, Org, SalesforceError, SalesforceServer
from tests.plugins.salesforce import sf_connect, sf_session


def new_account(sf: Salesforce, name: str = "Acme", **fields: Any) -> str:
    return sf.Account.create({"Name": name, **fields})["id"]


def new_pm(sf: Salesforce, account_id: str, **fields: Any) -> str:
    return sf.blng__PaymentMethod__c.create({"blng__Account__c": account_id, **fields})["id"]


def error(exc_info: pytest.ExceptionInfo[Any]) -> dict[str, Any]:
    return exc_info.value.content[0]


def raw(server: SalesforceServer, method: str, path: str, **kwargs: Any) -> Any:
    headers = {"Authorization": f"Bearer {server.access_token}", **kwargs.pop("headers", {})}
    return sf_session(server).request(method, server.instance_url + path, headers=headers, **kwargs)


# Records ------------------------------------------------------------------------------------


def test_create_get_update_delete(sf_client: Salesforce) -> None:
    created = sf_client.Account.create({"Name": "Acme", "Stripe_Customer_Id__c": "cus_1"})
    assert created["success"] is True and created["errors"] == []
    account_id = created["id"]
    assert is_salesforce_id(account_id, prefix="001") and len(account_id) == 18
    record = sf_client.Account.get(account_id)
    assert record["attributes"]["type"] == "Account"
    assert record["Name"] == "Acme" and record["Stripe_Customer_Id__c"] == "cus_1"
    assert record["CreatedDate"].endswith("+0000") and record["IsDeleted"] is False
    assert sf_client.Account.update(account_id, {"Name": "Acme Inc", "Type": "Other"}) == 204
    assert sf_client.Account.get(account_id)["Name"] == "Acme Inc"
    assert sf_client.Account.delete(account_id) == 204
    with pytest.raises(SalesforceResourceNotFound) as info:
        sf_client.Account.get(account_id)
    assert error(info)["errorCode"] == "NOT_FOUND"


def test_each_object_has_its_own_key_prefix_and_valid_ids(sf_client: Salesforce) -> None:
    account = new_account(sf_client)
    gateway = sf_client.blng__PaymentGateway__c.create(
        {"Name": "Stripe", "blng__GatewayType__c": "Stripe"}
    )["id"]
    ids = {
        "Account": account,
        "blng__PaymentGateway__c": gateway,
        "blng__PaymentMethod__c": new_pm(sf_client, account, blng__PaymentGateway__c=gateway),
        "blng__BillingConfig__c": sf_client.blng__BillingConfig__c.create(
            {"Name": "PAYMENT_BATCH_SIZE", "blng__NumberValue__c": 70}
        )["id"],
        "blng__PaymentTransaction__c": sf_client.blng__PaymentTransaction__c.create(
            {"blng__GatewayStatus__c": "Success"}
        )["id"],
        "blng__Invoice__c": sf_client.blng__Invoice__c.create({"blng__Account__c": account})["id"],
    }
    prefixes = {record_id[:3] for record_id in ids.values()}
    assert len(prefixes) == len(ids)
    for sobject, record_id in ids.items():
        assert is_salesforce_id(record_id, prefix=KEY_PREFIXES[sobject]), sobject
    assert {o["keyPrefix"] for o in sf_client.describe()["sobjects"]} >= prefixes


def test_defaults_autonumbers_and_empty_text(sf_client: Salesforce) -> None:
    account = new_account(sf_client, Description="")
    pm = sf_client.blng__PaymentMethod__c.get(new_pm(sf_client, account))
    assert pm["blng__Active__c"] is True and pm["blng__AutoPay__c"] is False
    assert pm["Name"] == "PM-0000001"
    assert sf_client.Account.get(account)["Description"] is None  # "" is stored as null
    config = sf_client.blng__BillingConfig__c.create({"Name": "X", "blng__NumberValue__c": "70"})
    assert sf_client.blng__BillingConfig__c.get(config["id"])["blng__NumberValue__c"] == 70.0


def test_get_with_fields_and_case_insensitive_ids(
    sf_client: Salesforce, sf_server: SalesforceServer
) -> None:
    account = new_account(sf_client, Stripe_Customer_Id__c="cus_9")
    response = raw(
        sf_server,
        "GET",
        f"/services/data/v59.0/sobjects/Account/{account[:15]}",
        params={"fields": "Name,Stripe_Customer_Id__c"},
    )
    assert response.status_code == 200
    assert response.json() == {
        "attributes": {
            "type": "Account",
            "url": f"/services/data/v59.0/sobjects/Account/{account}",
        },
        "Name": "Acme",
        "Stripe_Customer_Id__c": "cus_9",
    }
    assert sf_client.Account.get(account.lower())["Id"] == account


def test_unknown_records_objects_and_paths_are_not_found(
    sf_client: Salesforce, sf_server: SalesforceServer
) -> None:
    account = new_account(sf_client)
    missing = account[:-6] + "zzzAAA"
    for call in (
        lambda: sf_client.Account.get("001000000000000AAA"),
        lambda: sf_client.Account.update("001000000000000AAA", {"Name": "x"}),
        lambda: sf_client.Account.delete("001000000000000AAA"),
        lambda: sf_client.Account.get("not-an-id"),
        lambda: sf_client.Account.get(missing),
        lambda: sf_client.Foo__c.create({"Name": "x"}),
        lambda: sf_client.Foo__c.describe(),
    ):
        with pytest.raises(SalesforceResourceNotFound) as info:
            call()
        assert error(info)["errorCode"] == "NOT_FOUND"
    # An Account Id asked for as a payment method is not found either.
    with pytest.raises(SalesforceResourceNotFound):
        sf_client.blng__PaymentMethod__c.get(account)
    response = raw(sf_server, "GET", "/services/data/v59.0/nothing/here")
    assert response.status_code == 404 and response.json()[0]["errorCode"] == "NOT_FOUND"
    response = raw(sf_server, "PUT", f"/services/data/v59.0/sobjects/Account/{account}")
    assert response.status_code == 405
    assert response.json()[0]["errorCode"] == "METHOD_NOT_ALLOWED"


# Validation -----------------------------------------------------------------------------------


@pytest.fixture
def parents(sf_client: Salesforce) -> dict[str, str]:
    account = new_account(sf_client)
    gateway = sf_client.blng__PaymentGateway__c.create(
        {"Name": "Stripe", "blng__GatewayType__c": "Stripe"}
    )["id"]
    return {"account": account, "gateway": gateway}


@pytest.mark.parametrize(
    ("sobject", "fields", "code", "error_fields"),
    [
        ("Account", {}, "REQUIRED_FIELD_MISSING", ["Name"]),
        ("Account", {"Name": ""}, "REQUIRED_FIELD_MISSING", ["Name"]),
        ("Account", {"Name": "x", "Foo__c": 1}, "INVALID_FIELD", None),
        ("Account", {"Name": "x" * 256}, "STRING_TOO_LONG", ["Name"]),
        (
            "Account",
            {"Name": "x", "CreatedDate": "2020-01-01T00:00:00Z"},
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            ["CreatedDate"],
        ),
        (
            "Account",
            {"Name": "x", "Id": "001000000000000AAA"},
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            ["Id"],
        ),
        ("blng__PaymentMethod__c", {}, "REQUIRED_FIELD_MISSING", ["blng__Account__c"]),
        (
            "blng__PaymentMethod__c",
            {"blng__Account__c": "{account}", "Name": "PM-1"},
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            ["Name"],
        ),
        (
            "blng__PaymentMethod__c",
            {"blng__Account__c": "{account}", "blng__PaymentType__c": "Cash"},
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            ["blng__PaymentType__c"],
        ),
        (
            "blng__PaymentMethod__c",
            {"blng__Account__c": "{gateway}"},
            "FIELD_INTEGRITY_EXCEPTION",
            ["blng__Account__c"],
        ),
        (
            "blng__PaymentMethod__c",
            {"blng__Account__c": "{account}", "blng__PaymentGateway__c": "{account}"},
            "FIELD_INTEGRITY_EXCEPTION",
            ["blng__PaymentGateway__c"],
        ),
        (
            "blng__PaymentMethod__c",
            {"blng__Account__c": "001000000000000AAA"},
            "INVALID_CROSS_REFERENCE_KEY",
            ["blng__Account__c"],
        ),
        (
            "blng__PaymentMethod__c",
            {"blng__Account__c": "acme"},
            "MALFORMED_ID",
            ["blng__Account__c"],
        ),
        (
            "blng__PaymentMethod__c",
            {"blng__Account__c": "{account}", "blng__Active__c": "yes please"},
            "JSON_PARSER_ERROR",
            None,
        ),
        (
            "blng__PaymentMethod__c",
            {"blng__Account__c": "{account}", "blng__BillingEmail__c": "not-an-email"},
            "INVALID_EMAIL_ADDRESS",
            ["blng__BillingEmail__c"],
        ),
        (
            "blng__PaymentMethod__c",
            {"blng__Account__c": "{account}", "blng__CardLastFour__c": "42424"},
            "STRING_TOO_LONG",
            ["blng__CardLastFour__c"],
        ),
        (
            "blng__PaymentGateway__c",
            {"Name": "PayPal", "blng__GatewayType__c": "stripe"},
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            ["blng__GatewayType__c"],
        ),
        (
            "blng__BillingConfig__c",
            {"Name": "X", "blng__NumberValue__c": "seventy"},
            "JSON_PARSER_ERROR",
            None,
        ),
        (
            "blng__BillingConfig__c",
            {"Name": "X", "blng__NumberValue__c": 1e20},
            "NUMBER_OUTSIDE_VALID_RANGE",
            ["blng__NumberValue__c"],
        ),
        ("blng__Invoice__c", {"blng__DueDate__c": "31/12/2024"}, "JSON_PARSER_ERROR", None),
    ],
)
def test_create_rejects_what_salesforce_rejects(
    sf_client: Salesforce,
    sf_org: Org,
    parents: dict[str, str],
    sobject: str,
    fields: dict[str, Any],
    code: str,
    error_fields: list[str] | None,
) -> None:
    fields = {k: v.format(**parents) if isinstance(v, str) else v for k, v in fields.items()}
    before = sf_org.count(sobject)
    with pytest.raises(SalesforceMalformedRequest) as info:
        getattr(sf_client, sobject).create(fields)
    body = error(info)
    assert info.value.status == 400
    assert body["errorCode"] == code, body
    if error_fields is not None:
        assert body["fields"] == error_fields
    assert sf_org.count(sobject) == before


def test_update_rules(sf_client: Salesforce, parents: dict[str, str]) -> None:
    pm = new_pm(sf_client, parents["account"])
    other = new_account(sf_client, "Other")
    cases = [
        ({"blng__Account__c": other}, "INVALID_FIELD_FOR_INSERT_UPDATE"),  # no reparenting
        ({"blng__PaymentType__c": "Cheque"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
        ({"blng__PaymentGateway__c": other}, "FIELD_INTEGRITY_EXCEPTION"),
        ({"CreatedDate": "2020-01-01T00:00:00Z"}, "INVALID_FIELD_FOR_INSERT_UPDATE"),
        ({"Bogus__c": 1}, "INVALID_FIELD"),
    ]
    for fields, code in cases:
        with pytest.raises(SalesforceMalformedRequest) as info:
            sf_client.blng__PaymentMethod__c.update(pm, fields)
        assert error(info)["errorCode"] == code, fields
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf_client.Account.update(other, {"Name": None})
    assert error(info)["errorCode"] == "REQUIRED_FIELD_MISSING"
    sf_client.blng__PaymentMethod__c.update(
        pm, {"blng__PaymentGateway__c": parents["gateway"], "blng__Active__c": False}
    )
    record = sf_client.blng__PaymentMethod__c.get(pm)
    assert record["blng__PaymentGateway__c"] == parents["gateway"]
    assert record["blng__Active__c"] is False
    assert record["LastModifiedDate"] >= record["CreatedDate"]


def test_malformed_json_bodies(sf_server: SalesforceServer) -> None:
    for body in ("{not json", "", "[1, 2]"):
        response = raw(
            sf_server,
            "POST",
            "/services/data/v59.0/sobjects/Account/",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 400
        assert response.json()[0]["errorCode"] == "JSON_PARSER_ERROR", body


def test_bad_or_missing_session_is_refused(sf_server: SalesforceServer) -> None:
    bad = sf_connect(sf_server, token="00D000000000000!nope")
    with pytest.raises(SalesforceExpiredSession) as info:
        bad.query("SELECT Id FROM Account")
    assert error(info) == {
        "message": "Session expired or invalid",
        "errorCode": "INVALID_SESSION_ID",
    }
    response = sf_session(sf_server).get(sf_server.instance_url + "/services/data/v59.0/limits")
    assert response.status_code == 401


def test_delete_cascades_to_master_detail_children_and_clears_lookups(
    sf_client: Salesforce, sf_org: Org, parents: dict[str, str]
) -> None:
    account = parents["account"]
    pm = new_pm(sf_client, account, blng__PaymentGateway__c=parents["gateway"])
    tx = sf_client.blng__PaymentTransaction__c.create(
        {"blng__PaymentMethod__c": pm, "blng__GatewayStatus__c": "Success"}
    )["id"]
    other = new_pm(sf_client, new_account(sf_client, "Keep"))
    sf_client.Account.delete(account)
    assert sf_org.count("blng__PaymentMethod__c") == 1
    assert sf_client.blng__PaymentMethod__c.get(other)["Id"] == other
    assert sf_client.blng__PaymentTransaction__c.get(tx)["blng__PaymentMethod__c"] is None
    sf_client.blng__PaymentGateway__c.delete(parents["gateway"])  # lookup: children stay


def test_audit_fields_need_the_permission(sf_start: Any) -> None:
    org = Org(set_audit_fields=True)
    try:
        sf = sf_connect(sf_start(org))
        record_id = sf.blng__PaymentTransaction__c.create(
            {"CreatedDate": "2024-01-02T03:04:05Z", "blng__GatewayStatus__c": "Decline"}
        )["id"]
        record = sf.blng__PaymentTransaction__c.get(record_id)
        assert record["CreatedDate"] == "2024-01-02T03:04:05.000+0000"
        assert record["LastModifiedDate"] == record["CreatedDate"]
        with pytest.raises(SalesforceMalformedRequest):  # insert only, never on update
            sf.blng__PaymentTransaction__c.update(record_id, {"CreatedDate": "2024-01-01"})
    finally:
        org.close()


def test_python_api_validates_like_rest(sf_org: Org) -> None:
    with pytest.raises(SalesforceError) as info:
        sf_org.create("blng__PaymentMethod__c", {"blng__PaymentType__c": "ACH"})
    assert (info.value.status, info.value.error_code) == (400, "REQUIRED_FIELD_MISSING")
    with pytest.raises(SalesforceError) as info:
        sf_org.create("Nope__c", {})
    assert info.value.error_code == "INVALID_TYPE"
    account = sf_org.create("Account", {"Name": "A"})
    with pytest.raises(SalesforceError) as info:
        sf_org.create_many(
            "blng__PaymentMethod__c", [{"blng__Account__c": account}, {"blng__Account__c": "bad"}]
        )
    assert info.value.error_code == "MALFORMED_ID" and info.value.index == 1
    assert sf_org.count("blng__PaymentMethod__c") == 0  # one transaction: none inserted
    ids = sf_org.create_many("blng__PaymentMethod__c", [{"blng__Account__c": account}] * 3)
    assert len(set(ids)) == 3 and sf_org.count("blng__PaymentMethod__c") == 3
    sf_org.update("Account", account, {"Stripe_Customer_Id__c": "cus_x"})
    assert sf_org.get("Account", account)["Stripe_Customer_Id__c"] == "cus_x"
    assert sf_org.query("SELECT COUNT() FROM blng__PaymentMethod__c")["totalSize"] == 3
    sf_org.delete("Account", account)
    assert sf_org.count("blng__PaymentMethod__c") == 0


# Describe -----------------------------------------------------------------------------------


def test_describe_payment_method(sf_client: Salesforce) -> None:
    describe = sf_client.blng__PaymentMethod__c.describe()
    assert describe["name"] == "blng__PaymentMethod__c" and describe["custom"] is True
    assert describe["keyPrefix"] == KEY_PREFIXES["blng__PaymentMethod__c"]
    fields = {f["name"]: f for f in describe["fields"]}
    account = fields["blng__Account__c"]
    assert account["type"] == "reference" and account["referenceTo"] == ["Account"]
    assert account["relationshipName"] == "blng__Account__r"
    assert account["nillable"] is False and account["createable"] is True
    assert account["defaultedOnCreate"] is False
    kind = fields["blng__PaymentType__c"]
    assert kind["type"] == "picklist" and kind["restrictedPicklist"] is True
    assert [v["value"] for v in kind["picklistValues"]] == ["ACH", "Credit Card"]
    active = fields["blng__Active__c"]
    assert active["type"] == "boolean" and active["defaultedOnCreate"] is True
    assert fields["Name"]["autoNumber"] is True and fields["Name"]["createable"] is False
    assert fields["blng__PaymentGatewayToken__c"]["length"] == 255
    for name in (
        "blng__AutoPay__c",
        "blng__PaymentGateway__c",
        "blng__CardType__c",
        "blng__CardLastFour__c",
        "blng__CardExpirationMonth__c",
        "blng__CardExpirationYear__c",
        "blng__Nameoncard__c",
    ):
        assert name in fields


def test_describe_account_and_child_relationships(sf_client: Salesforce) -> None:
    describe = sf_client.Account.describe()
    fields = {f["name"]: f for f in describe["fields"]}
    stripe = fields["Stripe_Customer_Id__c"]
    assert stripe["label"] == "Stripe Customer ID" and stripe["custom"] is True
    assert stripe["type"] == "string"
    assert fields["Name"]["nillable"] is False and fields["Id"]["type"] == "id"
    children = {r["relationshipName"]: r for r in describe["childRelationships"]}
    assert children["blng__PaymentMethods__r"]["childSObject"] == "blng__PaymentMethod__c"
    assert children["blng__PaymentMethods__r"]["cascadeDelete"] is True
    gateway = {f["name"]: f for f in sf_client.blng__PaymentGateway__c.describe()["fields"]}
    values = [v["value"] for v in gateway["blng__GatewayType__c"]["picklistValues"]]
    assert {"Stripe", "Stripe (Universal Extension)", "Authorize.net", "PayPal"} <= set(values)
    config = {f["name"] for f in sf_client.blng__BillingConfig__c.describe()["fields"]}
    assert {
        "Name",
        "blng__Category__c",
        "blng__NumberValue__c",
        "blng__StringValue__c",
        "blng__Description__c",
        "blng__FieldType__c",
    } <= config
    for sobject in ("blng__PaymentTransaction__c", "blng__Invoice__c"):
        assert getattr(sf_client, sobject).describe()["name"] == sobject


@pytest.mark.parametrize(
    ("account_field", "pm_field", "expected"),
    [
        ("stripeGC__Customer_Id__c", None, ["stripeGC__Customer_Id__c"]),
        (None, None, []),
        (
            ["Stripe_Customer_Id__c", "stripeGC__Customer_Id__c"],
            None,
            ["Stripe_Customer_Id__c", "stripeGC__Customer_Id__c"],
        ),
        ("Stripe_Customer_Id__c", "Stripe_Customer_Id__c", ["Stripe_Customer_Id__c"]),
    ],
)
def test_stripe_customer_field_is_chosen_per_org(
    sf_start: Any, account_field: Any, pm_field: Any, expected: list[str]
) -> None:
    org = Org(stripe_customer_field=account_field, pm_stripe_customer_field=pm_field)
    try:
        sf = sf_connect(sf_start(org))
        labelled = [
            f["name"] for f in sf.Account.describe()["fields"] if f["label"] == "Stripe Customer ID"
        ]
        assert labelled == expected
        pm_fields = [
            f["name"]
            for f in sf.blng__PaymentMethod__c.describe()["fields"]
            if f["label"] == "Stripe Customer ID"
        ]
        assert pm_fields == ([pm_field] if pm_field else [])
        if expected:
            account = sf.Account.create({"Name": "A", expected[0]: "cus_1"})["id"]
            query = f"SELECT {expected[0]} FROM Account WHERE Id = '{account}'"
            assert sf.query(query)["records"][0][expected[0]] == "cus_1"
        with pytest.raises(SalesforceMalformedRequest):
            sf.query("SELECT Stripe_Customer__c FROM Account")
    finally:
        org.close()


def test_hidden_object_describe_and_records_are_not_found(
    sf_client: Salesforce, sf_org: Org
) -> None:
    config = sf_client.blng__BillingConfig__c.create({"Name": "X"})["id"]
    sf_org.set_access("blng__BillingConfig__c", False)
    with pytest.raises(SalesforceResourceNotFound):
        sf_client.blng__BillingConfig__c.describe()
    with pytest.raises(SalesforceResourceNotFound):
        sf_client.blng__BillingConfig__c.get(config)
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf_client.query("SELECT Name FROM blng__BillingConfig__c")
    assert error(info)["errorCode"] == "INVALID_TYPE"


def test_versions_and_resources(sf_server: SalesforceServer) -> None:
    versions = sf_session(sf_server).get(sf_server.instance_url + "/services/data/").json()
    assert {"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"} in versions
    resources = raw(sf_server, "GET", "/services/data/v59.0/").json()
    assert resources["query"] == "/services/data/v59.0/query"


# sObject Collections ------------------------------------------------------------------------


def collection(
    sf: Salesforce, method: str, records: list[dict[str, Any]], all_or_none: bool
) -> list[dict[str, Any]]:
    return sf.restful(
        "composite/sobjects", method=method, json={"allOrNone": all_or_none, "records": records}
    )


def test_collection_create_partial_success(sf_client: Salesforce, sf_org: Org) -> None:
    results = collection(
        sf_client,
        "POST",
        [
            {"attributes": {"type": "Account"}, "Name": "One"},
            {"attributes": {"type": "Account"}, "Type": "Other"},
            {"attributes": {"type": "Account"}, "Name": "Three", "Bogus__c": 1},
            {"attributes": {"type": "Account"}, "Name": "Four"},
        ],
        all_or_none=False,
    )
    assert [r["success"] for r in results] == [True, False, False, True]
    assert results[1] == {
        "success": False,
        "errors": [
            {
                "statusCode": "REQUIRED_FIELD_MISSING",
                "message": "Required fields are missing: [Name]",
                "fields": ["Name"],
            }
        ],
    }
    assert results[2]["errors"][0]["statusCode"] == "INVALID_FIELD"
    assert is_salesforce_id(results[0]["id"], prefix="001")
    assert sf_org.count("Account") == 2


def test_collection_all_or_none_rolls_everything_back(sf_client: Salesforce, sf_org: Org) -> None:
    account = new_account(sf_client)
    results = collection(
        sf_client,
        "POST",
        [
            {"attributes": {"type": "blng__PaymentMethod__c"}, "blng__Account__c": account},
            {
                "attributes": {"type": "blng__PaymentMethod__c"},
                "blng__Account__c": account,
                "blng__PaymentType__c": "Bitcoin",
            },
            {"attributes": {"type": "Account"}, "Name": "Mixed types are fine"},
        ],
        all_or_none=True,
    )
    assert [r["success"] for r in results] == [False, False, False]
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[1]["errors"][0]["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert results[2]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert sf_org.count("blng__PaymentMethod__c") == 0 and sf_org.count("Account") == 1


def test_collection_update_and_delete(sf_client: Salesforce, sf_org: Org) -> None:
    ids = [new_account(sf_client, f"A{i}") for i in range(3)]
    results = collection(
        sf_client,
        "PATCH",
        [
            {"attributes": {"type": "Account"}, "id": ids[0], "Name": "Renamed"},
            {"attributes": {"type": "Account"}, "id": "001000000000000AAA", "Name": "Ghost"},
            {"attributes": {"type": "Account"}, "Name": "No id"},
            {"attributes": {"type": "Account"}, "id": ids[1], "Name": ""},
        ],
        all_or_none=False,
    )
    assert [r["success"] for r in results] == [True, False, False, False]
    assert results[0]["id"] == ids[0]
    assert results[1]["errors"][0]["statusCode"] == "INVALID_CROSS_REFERENCE_KEY"
    assert results[2]["errors"][0]["statusCode"] == "MISSING_ARGUMENT"
    assert results[3]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert sf_client.Account.get(ids[0])["Name"] == "Renamed"
    rolled = collection(
        sf_client,
        "PATCH",
        [
            {"attributes": {"type": "Account"}, "id": ids[1], "Name": "Should roll back"},
            {"attributes": {"type": "Account"}, "id": ids[2], "Type": "Other", "Nope__c": 1},
        ],
        all_or_none=True,
    )
    assert rolled[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert sf_client.Account.get(ids[1])["Name"] == "A1"
    deleted = sf_client.restful(
        "composite/sobjects",
        method="DELETE",
        params={"ids": f"{ids[0]},{ids[1]}", "allOrNone": "false"},
    )
    assert [r["success"] for r in deleted] == [True, True]
    assert sf_org.count("Account") == 1
    fetched = sf_client.restful(
        "composite/sobjects/Account",
        method="GET",
        params={"ids": f"{ids[2]},{ids[0]}", "fields": "Id,Name"},
    )
    assert fetched[0]["Name"] == "A2" and fetched[1] is None


def test_collection_limit_is_200_records(sf_client: Salesforce, sf_org: Org) -> None:
    records = [{"attributes": {"type": "Account"}, "Name": f"A{i}"} for i in range(201)]
    with pytest.raises(SalesforceMalformedRequest) as info:
        collection(sf_client, "POST", records, all_or_none=False)
    assert error(info)["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert sf_org.count("Account") == 0
    results = collection(sf_client, "POST", records[:200], all_or_none=True)
    assert all(r["success"] for r in results) and sf_org.count("Account") == 200


# Composite ------------------------------------------------------------------------------------


def test_composite_references_and_all_or_none(sf_client: Salesforce, sf_org: Org) -> None:
    base = "/services/data/v59.0"
    body = {
        "allOrNone": True,
        "compositeRequest": [
            {
                "method": "POST",
                "url": f"{base}/sobjects/Account",
                "referenceId": "acct",
                "body": {"Name": "Composite Co"},
            },
            {
                "method": "POST",
                "url": f"{base}/sobjects/blng__PaymentMethod__c",
                "referenceId": "pm",
                "body": {"blng__Account__c": "@{acct.id}"},
            },
            {
                "method": "GET",
                "url": f"{base}/sobjects/Account/@{{acct.id}}?fields=Name",
                "referenceId": "read",
            },
        ],
    }
    answer = sf_client.restful("composite", method="POST", json=body)["compositeResponse"]
    assert [a["httpStatusCode"] for a in answer] == [201, 201, 200]
    assert answer[2]["body"]["Name"] == "Composite Co"
    body["compositeRequest"][1]["body"]["blng__PaymentType__c"] = "Gold"
    answer = sf_client.restful("composite", method="POST", json=body)["compositeResponse"]
    assert [a["httpStatusCode"] for a in answer] == [400, 400, 400]
    assert answer[0]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert answer[1]["body"][0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert sf_org.count("Account") == 1 and sf_org.count("blng__PaymentMethod__c") == 1


# Limits -------------------------------------------------------------------------------------


def test_limits_and_the_usage_header(sf_client: Salesforce, sf_server: SalesforceServer) -> None:
    new_account(sf_client)
    limits = sf_client.limits()
    assert limits["DailyApiRequests"]["Max"] == 100_000
    assert limits["DailyApiRequests"]["Remaining"] == 100_000 - sf_server.api_calls
    assert sf_client.api_usage["api-usage"].used == sf_server.api_calls == 2
    response = raw(sf_server, "GET", "/services/data/v59.0/limits")
    assert response.headers["Sforce-Limit-Info"] == "api-usage=3/100000"


# Bulk API 2.0 ---------------------------------------------------------------------------------


def test_bulk2_insert_round_trip(sf_client: Salesforce, sf_org: Org, tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text(
        "Name,Stripe_Customer_Id__c,Type\n"
        "Bulk One,cus_b1,Other\n"
        ",cus_b2,Other\n"
        '"Bulk, Three",,\n'
        "Bulk Four,cus_b4,Nonsense Type\n",
        encoding="utf-8",
    )
    [result] = sf_client.bulk2.Account.insert(csv_file=str(path), wait=0.01)
    assert result["numberRecordsProcessed"] == 4 and result["numberRecordsFailed"] == 1
    job = result["job_id"]
    ok = list(csv.DictReader(io.StringIO(sf_client.bulk2.Account.get_successful_records(job))))
    assert [r["Name"] for r in ok] == ["Bulk One", "Bulk, Three", "Bulk Four"]
    assert all(
        is_salesforce_id(r["sf__Id"], prefix="001") and r["sf__Created"] == "true" for r in ok
    )
    failed = list(csv.DictReader(io.StringIO(sf_client.bulk2.Account.get_failed_records(job))))
    assert failed[0]["sf__Error"].startswith("REQUIRED_FIELD_MISSING:")
    assert failed[0]["Stripe_Customer_Id__c"] == "cus_b2"
    assert sf_org.count("Account") == 3
    assert (
        sf_client.query("SELECT Stripe_Customer_Id__c FROM Account WHERE Name = 'Bulk, Three'")[
            "records"
        ][0]["Stripe_Customer_Id__c"]
        is None
    )


def test_bulk2_update_and_records_input(sf_client: Salesforce, sf_org: Org) -> None:
    ids = sf_org.create_many("Account", [{"Name": f"A{i}"} for i in range(3)])
    records = [
        {"Id": ids[0], "Stripe_Customer_Id__c": "cus_0"},
        {"Id": ids[1], "Stripe_Customer_Id__c": "cus_1"},
        {"Id": "001000000000000AAA", "Stripe_Customer_Id__c": "cus_x"},
    ]
    [result] = sf_client.bulk2.Account.update(records=records, wait=0.01)
    assert result["numberRecordsFailed"] == 1
    failed = sf_client.bulk2.Account.get_failed_records(result["job_id"])
    assert "ENTITY_IS_DELETED" in failed
    got = sf_org.query_all("SELECT Stripe_Customer_Id__c FROM Account ORDER BY Name")
    assert [r["Stripe_Customer_Id__c"] for r in got] == ["cus_0", "cus_1", None]


def test_bulk2_job_lifecycle_over_raw_http(sf_server: SalesforceServer, sf_org: Org) -> None:
    base = "/services/data/v59.0/jobs/ingest"
    created = raw(
        sf_server,
        "POST",
        base,
        json={
            "object": "blng__PaymentMethod__c",
            "operation": "insert",
            "contentType": "CSV",
            "lineEnding": "CRLF",
        },
    )
    assert created.status_code == 200
    job = created.json()
    assert job["state"] == "Open" and job["id"].startswith("750")
    upload = raw(
        sf_server,
        "PUT",
        f"{base}/{job['id']}/batches",
        data=b"blng__Account__c\nnot-crlf\n",
        headers={"Content-Type": "text/csv"},
    )
    assert upload.status_code == 201
    again = raw(
        sf_server,
        "PUT",
        f"{base}/{job['id']}/batches",
        data=b"x\r\n",
        headers={"Content-Type": "text/csv"},
    )
    assert again.status_code == 400  # one upload per job
    closed = raw(sf_server, "PATCH", f"{base}/{job['id']}", json={"state": "UploadComplete"})
    assert closed.json()["state"] == "UploadComplete"
    info = raw(sf_server, "GET", f"{base}/{job['id']}").json()
    assert info["state"] == "Failed" and "LineEnding" in info["errorMessage"]

    for bad in (
        {"object": "Nope", "operation": "insert"},
        {"object": "Account", "operation": "merge"},
    ):
        response = raw(sf_server, "POST", base, json=bad)
        assert response.status_code == 400

    job2 = raw(sf_server, "POST", base, json={"object": "Account", "operation": "insert"}).json()
    raw(sf_server, "PUT", f"{base}/{job2['id']}/batches", data=b"Name,Nope__c\nA,1\n")
    raw(sf_server, "PATCH", f"{base}/{job2['id']}", json={"state": "UploadComplete"})
    info = raw(sf_server, "GET", f"{base}/{job2['id']}").json()
    assert info["state"] == "Failed" and "Nope__c" in info["errorMessage"]

    job3 = raw(sf_server, "POST", base, json={"object": "Account", "operation": "insert"}).json()
    raw(sf_server, "PUT", f"{base}/{job3['id']}/batches", data=b"Name\nA\nB\n")
    aborted = raw(sf_server, "PATCH", f"{base}/{job3['id']}", json={"state": "Aborted"})
    assert aborted.json()["state"] == "Aborted"
    unprocessed = raw(sf_server, "GET", f"{base}/{job3['id']}/unprocessedrecords")
    assert unprocessed.text.splitlines() == ["Name", "A", "B"]
    assert sf_org.count("Account") == 0
    assert raw(sf_server, "DELETE", f"{base}/{job3['id']}").status_code == 204
    assert raw(sf_server, "GET", f"{base}/{job3['id']}").status_code == 404
    listed = raw(sf_server, "GET", base).json()
    assert {j["id"] for j in listed["records"]} == {job["id"], job2["id"]}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/services/data/v59.0/composite/sobjects", b'{"records": ["x", 1, null]}'),
        ("POST", "/services/data/v59.0/composite/sobjects", b'{"records": 5}'),
        ("PATCH", "/services/data/v59.0/composite/sobjects", b'{"records": [{"id": 5}]}'),
        ("POST", "/services/data/v59.0/composite", b'{"compositeRequest": [{"url": 3}]}'),
        (
            "POST",
            "/services/data/v59.0/composite",
            b'{"compositeRequest": [{"method": "GET", "url": "/services/data/v59.0/x/@{a.b}"}]}',
        ),
        ("POST", "/services/data/v59.0/jobs/ingest", b"[]"),
        ("PATCH", "/services/data/v59.0/jobs/ingest/750000000000000AAA", b'{"state": 1}'),
        ("PATCH", "/services/data/v59.0/sobjects/Account/001000000000000AAA", b"\xff\xfe"),
        ("GET", "/services/data/v59.0/query/%C2%B9-2", b""),
        (
            "GET",
            "/services/data/v59.0/query?q=SELECT%20Id%20FROM%20Account%20WHERE%20Name"
            "%20%3D%20%27%00%27",
            b"",
        ),
        ("GET", "/services/data/v59.0/sobjects/Account/describe/extra/segments", b""),
    ],
)
def test_odd_requests_get_salesforce_errors_not_crashes(
    sf_server: SalesforceServer, method: str, path: str, body: bytes
) -> None:
    response = raw(sf_server, method, path, data=body, headers={"Content-Type": "application/json"})
    assert 200 <= response.status_code < 500, response.text
    assert "UNKNOWN_EXCEPTION" not in response.text
