"""The Slack side of the test rig: the Web API stand-in and the signed-request sender.

Why these tests: every end-to-end test of the bot trusts that the stand-in answers like Slack
(shapes, errors, rate limits) and that the sender's requests pass Bolt's checks the way
Slack's do. The Web API half is driven through slack-sdk's own ``WebClient`` (the client the
bot uses); the sender half through a tiny Bolt app served over real HTTP.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from sandbox.slack_api import (
    ALERTS_CHANNEL,
    APPROVALS_CHANNEL,
    APPROVER,
    BOT_USER_ID,
    DEFAULT_BOT_TOKEN,
    OUTSIDER,
    REQUESTER,
    SUPPORT_CHANNEL,
    SlackApiServer,
    WsgiServer,
    start_slack_api,
)
from sandbox.slack_sender import SIGNING_SECRET, SlackSender

SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "*Import #7*"}}
BUTTONS = {
    "type": "actions",
    "block_id": "decide",
    "elements": [
        {
            "type": "button",
            "action_id": "approve",
            "value": "req-7",
            "style": "primary",
            "text": {"type": "plain_text", "text": "Approve"},
        },
        {
            "type": "button",
            "action_id": "reject",
            "value": "req-7",
            "style": "danger",
            "text": {"type": "plain_text", "text": "Reject"},
        },
    ],
}
IMPORT_VIEW = {
    "type": "modal",
    "callback_id": "import_modal",
    "title": {"type": "plain_text", "text": "Billing import"},
    "submit": {"type": "plain_text", "text": "Validate"},
    "private_metadata": "C0SUPPORT",
    "blocks": [
        {
            "type": "input",
            "block_id": "csv",
            "label": {"type": "plain_text", "text": "CSV"},
            "element": {
                "type": "file_input",
                "action_id": "file",
                "filetypes": ["csv"],
                "max_files": 1,
            },
        },
        {
            "type": "input",
            "block_id": "note",
            "optional": True,
            "label": {"type": "plain_text", "text": "Note"},
            "element": {"type": "plain_text_input", "action_id": "text"},
        },
    ],
}
CSV = b"Account Name,Stripe Customer ID\nAcme,cus_123\n"


@pytest.fixture
def client(slack_api: SlackApiServer) -> WebClient:
    return WebClient(token=DEFAULT_BOT_TOKEN, base_url=slack_api.api_url)


def _error(exc: pytest.ExceptionInfo[SlackApiError]) -> str:
    return str(exc.value.response["error"])


# ---------------------------------------------------------------------------------------------
# Web API stand-in through slack-sdk
# ---------------------------------------------------------------------------------------------
def test_api_url_binds_loopback_with_trailing_slash(slack_api: SlackApiServer) -> None:
    assert slack_api.api_url.startswith("http://127.0.0.1:")
    assert slack_api.api_url.endswith("/api/")


def test_auth_test_and_token_checks(slack_api: SlackApiServer, client: WebClient) -> None:
    me = client.auth_test()
    assert me["user_id"] == BOT_USER_ID and me["team_id"] == "T0001" and me["bot_id"]
    with pytest.raises(SlackApiError) as exc:
        WebClient(token="xoxb-wrong", base_url=slack_api.api_url).auth_test()
    assert _error(exc) == "invalid_auth"
    with pytest.raises(SlackApiError) as exc:
        WebClient(base_url=slack_api.api_url).auth_test()
    assert _error(exc) == "not_authed"
    assert [c.token for c in slack_api.calls_to("auth.test")] == [
        DEFAULT_BOT_TOKEN,
        "xoxb-wrong",
        None,
    ]


def test_form_and_json_bodies_are_both_read(slack_api: SlackApiServer, client: WebClient) -> None:
    # slack-sdk sends chat.postMessage as JSON and users.info as a form: both must be understood
    client.chat_postMessage(channel=SUPPORT_CHANNEL, text="hello", blocks=[SECTION])
    client.users_info(user=REQUESTER)
    post, info = slack_api.calls_to("chat.postMessage")[0], slack_api.calls_to("users.info")[0]
    assert post.headers["Content-Type"].startswith("application/json")
    assert info.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert post.params["blocks"] == [SECTION] and info.params == {"user": REQUESTER}
    # a form field holding JSON text (how blocks travel in form bodies) is decoded too
    client.api_call(
        "chat.postMessage",
        params={"channel": SUPPORT_CHANNEL, "text": "x", "blocks": json.dumps([SECTION])},
    )
    assert slack_api.calls_to("chat.postMessage")[1].params["blocks"] == [SECTION]


def test_post_message_threads_and_history(slack_api: SlackApiServer, client: WebClient) -> None:
    parent = client.chat_postMessage(channel=SUPPORT_CHANNEL, text="parent", blocks=[SECTION])
    assert parent["channel"] == SUPPORT_CHANNEL and parent["message"]["text"] == "parent"
    assert parent["message"]["blocks"][0]["block_id"]  # Slack fills in block_id
    reply = client.chat_postMessage(channel=SUPPORT_CHANNEL, text="r1", thread_ts=parent["ts"])
    assert reply["message"]["thread_ts"] == parent["ts"]
    # replying to a reply's ts threads under the parent, as Slack does
    client.chat_postMessage(channel=SUPPORT_CHANNEL, text="r2", thread_ts=reply["ts"])

    thread = slack_api.thread(SUPPORT_CHANNEL, parent["ts"])
    assert [m["text"] for m in thread] == ["parent", "r1", "r2"]
    assert thread[0]["reply_count"] == 2
    assert all(m["thread_ts"] == parent["ts"] for m in thread)
    assert [m["text"] for m in slack_api.messages(SUPPORT_CHANNEL)] == ["parent", "r1", "r2"]

    history = client.conversations_history(channel=SUPPORT_CHANNEL)
    assert [m["text"] for m in history["messages"]] == ["parent"]
    replies = client.conversations_replies(channel=SUPPORT_CHANNEL, ts=parent["ts"])
    assert [m["text"] for m in replies["messages"]] == ["parent", "r1", "r2"]


def test_post_by_channel_name_and_to_a_user(slack_api: SlackApiServer, client: WebClient) -> None:
    by_name = client.chat_postMessage(channel="#billing-alerts", text="audit")
    assert by_name["channel"] == ALERTS_CHANNEL
    dm = client.chat_postMessage(channel=REQUESTER, text="psst")
    assert dm["channel"].startswith("D")
    assert client.conversations_open(users=REQUESTER)["channel"]["id"] == dm["channel"]
    assert [m["text"] for m in slack_api.messages(dm["channel"])] == ["psst"]
    assert slack_api.messages(REQUESTER) == slack_api.messages(dm["channel"])  # user ID: DM
    with pytest.raises(KeyError):
        slack_api.messages("C0NOPE")


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_error_answers(slack_api: SlackApiServer, client: WebClient) -> None:
    cases: list[tuple[Callable[[], Any], str]] = [
        (lambda: client.chat_postMessage(channel="C0NOPE", text="x"), "channel_not_found"),
        (lambda: client.chat_postMessage(channel=SUPPORT_CHANNEL), "no_text"),
        (
            lambda: client.chat_postMessage(
                channel=SUPPORT_CHANNEL,
                text="x",
                blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
            ),
            "invalid_blocks",
        ),
        (
            lambda: client.chat_update(channel=SUPPORT_CHANNEL, ts="1.000001", text="x"),
            "message_not_found",
        ),
        (lambda: client.users_info(user="U0NOBODY"), "user_not_found"),
        (lambda: client.usergroups_users_list(usergroup="S0NOPE"), "no_such_subteam"),
        (lambda: client.files_info(file="F0NOPE"), "file_not_found"),
        (lambda: client.api_call("no.such.method"), "unknown_method"),
    ]
    for call, error in cases:
        with pytest.raises(SlackApiError) as exc:
            call()
        assert _error(exc) == error
    bad = slack_api.calls_to("chat.postMessage")[2]
    assert "json-pointer:/blocks/0/text/text" in bad.response["response_metadata"]["messages"][0]

    private = slack_api.add_channel("billing-secret", bot_member=False)
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel=private["id"], text="x")
    assert _error(exc) == "not_in_channel"


def test_cannot_edit_or_delete_a_persons_message(
    slack_api: SlackApiServer, client: WebClient
) -> None:
    theirs = slack_api.post_user_message(REQUESTER, SUPPORT_CHANNEL, "my message")
    with pytest.raises(SlackApiError) as exc:
        client.chat_update(channel=SUPPORT_CHANNEL, ts=theirs["ts"], text="mine now")
    assert _error(exc) == "cant_update_message"
    with pytest.raises(SlackApiError) as exc:
        client.chat_delete(channel=SUPPORT_CHANNEL, ts=theirs["ts"])
    assert _error(exc) == "cant_delete_message"


def test_update_edits_in_place(slack_api: SlackApiServer, client: WebClient) -> None:
    posted = client.chat_postMessage(
        channel=APPROVALS_CHANNEL, text="Import #7: pending", blocks=[SECTION, BUTTONS]
    )
    client.chat_postMessage(channel=APPROVALS_CHANNEL, text="later message")
    # text only: Slack keeps the blocks that were there
    updated = client.chat_update(channel=APPROVALS_CHANNEL, ts=posted["ts"], text="Import #7: 40%")
    assert updated["ts"] == posted["ts"] and updated["message"]["edited"]["user"] == BOT_USER_ID
    msgs = slack_api.messages(APPROVALS_CHANNEL)
    assert [m["text"] for m in msgs] == ["Import #7: 40%", "later message"]
    assert len(msgs[0]["blocks"]) == 2 and msgs[0]["edited"]
    # an empty blocks list removes them
    client.chat_update(channel=APPROVALS_CHANNEL, ts=posted["ts"], text="done", blocks=[])
    assert "blocks" not in slack_api.message(APPROVALS_CHANNEL, posted["ts"])


def test_delete_and_permalink(slack_api: SlackApiServer, client: WebClient) -> None:
    posted = client.chat_postMessage(channel=SUPPORT_CHANNEL, text="oops")
    link = client.chat_getPermalink(channel=SUPPORT_CHANNEL, message_ts=posted["ts"])
    assert link["permalink"].startswith(slack_api.base_url + "/archives/C0SUPPORT/p")
    client.chat_delete(channel=SUPPORT_CHANNEL, ts=posted["ts"])
    assert slack_api.messages(SUPPORT_CHANNEL) == []
    with pytest.raises(SlackApiError):
        client.chat_delete(channel=SUPPORT_CHANNEL, ts=posted["ts"])


def test_ephemeral_visibility(slack_api: SlackApiServer, client: WebClient) -> None:
    r = client.chat_postEphemeral(channel=SUPPORT_CHANNEL, user=REQUESTER, text="only you")
    assert r["message_ts"]
    assert slack_api.messages(SUPPORT_CHANNEL) == []
    assert slack_api.messages(SUPPORT_CHANNEL, visible_to=APPROVER) == []
    mine = slack_api.messages(SUPPORT_CHANNEL, visible_to=REQUESTER)
    assert [(m["text"], m["is_ephemeral"], m["visible_to"]) for m in mine] == [
        ("only you", True, REQUESTER)
    ]
    assert len(slack_api.ephemeral(user=REQUESTER)) == 1
    # ephemeral messages cannot be edited through chat.update (Slack's documented rule)
    with pytest.raises(SlackApiError) as exc:
        client.chat_update(channel=SUPPORT_CHANNEL, ts=r["message_ts"], text="x")
    assert _error(exc) == "message_not_found"
    narrow = slack_api.add_channel("billing-narrow", members=[APPROVER])
    with pytest.raises(SlackApiError) as exc:
        client.chat_postEphemeral(channel=narrow["id"], user=OUTSIDER, text="x")
    assert _error(exc) == "user_not_in_channel"


def test_people_groups_and_conversations(slack_api: SlackApiServer, client: WebClient) -> None:
    user = client.users_info(user=APPROVER)["user"]
    assert user["real_name"] == "Avery Approver" and user["profile"]["email"]
    info = client.conversations_info(channel=APPROVALS_CHANNEL)["channel"]
    assert info["name"] == "billing-approvals" and info["is_member"] is True
    groups = client.usergroups_list(include_users=True)["usergroups"]
    approvers = next(g for g in groups if g["handle"] == "billing-approvers")
    assert approvers["users"] == [APPROVER]
    assert "users" not in client.usergroups_list()["usergroups"][0]
    assert client.usergroups_users_list(usergroup=approvers["id"])["users"] == [APPROVER]

    slack_api.add_usergroup("billing-approvers", [APPROVER, OUTSIDER])
    assert client.usergroups_users_list(usergroup=approvers["id"])["users"] == [APPROVER, OUTSIDER]
    new = slack_api.add_user("dana", "Dana Doe", channels=[SUPPORT_CHANNEL])
    assert client.users_info(user=new["id"])["user"]["name"] == "dana"
    dm = client.conversations_open(users=APPROVER)["channel"]["id"]
    assert client.conversations_info(channel=dm)["channel"]["is_im"] is True


def test_views_open_push_update(slack_api: SlackApiServer, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as exc:
        client.views_open(trigger_id="", view=IMPORT_VIEW)
    assert _error(exc) == "invalid_arguments"
    with pytest.raises(SlackApiError) as exc:
        client.views_open(trigger_id="123.456.abc", view=IMPORT_VIEW)
    assert _error(exc) == "invalid_trigger_id"

    trigger = slack_api.new_trigger_id(REQUESTER)
    opened = client.views_open(trigger_id=trigger, view=IMPORT_VIEW)["view"]
    assert opened["id"].startswith("V") and opened["callback_id"] == "import_modal"
    assert opened["state"] == {"values": {}} and opened["hash"]
    assert slack_api.current_view(REQUESTER)["id"] == opened["id"]
    with pytest.raises(SlackApiError) as exc:  # trigger IDs are single-use
        client.views_open(trigger_id=trigger, view=IMPORT_VIEW)
    assert _error(exc) == "exchanged_trigger_id"

    loading = dict(IMPORT_VIEW, blocks=[SECTION])
    pushed = client.views_push(trigger_id=slack_api.new_trigger_id(REQUESTER), view=loading)
    assert [v["id"] for v in slack_api.views(REQUESTER)] == [opened["id"], pushed["view"]["id"]]

    updated = client.views_update(view_id=opened["id"], hash=opened["hash"], view=loading)
    assert updated["view"]["id"] == opened["id"] and updated["view"]["hash"] != opened["hash"]
    with pytest.raises(SlackApiError) as exc:  # stale hash
        client.views_update(view_id=opened["id"], hash=opened["hash"], view=loading)
    assert _error(exc) == "hash_conflict"

    too_long = dict(IMPORT_VIEW, title={"type": "plain_text", "text": "A title over 24 chars!!!!"})
    with pytest.raises(SlackApiError) as exc:
        client.views_open(trigger_id=slack_api.new_trigger_id(REQUESTER), view=too_long)
    assert _error(exc) == "invalid_arguments"
    assert "/view/title/text" in exc.value.response["response_metadata"]["messages"][0]

    slack_api.trigger_ttl = -1.0  # every trigger is already older than Slack's 3 s
    with pytest.raises(SlackApiError) as exc:
        client.views_open(trigger_id=slack_api.new_trigger_id(REQUESTER), view=IMPORT_VIEW)
    assert _error(exc) == "expired_trigger_id"


def test_files_upload_v2_into_a_thread(slack_api: SlackApiServer, client: WebClient) -> None:
    parent = client.chat_postMessage(channel=APPROVALS_CHANNEL, text="Import #7 approved")
    up = client.files_upload_v2(
        channel=APPROVALS_CHANNEL,
        thread_ts=parent["ts"],
        content=CSV,
        filename="success.csv",
        title="Success rows",
        initial_comment="Import #7: results",
    )
    f = up["file"]
    assert f["name"] == "success.csv" and f["title"] == "Success rows"
    assert f["size"] == len(CSV) and f["filetype"] == "csv" and f["mimetype"] == "text/csv"
    assert [c.method for c in slack_api.calls][-3:] == [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]
    thread = slack_api.thread(APPROVALS_CHANNEL, parent["ts"])
    assert len(thread) == 2
    file_msg = thread[1]
    assert file_msg["text"] == "Import #7: results" and file_msg["thread_ts"] == parent["ts"]
    assert [x["id"] for x in file_msg["files"]] == [f["id"]]
    info = client.files_info(file=f["id"])["file"]
    assert APPROVALS_CHANNEL in info["channels"]
    assert slack_api.file_content(f["id"]) == CSV


def test_download_needs_the_bot_token(slack_api: SlackApiServer, client: WebClient) -> None:
    f = slack_api.add_file(CSV, "accounts.csv", user=REQUESTER)
    assert f["url_private_download"].startswith(slack_api.base_url + "/files-pri/T0001-")
    ok = requests.get(
        f["url_private_download"],
        headers={"Authorization": f"Bearer {DEFAULT_BOT_TOKEN}"},
        timeout=10,
    )
    assert ok.status_code == 200 and ok.content == CSV
    for headers in ({}, {"Authorization": "Bearer xoxb-someone-else"}):
        page = requests.get(f["url_private_download"], headers=headers, timeout=10)
        # like Slack: a redirect to the sign-in page, then HTML with status 200 - not the file
        assert page.history and page.history[0].status_code == 302
        assert page.status_code == 200 and page.content != CSV
        assert page.headers["Content-Type"].startswith("text/html")
    downloads = slack_api.calls_to("download")
    assert [c.status for c in downloads] == [200, 302, 302]


def test_rate_limit_is_retried_by_slack_sdk(slack_api: SlackApiServer, client: WebClient) -> None:
    slack_api.fail_next("chat.postMessage", error="ratelimited", status=429, retry_after=1)
    with pytest.raises(SlackApiError) as exc:  # without a retry handler: the 429 surfaces
        client.chat_postMessage(channel=SUPPORT_CHANNEL, text="x")
    assert exc.value.response.status_code == 429
    assert exc.value.response.headers["Retry-After"] == "1"

    slack_api.fail_next("chat.postMessage", retry_after=1)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    assert client.chat_postMessage(channel=SUPPORT_CHANNEL, text="x")["ok"]
    calls = slack_api.calls_to("chat.postMessage")
    assert [(c.status, c.fault) for c in calls] == [
        (429, "ratelimited"),
        (429, "ratelimited"),
        (200, None),
    ]
    assert [m["text"] for m in slack_api.messages(SUPPORT_CHANNEL)] == ["x"]


def test_injected_errors_and_dropped_connections(
    slack_api: SlackApiServer, client: WebClient
) -> None:
    slack_api.fail_next("users.info", error="fatal_error", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as exc:
            client.users_info(user=REQUESTER)
        assert _error(exc) == "fatal_error"
    assert client.users_info(user=REQUESTER)["ok"]

    slack_api.fail_next("*", error="internal_error", status=500)
    with pytest.raises(SlackApiError) as exc:
        client.conversations_info(channel=SUPPORT_CHANNEL)
    assert exc.value.response.status_code == 500

    # a dropped connection is retried by slack-sdk's default ConnectionErrorRetryHandler
    slack_api.fail_next("auth.test", drop=True)
    assert client.auth_test()["ok"]
    assert [c.fault for c in slack_api.calls_to("auth.test")] == ["drop", None]


def test_response_url_messages(slack_api: SlackApiServer, client: WebClient) -> None:
    url = slack_api.new_response_url(SUPPORT_CHANNEL, REQUESTER)
    hook = WebhookClient(url)
    assert hook.send(text="Working on it...").status_code == 200
    eph = slack_api.messages(SUPPORT_CHANNEL, visible_to=REQUESTER)
    assert [(m["text"], m["is_ephemeral"]) for m in eph] == [("Working on it...", True)]
    # replace_original on a slash command's URL replaces its earlier ephemeral reply
    hook.send(text="Acme: cus_123", replace_original=True)
    eph = slack_api.messages(SUPPORT_CHANNEL, visible_to=REQUESTER)
    assert [m["text"] for m in eph] == ["Acme: cus_123"] and eph[0]["edited"]
    hook.send(text="Shared", response_type="in_channel")
    assert [m["text"] for m in slack_api.messages(SUPPORT_CHANNEL)] == ["Shared"]
    assert [r.action for r in slack_api.responses] == ["ephemeral", "replace", "in_channel"]

    # a button's response_url acts on the message it came from
    posted = client.chat_postMessage(
        channel=APPROVALS_CHANNEL, text="pending", blocks=[SECTION, BUTTONS]
    )
    button_url = slack_api.new_response_url(APPROVALS_CHANNEL, APPROVER, message_ts=posted["ts"])
    WebhookClient(button_url).send(text="Approved by Avery", replace_original=True)
    msg = slack_api.message(APPROVALS_CHANNEL, posted["ts"])
    assert msg["text"] == "Approved by Avery" and "blocks" not in msg and msg["edited"]
    WebhookClient(button_url).send(delete_original=True)
    assert slack_api.messages(APPROVALS_CHANNEL) == []

    # five uses, then Slack refuses
    for _ in range(2):
        assert hook.send(text="again").status_code == 200
    refused = hook.send(text="sixth")
    assert refused.status_code == 404 and slack_api.responses[-1].action == "rejected"


def test_wait_for_reports_what_arrived(slack_api: SlackApiServer, client: WebClient) -> None:
    client.auth_test()
    assert len(slack_api.wait_for("auth.test")) == 1
    with pytest.raises(AssertionError, match=r"chat\.postMessage.*auth\.test"):
        slack_api.wait_for("chat.postMessage", timeout=0.05)


def test_state_api_for_the_browser_page(slack_api: SlackApiServer, client: WebClient) -> None:
    first = client.chat_postMessage(channel=SUPPORT_CHANNEL, text="one")
    client.chat_postEphemeral(channel=SUPPORT_CHANNEL, user=REQUESTER, text="for riley")

    def get(path: str) -> Any:
        with urllib.request.urlopen(slack_api.base_url + path, timeout=10) as resp:
            return json.loads(resp.read())

    full = get(f"/_sandbox/state?user={APPROVER}")
    assert {c["name"] for c in full["channels"]} >= {
        "billing-support",
        "billing-approvals",
        "billing-alerts",
    }
    assert {u["id"] for u in full["users"]} >= {REQUESTER, APPROVER, OUTSIDER, BOT_USER_ID}
    assert [m["text"] for m in full["messages"]] == ["one"]  # riley's ephemeral is not shown
    seq = full["seq"]
    client.chat_update(channel=SUPPORT_CHANNEL, ts=first["ts"], text="one (edited)")
    client.chat_postMessage(channel=SUPPORT_CHANNEL, text="two")
    delta = get(f"/_sandbox/state?since={seq}&user={REQUESTER}")
    assert [m["text"] for m in delta["messages"]] == ["one (edited)", "two"]
    client.chat_delete(channel=SUPPORT_CHANNEL, ts=first["ts"])
    gone = get(f"/_sandbox/state?since={delta['seq']}")
    assert gone["messages"] == [
        {"channel": SUPPORT_CHANNEL, "ts": first["ts"], "deleted": True, "thread_ts": None}
    ]
    per_channel = get(f"/_sandbox/channels/{SUPPORT_CHANNEL}/messages?user={REQUESTER}")
    assert [m["text"] for m in per_channel["messages"]] == ["for riley", "two"]

    req = urllib.request.Request(
        f"{slack_api.base_url}/_sandbox/files?name=a.csv&user={REQUESTER}", data=CSV, method="POST"
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        uploaded = json.loads(resp.read())["file"]
    assert uploaded["name"] == "a.csv" and slack_api.file_content(uploaded["id"]) == CSV
    # the page (a signed-in person) downloads files from its own route
    with urllib.request.urlopen(f"{slack_api.base_url}/_sandbox/files/{uploaded['id']}") as resp:
        assert resp.read() == CSV


def test_reset_restores_the_default_world(slack_api: SlackApiServer, client: WebClient) -> None:
    client.chat_postMessage(channel=SUPPORT_CHANNEL, text="x")
    slack_api.add_channel("extra")
    slack_api.fail_next("auth.test")
    slack_api.reset()
    assert slack_api.calls == [] and slack_api.messages(SUPPORT_CHANNEL) == []
    assert "extra" not in {c.get("name") for c in slack_api.channels()}
    assert client.auth_test()["ok"]  # the queued fault is gone too


def test_context_manager_stops_the_server() -> None:
    with start_slack_api() as api:
        url = api.api_url
        assert WebClient(token=DEFAULT_BOT_TOKEN, base_url=url).auth_test()["ok"]
    with pytest.raises(OSError):
        urllib.request.urlopen(url + "auth.test", timeout=2)


# ---------------------------------------------------------------------------------------------
# SlackSender against a tiny Bolt app over HTTP
# ---------------------------------------------------------------------------------------------
class TinyBot:
    """A minimal Bolt app with one listener per payload kind, recording what it saw."""

    def __init__(self, api: SlackApiServer) -> None:
        self.seen: list[tuple[str, Any]] = []
        client = WebClient(token=DEFAULT_BOT_TOKEN, base_url=api.api_url)
        app = App(signing_secret=SIGNING_SECRET, client=client, token_verification_enabled=False)
        self.app = app

        @app.middleware
        def record_retries(req: Any, next: Callable[[], Any]) -> Any:  # noqa: A002
            retry = req.headers.get("x-slack-retry-num")
            if retry:
                self.seen.append(("retry", (retry[0], req.headers["x-slack-retry-reason"][0])))
            return next()

        @app.command("/billing")
        def billing(ack: Any, command: dict[str, Any], respond: Any, client: WebClient) -> None:
            if command["text"] == "import":
                ack()
                client.views_open(trigger_id=command["trigger_id"], view=IMPORT_VIEW)
                return
            ack("Looking up...")
            self.seen.append(("command", command))
            respond(text=f"Result for {command['text']}", replace_original=True)

        @app.action("approve")
        def approve(ack: Any, body: dict[str, Any], client: WebClient) -> None:
            ack()
            self.seen.append(("action", body))
            client.chat_update(
                channel=body["channel"]["id"],
                ts=body["container"]["message_ts"],
                text=f"Approved by <@{body['user']['id']}>",
                blocks=[],
            )

        @app.view("import_modal")
        def import_modal(
            ack: Any, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: Any
        ) -> None:
            files = view["state"]["values"]["csv"]["file"]["files"]
            if not files[0]["name"].endswith(".csv"):
                ack(response_action="errors", errors={"csv": "Please attach a .csv file"})
                return
            ack()
            self.seen.append(("view", body))
            data = requests.get(
                files[0]["url_private_download"],
                timeout=10,
                headers={"Authorization": f"Bearer {context.bot_token}"},
            ).content
            client.chat_postMessage(
                channel=APPROVALS_CHANNEL, text=f"{files[0]['name']}: {len(data)} bytes"
            )

        @app.shortcut("new_import")
        def new_import(ack: Any, shortcut: dict[str, Any], client: WebClient) -> None:
            ack()
            self.seen.append(("shortcut", shortcut))
            client.views_open(trigger_id=shortcut["trigger_id"], view=IMPORT_VIEW)

        @app.message_shortcut("import_csv")
        def import_csv(ack: Any, shortcut: dict[str, Any], respond: Any) -> None:
            ack()
            self.seen.append(("message_action", shortcut))
            respond(f"{len(shortcut['message'].get('files', []))} file(s) found")

        @app.event("app_mention")
        def mention(event: dict[str, Any], body: dict[str, Any], say: Any) -> None:
            self.seen.append(("app_mention", body))
            say("hi")

        @app.event("message")
        def message(event: dict[str, Any]) -> None:
            self.seen.append(("message", event))

    def kinds(self) -> list[str]:
        return [k for k, _ in self.seen]


@pytest.fixture
def tiny_bot(
    slack_api: SlackApiServer, serve_wsgi_app: Callable[..., WsgiServer]
) -> Iterator[tuple[TinyBot, SlackSender]]:
    bot = TinyBot(slack_api)
    server = serve_wsgi_app(SlackRequestHandler(bot.app))
    sender = SlackSender(f"{server.url}/slack/events", SIGNING_SECRET, api=slack_api)
    yield bot, sender


def test_signed_slash_command_is_acked_and_answered(
    slack_api: SlackApiServer, tiny_bot: tuple[TinyBot, SlackSender]
) -> None:
    bot, s = tiny_bot
    r = s.slash("/billing", "customer Acme", user=REQUESTER, channel=SUPPORT_CHANNEL)
    assert r.status == 200 and r.body == "Looking up..." and r.elapsed > 0
    assert r.response_url.startswith(slack_api.base_url) and r.trigger_id
    slack_api.wait_for("response_url")
    command = bot.seen[0][1]
    assert command["user_id"] == REQUESTER and command["channel_name"] == "billing-support"
    assert command["response_url"] == r.response_url and command["trigger_id"] == r.trigger_id
    # the ack text was shown ephemerally, then replaced through the response_url
    eph = slack_api.messages(SUPPORT_CHANNEL, visible_to=REQUESTER)
    assert [m["text"] for m in eph] == ["Result for customer Acme"]
    assert slack_api.messages(SUPPORT_CHANNEL, visible_to=APPROVER) == []


def test_bad_signature_and_stale_timestamp_are_rejected(
    tiny_bot: tuple[TinyBot, SlackSender],
) -> None:
    bot, s = tiny_bot
    assert s.slash("/billing", "customer Acme", bad_signature=True).status == 401
    assert s.slash("/billing", "customer Acme", timestamp=int(time.time()) - 600).status == 401
    wrong_secret = SlackSender(s.bot_url, "not-the-secret")
    assert wrong_secret.slash("/billing", "customer Acme").status == 401
    assert bot.seen == []


def test_block_action_updates_the_message(
    slack_api: SlackApiServer, client: WebClient, tiny_bot: tuple[TinyBot, SlackSender]
) -> None:
    bot, s = tiny_bot
    posted = client.chat_postMessage(
        channel=APPROVALS_CHANNEL, text="Import #7 pending", blocks=[SECTION, BUTTONS]
    )
    message = slack_api.message(APPROVALS_CHANNEL, posted["ts"])
    assert s.click(APPROVER, message, "approve").status == 200
    slack_api.wait_for("chat.update")
    body = bot.seen[-1][1]
    assert body["type"] == "block_actions" and body["user"]["id"] == APPROVER
    assert body["actions"][0]["value"] == "req-7" and body["actions"][0]["block_id"] == "decide"
    assert body["container"] == {
        "type": "message",
        "message_ts": posted["ts"],
        "channel_id": APPROVALS_CHANNEL,
        "is_ephemeral": False,
    }
    assert body["message"]["ts"] == posted["ts"] and body["response_url"]
    updated = slack_api.message(APPROVALS_CHANNEL, posted["ts"])
    assert updated["text"] == f"Approved by <@{APPROVER}>" and updated["edited"]


def test_modal_with_file_input_submission(
    slack_api: SlackApiServer, tiny_bot: tuple[TinyBot, SlackSender]
) -> None:
    bot, s = tiny_bot
    assert s.slash("/billing", "import", user=REQUESTER).status == 200
    view = slack_api.wait_for("views.open")[0].response["view"]
    assert slack_api.current_view(REQUESTER)["id"] == view["id"]

    # a wrong file: the bot answers response_action=errors, the modal stays open
    png = slack_api.add_file(b"\x89PNG", "logo.png", filetype="png", user=REQUESTER)
    r = s.view_submission(REQUESTER, view, {"file": [png]})
    assert r.status == 200 and r.extra["response_action"] == "errors"
    assert slack_api.view_errors(view["id"]) == {"csv": "Please attach a .csv file"}
    assert slack_api.current_view(REQUESTER)["id"] == view["id"]

    with pytest.raises(ValueError, match="required input 'csv'"):
        s.view_submission(REQUESTER, view, {"note": "no file"})

    csv = slack_api.add_file(CSV, "accounts.csv", user=REQUESTER)
    r = s.view_submission(REQUESTER, view, {"csv": {"file": [csv]}, "text": "first run"})
    assert r.status == 200 and r.body == ""
    slack_api.wait_for_message(APPROVALS_CHANNEL, lambda m: "accounts.csv" in m["text"])
    body = bot.seen[-1][1]
    values = body["view"]["state"]["values"]
    assert values["csv"]["file"]["type"] == "file_input"
    assert values["csv"]["file"]["files"][0]["url_private_download"] == csv["url_private_download"]
    assert values["note"]["text"] == {"type": "plain_text_input", "value": "first run"}
    assert body["view"]["private_metadata"] == "C0SUPPORT"
    assert slack_api.views(REQUESTER) == []  # acked without response_action: closed
    assert [m["text"] for m in slack_api.messages(APPROVALS_CHANNEL)] == [
        f"accounts.csv: {len(CSV)} bytes"
    ]
    downloads = slack_api.calls_to("download")
    assert [(c.params["file"], c.status) for c in downloads] == [(csv["id"], 200)]


def test_shortcuts_are_delivered(
    slack_api: SlackApiServer, tiny_bot: tuple[TinyBot, SlackSender]
) -> None:
    bot, s = tiny_bot
    assert s.shortcut("new_import", REQUESTER).status == 200
    slack_api.wait_for("views.open")
    shortcut = bot.seen[-1][1]
    assert shortcut["type"] == "shortcut" and "channel" not in shortcut
    assert "response_url" not in shortcut

    f = slack_api.add_file(CSV, "drop.csv", user=REQUESTER)
    posted = slack_api.post_user_message(REQUESTER, SUPPORT_CHANNEL, "here you go", files=[f])
    assert s.message_shortcut("import_csv", APPROVER, SUPPORT_CHANNEL, posted).status == 200
    slack_api.wait_for("response_url")
    action = bot.seen[-1][1]
    assert action["type"] == "message_action" and action["message"]["files"][0]["id"] == f["id"]
    assert action["channel"] == {"id": SUPPORT_CHANNEL, "name": "billing-support"}
    eph = slack_api.messages(SUPPORT_CHANNEL, visible_to=APPROVER)
    assert [m["text"] for m in eph if m.get("is_ephemeral")] == ["1 file(s) found"]


def test_events_retries_and_url_verification(
    slack_api: SlackApiServer, tiny_bot: tuple[TinyBot, SlackSender]
) -> None:
    bot, s = tiny_bot
    r = s.url_verification("abc123")
    assert r.status == 200 and r.json() == {"challenge": "abc123"}

    mention = {
        "type": "app_mention",
        "user": REQUESTER,
        "channel": SUPPORT_CHANNEL,
        "text": f"<@{BOT_USER_ID}> hi",
        "ts": "1700000000.000100",
    }
    first = s.event(mention, event_id="Ev0001")
    assert first.status == 200
    slack_api.wait_for("chat.postMessage")
    again = s.resend(first, retry_num=1, retry_reason="http_timeout")
    assert again.status == 200 and again.raw_body == first.raw_body
    slack_api.wait_for("chat.postMessage", count=2)
    assert ("retry", ("1", "http_timeout")) in bot.seen
    mentions = [b for k, b in bot.seen if k == "app_mention"]
    assert [b["event_id"] for b in mentions] == ["Ev0001", "Ev0001"]
    assert mentions[0]["authorizations"][0]["user_id"] == BOT_USER_ID

    # a DM to the bot with a CSV: a message event with subtype file_share and the files
    f = slack_api.add_file(CSV, "dm.csv", user=REQUESTER)
    s.user_message(REQUESTER, REQUESTER, "import this", files=[f])
    event = slack_api.wait_until(
        lambda: next((e for k, e in bot.seen if k == "message"), None), what="message event"
    )
    assert event["subtype"] == "file_share" and event["channel_type"] == "im"
    assert event["files"][0]["id"] == f["id"] and event["channel"].startswith("D")
