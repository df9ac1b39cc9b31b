"""The seed: every expected count re-derived from the org and from Stripe, independently.

The checks here do not reuse ``sandbox.seed.evaluate`` or ``commands.ids``: they read the data
back through the org's SOQL and the Stripe SDK and apply the definitions in ``sandbox.seed``'s
docstring from scratch, so a slip in the generator's own bookkeeping cannot hide itself.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import re
import signal
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
import stripe

from sandbox.seed import CODES, CYCLE, MIN_ACCOUNTS, NAMED, SeedReport, plan, seed
from sandbox.stripe import start_stripe
from tests.plugins.stripe import SEED_ACCOUNTS, STRIPE_FIELD, Seeded

ROOT = Path(__file__).resolve().parent.parent
CUSTOMER_ID = re.compile(r"^cus_[A-Za-z0-9]+$")
PM_FIELDS = (
    "Id, blng__Account__c, blng__Active__c, blng__AutoPay__c, blng__PaymentGateway__c, "
    "blng__PaymentGatewayToken__c, blng__PaymentType__c, blng__CardType__c, "
    "blng__CardLastFour__c, blng__CardExpirationMonth__c, blng__CardExpirationYear__c"
)


def _blank(value: Any) -> bool:
    return value is None or not str(value).strip()


def _looked_up(token: str | None) -> bool:
    return bool(token) and token.startswith(("pm_", "card_", "src_", "ba_"))


def _stripe_view(
    client: stripe.StripeClient, customer_ids: set[str], tokens: set[str]
) -> tuple[dict[str, str], dict[str, str | None | bool]]:
    """customer id -> found/deleted/missing; token -> its customer (None: detached; False:
    Stripe has no such object). Deleted customers are told apart through customer.deleted
    events, since localstripe answers 404 for them."""
    deleted = {
        event.data.object.id
        for event in client.v1.events.list(
            params={"type": "customer.deleted", "limit": 100}
        ).auto_paging_iter()
    }
    customers: dict[str, str] = {}
    for cid in customer_ids:
        try:
            client.v1.customers.retrieve(cid)
            customers[cid] = "found"
        except stripe.InvalidRequestError as exc:
            assert exc.http_status == 404
            customers[cid] = "deleted" if cid in deleted else "missing"
    attached: dict[str, str | None | bool] = {}
    for token in tokens:
        try:
            attached[token] = client.v1.payment_methods.retrieve(token).customer
        except stripe.InvalidRequestError as exc:
            assert exc.http_status == 404
            attached[token] = False
    return customers, attached


def observe(
    org: Any, client: stripe.StripeClient, today: dt.date, field: str = STRIPE_FIELD
) -> dict[str, set[str]]:
    """code -> Salesforce Ids with that defect, from the data as it is now."""
    accounts = org.query_all(f"SELECT Id, Name, {field} FROM Account")
    pms = org.query_all(f"SELECT {PM_FIELDS} FROM blng__PaymentMethod__c")
    by_account: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for pm in pms:
        by_account[pm["blng__Account__c"]].append(pm)
    stripe_id = {a["Id"]: a[field] for a in accounts}
    well_formed = {aid: sid for aid, sid in stripe_id.items() if sid and CUSTOMER_ID.match(sid)}
    customers, attached = _stripe_view(
        client,
        set(well_formed.values()),
        {
            p["blng__PaymentGatewayToken__c"]
            for p in pms
            if _looked_up(p["blng__PaymentGatewayToken__c"])
        },
    )
    shared = Counter(well_formed.values())
    found: dict[str, set[str]] = defaultdict(set)
    for aid, sid in stripe_id.items():
        if by_account[aid] and _blank(sid):
            found["account_missing_stripe_id"].add(aid)
        if not _blank(sid) and aid not in well_formed:
            found["account_malformed_stripe_id"].add(aid)
        if aid in well_formed and shared[sid] > 1:
            found["duplicate_stripe_customer_id"].add(aid)
        if aid in well_formed and customers[sid] != "found":
            found[f"stripe_customer_{customers[sid]}"].add(aid)
        if any(p["blng__AutoPay__c"] and not p["blng__Active__c"] for p in by_account[aid]):
            found["autopay_inactive"].add(aid)
    for pm in pms:
        token = pm["blng__PaymentGatewayToken__c"]
        if _blank(pm["blng__PaymentGateway__c"]):
            found["pm_missing_gateway"].add(pm["Id"])
        if _blank(token):
            found["pm_missing_token"].add(pm["Id"])
        if not pm["blng__Active__c"]:
            found["pm_inactive"].add(pm["Id"])
        if token and token.startswith(("tok_", "btok_")):
            found["pm_single_use_token"].add(pm["Id"])
        if token and token.startswith(("card_", "src_", "ba_")):
            found["pm_legacy_token"].add(pm["Id"])
        if pm["blng__PaymentType__c"] == "Credit Card":
            year = int(pm["blng__CardExpirationYear__c"])
            month = int(pm["blng__CardExpirationMonth__c"])
            end = dt.date(year, month, calendar.monthrange(year, month)[1])
            if end < today:
                found["card_expired"].add(pm["Id"])
            elif end <= today + dt.timedelta(days=30):
                found["card_expiring"].add(pm["Id"])
        if _looked_up(token):
            owner = attached[token]
            sid = well_formed.get(pm["blng__Account__c"])
            if owner is False:
                found["stripe_pm_missing"].add(pm["Id"])
            elif sid is not None and owner != sid:
                found["stripe_pm_other_customer"].add(pm["Id"])
    return found


def _count(org: Any, soql: str) -> int:
    return int(org.query(soql)["totalSize"])


# -------------------------------------------------------------------------------------------


def test_every_record_level_count_matches_the_data(seeded: Seeded) -> None:
    report = seeded.report
    found = observe(seeded.org, seeded.stripe_client(), seeded.today)
    for code in CODES:
        if code in ("batch_size", "stripe_gateway", "failed_transactions", "locked_invoices"):
            continue
        assert len(found[code]) == report.expected[code], code
        for example in report.examples[code]:
            assert example["id"] in found[code], (code, example)
    assert set(found) <= set(CODES)
    # every code has at least one case at the test size, so every check is exercised
    assert all(report.expected[code] > 0 for code in CODES)


def test_overlaps_are_only_the_documented_ones(seeded: Seeded) -> None:
    found = observe(seeded.org, seeded.stripe_client(), seeded.today)
    pm_account = {
        pm["Id"]: pm["blng__Account__c"]
        for pm in seeded.org.query_all("SELECT Id, blng__Account__c FROM blng__PaymentMethod__c")
    }
    per_account: dict[str, set[str]] = defaultdict(set)
    for code, ids in found.items():
        for record_id in ids:
            per_account[pm_account.get(record_id, record_id)].add(code)
    allowed = [
        {"autopay_inactive", "pm_inactive"},
        {"stripe_customer_missing", "stripe_pm_other_customer"},
    ]
    for codes in per_account.values():
        assert len(codes) == 1 or codes in allowed, codes
    # and each overlap is one-to-one, as documented
    autopay = found["autopay_inactive"]
    assert len([i for i in found["pm_inactive"] if pm_account[i] in autopay]) == len(autopay)
    missing = found["stripe_customer_missing"]
    assert len([i for i in found["stripe_pm_other_customer"] if pm_account[i] in missing]) == len(
        missing
    )


def test_localstripe_view_of_customers(seeded: Seeded) -> None:
    """Retrieve alone cannot tell deleted from missing on localstripe: both 404."""
    client = seeded.stripe_client()
    ids = {
        a[STRIPE_FIELD]
        for a in seeded.org.query_all(
            f"SELECT {STRIPE_FIELD} FROM Account WHERE {STRIPE_FIELD} != null"
        )
    }
    not_found = set()
    for cid in ids:
        if not CUSTOMER_ID.match(cid):
            continue
        try:
            client.v1.customers.retrieve(cid)
        except stripe.InvalidRequestError:
            not_found.add(cid)
    expected = seeded.report.expected_on_localstripe
    assert len(not_found) == expected["stripe_customer_missing"]
    assert expected["stripe_customer_deleted"] == 0
    assert expected["stripe_customer_missing"] == (
        seeded.report.expected["stripe_customer_missing"]
        + seeded.report.expected["stripe_customer_deleted"]
    )


def test_settings_gateways_transactions_invoices_by_aggregate_soql(seeded: Seeded) -> None:
    org, report = seeded.org, seeded.report
    configs = org.query_all(
        "SELECT Id, Name, blng__NumberValue__c, blng__Description__c FROM blng__BillingConfig__c"
        " WHERE blng__Description__c LIKE '%batch%size%'"
    )
    payment = [c for c in configs if "payment" in c["blng__Description__c"].lower()]
    assert len(configs) == 2 and len(payment) == 1  # "Invoice batch size" is the decoy
    assert payment[0]["blng__NumberValue__c"] == report.expected["batch_size"] == 50
    assert payment[0]["Id"] == report.settings["batch_size"]["id"]

    stripe_active = (
        "SELECT Id FROM blng__PaymentGateway__c WHERE blng__Active__c = true AND "
        "blng__GatewayType__c IN ('Stripe', 'Stripe (Universal Extension)')"
    )
    assert _count(org, stripe_active) == report.expected["stripe_gateway"] == 1
    assert _count(org, stripe_active + " AND blng__Default__c = true") == 1
    gateways = report.gateways
    assert {g["name"] for g in gateways.values()} == {
        "Stripe",
        "Stripe EU (retired)",
        "Authorize.net",
    }
    assert gateways["stripe"]["id"] == org.query_all(stripe_active)[0]["Id"]

    failed = "SELECT Id FROM blng__PaymentTransaction__c WHERE blng__GatewayStatus__c != 'Success'"
    recent = _count(org, failed + " AND CreatedDate = LAST_N_DAYS:30")
    assert recent == report.expected["failed_transactions"]
    assert _count(org, failed + " AND CreatedDate = LAST_N_DAYS:10") == recent
    assert _count(org, failed + " AND CreatedDate = LAST_N_DAYS:119") == recent
    assert _count(org, failed) > recent  # old failures exist, outside any recent window
    statuses = Counter(
        row["blng__GatewayStatus__c"]
        for row in org.query_all(
            failed.replace("SELECT Id", "SELECT blng__GatewayStatus__c")
            + " AND CreatedDate = LAST_N_DAYS:30"
        )
    )
    assert set(statuses) == {"Failure", "Decline"}  # "not Success" is not "= Failure"

    action = "SELECT Id FROM blng__Invoice__c WHERE blng__CorrectiveAction__c = 'Action Required'"
    assert _count(org, action) == report.expected["locked_invoices"]
    assert (
        _count(org, "SELECT Id FROM blng__Invoice__c WHERE blng__InvoiceLocked__c = true")
        == report.expected["locked_invoices"]
    )
    assert (
        _count(
            org,
            "SELECT Id FROM blng__Invoice__c WHERE blng__CorrectiveAction__c = 'Review Payment'",
        )
        > 0
    )
    duplicates = org.query_all(
        f"SELECT {STRIPE_FIELD} sid, COUNT(Id) n FROM Account WHERE {STRIPE_FIELD} != null "
        f"GROUP BY {STRIPE_FIELD} HAVING COUNT(Id) > 1"
    )
    assert sum(row["n"] for row in duplicates) == report.expected["duplicate_stripe_customer_id"]


def test_named_accounts(seeded: Seeded) -> None:
    org, accounts = seeded.org, seeded.report.accounts
    client = seeded.stripe_client()
    assert set(accounts) == {key for key, _, _ in NAMED}

    acme = accounts["healthy"]
    assert acme["name"] == "Acme Corporation" and len(acme["payment_methods"]) == 5
    customer = client.v1.customers.retrieve(acme["stripe_customer_id"])
    assert customer.name == "Acme Corporation"
    assert customer.invoice_settings.default_payment_method == acme["payment_methods"][0]["token"]
    for pm in acme["payment_methods"]:
        assert pm["active"] and pm["gateway_id"] == seeded.report.gateways["stripe"]["id"]
        assert pm["token"].startswith("pm_")
        assert client.v1.payment_methods.retrieve(pm["token"]).customer == customer.id
    cards = client.v1.payment_methods.list(params={"customer": customer.id, "type": "card"})
    assert len(cards.data) == 4  # the fifth is the ACH one (SEPA in localstripe)

    rows = org.query_all("SELECT Id FROM Account WHERE Name = 'O\\'Brien 100% Ltd'")
    assert [r["Id"] for r in rows] == [accounts["injection"]["id"]]

    twins = accounts["same_name"]
    assert len(twins) == 2 and twins[0]["name"] == twins[1]["name"]
    assert twins[0]["stripe_customer_id"] != twins[1]["stripe_customer_id"]
    assert _count(org, "SELECT Id FROM Account WHERE Name = 'Springfield Nuclear'") == 2

    pair = accounts["duplicate_id"]
    assert pair[0]["stripe_customer_id"] == pair[1]["stripe_customer_id"]
    assert pair[0]["name"] != pair[1]["name"]

    assert accounts["no_stripe_id"]["stripe_customer_id"] is None
    client.v1.customers.retrieve(accounts["no_stripe_id"]["stripe_customer_real"])
    assert accounts["prospect"]["payment_methods"] == []
    assert accounts["prospect"]["stripe_customer_id"] is None

    for key in ("deleted_customer", "missing_customer"):
        with pytest.raises(stripe.InvalidRequestError):
            client.v1.customers.retrieve(accounts[key]["stripe_customer_id"])
    other = accounts["other_customer_pm"]
    owner = client.v1.payment_methods.retrieve(other["payment_methods"][1]["token"]).customer
    assert owner not in (None, other["stripe_customer_id"])
    detached = accounts["detached_pm"]["payment_methods"][1]["token"]
    assert client.v1.payment_methods.retrieve(detached).customer is None
    assert accounts["single_use_token"]["payment_methods"][1]["token"].startswith("tok_")
    assert accounts["legacy_token"]["payment_methods"][1]["token"].startswith("card_")
    assert accounts["stripe_pm_missing"]["payment_methods"][1]["token"].startswith("pm_")


def _snapshot(org: Any) -> dict[str, list[dict[str, Any]]]:
    """Every seeded row, with server-minted ids replaced by their order of first appearance
    and "now" timestamps dropped: what must be identical between two seeds."""
    queries = {
        "Account": f"SELECT Id, Name, Type, Industry, {STRIPE_FIELD} FROM Account",
        "blng__PaymentGateway__c": "SELECT Id, Name, blng__Active__c, blng__Default__c, "
        "blng__GatewayType__c FROM blng__PaymentGateway__c",
        "blng__BillingConfig__c": "SELECT Id, Name, blng__Category__c, blng__Description__c, "
        "blng__FieldType__c, blng__NumberValue__c, blng__StringValue__c "
        "FROM blng__BillingConfig__c",
        "blng__PaymentMethod__c": f"SELECT {PM_FIELDS}, Name, blng__BankAccountName__c "
        "FROM blng__PaymentMethod__c",
        "blng__PaymentTransaction__c": "SELECT Id, Name, blng__Account__c, "
        "blng__PaymentMethod__c, blng__PaymentGateway__c, blng__Amount__c, "
        "blng__GatewayStatus__c, blng__Type__c, blng__ResponseMessage__c, CreatedDate "
        "FROM blng__PaymentTransaction__c",
        "blng__Invoice__c": "SELECT Id, Name, blng__Account__c, blng__InvoiceLocked__c, "
        "blng__CorrectiveAction__c, blng__PaymentStatus__c, blng__Balance__c "
        "FROM blng__Invoice__c",
    }
    minted = re.compile(r"^(?:cus|pm|card|tok)_(?!Seed)[A-Za-z0-9]+$|^[a-zA-Z0-9]{18}$")
    aliases: dict[str, str] = {}
    snapshot = {}
    for sobject, soql in queries.items():
        rows = []
        for record in org.query_all(soql + " ORDER BY Id"):
            record.pop("attributes", None)
            row = {}
            for key, value in record.items():
                if isinstance(value, str) and minted.match(value):
                    value = aliases.setdefault(value, f"#{len(aliases)}")
                row[key] = value
            rows.append(row)
        snapshot[sobject] = rows
    return snapshot


def test_deterministic_and_the_same_over_sdk_and_bulk(seeded: Seeded) -> None:
    from sandbox.salesforce import Org

    first = _snapshot(seeded.org)
    for mode in ("sdk", "bulk"):
        with (
            start_stripe() as stripe_server,
            Org(stripe_customer_field=STRIPE_FIELD, set_audit_fields=True) as org,
        ):
            report = seed(
                org,
                stripe_server.api_base,
                stripe_server.api_key,
                accounts=SEED_ACCOUNTS,
                today=seeded.today,
                stripe_mode=mode,
            )
            assert report.stripe_mode == mode
            assert report.expected == seeded.report.expected
            assert report.totals == seeded.report.totals
            assert _snapshot(org) == first, mode
            assert json.loads(json.dumps(report.to_dict())) == report.to_dict()


def test_bulk_seed_at_scale_counts_are_exact() -> None:
    """300 accounts: every generated role appears several times; the bulk route is used."""
    from sandbox.salesforce import Org

    with (
        start_stripe() as stripe_server,
        Org(stripe_customer_field="stripeGC__Customer_Id__c") as org,
    ):
        today = dt.date(2027, 2, 28)
        report = seed(org, stripe_server.api_base, stripe_server.api_key, accounts=300, today=today)
        assert report.stripe_mode == "bulk"
        assert report.stripe_customer_field == "stripeGC__Customer_Id__c"
        client = stripe.StripeClient(
            stripe_server.api_key,
            base_addresses={"api": stripe_server.api_base},
            max_network_retries=0,
        )
        found = observe(org, client, today, field="stripeGC__Customer_Id__c")
        for code in CODES:
            if code not in (
                "batch_size",
                "stripe_gateway",
                "failed_transactions",
                "locked_invoices",
            ):
                assert len(found[code]) == report.expected[code], code
        # no "Set Audit Fields": old failures are left out, so every failure counts
        assert (
            _count(
                org,
                "SELECT Id FROM blng__PaymentTransaction__c WHERE "
                "blng__GatewayStatus__c != 'Success'",
            )
            == report.expected["failed_transactions"]
        )
        assert report.expected["duplicate_stripe_customer_id"] > 2


def test_counts_scale_with_n() -> None:
    small, large = plan(100, dt.date(2026, 6, 15)), plan(1000, dt.date(2026, 6, 15))
    small_roles = Counter(a.role for a in small)
    large_roles = Counter(a.role for a in large)
    full_cycles = (1000 - len(NAMED)) // len(CYCLE)
    for role in set(CYCLE):
        assert large_roles[role] >= small_roles[role]
        assert large_roles[role] >= full_cycles * CYCLE.count(role), role
    assert sum(len(a.pms) for a in large) / len(large) == pytest.approx(2, abs=0.15)
    with pytest.raises(ValueError):
        plan(MIN_ACCOUNTS - 1, dt.date(2026, 6, 15))


def test_expiry_counts_do_not_drift_with_the_calendar() -> None:
    """Whatever `today` is (month ends, February, leap years), the same cards are expired or
    expiring under the day-granular definition."""
    from sandbox.seed import _expiry_state

    baseline = None
    day = dt.date(2027, 1, 1)
    while day < dt.date(2029, 1, 1):
        states = Counter(_expiry_state(pm, day) for acct in plan(120, day) for pm in acct.pms)
        if baseline is None:
            baseline = states
        assert states == baseline, day
        day += dt.timedelta(days=3)


def test_python_m_sandbox_serves_seeds_and_cleans_up() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--seed", "demo", "--accounts", str(MIN_ACCOUNTS)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        settings: dict[str, str] = {}
        lines = []
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            key, sep, value = line.strip().partition("=")
            if sep and key.isupper():
                settings[key] = value
            if line.startswith("READY"):
                break
        assert {
            "SF_INSTANCE_URL",
            "SF_ACCESS_TOKEN",
            "STRIPE_API_BASE",
            "STRIPE_API_KEY",
        } <= settings.keys(), lines
        assert "SF_CA_BUNDLE" in settings
        text = "\n".join(lines)
        assert "stripe_customer_deleted" in text and "Acme Corporation" in text
        client = stripe.StripeClient(
            settings["STRIPE_API_KEY"],
            base_addresses={"api": settings["STRIPE_API_BASE"]},
            max_network_retries=0,
        )
        assert len(client.v1.customers.list(params={"limit": 100}).data) > 0
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        ca_bundle = settings["SF_CA_BUNDLE"]
        assert not ca_bundle or not Path(ca_bundle).exists()
        with pytest.raises(stripe.APIConnectionError):
            client.v1.customers.list()
    finally:
        process.kill()
        process.wait(timeout=10)
        process.stdout.close()
        process.stderr.close()


def test_report_is_json(seeded: Seeded) -> None:
    data = seeded.report.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert set(data["expected"]) == set(CODES)
    assert isinstance(seeded.report, SeedReport)


def test_counts_over_the_wire_with_simple_salesforce(seeded: Seeded) -> None:
    """The same numbers through the REST API the bot uses, not only through the Org object."""
    sf = seeded.sf_client()
    report = seeded.report
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == report.totals["Account"]
    inactive = sf.query("SELECT COUNT() FROM blng__PaymentMethod__c WHERE blng__Active__c = false")[
        "totalSize"
    ]
    assert inactive == report.expected["pm_inactive"]
    no_gateway = sf.query(
        "SELECT COUNT() FROM blng__PaymentMethod__c WHERE blng__PaymentGateway__c = null"
    )["totalSize"]
    assert no_gateway == report.expected["pm_missing_gateway"]
    tok = sf.query(
        "SELECT COUNT() FROM blng__PaymentMethod__c "
        "WHERE blng__PaymentGatewayToken__c LIKE 'tok\\_%'"
    )["totalSize"]
    assert tok == report.expected["pm_single_use_token"]
    name = "O\\'Brien 100\\% Ltd"  # quote and LIKE wildcard escaped as SOQL requires
    found = sf.query(f"SELECT Id FROM Account WHERE Name LIKE '{name}'")["records"]
    assert [r["Id"] for r in found] == [report.accounts["injection"]["id"]]
