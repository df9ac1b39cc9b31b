"""`/billing customer` and `/billing pm` end to end: signed Slack requests into the real Bolt
app over HTTP, Salesforce and Stripe stand-ins (seeded) behind it, answers read from the Slack
stand-in as a person would see them."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from bot.features import customer as customer_feature
from bot.features import pm as pm_feature
from bot.features.lookups import CHECK_PM_ACTION, SHARE_ACTION
from bot.storage import recent_commands
from tests.plugins.bot import BotRig

TIMEOUT = 30.0


def shown(message: dict[str, Any]) -> str:
    """Everything a person reads in a message: section and context texts, button labels."""
    parts = [message.get("text", "")] if not message.get("blocks") else []
    for block in message.get("blocks") or []:
        text = block.get("text")
        if isinstance(text, dict):
            parts.append(text.get("text", ""))
        for element in block.get("elements") or []:
            label = element.get("text")
            parts.append(label.get("text", "") if isinstance(label, dict) else str(label or ""))
        accessory = block.get("accessory")
        if accessory:
            parts.append(accessory["text"]["text"])
    return "\n".join(parts)


def buttons(message: dict[str, Any], action_id: str) -> list[dict[str, Any]]:
    found = []
    for block in message.get("blocks") or []:
        candidates = list(block.get("elements") or []) + [block.get("accessory") or {}]
        found += [el for el in candidates if el.get("action_id") == action_id]
    return found


def answer(rig: BotRig, user: str, needle: str, count: int = 1) -> dict[str, Any]:
    """The `count`-th ephemeral message to `user` whose text contains `needle`."""

    def find() -> dict[str, Any] | None:
        hits = [m for m in rig.slack.ephemeral(user=user) if needle in shown(m)]
        return hits[count - 1] if len(hits) >= count else None

    return rig.slack.wait_until(find, timeout=TIMEOUT, what=f"an answer containing {needle!r}")


def ask(rig: BotRig, text: str, needle: str, user: str | None = None) -> dict[str, Any]:
    user = user or rig.requester
    result = rig.sender.slash("/billing", text, user=user, channel=rig.support)
    assert result.status == 200
    return answer(rig, user, needle)


def logged(rig: BotRig, command: str, count: int = 1) -> list[dict[str, Any]]:
    """The command log's rows for `command`, newest first, once `count` are there."""
    return rig.slack.wait_until(
        lambda: (
            (rows := [r for r in recent_commands(rig.services.db) if r["command"] == command])
            and len(rows) >= count
            and rows
        ),
        timeout=TIMEOUT,
        what=f"{count} logged {command}",
    )


def every_token(rig: BotRig) -> list[str]:
    tokens = []
    for value in rig.seed.accounts.values():
        for info in value if isinstance(value, list) else [value]:
            tokens += [p["token"] for p in info["payment_methods"] if p["token"]]
    return tokens


@pytest.fixture
def rig(bot_rig: BotRig) -> Iterator[BotRig]:
    yield bot_rig
    bot_rig.sf.knobs.update({"latency": 0, "fault_rate": 0, "drop_rate": 0})
    bot_rig.stripe.knobs.reset()


# --- customer -----------------------------------------------------------------------------------


def test_customer_answers_privately_with_both_sides(rig: BotRig) -> None:
    acme = rig.seed.accounts["healthy"]
    message = ask(rig, "customer Acme Corporation", "Accounts matching")
    text = shown(message)
    assert message["is_ephemeral"] and message["visible_to"] == rig.requester
    assert acme["id"] in text and acme["stripe_customer_id"] in text
    assert "Found in Stripe: “Acme Corporation”" in text
    assert f"dashboard.stripe.com/test/customers/{acme['stripe_customer_id']}" in text
    assert "Payment methods: 5 (5 active)" in text
    assert "No problems found" in text
    assert [b["value"] for b in buttons(message, CHECK_PM_ACTION)] == [acme["id"]]
    assert len(buttons(message, SHARE_ACTION)) == 1
    row = logged(rig, "customer")[0]
    assert (row["user_id"], row["args"], row["outcome"]) == (
        rig.requester,
        "Acme Corporation",
        "ok",
    )


