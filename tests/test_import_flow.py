"""Imports end to end: a CSV placed in Slack, the upload modal (or message shortcut, or DM),
the private report, the approval request, a second person's click, and the result CSVs in the
thread, through the Slack stand-in, the Salesforce stand-in (HTTPS) and localstripe."""

from __future__ import annotations

import pytest

from bot.imports_store import ImportStore
from sandbox.slack_api import APPROVALS_CHANNEL, OUTSIDER, REQUESTER, SUPPORT_CHANNEL
from tests.import_rig import (
    EXISTING,
    NEW,
    PM_ONLY,
    STRIPE_FIELD,
    WAIT,
    ImportWorld,
    buttons,
    csv_bytes,
    text_of,
)


@pytest.fixture
def world(bot_rig) -> ImportWorld:
    return ImportWorld(bot_rig)


def test_new_customers_from_upload_to_success_csv(world: ImportWorld) -> None:
    (name, cus, card), (name_2, cus_2, card_2) = world.customers("Brand New Ltd", 2)
    gateway = world.gateway()
    data = csv_bytes(
        NEW, [[name, cus, gateway, "true", card], [name_2, cus_2, gateway, "yes", card_2]]
    )
    file = world.upload(data, "new-customers.csv")

    world.submit(file, note="From the Q3 migration")
    report = world.wait_private("Sent to")
    assert "2 Accounts to create" in report["text"]
    assert "new customers and payment methods" in text_of(report)
    request = world.wait_request("new-customers.csv")
    shown = text_of(request)
    assert "From the Q3 migration" in shown and "pm_…" + card[-4:] in shown
    assert card not in shown  # tokens masked in the preview
    assert set(buttons(request)) == {"import_approve", "import_reject"}
    assert not world.accounts_with([cus, cus_2])  # nothing written before approval

    world.click(request, "import_approve")
    results = world.wait_results(request)

    accounts = {a[STRIPE_FIELD]: a for a in world.accounts_with([cus, cus_2])}
    assert accounts[cus]["Name"] == name and accounts[cus_2]["Name"] == name_2
    methods = {m["blng__PaymentGatewayToken__c"]: m for m in world.payment_methods([card, card_2])}
    assert methods[card]["blng__Account__c"] == accounts[cus]["Id"]
    assert methods[card_2]["blng__Account__c"] == accounts[cus_2]["Id"]
    assert all(m["blng__Active__c"] is True for m in methods.values())
    assert all(m["blng__PaymentGateway__c"] == gateway for m in methods.values())
    rows = {r["LINE"]: r for r in results["success"]}
    assert rows["2"]["ACCOUNT_ID"] == accounts[cus]["Id"]
    assert rows["2"]["PAYMENT_METHOD_ID"] == methods[card]["Id"]
    assert rows["2"]["STATUS"] == "Account created; payment method created"
    assert rows["2"]["Payment Gateway Token"] == "pm_…" + card[-4:]
    assert results["errors"] == []
    decided = world.message(request)
    assert buttons(decided) == []
    assert "Approved by" in text_of(decided)
    stored = ImportStore(world.rig.services.storage).get(world.request_number(request))
    progress = world.slack.message(APPROVALS_CHANNEL, stored.progress_ts)
    assert progress["thread_ts"] == request["ts"]
    assert "2 created · 0 updated · 0 skipped · 0 failed" in progress["text"]
    edits = [c.params["text"] for c in world.slack.calls_to("chat.update")
             if c.params.get("ts") == progress["ts"]]  # fmt: skip
    assert "writing Accounts: 0 of 2 rows done" in edits[0]  # one message, edited
    assert "finished: 2 created" in edits[-1]
    thread = world.slack.thread(APPROVALS_CHANNEL, request["ts"])
    assert sum("finished: 2 created" in m.get("text", "") for m in thread) == 1  # said once


def test_existing_accounts_get_their_stripe_id_and_payment_methods(world: ImportWorld) -> None:
    ((name, cus, card),) = world.customers("Existing Co", 1)
    account_id = world.account(name)  # in Salesforce, not yet linked to Stripe
    data = csv_bytes(EXISTING, [[account_id, cus, world.gateway(), "true", card]])
    file = world.upload(data, "existing.csv")

    world.submit(file)
    assert "1 Account to update" in world.wait_private("Sent to")["text"]
    request = world.wait_request("existing.csv")
    assert "existing customers and payment methods" in text_of(request)
    world.click(request, "import_approve")
    results = world.wait_results(request)

    (account,) = world.accounts_with([cus])
    assert account["Id"] == account_id
    (method,) = world.payment_methods([card])
    assert method["blng__Account__c"] == account_id
    (row,) = results["success"]
    assert row["STATUS"] == "Account updated; payment method created"
    assert row["PAYMENT_METHOD_ID"] == method["Id"]


