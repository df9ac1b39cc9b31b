"""Security checks (DESIGN section 10, issue 8), end to end through the bot in HTTP mode.

- Requests: a bad or borrowed signature, a stale or future timestamp, a replay of a request
  already handled.
- Access: someone who may do nothing tries every way in (each `/billing` subcommand, each
  button, each modal, both shortcuts, a CSV by DM) and gets a polite refusal that is written to
  the command log; a requester cannot approve or reject their own import.

Tokens and keys in what the bot writes are checked for every test of the suite by the secret
scan (`tests/plugins/secrets.py`), not here.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from slack_sdk.signature import SignatureVerifier

from bot import features
from bot.features.import_blocks import APPROVE_ACTION, REJECT_ACTION, REJECT_VIEW
from bot.features.lookups import CHECK_PM_ACTION, SHARE_ACTION
from bot.imports_store import ImportStore
from bot.storage import recent_commands
from commands.imports.approval import Status
from sandbox.slack_api import APPROVALS_CHANNEL, OUTSIDER, REQUESTER, SUPPORT_CHANNEL
from tests.import_rig import NEW, WAIT, ImportWorld, csv_bytes, text_of
from tests.plugins.bot import SIGNING_SECRET, BotRig, RunningBot

# --- signatures, timestamps, replays --------------------------------------------------------


def test_a_replayed_request_is_answered_once(slack_bot: RunningBot) -> None:
    first = slack_bot.sender.slash("/billing", "help", user=slack_bot.requester)
    assert "Here is what you can run" in first.json()["text"]
    # The very same bytes, timestamp and signature again, as someone who captured them would.
    replay = slack_bot.sender.send(first.raw_body, first.content_type, timestamp=first.timestamp)
    assert replay.status == 200 and replay.body == ""
    assert [r["command"] for r in recent_commands(slack_bot.services.db)] == ["help"]


@pytest.mark.parametrize("skew", [-301, 301, -86_400], ids=["stale", "future", "a-day-old"])
def test_a_timestamp_more_than_five_minutes_off_is_refused(slack_bot: RunningBot, skew) -> None:
    result = slack_bot.sender.slash("/billing", "help", timestamp=int(time.time()) + skew)
    assert result.status == 401
    assert recent_commands(slack_bot.services.db) == []


def test_a_signature_of_another_body_is_refused(slack_bot: RunningBot) -> None:
    timestamp = str(int(time.time()))
    signed = SignatureVerifier(SIGNING_SECRET).generate_signature(
        timestamp=timestamp, body="command=%2Fbilling&text=help"
    )
    result = slack_bot.sender.slash(
        "/billing",
        "customer Acme",
        timestamp=timestamp,
        headers={"X-Slack-Signature": signed},
    )
    assert result.status == 401
    assert recent_commands(slack_bot.services.db) == []


@pytest.mark.parametrize(
    "headers",
    [{"X-Slack-Signature": ""}, {"X-Slack-Request-Timestamp": ""}, {"X-Slack-Signature": "v1=0"}],
    ids=["no-signature", "no-timestamp", "other-scheme"],
)
def test_a_request_without_a_valid_signature_is_refused(slack_bot: RunningBot, headers) -> None:
    result = slack_bot.sender.slash("/billing", "help", headers=headers)
    assert result.status == 401
    assert recent_commands(slack_bot.services.db) == []


# --- every way in, for someone who may do nothing ------------------------------------------------


def refused(rig: RunningBot, user: str, command: str, outcome: str = "refused") -> dict[str, Any]:
    """The command-log row of `user`'s refused `command` (waits for it)."""

    def find() -> dict[str, Any] | None:
        rows = recent_commands(rig.services.db, 200)
        return next(
            (
                r
                for r in rows
                if (r["user_id"], r["command"]) == (user, command)
                and r["outcome"].startswith(outcome)
            ),
            None,
        )

    return rig.slack.wait_until(find, WAIT, what=f"{user}'s {command} logged as {outcome}")


def told(rig: RunningBot, user: str, needle: str, channel: str | None = None) -> dict:
    """A private message to `user` containing `needle` (ephemeral, or in the DM)."""

    def find() -> dict | None:
        candidates = rig.slack.ephemeral(channel, user)
        candidates += rig.slack.messages(rig.slack.dm_channel(user))
        return next((m for m in candidates if needle in text_of(m)), None)

    return rig.slack.wait_until(find, WAIT, what=f"{needle!r} told to {user}")


GUARDED = sorted(name for name, sub in features.subcommands().items() if sub.capability != "help")


@pytest.mark.parametrize("name", GUARDED)
def test_every_subcommand_refuses_an_outsider_and_logs_it(slack_bot: RunningBot, name) -> None:
    assert slack_bot.sender.slash("/billing", f"{name} x", user=OUTSIDER).status == 200
    told(slack_bot, OUTSIDER, "Sorry, you are not set up to")
    refused(slack_bot, OUTSIDER, name)