def test_reverse_lookup_shows_the_conflict_on_both_accounts(rig: BotRig) -> None:
    twins = rig.seed.accounts["duplicate_id"]
    shared_id = twins[0]["stripe_customer_id"]
    text = shown(ask(rig, f"customer `{shared_id}`", "Accounts matching"))
    assert all(t["name"] in text for t in twins)
    assert text.count("`stripe_id_conflict`") == 2


def test_no_match_says_so_and_what_to_try(rig: BotRig) -> None:
    message = ask(rig, "customer Zzyzx Holdings", "No Account")
    text = shown(message)
    assert buttons(message, SHARE_ACTION) == []  # nothing worth sharing
    assert "No Account name contains “Zzyzx Holdings”" in text
    assert "Account Id" in text and "cus_" in text
    assert logged(rig, "customer")[0]["outcome"] == "no_match"


def test_the_button_on_an_account_runs_the_pm_check(rig: BotRig) -> None:
    acme = rig.seed.accounts["healthy"]
    message = ask(rig, "customer Acme Corporation", "Accounts matching")
    rig.sender.click(rig.requester, message, CHECK_PM_ACTION)
    checked = answer(rig, rig.requester, "Payment methods for")
    text = shown(checked)
    assert text.count("Ready to charge") == 5
    assert checked["is_ephemeral"]
    assert "Accounts matching" in shown(answer(rig, rig.requester, "Accounts matching"))  # kept
    row = logged(rig, "pm")[0]
    assert (row["args"], row["outcome"], row["detail"]) == (
        acme["id"],
        "ok",
        "button on a customer answer",
    )


def test_slack_formatting_around_the_text_is_tolerated(rig: BotRig) -> None:
    for typed in ("<https://acme.example|Acme Corporation>", "`Acme Corporation`", "*Acme*"):
        rig.sender.slash("/billing", f"customer   {typed}  ", user=rig.requester)
    rig.slack.wait_until(
        lambda: (
            len(
                [
                    m
                    for m in rig.slack.ephemeral(user=rig.requester)
                    if "Accounts matching" in shown(m)
                ]
            )
            == 3
        ),
        timeout=TIMEOUT,
        what="three answers",
    )
    answers = [shown(m) for m in rig.slack.ephemeral(user=rig.requester)]
    assert all("Acme Corporation" in a for a in answers)


def test_injection_typed_in_slack_is_a_plain_no_match(rig: BotRig) -> None:
    for typed in ("' OR Name != '", "%", "\\'", "x" * 3000):
        rig.sender.slash("/billing", f"customer {typed}", user=rig.requester)
    rig.slack.wait_until(
        lambda: len(rig.slack.ephemeral(user=rig.requester)) == 4, timeout=TIMEOUT, what="answers"
    )
    answers = [shown(m) for m in rig.slack.ephemeral(user=rig.requester)]
    assert not any("Salesforce error" in a for a in answers)
    assert sum("O'Brien 100% Ltd" in a for a in answers) == 1  # only "%" finds it
    outcomes = [r["outcome"] for r in logged(rig, "customer", count=4)]
    assert sorted(outcomes) == ["no_match", "no_match", "no_match", "ok"]


# --- pm -------------------------------------------------------------------------------------------


def test_pm_gives_one_verdict_per_method_with_reasons(rig: BotRig) -> None:
    umbrella = rig.seed.accounts["other_customer_pm"]
    text = shown(ask(rig, f"pm {umbrella['name']}", "Payment methods for"))
    assert text.count("Ready to charge") == 1 and text.count("Blocked") == 1
    assert "`stripe_pm_other_customer`" in text
    assert "Attach the payment method to this Account's Stripe customer" in text


