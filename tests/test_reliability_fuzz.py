"""Hostile input (issue 8): import files, lookup text and Slack requests nobody should send.

The property tests run the promises in `tests/fuzz_inputs.py` over a few hundred generated
inputs each; `bench/fuzz.py` runs the same checks over 100,000+. The corpus tests go end to end:
Slack markup typed in a lookup and stored in Account names must reach people escaped, and must
not change which Accounts the query finds; malformed requests on /slack/events get a 4xx before
anything runs.
"""

from __future__ import annotations

import json
import logging
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings

from bot.salesforce.lookups import SalesforceLookups
from bot.slack_text import escape
from bot.storage import recent_commands
from commands.imports.csv_out import error_csv, problems_csv
from commands.lookups.query import clean
from tests.fuzz_inputs import (
    check_import,
    check_query,
    import_files,
    lookup_org,
    queries,
)
from tests.import_fakes import NEW_HEADER, csv_bytes, prepare
from tests.plugins.bot import BotRig, RunningBot
from tests.test_lookup_slack import TIMEOUT, shown

# --- import files -------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(import_files())
def test_any_upload_is_refused_with_a_reason_or_reported_row_by_row(data: bytes) -> None:
    assert check_import(data) == []


def test_a_token_in_the_wrong_column_is_masked_in_messages_and_csvs() -> None:
    token = "ba_1AbCdEfGhIjKlMnO"
    data = csv_bytes(NEW_HEADER, ["Acme", token, "a0G000000000001", "true", "pm_1234567890abcd"])
    report = prepare(data)
    assert [p.code for p in report.problems if p.line == 2][:1] == ["invalid_stripe_customer_id"]
    for text in (error_csv(report), problems_csv(report), *(p.message for p in report.problems)):
        assert token not in text
    assert "ba_…lMnO" in error_csv(report) and "ba_…lMnO" in problems_csv(report)


def test_a_superscript_month_is_a_row_problem_not_a_crash() -> None:
    header = [*NEW_HEADER, "Expiration Month"]
    report = prepare(csv_bytes(header, ["Acme", "cus_1", "a0G000000000001", "true", "pm_1", "²"]))
    assert "invalid_value" in [p.code for p in report.problems if p.column == "Expiration Month"]


def test_a_token_taken_for_a_column_name_is_masked_in_the_csvs() -> None:
    token = "pm_1AbCdEfGhIjKlMnO"
    report = prepare(csv_bytes([*NEW_HEADER, token], ["Acme", "cus_1", "x", "true", "pm_2", "1"]))
    for text in (error_csv(report), problems_csv(report)):
        assert token not in text and "pm_…lMnO" in text


# --- lookup text --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def directory() -> Iterator[SalesforceLookups]:
    with lookup_org() as found:
        yield found


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(queries())
def test_any_lookup_text_finds_exactly_the_names_that_contain_it(
    directory: SalesforceLookups, text: str
) -> None:
    assert check_query(text, directory) == []


def test_half_a_utf16_pair_is_searched_as_a_replacement_character(
    directory: SalesforceLookups,
) -> None:
    # What a shell hands `billing-bot customer` for bytes that are not UTF-8; it could not be
    # encoded for Salesforce.
    assert check_query("Acme \udced", directory) == []


# --- Slack markup in lookups --------------------------------------------------------------------

# Account names and typed queries carrying Slack's control sequences (a broadcast, a mention, a
# disguised link, formatting) and SOQL quoting. Each name gets a payment method, so `pm` shows it.
NAMES = [
    "Zq1 <!channel> Holdings",
    "Zq2 <@U0APPROVER> Partners",
    "Zq3 <https://evil.example|click here> Ltd",
    "Zq4 *bold* _it_ `code` & Co",
    "Zq5 ' OR Name != ' Inc",
]
TYPED = [
    "<!channel>",  # what Slack sends for @channel
    "&lt;!channel&gt;",  # what Slack sends for a typed <!channel>
    "Zq2 &lt;@U0APPROVER&gt;",
    "<https://evil.example|click here>",
    "Zq3 &lt;https://evil.example|click",
    "Zq4 *bold*",
    "Zq5 ' OR Name != '",
    "<!here> Zq",
]


@pytest.fixture
def hostile_rig(bot_rig: BotRig) -> BotRig:
    gateway = bot_rig.seed.gateways["stripe"]["id"]
    existing = {r["Name"] for r in bot_rig.org.query_all("SELECT Name FROM Account")}
    for n, name in enumerate(NAMES):
        if name in existing:  # the seeded org is shared by this module's tests
            continue
        account = bot_rig.org.create("Account", {"Name": name})
        bot_rig.org.create(
            "blng__PaymentMethod__c",
            {
                "blng__Account__c": account,
                "blng__Active__c": True,
                "blng__PaymentGateway__c": gateway,
                "blng__PaymentGatewayToken__c": f"pm_zq{n}NoSuchCard000",
            },
        )
    return bot_rig


