"""The audit end to end when the org changes between runs or misbehaves during one.

This module edits its seeded org (fixes records, turns on faults): it has its own `seeded`
(module scope), so no other module sees the edits.
"""

from __future__ import annotations

import pytest

from bot.audit_store import AuditStore
from bot.features.audit import audit_and_post, run_audit
from commands.audit import Status
from sandbox.salesforce import Org, start_salesforce
from tests.plugins.bot import BotRig
from tests.test_audit_e2e import block_texts, fast_stripe, summary_posts, wait_ephemeral

PM = "blng__PaymentMethod__c"


def test_the_summary_says_what_was_fixed_and_what_is_new(bot_rig: BotRig) -> None:
    fast_stripe(bot_rig)
    seed = bot_rig.seed
    audit_and_post(bot_rig.services, bot_rig.app.client, kind="scheduled", requested_by="schedule")

    # Between the runs, someone fixes records in Salesforce (one fix creates a new problem).
    gateway = seed.gateways["stripe"]["id"]
    for example in seed.examples["pm_missing_gateway"]:
        bot_rig.org.update(PM, example["id"], {"blng__PaymentGateway__c": gateway})
    tyrell = seed.accounts["inactive_pm"]
    inactive = next(p for p in tyrell["payment_methods"] if not p["active"])
    bot_rig.org.update(PM, inactive["id"], {"blng__Active__c": True})
    missing_token = seed.examples["pm_missing_token"][0]["id"]
    bot_rig.org.update(PM, missing_token, {"blng__PaymentGatewayToken__c": "pm_TypedByHand0001"})

    bot_rig.sender.slash("/billing", "audit post", user=bot_rig.requester)
    wait_ephemeral(bot_rig, bot_rig.requester, "Posted the audit summary")
    first, second = summary_posts(bot_rig)
    text = block_texts(second)
    fixed_gateways = len(seed.examples["pm_missing_gateway"])
    assert fixed_gateways == seed.expected["pm_missing_gateway"]
    assert (
        f":white_check_mark: *Payment methods without a Payment Gateway*: none "
        f"_({fixed_gateways} resolved)_" in text
    )
    assert (
        f":warning: *Inactive payment methods*: {seed.expected['pm_inactive'] - 1} _(1 resolved)_"
        in text
    )
    assert (
        f":x: *Payment methods Stripe does not have*: {seed.expected['stripe_pm_missing'] + 1}"
        in text
    )
    assert "_(1 new)_" in text
    resolved = fixed_gateways + 1 + 1
    assert f"1 new, {resolved} resolved" in text

    runs = AuditStore(bot_rig.services.db)
    result = run_audit(bot_rig.services, kind="cli", requested_by="test", record=False)
    assert result.check("pm_missing_gateway").changes.to_dict() == {
        "new": 0,
        "resolved": 0,
        "open": 0,
    }  # compared with the second recorded run now
    assert runs.runs() == 2
    assert first["ts"] != second["ts"]


def test_salesforce_failing_mid_audit_gives_unknown_checks_not_a_crash(bot_factory, seeded):
    bot = bot_factory(seeded.settings(), SF_TIMEOUT="1")
    fast_stripe(bot)
    knobs = seeded.sf_server.knobs
    knobs.update({"seed": 11, "fault_rate": 0.25, "drop_rate": 0.1})
    knobs.update({"timeout_rate": 0.1, "timeout_seconds": 2})
    try:
        result, ts = audit_and_post(
            bot.services, bot.app.client, kind="scheduled", requested_by="schedule"
        )
    finally:
        knobs.update({"fault_rate": 0, "drop_rate": 0, "timeout_rate": 0})
    unknown = [c for c in result.checks if c.status == Status.UNKNOWN]
    assert unknown, "the faults should have hit at least one check"
    for check in unknown:
        assert check.message.startswith("could not check"), check.message
        assert "Salesforce" in check.message, check.message
    assert len(unknown) < len(result.checks)  # the others still ran
    post = summary_posts(bot)[-1]
    assert post["ts"] == ts
    assert ":grey_question:" in block_texts(post)


@pytest.fixture
def clean_org(bot_factory, stripe_api):
    """An org with nothing wrong: a Stripe gateway, batch size 70, one Account, no cards."""
    org = Org(stripe_customer_field="Stripe_Customer_Id__c")
    server = start_salesforce(org, port=0)
    org.create(
        "blng__PaymentGateway__c",
        {"Name": "Stripe", "blng__GatewayType__c": "Stripe", "blng__Default__c": True},
    )
    org.create(
        "blng__BillingConfig__c",
        {
            "Name": "PAYMENT_CREATION_BATCH_SIZE",
            "blng__Description__c": "Payment creation batch size",
            "blng__NumberValue__c": 70,
        },
    )
    account = org.create("Account", {"Name": "Acme Corporation"})
    try:
        bot = bot_factory({**server.settings(), **stripe_api.settings()}, AUDIT_QUIET="true")
        yield bot, org, account
    finally:
        server.stop()
        org.close()


def test_quiet_mode_posts_only_when_something_changed_or_failed(clean_org) -> None:
    bot, org, account = clean_org

    def scheduled():
        return audit_and_post(bot.services, bot.app.client, kind="scheduled", requested_by="s")

    result, ts = scheduled()
    assert {c.status for c in result.checks} == {Status.PASS}
    assert ts is not None  # the first audit always speaks
    assert block_texts(summary_posts(bot)[0]).count(":white_check_mark:") == 19

    result, ts = scheduled()
    assert ts is None and len(summary_posts(bot)) == 1  # nothing changed, nothing failed
    assert AuditStore(bot.services.db).runs() == 2  # still recorded

    org.create(
        "blng__Invoice__c",
        {
            "blng__Account__c": account,
            "blng__CorrectiveAction__c": "Action Required",
            "blng__InvoiceLocked__c": True,
        },
    )
    result, ts = scheduled()
    assert ts is not None and len(summary_posts(bot)) == 2
    assert ":x: *Invoices locked or needing action*: 1 _(1 new)_" in block_texts(
        summary_posts(bot)[1]
    )
    # Asked for in Slack, a summary is posted whatever quiet mode says.
    bot.sender.slash("/billing", "audit post", user=bot.requester)
    wait_ephemeral(bot, bot.requester, "Posted the audit summary")
    assert len(summary_posts(bot)) == 3
