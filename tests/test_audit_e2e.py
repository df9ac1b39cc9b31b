"""The audit end to end: the real Bolt app over HTTP, the seeded Salesforce and Stripe
stand-ins, and the Slack stand-in showing what people in the alerts channel would see.

The seeded org is shared by the module (see `seeded`), so nothing here changes it for good:
tests that fix records live in test_audit_e2e_changes.py.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest

from bot.audit_store import AuditStore
from bot.features.audit import CHART_FILENAME, audit_and_post, run_audit
from bot.stripe_gateway import StripeGateway
from commands.audit import Status
from commands.audit.catalogue import CODES_IN_ORDER, SPECS, STRIPE_CODES
from tests.plugins.bot import BotRig, RunningBot


def fast_stripe(rig: RunningBot) -> None:
    """The gateway's rate limit is tested with the gateway; here it would only slow tests."""
    rig.services.__dict__["stripe"] = StripeGateway(rig.services.settings, rate=250)


def summary_posts(rig: RunningBot) -> list[dict]:
    return [
        m
        for m in rig.slack.messages(rig.alerts)
        if not m.get("thread_ts") or m.get("thread_ts") == m.get("ts")
    ]


def wait_ephemeral(rig: RunningBot, user: str, needle: str) -> dict:
    return rig.slack.wait_until(
        lambda: next(
            (m for m in rig.slack.ephemeral(user=user) if needle in m.get("text", "")), None
        ),
        timeout=60,
        what=f"an ephemeral message containing {needle!r}",
    )


def block_texts(message: dict) -> str:
    out = []
    for block in message.get("blocks", []):
        text = block.get("text")
        if isinstance(text, dict):
            out.append(text.get("text", ""))
        for element in block.get("elements", []) or []:
            if isinstance(element, dict) and "text" in element:
                out.append(str(element["text"]))
    return "\n".join(out)


def thread_files(rig: RunningBot, ts: str) -> dict[str, bytes]:
    files = {}
    for message in rig.slack.thread(rig.alerts, ts):
        for f in message.get("files", []):
            files[f["name"]] = rig.slack.file_content(f["id"])
    return files


def test_every_check_counts_exactly_what_the_seed_planted(bot_rig: BotRig) -> None:
    fast_stripe(bot_rig)
    result = run_audit(bot_rig.services, kind="cli", requested_by="test", record=False)
    counts = {c.code: c.count for c in result.checks}
    assert list(counts) == list(CODES_IN_ORDER)
    assert counts == bot_rig.seed.expected
    statuses = {c.code: c.status for c in result.checks}
    assert statuses["batch_size"] == Status.WARN  # the seed sets 50
    assert statuses["stripe_gateway"] == Status.PASS
    assert Status.UNKNOWN not in statuses.values()
    assert "Setup > Installed Packages > Salesforce Billing > Configure > Payment tab" in (
        result.check("batch_size").message
    )
    # The seed's own examples are among the findings, linked to their records.
    instance = bot_rig.services.salesforce.instance_url
    for code, examples in bot_rig.seed.examples.items():
        if code in ("batch_size", "stripe_gateway"):
            continue
        found = {f.record_id: f for f in result.check(code).findings}
        for example in examples:
            assert example["id"] in found, (code, example)
            assert found[example["id"]].link == f"{instance}/{example['id']}"
    tokens = [e["token"] for e in bot_rig.seed.examples["pm_single_use_token"]]
    everything = json.dumps([f.detail for f in result.findings])
    assert tokens and not any(t in everything for t in tokens)


def test_audit_post_puts_the_summary_in_the_alerts_channel_with_a_csv(bot_rig: BotRig) -> None:
    fast_stripe(bot_rig)
    bot_rig.sender.slash("/billing", "audit post", user=bot_rig.requester)
    wait_ephemeral(bot_rig, bot_rig.requester, "Posted the audit summary in <#C0ALERTS>")
    [post] = summary_posts(bot_rig)
    text = block_texts(post)
    expected = bot_rig.seed.expected
    assert post["blocks"][0]["type"] == "header"
    assert post["blocks"][0]["text"]["text"] == "Billing audit: 13 failing, 5 warnings"
    assert "First audit: nothing to compare with yet." in text
    assert (
        f":x: *Expired cards*: {expected['card_expired']}" in text
        and f":warning: *Cards expiring within 30 days*: {expected['card_expiring']}" in text
        and ":warning: *Payment creation batch size*: 50: Stripe recommends 70" in text
        and ":white_check_mark: *Stripe payment gateway*: active: Stripe" in text
    )
    instance = bot_rig.services.salesforce.instance_url
    example = bot_rig.seed.examples["pm_missing_gateway"][0]["id"]
    assert f"<{instance}/{example}|PM-" in text  # examples link to their records

    csv_name = f"audit-{datetime.now(UTC):%Y-%m-%d}.csv"
    files = thread_files(bot_rig, post["ts"])
    assert set(files) == {csv_name}  # no chart before there is history
    rows = list(csv.DictReader(io.StringIO(files[csv_name].decode())))
    run = AuditStore(bot_rig.services.db)
    stored = run.db.execute("SELECT COUNT(*) FROM audit_findings").fetchone()[0]
    assert len(rows) == stored
    by_code: dict[str, int] = {}
    for row in rows:
        by_code[row["code"]] = by_code.get(row["code"], 0) + 1
    for code, count in expected.items():
        if code not in ("batch_size", "stripe_gateway"):
            assert by_code.get(code, 0) == count, code
    assert by_code["batch_size"] == 1
    content = files[csv_name].decode()
    for example in bot_rig.seed.examples["pm_single_use_token"]:
        assert example["token"] not in content
    assert run.db.execute("SELECT posted, channel FROM audit_runs").fetchall() == [
        (1, bot_rig.alerts)
    ]

    # A second summary compares with the first and draws the history.
    bot_rig.sender.slash("/billing", "audit post", user=bot_rig.approver)
    wait_ephemeral(bot_rig, bot_rig.approver, "Posted the audit summary")
    second = summary_posts(bot_rig)[-1]
    assert "0 new, 0 resolved" in block_texts(second)
    files = thread_files(bot_rig, second["ts"])
    assert set(files) == {csv_name, CHART_FILENAME}
    assert files[CHART_FILENAME].startswith(b"\x89PNG")
    rows = list(csv.DictReader(io.StringIO(files[csv_name].decode())))
    assert {r["since_last_run"] for r in rows} == {"still open"}