def ask(rig: RunningBot, text: str) -> str:
    """The one answer to a slash command, as the person reads it."""
    before = len(rig.slack.ephemeral(user=rig.requester))
    assert rig.sender.slash("/billing", text, user=rig.requester).status == 200
    found = rig.slack.wait_until(
        lambda: (answers := rig.slack.ephemeral(user=rig.requester))[before:] and answers,
        timeout=TIMEOUT,
        what=f"the answer to {text!r}",
    )
    return shown(found[before])


def names_matching(rig: BotRig, typed: str) -> set[str]:
    """The hostile names a literal search for what was typed must find (Slack's markup read
    as it shows; ASCII letters in any case, as SOQL's LIKE)."""
    wanted = clean(typed).lower()
    return {name for name in NAMES if wanted in name.lower()}


def sequences(text: str) -> list[str]:
    """Every Slack control sequence (`<…>`) in a text."""
    return re.findall(r"<([^<>]*)>", text)


@pytest.mark.parametrize("command", ["customer", "pm"])
def test_slack_markup_typed_or_stored_is_shown_escaped_and_searched_literally(
    hostile_rig: BotRig, command: str
) -> None:
    safe = (hostile_rig.sf.instance_url, "https://dashboard.stripe.com")
    for typed in TYPED:
        text = ask(hostile_rig, f"{command} {typed}")
        for sequence in sequences(text):
            assert sequence.startswith(safe), f"<{sequence}> in the answer to {typed!r}"
        assert "Salesforce error" not in text
        for name in NAMES:
            shown_name = escape(name).replace("|", "¦") if command == "customer" else escape(name)
            expected = name in names_matching(hostile_rig, typed)
            assert (shown_name in text) is expected, (typed, name)


# --- requests Slack never sends -----------------------------------------------------------------

FORM = "application/x-www-form-urlencoded"
SLASH = {
    "command": "/billing",
    "text": "customer Acme",
    "user_id": "U0REQUESTER",
    "channel_id": "C0SUPPORT",
    "response_url": "http://127.0.0.1:9/hook",
    "trigger_id": "1.2.3",
}


def form(**fields: Any) -> str:
    return urlencode(fields)


MALFORMED = {
    "2 MB body": (form(**{**SLASH, "text": "customer " + "A" * 2_000_000}), FORM, 413),
    "broken JSON in payload=": (form(payload="{not json"), FORM, 400),
    "payload= not an object": (form(payload="[1, 2]"), FORM, 400),
    "button click without user": (
        form(payload=json.dumps({"type": "block_actions", "actions": [{"action_id": "x"}]})),
        FORM,
        400,
    ),
    "button click without actions": (
        form(payload=json.dumps({"type": "block_actions", "user": {"id": "U0REQUESTER"}})),
        FORM,
        400,
    ),
    "view submission without view": (
        form(payload=json.dumps({"type": "view_submission", "user": {"id": "U0REQUESTER"}})),
        FORM,
        400,
    ),
    "view submission whose view has no type": (
        form(payload=json.dumps({"type": "view_submission", "user": {"id": "U1"}, "view": {}})),
        FORM,
        400,
    ),
    "slash command without user": (form(**{**SLASH, "user_id": ""}), FORM, 400),
    "slash command without response_url": (
        form(**{k: v for k, v in SLASH.items() if k != "response_url"}),
        FORM,
        400,
    ),
    "text/plain": (form(**SLASH), "text/plain", 415),
    "no content type": (form(**SLASH), "", 415),
    "broken JSON body": ("{not json", "application/json", 400),
    "event_callback without event": (
        json.dumps({"type": "event_callback", "event_id": "Ev1"}),
        "application/json",
        400,
    ),
}


@pytest.mark.parametrize("body, content_type, status", MALFORMED.values(), ids=list(MALFORMED))
def test_malformed_requests_are_refused_before_anything_runs(
    slack_bot: RunningBot, caplog: pytest.LogCaptureFixture, body: str, content_type: str, status
) -> None:
    caplog.set_level(logging.INFO)
    result = slack_bot.sender.send(body, content_type)
    assert result.status == status
    assert result.json()["error"]  # a reason, in words
    assert recent_commands(slack_bot.services.db) == []
    assert [c.method for c in slack_bot.slack.calls if c.method != "auth.test"] == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def test_a_body_that_is_not_utf8_is_refused(slack_bot: RunningBot) -> None:
    request = urllib.request.Request(
        slack_bot.url, data=b"command=%2Fbilling&text=\xff\xfe", headers={"Content-Type": FORM}
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 400


def test_the_word_payload_in_a_command_is_just_a_word(slack_bot: RunningBot) -> None:
    # Bolt's own parser read any form body containing "payload" as an interaction and
    # dropped the command (HTTP 404: Slack shows the person an error).
    result = slack_bot.sender.slash("/billing", "help payload", user=slack_bot.requester)
    assert result.status == 200
    assert "Here is what you can run" in result.json()["text"]