def test_payment_methods_only(world: ImportWorld) -> None:
    ((name, cus, card),) = world.customers("Cards Only Co", 1)
    account_id = world.account(name, cus)
    data = csv_bytes(PM_ONLY, [[account_id, world.gateway(), "true", card]])
    file = world.upload(data, "cards.csv")

    world.submit(file, scenario="payment-methods")
    assert "1 payment method to create" in world.wait_private("Sent to")["text"]
    request = world.wait_request("cards.csv")
    world.click(request, "import_approve")
    results = world.wait_results(request)

    (method,) = world.payment_methods([card])
    assert method["blng__Account__c"] == account_id
    (row,) = results["success"]
    assert row["STATUS"] == "payment method created"
    assert row["ACCOUNT_ID"] == account_id and row["PAYMENT_METHOD_ID"] == method["Id"]


def test_rejected_rows_go_to_the_thread_and_the_good_rows_are_imported(world: ImportWorld):
    ((name, cus, card),) = world.customers("Half Good Ltd", 1)
    data = csv_bytes(
        NEW,
        [
            [name, cus, world.gateway(), "true", card],
            ['=HYPERLINK("http://evil")', "cus_bad", world.gateway(), "maybe", "tok_123456"],
        ],
    )
    file = world.upload(data, "half.csv")

    world.submit(file)
    report = world.wait_private("Sent to")
    assert "1 row rejected" in report["text"]
    assert "invalid_boolean" in text_of(report)
    request = world.wait_request("half.csv")

    def rejected_file(messages):
        return next(
            (f for m in messages for f in m.get("files") or [] if "rejected-rows" in f["name"]),
            None,
        )

    in_thread = world.slack.wait_until(
        lambda: rejected_file(world.thread(request)), WAIT, what="the rejected rows in the thread"
    )
    rejected = world.slack.file_content(in_thread["id"]).decode("utf-8-sig")
    assert "'=HYPERLINK" in rejected  # neutralised for spreadsheets
    assert "tok_123456" not in rejected  # tokens masked
    dm = world.slack.dm_channel(REQUESTER)
    assert world.slack.wait_until(lambda: rejected_file(world.slack.messages(dm)), WAIT)

    world.click(request, "import_approve")
    results = world.wait_results(request)
    assert [r["LINE"] for r in results["success"]] == ["2"]
    (error,) = results["errors"]
    assert error["LINE"] == "3" and error["ERROR"].startswith("rejected at validation")
    assert len(world.payment_methods([card])) == 1


def test_the_same_file_again_skips_everything_and_asks_nobody(world: ImportWorld) -> None:
    ((name, cus, card),) = world.customers("Twice Ltd", 1)
    data = csv_bytes(NEW, [[name, cus, world.gateway(), "true", card]])
    first = world.upload(data, "twice.csv")
    world.submit(first)
    request = world.wait_request("twice.csv")
    world.click(request, "import_approve")
    world.wait_results(request)

    again = world.upload(data, "twice-again.csv")
    world.submit(again)
    reply = world.wait_private("Nothing to import")
    assert "1 row skipped (already in Salesforce)" in reply["text"]
    assert not [m for m in world.approval_messages() if "twice-again.csv" in m["text"]]
    assert len(world.accounts_with([cus])) == 1 and len(world.payment_methods([card])) == 1


def test_the_message_shortcut_imports_the_csv_on_a_message(world: ImportWorld) -> None:
    ((name, cus, card),) = world.customers("Shortcut Co", 1)
    data = csv_bytes(NEW, [[name, cus, world.gateway(), "true", card]])
    world.slack.add_file(data, "shared.csv", channel=SUPPORT_CHANNEL, text="please import")
    message = next(
        m for m in world.slack.messages(SUPPORT_CHANNEL) if "please import" in m.get("text", "")
    )
    before = len(world.slack.calls_to("views.open"))
    world.rig.sender.message_shortcut("import_csv_message", REQUESTER, SUPPORT_CHANNEL, message)
    world.slack.wait_for("views.open", before + 1, WAIT)
    view = world.slack.current_view(REQUESTER)
    assert "shared.csv" in text_of({"blocks": view["blocks"]})

    world.rig.sender.view_submission(REQUESTER, view, {})
    world.wait_private("Sent to")
    request = world.wait_request("shared.csv")
    assert set(buttons(request)) == {"import_approve", "import_reject"}