def test_lookup_buttons_refuse_an_outsider_and_log_it(bot_rig: BotRig) -> None:
    bot_rig.sender.slash("/billing", "customer Acme Corporation", user=REQUESTER)
    answer = told(bot_rig, REQUESTER, "Accounts matching")

    bot_rig.sender.click(OUTSIDER, answer, CHECK_PM_ACTION)
    told(bot_rig, OUTSIDER, "not set up to look up")
    refused(bot_rig, OUTSIDER, "pm")
    bot_rig.sender.click(OUTSIDER, answer, SHARE_ACTION)
    told(bot_rig, OUTSIDER, "Only the person who asked can share")
    refused(bot_rig, OUTSIDER, "share")
    assert not [m for m in bot_rig.slack.messages(SUPPORT_CHANNEL) if "Shared by" in text_of(m)]


def test_import_ways_in_refuse_an_outsider_and_log_it(bot_rig: BotRig) -> None:
    world = ImportWorld(bot_rig)
    ((name, cus, card),) = world.customers("Guarded Co", 1)
    data = csv_bytes(NEW, [[name, cus, world.gateway(), "true", card]])

    bot_rig.sender.shortcut("import_csv_global", OUTSIDER)
    refused(bot_rig, OUTSIDER, "import")
    assert "not set up to request imports" in text_of(
        {"blocks": bot_rig.slack.current_view(OUTSIDER)["blocks"]}
    )

    world.slack.add_file(data, "theirs.csv", channel=SUPPORT_CHANNEL, text="import this")
    message = next(m for m in world.slack.messages(SUPPORT_CHANNEL) if "import this" in m["text"])
    bot_rig.sender.message_shortcut("import_csv_message", OUTSIDER, SUPPORT_CHANNEL, message)
    told(bot_rig, OUTSIDER, "not set up to request imports", SUPPORT_CHANNEL)
    refused(bot_rig, OUTSIDER, "import", "refused")

    bot_rig.sender.user_message(OUTSIDER, OUTSIDER, "", files=[world.upload(data, "dm.csv")])
    told(bot_rig, OUTSIDER, "not set up to request imports")

    # The requester's upload modal, submitted by someone else (a forged or replayed payload).
    view = world.open_modal()
    bot_rig.sender.view_submission(OUTSIDER, view, {"file": [world.upload(data, "x.csv")["id"]]})
    rows = lambda: [  # noqa: E731
        r
        for r in recent_commands(bot_rig.services.db, 200)
        if (r["user_id"], r["command"], r["outcome"]) == (OUTSIDER, "import", "refused")
    ]
    bot_rig.slack.wait_until(lambda: len(rows()) >= 4, WAIT, what="four refused imports logged")
    assert {r["detail"] for r in rows()} >= {"dm", "message_shortcut", "modal"}
    assert world.approval_messages() == []


def test_decisions_refuse_outsiders_and_the_requester_and_log_it(bot_rig: BotRig) -> None:
    world = ImportWorld(bot_rig)
    ((name, cus, card),) = world.customers("Decided Co", 1)
    data = csv_bytes(NEW, [[name, cus, world.gateway(), "true", card]])
    world.submit(world.upload(data, "d.csv"))
    request = world.wait_request("d.csv")
    number = world.request_number(request)

    for user, action, refusal in [
        (OUTSIDER, APPROVE_ACTION, "not_approver"),
        (OUTSIDER, REJECT_ACTION, "not_approver"),
        (REQUESTER, APPROVE_ACTION, "own_request"),  # the requester is an approver too
        (REQUESTER, REJECT_ACTION, "own_request"),
    ]:
        world.click(request, action, user=user)
        command = "import approve" if action == APPROVE_ACTION else "import reject"
        refused(bot_rig, user, command, f"refused:{refusal}")
    # The reason modal of a rejection, submitted by someone who could never open it.
    reason = {"reason": {"text": {"type": "plain_text_input", "value": "x"}}}
    bot_rig.sender.send_interaction(
        {
            "type": "view_submission",
            "user": {"id": OUTSIDER},
            "view": {
                "id": "V0FORGED",
                "type": "modal",
                "callback_id": REJECT_VIEW,
                "private_metadata": str(number),
                "state": {"values": reason},
            },
        }
    )
    rows = lambda: [  # noqa: E731
        r
        for r in recent_commands(bot_rig.services.db, 200)
        if r["user_id"] == OUTSIDER and r["command"] == "import reject"
    ]
    bot_rig.slack.wait_until(lambda: len(rows()) >= 2, WAIT, what="the forged rejection logged")
    told(bot_rig, REQUESTER, "You asked for this import", APPROVALS_CHANNEL)
    assert ImportStore(bot_rig.services.storage).get(number).status is Status.PENDING_APPROVAL
    assert world.payment_methods([card]) == []