def test_a_private_audit_answers_only_the_requester(bot_rig: BotRig) -> None:
    fast_stripe(bot_rig)
    bot_rig.sender.slash("/billing", "audit", user=bot_rig.requester)
    answer = wait_ephemeral(bot_rig, bot_rig.requester, "Billing audit:")
    text = block_texts(answer)
    assert ":x: *Accounts with payment methods but no Stripe Customer ID*" in text
    assert "other checks pass" in text
    assert "`/billing audit post` posts it in <#C0ALERTS>" in text
    assert summary_posts(bot_rig) == []
    assert AuditStore(bot_rig.services.db).runs() == 0


def test_an_outsider_cannot_run_or_post_an_audit(bot_rig: BotRig) -> None:
    bot_rig.sender.slash("/billing", "audit post", user=bot_rig.outsider)
    refusal = wait_ephemeral(bot_rig, bot_rig.outsider, "Sorry")
    assert refusal["text"] == (
        "Sorry, you are not set up to run audits with the billing bot. "
        "Please ask #billing-ops to add you."
    )
    assert summary_posts(bot_rig) == []
    assert AuditStore(bot_rig.services.db).runs() == 0


def test_unreadable_settings_and_no_stripe_key_are_unknown_never_pass(bot_rig: BotRig) -> None:
    bot_rig.services.__dict__["stripe"] = None
    bot_rig.org.set_access("blng__BillingConfig__c", readable=False)
    try:
        result = run_audit(bot_rig.services, kind="cli", requested_by="test", record=False)
    finally:
        bot_rig.org.set_access("blng__BillingConfig__c", readable=True)
    batch = result.check("batch_size")
    assert batch.status == Status.UNKNOWN
    assert batch.message.startswith("could not check: Salesforce:")
    assert "blng__BillingConfig__c" in batch.message
    for code in STRIPE_CODES:
        assert result.check(code).status == Status.UNKNOWN
        assert "not configured" in result.check(code).message
    assert result.check("pm_inactive").count == bot_rig.seed.expected["pm_inactive"]


def test_unreadable_invoices_and_transactions_are_unknown(bot_rig: BotRig) -> None:
    bot_rig.services.__dict__["stripe"] = None
    for name in ("blng__Invoice__c", "blng__PaymentTransaction__c"):
        bot_rig.org.set_access(name, readable=False)
    try:
        result = run_audit(bot_rig.services, kind="cli", requested_by="test", record=False)
    finally:
        for name in ("blng__Invoice__c", "blng__PaymentTransaction__c"):
            bot_rig.org.set_access(name, readable=True)
    for code in ("failed_transactions", "locked_invoices"):
        assert result.check(code).status == Status.UNKNOWN, code
    assert result.check("card_expired").status == Status.FAIL


@pytest.mark.parametrize("words", ["frobnicate", "post now"])
def test_unknown_words_get_the_usage(bot_rig: BotRig, words: str) -> None:
    bot_rig.sender.slash("/billing", f"audit {words}", user=bot_rig.requester)
    answer = wait_ephemeral(bot_rig, bot_rig.requester, "/billing audit")
    assert answer["text"].startswith("Use `/billing audit`")
    assert summary_posts(bot_rig) == []


def test_scheduled_job_posts_like_a_requested_one(bot_rig: BotRig) -> None:
    fast_stripe(bot_rig)
    result, ts = audit_and_post(
        bot_rig.services, bot_rig.app.client, kind="scheduled", requested_by="schedule"
    )
    [post] = summary_posts(bot_rig)
    assert post["ts"] == ts and result.run_id == 1
    text = block_texts(post)
    for check in result.checks:
        if check.status != Status.PASS:
            assert f"*{SPECS[check.code].title}*" in text, check.code