def test_pm_by_token_masks_it_everywhere(rig: BotRig) -> None:
    token = rig.seed.accounts["healthy"]["payment_methods"][0]["token"]
    masked = f"pm_…{token[-4:]}"
    message = ask(rig, f"pm {token}", "Payment methods for")
    assert f"Payment methods for “{masked}”" in shown(message)
    assert token not in json.dumps(message)
    assert token not in json.dumps(recent_commands(rig.services.db))


def test_share_posts_a_copy_in_the_channel_saying_who_shared(rig: BotRig) -> None:
    acme = rig.seed.accounts["healthy"]
    message = ask(rig, f"pm {acme['name']}", "Payment methods for")
    rig.sender.click(rig.approver, message, SHARE_ACTION)  # someone else: refused
    assert "Only the person who asked" in shown(answer(rig, rig.approver, "Only the person"))
    rig.sender.click(rig.requester, message, SHARE_ACTION)
    posted = rig.slack.wait_until(
        lambda: [m for m in rig.slack.messages(rig.support) if "Shared by" in shown(m)],
        timeout=TIMEOUT,
        what="the shared copy",
    )
    (copy,) = posted
    text = shown(copy)
    assert not copy.get("is_ephemeral")
    assert f"Shared by <@{rig.requester}>" in text
    assert text.count("Ready to charge") == 5
    assert buttons(copy, SHARE_ACTION) == [] and buttons(copy, CHECK_PM_ACTION) == []
    everything = json.dumps(rig.slack.messages(rig.support)) + json.dumps(
        rig.slack.ephemeral(user=rig.requester)
    )
    assert not any(token in everything for token in every_token(rig))
    assert re.search(r"pm_…\w{4}", text)
    outcomes = [r["outcome"] for r in logged(rig, "share", count=2)]
    assert sorted(outcomes) == ["ok", "refused"]


# --- who may ask, and when the outside world fails ------------------------------------------------


def test_an_outsider_is_refused_politely_and_logged(rig: BotRig) -> None:
    rig.sender.slash("/billing", "customer Acme", user=rig.outsider, channel=rig.support)
    assert "not set up to look up" in shown(answer(rig, rig.outsider, "Sorry"))
    assert logged(rig, "customer")[0]["outcome"] == "refused"
    acme = rig.seed.accounts["healthy"]
    rig.sender.block_action(rig.outsider, CHECK_PM_ACTION, acme["id"], channel=rig.support)
    assert "not set up to look up" in shown(answer(rig, rig.outsider, "Sorry", count=2))
    assert logged(rig, "pm")[0]["outcome"] == "refused"


def test_stripe_down_still_answers_with_the_salesforce_side(rig: BotRig) -> None:
    rig.stripe.knobs.set(error_rate=1.0)
    text = shown(ask(rig, "customer Acme Corporation", "Accounts matching"))
    assert "Stripe unavailable: could not check" in text
    assert "Payment methods: 5 (5 active)" in text
    text = shown(ask(rig, "pm Acme Corporation", "Payment methods for"))
    assert text.count(":warning: *Warning*") == 5 and "Ready to charge" not in text


def test_salesforce_down_is_a_clear_error(rig: BotRig) -> None:
    rig.sf.knobs.update({"fault_rate": 1.0})
    text = shown(ask(rig, "customer Acme", "Salesforce error"))
    assert "Nothing was changed" in text and "Traceback" not in text
    assert logged(rig, "customer")[0]["outcome"] == "salesforce_error"
    rig.sf.knobs.update({"fault_rate": 0.0, "drop_rate": 1.0})
    assert "Salesforce" in shown(ask(rig, "pm Acme", "Salesforce"))


