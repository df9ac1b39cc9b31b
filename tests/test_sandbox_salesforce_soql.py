"""SOQL against the Salesforce stand-in, through simple-salesforce over HTTPS.

The org is seeded once per module with a pinned clock (2024-03-15 12:00 UTC, a Friday), so
date literals have known answers. Each test states the Salesforce rule it checks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from commands.ids import is_salesforce_id
from sandbox.salesforce import KEY_PREFIXES, Org, SalesforceError, start_salesforce
from tests.plugins.salesforce import sf_connect, sf_session

NOW = dt.datetime(2024, 3, 15, 12, 0, tzinfo=dt.UTC)


def _ago(days: int, hour: int = 9) -> str:
    when = (NOW - dt.timedelta(days=days)).replace(hour=hour)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


class World:
    """The seeded org and the Ids tests refer to by name."""

    def __init__(self) -> None:
        self.org = Org(
            stripe_customer_field="Stripe_Customer_Id__c", set_audit_fields=True, clock=lambda: NOW
        )
        org = self.org
        self.gw = {
            "stripe": org.create(
                "blng__PaymentGateway__c",
                {"Name": "Stripe Main", "blng__GatewayType__c": "Stripe", "blng__Default__c": True},
            ),
            "ext": org.create(
                "blng__PaymentGateway__c",
                {
                    "Name": "Stripe UE",
                    "blng__GatewayType__c": "Stripe (Universal Extension)",
                    "blng__Active__c": False,
                },
            ),
            "anet": org.create(
                "blng__PaymentGateway__c",
                {"Name": "Authorize", "blng__GatewayType__c": "Authorize.net"},
            ),
        }
        names = {
            "acme": ("Acme Corp", "cus_acme", "Customer - Direct"),
            "labs": ("acme labs", "cus_labs", "Prospect"),
            "bob": ("Bob's BBQ", "cus_bob", "Customer - Direct"),
            "pure": ("100% Pure", None, None),
            "under": ("Under_Score Ltd", "cus_dup", "Other"),
            "dup": ("Dup Two", "cus_dup", "Other"),
            "slash": ("Back\\slash Inc", "cus_slash", None),
            "empty": ("Empty Co", None, "Prospect"),
        }
        self.acct = {
            key: org.create(
                "Account",
                {
                    "Name": name,
                    "Stripe_Customer_Id__c": cus,
                    "Type": typ,
                    "CreatedDate": _ago(i * 5),
                },
            )
            for i, (key, (name, cus, typ)) in enumerate(names.items())
        }
        pm = [
            ("pm1", "acme", "stripe", "pm_111", True, True, "Credit Card", "2026"),
            ("pm2", "acme", "stripe", "tok_222", False, False, "Credit Card", "2023"),
            ("pm3", "labs", None, "card_333", True, False, "Credit Card", "2025"),
            ("pm4", "bob", "ext", None, True, False, "ACH", None),
            ("pm5", "pure", "anet", "pm_555", True, False, "Credit Card", "2030"),
        ]
        self.pm = {}
        for key, acct, gw, token, active, autopay, kind, year in pm:
            self.pm[key] = org.create(
                "blng__PaymentMethod__c",
                {
                    "blng__Account__c": self.acct[acct],
                    "blng__PaymentGateway__c": self.gw[gw] if gw else None,
                    "blng__PaymentGatewayToken__c": token,
                    "blng__Active__c": active,
                    "blng__AutoPay__c": autopay,
                    "blng__PaymentType__c": kind,
                    "blng__CardExpirationYear__c": year,
                },
            )
        tx = [
            ("t1", "acme", "pm1", "Success", 100.0, 0),
            ("t2", "acme", "pm1", "Decline", 250.5, 3),
            ("t3", "labs", "pm3", "Indeterminate", 75.0, 10),
            ("t4", "bob", "pm4", "Success", 20.0, 40),
        ]
        self.tx = {
            key: org.create(
                "blng__PaymentTransaction__c",
                {
                    "blng__Account__c": self.acct[acct],
                    "blng__PaymentMethod__c": self.pm[pm_key],
                    "blng__GatewayStatus__c": status,
                    "blng__Amount__c": amount,
                    "CreatedDate": _ago(days),
                },
            )
            for key, acct, pm_key, status, amount, days in tx
        }
        self.inv = {
            "inv1": org.create(
                "blng__Invoice__c",
                {
                    "blng__Account__c": self.acct["acme"],
                    "blng__CorrectiveAction__c": "Action Required",
                    "blng__InvoiceLocked__c": True,
                    "blng__DueDate__c": "2024-03-01",
                },
            ),
            "inv2": org.create(
                "blng__Invoice__c",
                {
                    "blng__Account__c": self.acct["labs"],
                    "blng__InvoiceStatus__c": "Posted",
                    "blng__DueDate__c": "2024-03-20",
                },
            ),
            "inv3": org.create(
                "blng__Invoice__c",
                {"blng__Account__c": self.acct["bob"], "blng__DueDate__c": "2024-04-01"},
            ),
        }


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    w = World()
    try:
        yield w
    finally:
        w.org.close()


@pytest.fixture(scope="module")
def sf(world: World) -> Iterator[Salesforce]:
    server = start_salesforce(world.org, port=0)
    try:
        yield sf_connect(server)
    finally:
        server.stop()


def names(result: dict[str, Any], key: str = "Name") -> list[str]:
    return [r[key] for r in result["records"]]


def error_of(sf: Salesforce, soql: str) -> dict[str, Any]:
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query(soql)
    assert info.value.status == 400
    return info.value.content[0]


# Shapes -------------------------------------------------------------------------------------


def test_records_carry_attributes_and_fields_in_select_order(sf: Salesforce, world: World) -> None:
    result = sf.query(
        "SELECT Name, Id, Stripe_Customer_Id__c FROM Account WHERE Name = 'Acme Corp'"
    )
    assert result["totalSize"] == 1 and result["done"] is True
    record = result["records"][0]
    assert list(record) == ["attributes", "Name", "Id", "Stripe_Customer_Id__c"]
    assert record["attributes"] == {
        "type": "Account",
        "url": f"/services/data/v59.0/sobjects/Account/{world.acct['acme']}",
    }
    assert is_salesforce_id(record["Id"], prefix=KEY_PREFIXES["Account"])
    assert len(record["Id"]) == 18


def test_keywords_and_names_are_case_insensitive_and_values_keep_their_types(
    sf: Salesforce,
) -> None:
    result = sf.query(
        "select name, BLNG__ACTIVE__C, blng__autopay__c from "
        "BLNG__PAYMENTMETHOD__C where BLNG__PAYMENTGATEWAYTOKEN__C = 'pm_111'"
    )
    record = result["records"][0]
    assert record["attributes"]["type"] == "blng__PaymentMethod__c"
    assert record["blng__Active__c"] is True and record["blng__AutoPay__c"] is True
    assert record["Name"].startswith("PM-")


def test_string_equality_ignores_case_as_salesforce_does(sf: Salesforce) -> None:
    assert names(sf.query("SELECT Name FROM Account WHERE Name = 'ACME CORP'")) == ["Acme Corp"]


def test_parent_relationships_one_and_two_levels_nest_or_are_null(
    sf: Salesforce, world: World
) -> None:
    result = sf.query(
        "SELECT blng__PaymentGatewayToken__c, blng__Account__r.Name, "
        "blng__Account__r.Stripe_Customer_Id__c, blng__PaymentGateway__r.blng__GatewayType__c "
        "FROM blng__PaymentMethod__c WHERE blng__Account__r.Name LIKE 'acme%' ORDER BY "
        "blng__PaymentGatewayToken__c"
    )
    records = result["records"]
    assert [r["blng__PaymentGatewayToken__c"] for r in records] == ["card_333", "pm_111", "tok_222"]
    labs = records[0]
    assert labs["blng__Account__r"] == {
        "attributes": {
            "type": "Account",
            "url": f"/services/data/v59.0/sobjects/Account/{world.acct['labs']}",
        },
        "Name": "acme labs",
        "Stripe_Customer_Id__c": "cus_labs",
    }
    assert labs["blng__PaymentGateway__r"] is None  # no gateway: null, not an empty object
    assert records[1]["blng__PaymentGateway__r"]["blng__GatewayType__c"] == "Stripe"

    two = sf.query(
        "SELECT Name, blng__PaymentMethod__r.blng__Account__r.Name FROM "
        "blng__PaymentTransaction__c WHERE blng__GatewayStatus__c = 'Indeterminate'"
    )
    nested = two["records"][0]["blng__PaymentMethod__r"]
    assert nested["attributes"]["type"] == "blng__PaymentMethod__c"
    assert nested["blng__Account__r"]["Name"] == "acme labs"


def test_relationship_fields_filter_two_levels_deep(sf: Salesforce) -> None:
    result = sf.query(
        "SELECT Id FROM blng__PaymentTransaction__c WHERE "
        "blng__PaymentMethod__r.blng__Account__r.Name = 'Bob\\'s BBQ'"
    )
    assert result["totalSize"] == 1


def test_child_subquery_returns_a_nested_result_or_null(sf: Salesforce) -> None:
    result = sf.query(
        "SELECT Name, (SELECT blng__PaymentGatewayToken__c FROM blng__PaymentMethods__r "
        "WHERE blng__Active__c = true ORDER BY blng__PaymentGatewayToken__c) "
        "FROM Account WHERE Name IN ('Acme Corp', 'Empty Co') ORDER BY Name"
    )
    acme, empty = result["records"]
    children = acme["blng__PaymentMethods__r"]
    assert children["totalSize"] == 1 and children["done"] is True
    assert children["records"][0]["blng__PaymentGatewayToken__c"] == "pm_111"
    assert children["records"][0]["attributes"]["type"] == "blng__PaymentMethod__c"
    assert empty["blng__PaymentMethods__r"] is None


def test_child_subquery_limit_applies_per_parent(sf: Salesforce) -> None:
    result = sf.query(
        "SELECT Name, (SELECT Id FROM blng__PaymentMethods__r ORDER BY Name "
        "LIMIT 1) FROM Account WHERE Name = 'Acme Corp'"
    )
    assert result["records"][0]["blng__PaymentMethods__r"]["totalSize"] == 1


def test_fields_function_expands_to_every_field(sf: Salesforce) -> None:
    record = sf.query("SELECT FIELDS(ALL) FROM Account LIMIT 1")["records"][0]
    assert {"Id", "Name", "Stripe_Customer_Id__c", "CreatedDate"} <= set(record)
    assert error_of(sf, "SELECT FIELDS(ALL) FROM Account")["errorCode"] == "MALFORMED_QUERY"


# WHERE ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("blng__Amount__c = 100", ["t1"]),
        ("blng__Amount__c != 100", ["t2", "t3", "t4"]),
        ("blng__Amount__c <> 100", ["t2", "t3", "t4"]),
        ("blng__Amount__c < 75", ["t4"]),
        ("blng__Amount__c <= 75", ["t3", "t4"]),
        ("blng__Amount__c > 100", ["t2"]),
        ("blng__Amount__c >= 100.0", ["t1", "t2"]),
        ("blng__Amount__c > -1", ["t1", "t2", "t3", "t4"]),
        ("blng__GatewayStatus__c IN ('Decline', 'Indeterminate')", ["t2", "t3"]),
        ("blng__GatewayStatus__c NOT IN ('Success')", ["t2", "t3"]),
        ("blng__GatewayStatus__c != 'success'", ["t2", "t3"]),
        ("NOT blng__GatewayStatus__c = 'Success'", ["t2", "t3"]),
        (
            "(blng__GatewayStatus__c = 'Success' OR blng__Amount__c > 200) AND "
            "blng__Amount__c > 50",
            ["t1", "t2"],
        ),
        (
            "blng__GatewayStatus__c = 'Success' AND (blng__Amount__c < 50 OR blng__Amount__c > 90)",
            ["t1", "t4"],
        ),
        ("NOT (blng__GatewayStatus__c = 'Success' OR blng__Amount__c > 200)", ["t3"]),
        ("blng__Account__r.Stripe_Customer_Id__c = 'cus_acme'", ["t1", "t2"]),
        ("blng__PaymentMethod__r.blng__Active__c = true", ["t1", "t2", "t3", "t4"]),
        ("blng__PaymentMethod__c = null", []),
    ],
)
def test_where_operators(sf: Salesforce, world: World, where: str, expected: list[str]) -> None:
    result = sf.query(f"SELECT Id FROM blng__PaymentTransaction__c WHERE {where}")
    by_id = {v: k for k, v in world.tx.items()}
    assert sorted(by_id[r["Id"]] for r in result["records"]) == expected


def test_null_and_boolean_literals(sf: Salesforce) -> None:
    no_id = sf.query("SELECT Name FROM Account WHERE Stripe_Customer_Id__c = null ORDER BY Name")
    assert names(no_id) == ["100% Pure", "Empty Co"]
    with_id = sf.query("SELECT COUNT() FROM Account WHERE Stripe_Customer_Id__c != null")
    assert with_id["totalSize"] == 6
    inactive = sf.query(
        "SELECT blng__PaymentGatewayToken__c FROM blng__PaymentMethod__c "
        "WHERE blng__Active__c = false"
    )
    assert names(inactive, "blng__PaymentGatewayToken__c") == ["tok_222"]


def test_negations_include_nulls_two_valued_logic(sf: Salesforce) -> None:
    # Salesforce: a null field is "not equal" to any value and "not in" any list.
    not_acme = sf.query("SELECT Name FROM Account WHERE Stripe_Customer_Id__c != 'cus_acme'")
    assert "100% Pure" in names(not_acme) and "Empty Co" in names(not_acme)
    not_in = sf.query("SELECT Name FROM Account WHERE Type NOT IN ('Other', 'Prospect')")
    assert set(names(not_in)) == {"Acme Corp", "Bob's BBQ", "100% Pure", "Back\\slash Inc"}
    negated = sf.query("SELECT Name FROM Account WHERE NOT Type = 'Other'")
    assert "100% Pure" in names(negated)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("'acme%'", ["Acme Corp", "acme labs"]),
        ("'%CORP'", ["Acme Corp"]),
        ("'a_me%'", ["Acme Corp", "acme labs"]),
        ("'100\\%%'", ["100% Pure"]),  # \% is a literal percent sign
        ("'%\\%%'", ["100% Pure"]),
        ("'Under\\_%'", ["Under_Score Ltd"]),  # \_ is a literal underscore
        ("'Under_Score%'", ["Under_Score Ltd"]),
        ("'Bob\\'s%'", ["Bob's BBQ"]),
        ("'Back\\\\slash%'", ["Back\\slash Inc"]),  # \\ is one backslash
        ("'%'", None),
    ],
)
def test_like_wildcards_and_escapes(
    sf: Salesforce, pattern: str, expected: list[str] | None
) -> None:
    result = sf.query(f"SELECT Name FROM Account WHERE Name LIKE {pattern} ORDER BY Name")
    if expected is None:
        assert result["totalSize"] == 8
    else:
        assert sorted(names(result)) == sorted(expected)


def test_string_escapes_in_equality(sf: Salesforce) -> None:
    assert names(sf.query("SELECT Name FROM Account WHERE Name = 'Bob\\'s BBQ'")) == ["Bob's BBQ"]
    assert names(sf.query("SELECT Name FROM Account WHERE Name = 'Back\\\\slash Inc'")) == [
        "Back\\slash Inc"
    ]
    assert names(sf.query("SELECT Name FROM Account WHERE Name = 'Bob\\u0027s BBQ'")) == [
        "Bob's BBQ"
    ]
    # \% and \_ are LIKE-only; elsewhere (and unknown escapes) Salesforce refuses the query.
    for bad in ("'100\\% Pure'", "'Under\\_Score Ltd'", "'x\\q'"):
        error = error_of(sf, f"SELECT Name FROM Account WHERE Name = {bad}")
        assert error["errorCode"] == "MALFORMED_QUERY"
        assert "Illegal character sequence" in error["message"]


def test_quoted_user_text_cannot_change_the_query(sf: Salesforce) -> None:
    # What the bot must send for user input "x' OR Name != 'y": escaped, it is just a name.
    result = sf.query("SELECT Name FROM Account WHERE Name = 'x\\' OR Name != \\'y'")
    assert result["totalSize"] == 0


def test_id_literals_accept_15_and_18_characters(sf: Salesforce, world: World) -> None:
    acme = world.acct["acme"]
    for literal in (acme, acme[:15], acme.lower()):
        result = sf.query(f"SELECT Name FROM Account WHERE Id = '{literal}'")
        assert names(result) == ["Acme Corp"], literal
    pms = sf.query(
        f"SELECT Id FROM blng__PaymentMethod__c WHERE blng__Account__c IN "
        f"('{acme[:15]}', '{world.acct['bob']}')"
    )
    assert pms["totalSize"] == 3


# Dates --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("CreatedDate = TODAY", ["t1"]),
        ("CreatedDate = YESTERDAY", []),
        ("CreatedDate = LAST_N_DAYS:3", ["t1", "t2"]),
        ("CreatedDate = LAST_N_DAYS:10", ["t1", "t2", "t3"]),
        ("CreatedDate < LAST_N_DAYS:7", ["t3", "t4"]),
        ("CreatedDate > YESTERDAY", ["t1"]),
        ("CreatedDate = THIS_MONTH", ["t1", "t2", "t3"]),
        ("CreatedDate = LAST_MONTH", ["t4"]),
        ("CreatedDate = N_DAYS_AGO:3", ["t2"]),
        ("CreatedDate != TODAY", ["t2", "t3", "t4"]),
        ("CreatedDate >= 2024-03-05T00:00:00Z", ["t1", "t2", "t3"]),
        ("CreatedDate < 2024-03-05T09:00:01+00:00", ["t3", "t4"]),
        ("CreatedDate > 2024-03-12T10:00:00+02:00", ["t1", "t2"]),
        ("CreatedDate = 2024-03-15T09:00:00.000Z", ["t1"]),
    ],
)
def test_datetime_literals(sf: Salesforce, world: World, where: str, expected: list[str]) -> None:
    result = sf.query(f"SELECT Id FROM blng__PaymentTransaction__c WHERE {where}")
    by_id = {v: k for k, v in world.tx.items()}
    assert sorted(by_id[r["Id"]] for r in result["records"]) == expected


def test_date_fields_take_dates_and_date_literals(sf: Salesforce) -> None:
    due = sf.query(
        "SELECT blng__DueDate__c FROM blng__Invoice__c WHERE blng__DueDate__c < 2024-03-20"
    )
    assert names(due, "blng__DueDate__c") == ["2024-03-01"]
    soon = sf.query(
        "SELECT blng__DueDate__c FROM blng__Invoice__c WHERE blng__DueDate__c = NEXT_N_DAYS:7"
    )
    assert names(soon, "blng__DueDate__c") == ["2024-03-20"]
    # Salesforce refuses a datetime for a date field, a date for a datetime field, quotes.
    for where in (
        "blng__DueDate__c = 2024-03-01T00:00:00Z",
        "CreatedDate = 2024-03-01",
        "blng__DueDate__c = '2024-03-01'",
    ):
        error = error_of(sf, f"SELECT Id FROM blng__Invoice__c WHERE {where}")
        assert error["errorCode"] == "INVALID_QUERY_FILTER_OPERATOR", where


def test_datetimes_are_returned_in_salesforce_format(sf: Salesforce) -> None:
    record = sf.query(
        "SELECT CreatedDate FROM blng__PaymentTransaction__c WHERE blng__Amount__c = 100"
    )["records"][0]
    assert record["CreatedDate"] == "2024-03-15T09:00:00.000+0000"


# ORDER BY, LIMIT, OFFSET --------------------------------------------------------------------


def test_order_by_directions_nulls_and_several_fields(sf: Salesforce) -> None:
    asc = sf.query("SELECT Name FROM Account WHERE Type != null ORDER BY Type, Name DESC")
    assert names(asc) == [
        "Bob's BBQ",
        "Acme Corp",
        "Under_Score Ltd",
        "Dup Two",
        "Empty Co",
        "acme labs",
    ]
    nulls_last = sf.query("SELECT Name, Type FROM Account ORDER BY Type ASC NULLS LAST, Name")
    assert [r["Type"] for r in nulls_last["records"]][-2:] == [None, None]
    nulls_first = sf.query("SELECT Type FROM Account ORDER BY Type DESC NULLS FIRST")
    assert [r["Type"] for r in nulls_first["records"]][:2] == [None, None]
    default_desc = sf.query("SELECT Type FROM Account ORDER BY Type DESC")
    assert [r["Type"] for r in default_desc["records"]][-1] is None  # DESC: nulls last
    by_parent = sf.query(
        "SELECT blng__PaymentGatewayToken__c FROM blng__PaymentMethod__c "
        "WHERE blng__PaymentGatewayToken__c != null "
        "ORDER BY blng__Account__r.Name DESC, blng__PaymentGatewayToken__c"
    )
    # Text sorts without regard to case: "acme labs" > "Acme Corp" > "100% Pure".
    assert names(by_parent, "blng__PaymentGatewayToken__c") == [
        "card_333",
        "pm_111",
        "tok_222",
        "pm_555",
    ]


def test_limit_and_offset(sf: Salesforce) -> None:
    page = sf.query("SELECT Name FROM Account ORDER BY Name LIMIT 2 OFFSET 1")
    assert names(page) == ["acme labs", "Acme Corp"] or names(page) == ["Acme Corp", "acme labs"]
    assert page["totalSize"] == 2
    assert sf.query("SELECT Name FROM Account LIMIT 0")["totalSize"] == 0
    error = error_of(sf, "SELECT Name FROM Account LIMIT 5 OFFSET 2001")
    assert error["errorCode"] == "NUMBER_OUTSIDE_VALID_RANGE"


# Aggregates ---------------------------------------------------------------------------------


def test_count_returns_only_a_total(sf: Salesforce) -> None:
    result = sf.query("SELECT COUNT() FROM Account WHERE Type = 'Other'")
    assert result == {"totalSize": 2, "done": True, "records": []}
    assert sf.query("SELECT COUNT() FROM Account LIMIT 3")["totalSize"] == 3


def test_count_field_and_count_distinct_with_expr_aliases(sf: Salesforce) -> None:
    result = sf.query(
        "SELECT COUNT(Id), COUNT(Stripe_Customer_Id__c), "
        "COUNT_DISTINCT(Stripe_Customer_Id__c) distinctIds FROM Account"
    )
    record = result["records"][0]
    assert record == {
        "attributes": {"type": "AggregateResult"},
        "expr0": 8,
        "expr1": 6,
        "distinctIds": 5,
    }


def test_group_by_with_having_finds_duplicate_stripe_ids(sf: Salesforce) -> None:
    result = sf.query(
        "SELECT Stripe_Customer_Id__c, COUNT(Id) n FROM Account "
        "WHERE Stripe_Customer_Id__c != null GROUP BY Stripe_Customer_Id__c "
        "HAVING COUNT(Id) > 1"
    )
    assert result["records"] == [
        {"attributes": {"type": "AggregateResult"}, "Stripe_Customer_Id__c": "cus_dup", "n": 2}
    ]


def test_group_by_relationship_field_sum_max_and_order(sf: Salesforce) -> None:
    result = sf.query(
        "SELECT blng__Account__r.Name, SUM(blng__Amount__c), "
        "MAX(blng__Amount__c) biggest, MIN(CreatedDate) FROM "
        "blng__PaymentTransaction__c GROUP BY blng__Account__r.Name "
        "ORDER BY SUM(blng__Amount__c) DESC"
    )
    first = result["records"][0]
    assert first["Name"] == "Acme Corp"
    assert first["expr0"] == 350.5 and first["biggest"] == 250.5
    assert first["expr1"] == "2024-03-12T09:00:00.000+0000"
    assert [r["Name"] for r in result["records"]] == ["Acme Corp", "acme labs", "Bob's BBQ"]


def test_group_by_boolean_and_count_per_gateway_type(sf: Salesforce) -> None:
    result = sf.query(
        "SELECT blng__Active__c, COUNT(Id) FROM blng__PaymentMethod__c "
        "GROUP BY blng__Active__c ORDER BY blng__Active__c"
    )
    assert [(r["blng__Active__c"], r["expr0"]) for r in result["records"]] == [
        (False, 1),
        (True, 4),
    ]


def test_aggregate_rules(sf: Salesforce) -> None:
    error = error_of(sf, "SELECT Name, COUNT(Id) FROM Account")
    assert error["errorCode"] == "MALFORMED_QUERY" and "grouped or aggregated" in error["message"]
    error = error_of(sf, "SELECT Name n FROM Account")
    assert "aliasing" in error["message"]
    error = error_of(sf, "SELECT SUM(Name) FROM Account")
    assert error["errorCode"] == "MALFORMED_QUERY"


# Semi-joins ---------------------------------------------------------------------------------


def test_semi_join_and_anti_join(sf: Salesforce) -> None:
    with_pm = sf.query(
        "SELECT Name FROM Account WHERE Stripe_Customer_Id__c = null AND Id IN "
        "(SELECT blng__Account__c FROM blng__PaymentMethod__c)"
    )
    assert names(with_pm) == ["100% Pure"]
    without = sf.query(
        "SELECT Name FROM Account WHERE Id NOT IN (SELECT blng__Account__c FROM "
        "blng__PaymentMethod__c WHERE blng__Active__c = true) ORDER BY Name"
    )
    assert names(without) == ["Back\\slash Inc", "Dup Two", "Empty Co", "Under_Score Ltd"]


# Errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("soql", "code", "words"),
    [
        ("SELECT Id, Foo__c FROM Account", "INVALID_FIELD", "No such column 'Foo__c' on entity"),
        ("SELECT Id FROM Account WHERE Nme = 'x'", "INVALID_FIELD", "No such column 'Nme'"),
        (
            "SELECT blng__Acount__r.Name FROM blng__PaymentMethod__c",
            "INVALID_FIELD",
            "Didn't understand relationship 'blng__Acount__r'",
        ),
        ("SELECT Id FROM Accounts", "INVALID_TYPE", "sObject type 'Accounts' is not supported"),
        (
            "SELECT Id, (SELECT Id FROM PaymentMethods) FROM Account",
            "INVALID_TYPE",
            "Didn't understand relationship 'PaymentMethods'",
        ),
        (
            "SELECT Id FROM Account WHERE Name = 'a' AND Type = 'b' OR Type = 'c'",
            "MALFORMED_QUERY",
            "unexpected token: 'OR'",
        ),
        ("SELECT FROM Account", "MALFORMED_QUERY", "unexpected token"),
        ("SELECT Id Account", "MALFORMED_QUERY", "unexpected token"),
        ("SELECT Id FROM Account WHERE", "MALFORMED_QUERY", "'<EOF>'"),
        ("SELECT Id FROM Account WHERE Name = 'open", "MALFORMED_QUERY", "ERROR at Row:1"),
        ('SELECT Id FROM Account WHERE Name = "x"', "MALFORMED_QUERY", "ERROR at Row:1"),
        ("SELECT Id FROM Account LIMIT 10 garbage", "MALFORMED_QUERY", "unexpected token"),
        ("SELECT Id FROM Account WHERE Name = :name", "MALFORMED_QUERY", "Bind variables"),
        ("SELECT Id, Id FROM Account", "MALFORMED_QUERY", "duplicate field selected: Id"),
        (
            "SELECT Id FROM blng__PaymentMethod__c WHERE blng__Active__c = 'true'",
            "INVALID_QUERY_FILTER_OPERATOR",
            "must be of type boolean",
        ),
        (
            "SELECT Id FROM Account WHERE Name = 5",
            "INVALID_QUERY_FILTER_OPERATOR",
            "must be of type string",
        ),
        (
            "SELECT Id FROM Account WHERE Id = 'not-an-id'",
            "INVALID_QUERY_FILTER_OPERATOR",
            "invalid ID field: not-an-id",
        ),
        (
            "SELECT Id FROM blng__PaymentTransaction__c WHERE blng__Amount__c = '5'",
            "INVALID_QUERY_FILTER_OPERATOR",
            "must be of type double",
        ),
        (
            "SELECT Id FROM Account WHERE Name LIKE 5",
            "INVALID_QUERY_FILTER_OPERATOR",
            "must be of type string",
        ),
        ("", "MALFORMED_QUERY", "query string"),
    ],
)
def test_query_errors_use_salesforce_codes(
    sf: Salesforce, soql: str, code: str, words: str
) -> None:
    error = error_of(sf, soql)
    assert error["errorCode"] == code
    assert words in error["message"]


def test_error_messages_point_at_the_offending_token(sf: Salesforce) -> None:
    error = error_of(sf, "SELECT Id,\n  Foo__c FROM Account")
    assert error["message"] == (
        "\n  Foo__c FROM Account\n  ^\nERROR at Row:2:Column:3\nNo such column 'Foo__c' on "
        "entity 'Account'. If you are attempting to use a custom field, be sure to append the "
        "'__c' after the custom field name. Please reference your WSDL or the describe call for "
        "the appropriate names."
    )


def test_hidden_objects_are_unknown_types(world: World, sf: Salesforce) -> None:
    world.org.set_access("blng__BillingConfig__c", False)
    try:
        error = error_of(sf, "SELECT Id FROM blng__BillingConfig__c")
        assert error["errorCode"] == "INVALID_TYPE"
        assert "sObject type 'blng__BillingConfig__c' is not supported" in error["message"]
        names_seen = [o["name"] for o in sf.describe()["sobjects"]]
        assert "blng__BillingConfig__c" not in names_seen
    finally:
        world.org.set_access("blng__BillingConfig__c", True)
    assert sf.query("SELECT COUNT() FROM blng__BillingConfig__c")["totalSize"] == 0


# Paging -------------------------------------------------------------------------------------


@pytest.fixture
def paged(world: World) -> Iterator[tuple[Salesforce, Any]]:
    server = start_salesforce(world.org, port=0, page_size=3)
    try:
        yield sf_connect(server), server
    finally:
        server.stop()


def test_paging_follows_next_records_url(paged: tuple[Salesforce, Any]) -> None:
    sf, _ = paged
    first = sf.query("SELECT Name FROM Account ORDER BY Name")
    assert first["totalSize"] == 8 and first["done"] is False
    assert len(first["records"]) == 3
    url = first["nextRecordsUrl"]
    assert url.startswith("/services/data/v59.0/query/01g") and url.endswith("-3")
    second = sf.query_more(url, identifier_is_url=True)
    third = sf.query_more(second["nextRecordsUrl"], identifier_is_url=True)
    assert third["done"] is True and "nextRecordsUrl" not in third
    seen = names(first) + names(second) + names(third)
    assert seen == names(sf.query_all("SELECT Name FROM Account ORDER BY Name"))
    assert len(seen) == 8 and len(set(seen)) == 8
    # Locators stay valid until they expire: the same page can be fetched again.
    assert names(sf.query_more(url, identifier_is_url=True)) == names(second)


def test_paging_keeps_children_and_relationships(paged: tuple[Salesforce, Any]) -> None:
    sf, _ = paged
    records = sf.query_all(
        "SELECT Name, blng__Account__r.Name, (SELECT Id FROM "
        "blng__PaymentTransactions__r) FROM blng__PaymentMethod__c "
        "ORDER BY Name"
    )["records"]
    assert len(records) == 5
    assert all(r["blng__Account__r"]["Name"] for r in records)
    assert (
        sum((r["blng__PaymentTransactions__r"] or {"totalSize": 0})["totalSize"] for r in records)
        == 4
    )


def test_query_all_iter_through_simple_salesforce(paged: tuple[Salesforce, Any]) -> None:
    sf, server = paged
    server.reset_counters()
    assert len(list(sf.query_all_iter("SELECT Id FROM Account"))) == 8
    assert server.api_calls == 3  # 8 records in pages of 3


def test_unknown_or_expired_locators(paged: tuple[Salesforce, Any]) -> None:
    sf, _ = paged
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query_more("01g000000000000AAA-3")
    assert info.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"
    first = sf.query("SELECT Id FROM Account")
    for _ in range(10):  # a user has ten open cursors; the eleventh releases the oldest
        sf.query("SELECT Id FROM Account")
    with pytest.raises(SalesforceMalformedRequest):
        sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)


def test_batch_size_header_is_honoured_between_200_and_2000(world: World) -> None:
    server = start_salesforce(world.org, port=0)
    try:
        session = sf_session(server)
        response = session.get(
            f"{server.instance_url}/services/data/v59.0/query",
            params={"q": "SELECT Id FROM Account"},
            headers={
                "Authorization": f"Bearer {server.access_token}",
                "Sforce-Query-Options": "batchSize=1",
            },
        )
        assert response.status_code == 200
        assert response.json()["done"] is True  # 8 records < the 200 minimum batch
    finally:
        server.stop()


def test_any_api_version_is_served(world: World) -> None:
    server = start_salesforce(world.org, port=0, page_size=3)
    try:
        sf = sf_connect(server, version="52.0")
        result = sf.query("SELECT Id FROM Account")
        assert result["nextRecordsUrl"].startswith("/services/data/v52.0/query/")
        assert result["records"][0]["attributes"]["url"].startswith("/services/data/v52.0/")
    finally:
        server.stop()


# Scale and robustness -----------------------------------------------------------------------


def test_paging_holds_ids_not_records() -> None:
    org = Org()
    try:
        ids = org.create_many("Account", [{"Name": f"A{i:05d}"} for i in range(5000)])
        first = org.query("SELECT Id, Name FROM Account ORDER BY Name DESC", page_size=2000)
        assert first["totalSize"] == 5000 and len(first["records"]) == 2000
        cursor = next(iter(org._cursors.values()))
        assert cursor.ids[0] == ids[-1] and isinstance(cursor.ids[0], str)
        assert len(org.query_all("SELECT Id FROM Account")) == 5000
    finally:
        org.close()


_FRAGMENTS = st.sampled_from(
    [
        "SELECT",
        "Id",
        "Name",
        ",",
        "FROM",
        "Account",
        "blng__PaymentMethod__c",
        "WHERE",
        "=",
        "!=",
        "<",
        "LIKE",
        "IN",
        "NOT",
        "AND",
        "OR",
        "(",
        ")",
        "'x'",
        "'a\\'b'",
        "'\\%'",
        "null",
        "true",
        "5",
        "-1.5",
        "2024-01-01",
        "2024-01-01T00:00:00Z",
        "TODAY",
        "LAST_N_DAYS:3",
        "ORDER BY",
        "DESC",
        "NULLS LAST",
        "LIMIT",
        "OFFSET",
        "GROUP BY",
        "HAVING",
        "COUNT()",
        "COUNT(Id)",
        "blng__Account__r.Name",
        ".",
        ":",
        "'",
        "\\",
        "SELECT Id FROM Account",
        "(SELECT Id FROM blng__PaymentMethods__r)",
        "FIELDS(ALL)",
        "\n",
        "é",
        "\x00",
    ]
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.one_of(st.lists(_FRAGMENTS, max_size=14).map(" ".join), st.text(max_size=60)))
def test_malformed_input_never_crashes(world: World, text: str) -> None:
    try:
        result = world.org.query(text)
    except SalesforceError as exc:
        assert exc.status == 400 and exc.error_code.isupper()
    else:
        assert "totalSize" in result