def test_a_csv_sent_to_the_bot_by_dm_starts_the_same_flow(world: ImportWorld) -> None:
    ((name, cus, card),) = world.customers("Direct Co", 1)
    data = csv_bytes(NEW, [[name, cus, world.gateway(), "true", card]])
    file = world.slack.add_file(data, "direct.csv")
    world.rig.sender.user_message(REQUESTER, REQUESTER, "for the March batch", files=[file])

    request = world.wait_request("direct.csv")
    assert "for the March batch" in text_of(request)
    dm = world.slack.dm_channel(REQUESTER)
    replies = world.slack.wait_until(
        lambda: [m for m in world.slack.messages(dm) if "Sent to" in m.get("text", "")], WAIT
    )
    assert f"<#{APPROVALS_CHANNEL}>" in replies[0]["text"]


def test_the_global_shortcut_opens_the_modal_and_refuses_outsiders(world: ImportWorld) -> None:
    before = len(world.slack.calls_to("views.open"))
    world.rig.sender.shortcut("import_csv_global", REQUESTER)
    world.rig.sender.shortcut("import_csv_global", OUTSIDER)
    world.slack.wait_for("views.open", before + 2, WAIT)

    upload = world.slack.current_view(REQUESTER)
    assert upload["callback_id"] == "import_csv"
    kinds = {
        el.get("type")
        for block in upload["blocks"]
        if block.get("type") == "input"
        for el in [block["element"]]
    }
    assert kinds == {"file_input", "static_select", "plain_text_input"}
    refusal = world.slack.current_view(OUTSIDER)
    assert "not set up to request imports" in text_of({"blocks": refusal["blocks"]})


def test_imports_lists_recent_requests_for_importers_and_approvers(world: ImportWorld) -> None:
    ((name, cus, card),) = world.customers("Listed Co", 1)
    file = world.upload(csv_bytes(NEW, [[name, cus, world.gateway(), "true", card]]), "list.csv")
    world.submit(file)
    world.wait_request("list.csv")

    result = world.rig.sender.slash("/billing", "imports", user=world.rig.approver)
    shown = world.slack.wait_until(
        lambda: [r for r in world.slack.responses if r.url == result.response_url], WAIT
    )
    text = shown[0].payload["text"]
    assert "list.csv" in text and "waiting for approval" in text
    assert f"<@{REQUESTER}>" in text
    world.rig.sender.slash("/billing", "imports", user=OUTSIDER)
    refused = world.slack.wait_until(
        lambda: [r for r in world.slack.responses if "not set up to see imports" in str(r.payload)],
        WAIT,
    )
    assert refused


def test_stripe_unavailable_at_upload_is_a_warning_for_the_approver(world: ImportWorld) -> None:
    ((name, cus, card),) = world.customers("Stripe Down Co", 1)
    file = world.upload(csv_bytes(NEW, [[name, cus, world.gateway(), "true", card]]), "sd.csv")
    world.rig.stripe.knobs.set(rate_limit_rate=1.0)
    try:
        world.submit(file)
        report = world.wait_private("Sent to")
    finally:
        world.rig.stripe.knobs.reset()

    assert "Stripe could not check" in text_of(report)
    request = world.wait_request("sd.csv")
    assert "Not everything could be checked" in text_of(request)
    assert set(buttons(request)) == {"import_approve", "import_reject"}


def test_salesforce_unavailable_at_upload_sends_nothing_for_approval(world: ImportWorld) -> None:
    ((name, cus, card),) = world.customers("Salesforce Down Co", 1)
    file = world.upload(csv_bytes(NEW, [[name, cus, world.gateway(), "true", card]]), "sfd.csv")
    world.rig.sf.knobs.update({"fault_rate": 1.0})
    try:
        world.submit(file)
        reply = world.wait_private("Not sent for approval")
    finally:
        world.rig.sf.knobs.update({"fault_rate": 0.0})

    assert "Salesforce could not be checked" in reply["text"]
    assert not [m for m in world.approval_messages() if "sfd.csv" in m["text"]]
