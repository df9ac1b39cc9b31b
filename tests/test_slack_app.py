"""The Slack plumbing end to end: signed requests into the real Bolt app over HTTP, answers
through the Slack Web API stand-in and response URLs."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from bot.storage import recent_commands
from tests.plugins.bot import RunningBot


def ephemeral_texts(bot: RunningBot, user: str) -> list[str]:
    return [m.get("text", "") for m in bot.slack.ephemeral(user=user)]


def wait_ephemeral(bot: RunningBot, user: str, needle: str, timeout: float = 10.0) -> str:
    return bot.slack.wait_until(
        lambda: next((t for t in ephemeral_texts(bot, user) if needle in t), None),
        timeout=timeout,
        what=f"an ephemeral message containing {needle!r}",
    )


def test_help_is_answered_in_the_ack(slack_bot: RunningBot) -> None:
    result = slack_bot.sender.slash("/billing", "help", user=slack_bot.requester)
    assert result.status == 200
    body = result.json()
    assert body["response_type"] == "ephemeral"
    assert "Here is what you can run" in body["text"]
    for name in ("customer", "pm", "import", "imports", "audit", "help"):
        assert f"• {name}:" in body["text"]


def test_help_lists_only_what_the_user_may_run(slack_bot: RunningBot) -> None:
    approver = slack_bot.sender.slash("/billing", "help", user=slack_bot.approver).json()["text"]
    assert "• customer:" in approver and "• audit:" in approver
    assert "• import:" not in approver  # approvers approve; they do not request
    outsider = slack_bot.sender.slash("/billing", "", user=slack_bot.outsider).json()["text"]
    assert "• help:" in outsider
    assert "• customer:" not in outsider and "• import:" not in outsider
    assert "Ask #billing-ops" in outsider


def test_unknown_subcommand_gets_help_not_silence(slack_bot: RunningBot) -> None:
    body = slack_bot.sender.slash("/billing", "frobnicate <!channel>", user=slack_bot.requester)
    text = body.json()["text"]
    assert "I don't know the command “frobnicate”" in text
    assert "• customer:" in text
    row = slack_bot.slack.wait_until(lambda: recent_commands(slack_bot.services.db))[0]
    assert (row["command"], row["outcome"]) == ("frobnicate", "unknown_subcommand")


def test_unauthorised_user_is_refused_politely_and_logged(slack_bot: RunningBot) -> None:
    result = slack_bot.sender.slash("/billing", "customer Acme", user=slack_bot.outsider)
    assert result.status == 200
    text = wait_ephemeral(slack_bot, slack_bot.outsider, "Sorry")
    assert text == (
        "Sorry, you are not set up to look up customers and payment methods with the billing "
        "bot. Please ask #billing-ops to add you."
    )
    slack_bot.slack.wait_until(
        lambda: any(r["outcome"] == "refused" for r in recent_commands(slack_bot.services.db))
    )
    row = recent_commands(slack_bot.services.db)[0]
    assert (row["user_id"], row["command"], row["outcome"]) == (
        slack_bot.outsider,
        "customer",
        "refused",
    )


def test_bad_signature_and_stale_timestamp_get_401(slack_bot: RunningBot) -> None:
    bad = slack_bot.sender.slash("/billing", "help", bad_signature=True)
    assert bad.status == 401
    stale = slack_bot.sender.slash("/billing", "help", timestamp=int(time.time()) - 301)
    assert stale.status == 401
    fresh = slack_bot.sender.slash("/billing", "help", timestamp=int(time.time()) - 240)
    assert fresh.status == 200
    assert not [r for r in recent_commands(slack_bot.services.db) if r["outcome"] == "refused"]


def test_a_retried_request_has_its_effect_once(slack_bot: RunningBot) -> None:
    first = slack_bot.sender.slash("/billing", "customer Acme", user=slack_bot.outsider)
    wait_ephemeral(slack_bot, slack_bot.outsider, "Sorry")
    retry = slack_bot.sender.resend(first, retry_num=1, retry_reason="http_timeout")
    assert retry.status == 200
    time.sleep(0.5)  # give a wrongly re-run handler the chance to answer twice
    refusals = [t for t in ephemeral_texts(slack_bot, slack_bot.outsider) if "Sorry" in t]
    assert len(refusals) == 1
    logged = [r for r in recent_commands(slack_bot.services.db) if r["command"] == "customer"]
    assert len(logged) == 1


def test_acks_are_fast_even_when_the_work_is_slow(slack_bot: RunningBot) -> None:
    # Salesforce points at a closed port here, so the work fails after the ack; the ack
    # itself must not wait for it.
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(
            pool.map(
                lambda i: slack_bot.sender.slash(
                    "/billing", f"audit {i}", user=slack_bot.requester
                ),
                range(10),
            )
        )
    assert all(r.status == 200 for r in results)
    assert all(r.body == "" for r in results)  # an empty ack: the answer follows by response_url


def test_healthz(slack_bot: RunningBot) -> None:
    import urllib.request

    url = slack_bot.url.replace("/slack/events", "/healthz")
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.status == 200