def test_salesforce_slow_shows_progress_then_the_answer(rig: BotRig) -> None:
    pm_id = rig.seed.accounts["healthy"]["payment_methods"][0]["id"]
    ask(rig, f"pm {pm_id}", "Payment methods for")  # org shape discovered: one query from now
    rig.sf.knobs.update({"latency": 2.5})
    rig.sender.slash("/billing", f"pm {pm_id}", user=rig.requester, channel=rig.support)
    answer(rig, rig.requester, "Still looking")
    final = answer(rig, rig.requester, "Payment methods for", count=2)
    assert "Ready to charge" in shown(final)
    replaced = [r for r in rig.slack.responses if r.action == "replace"]
    assert replaced, "the answer replaces the progress line"


def test_mrkdwn_in_an_account_name_is_shown_escaped(rig: BotRig) -> None:
    name = "Evil <!channel> & <@U0APPROVER> <https://phish.example|Acme> Co"
    rig.org.create("Account", {"Name": name})
    text = shown(ask(rig, "customer Evil", "Accounts matching"))
    assert "&lt;!channel&gt;" in text and "<!channel>" not in text
    assert "&lt;@U0APPROVER&gt;" in text and "&amp;" in text
    assert "<https://phish.example" not in text


# --- the terminal ---------------------------------------------------------------------------------


def cli(rig: BotRig, feature: Any, text: str, capsys: pytest.CaptureFixture[str]) -> Any:
    run_cli = feature.SUBCOMMANDS[0].run_cli
    status = run_cli(rig.services, argparse.Namespace(query=text.split(" "), json=True))
    return status, json.loads(capsys.readouterr().out)


def test_cli_json_shapes_and_exit_status(rig: BotRig, capsys: pytest.CaptureFixture[str]) -> None:
    status, data = cli(rig, customer_feature, "Acme Corporation", capsys)
    assert status == 0 and data["query"] == "Acme Corporation"
    assert data["matches"][0]["payment_methods_total"] == 5
    status, data = cli(rig, pm_feature, "Acme Corporation", capsys)
    assert status == 0 and [m["verdict"] for m in data["payment_methods"]] == ["ready"] * 5
    assert all(m["token_masked"].startswith("pm_…") for m in data["payment_methods"])
    status, data = cli(rig, customer_feature, "Zzyzx", capsys)
    assert status == 1 and data["matches"] == [] and data["hint"]
    assert [r["source"] for r in recent_commands(rig.services.db)[:3]] == ["cli"] * 3


# Named seed Accounts (sandbox/seed.py) and the codes `pm` must give their payment methods.
SEEDED_PROBLEMS = {
    "no_stripe_id": {"stripe_customer_id_missing"},
    "malformed_stripe_id": {"invalid_stripe_customer_id"},
    "deleted_customer": {"stripe_customer_deleted"},
    "missing_customer": {"stripe_customer_missing", "stripe_pm_other_customer"},
    "other_customer_pm": {"stripe_pm_other_customer"},
    "detached_pm": {"stripe_pm_other_customer"},
    "missing_gateway": {"gateway_not_found"},
    "missing_token": {"missing_required"},
    "inactive_pm": {"active_not_true"},
    "single_use_token": {"token_not_reusable"},
    "legacy_token": {"token_legacy"},
    "expired_card": {"card_expired"},
    "expiring_card": {"card_expiring"},
    "autopay_inactive": {"active_not_true"},
    "stripe_pm_missing": {"stripe_pm_missing"},
    "healthy": set(),
}


def test_pm_finds_every_seeded_defect(rig: BotRig, capsys: pytest.CaptureFixture[str]) -> None:
    for key, expected in SEEDED_PROBLEMS.items():
        account = rig.seed.accounts[key]
        _, data = cli(rig, pm_feature, account["id"], capsys)
        found = {p["code"] for m in data["payment_methods"] for p in m["problems"]}
        assert found == expected, key
        verdicts = {m["verdict"] for m in data["payment_methods"]}
        if not expected:
            assert verdicts == {"ready"}
        elif expected <= {"token_legacy", "card_expiring"}:
            assert "warning" in verdicts and "blocked" not in verdicts, key
        else:
            assert "blocked" in verdicts, key
