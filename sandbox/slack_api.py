"""A Slack Web API stand-in over HTTP on 127.0.0.1.

Why a real HTTP server and not a mocked ``WebClient``: the bot must be tested through the
same code path it takes in production (slack-sdk's urllib transport, its retry handlers,
Bolt's ``respond()`` over a ``response_url``, ``files_upload_v2``'s three steps, a plain
``requests.get`` of ``url_private_download``). A mock of the client would hide exactly the
mistakes that break a Slack app: wrong argument names, JSON-vs-form encoding, a forgotten
``thread_ts``, a download without the bot token.

The stand-in keeps a small world model (team, users, channels, user groups, messages with
threads and edits, ephemeral messages, files, open modals) so that end-to-end tests can
assert on what a person in Slack would see, and so that the offline sandbox's browser page
can render it (``GET /_sandbox/state``).

Response shapes follow Slack's documentation: every Web API answer is
``{"ok": true, ...}`` or ``{"ok": false, "error": "..."}`` with HTTP 200, except rate limits
(HTTP 429 with ``Retry-After``) and injected faults.

HTTP routes (all on 127.0.0.1):

- ``POST /api/<method>``: the Web API (form, multipart or JSON body; Bearer token).
- ``POST /upload/v1/<key>``: the upload URL handed out by ``files.getUploadURLExternal``.
- ``GET /files-pri/T0001-<file id>/[download/]<name>``: file bytes, for the bot token only;
  anyone else is redirected to ``/signin`` (an HTML page), as Slack does.
- ``POST /actions/T0001/<n>/<secret>``: response URLs (Bolt's ``respond()``).
- For the browser page: ``GET /_sandbox/state?since=<seq>&user=<id>``,
  ``GET /_sandbox/channels/<id>/messages?user=<id>``, ``POST /_sandbox/files?name=&user=``
  (raw body: a person uploads a file), ``GET /_sandbox/files/<id>`` (a person downloads it),
  ``POST /_sandbox/views/<id>/close`` (a person cancels a modal).
"""

from __future__ import annotations

import contextlib
import copy
import html
import json
import mimetypes
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

__all__ = [
    "ALERTS_CHANNEL",
    "APP_ID",
    "APPROVALS_CHANNEL",
    "APPROVER",
    "BOT_ID",
    "BOT_NAME",
    "BOT_USER_ID",
    "DEFAULT_BOT_TOKEN",
    "OUTSIDER",
    "REQUESTER",
    "SUPPORT_CHANNEL",
    "TEAM_DOMAIN",
    "TEAM_ID",
    "TEAM_NAME",
    "ApiCall",
    "ResponseRecord",
    "SlackApiServer",
    "WsgiServer",
    "serve_wsgi",
    "start_slack_api",
]

# --------------------------------------------------------------------------------------------
# The default world. IDs look like Slack's (upper-case letters and digits, a type prefix) so
# that configuration validators written for real IDs accept them, yet stay readable in logs.
# --------------------------------------------------------------------------------------------
DEFAULT_BOT_TOKEN = "xoxb-test"
TEAM_ID = "T0001"
TEAM_NAME = "Billing Sandbox"
TEAM_DOMAIN = "billing-sandbox"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
APP_ID = "A0BILLING"
BOT_NAME = "billing-ops-bot"

REQUESTER = "U0REQUESTER"
APPROVER = "U0APPROVER"
OUTSIDER = "U0OUTSIDER"

SUPPORT_CHANNEL = "C0SUPPORT"
APPROVALS_CHANNEL = "C0APPROVALS"
ALERTS_CHANNEL = "C0ALERTS"

_DEFAULT_USERS = [
    # (id, name, real name, email, is_admin)
    (REQUESTER, "riley", "Riley Requester", "riley@example.com", False),
    (APPROVER, "avery", "Avery Approver", "avery@example.com", False),
    (OUTSIDER, "olly", "Olly Outsider", "olly@example.com", False),
]
_DEFAULT_CHANNELS = [
    (SUPPORT_CHANNEL, "billing-support", "Ask the bot about customers and payment methods"),
    (APPROVALS_CHANNEL, "billing-approvals", "Import requests waiting for a second person"),
    (ALERTS_CHANNEL, "billing-alerts", "Scheduled audit summaries"),
]
_DEFAULT_GROUPS = [
    # (id, handle, name, members)
    ("S0ADMINS", "billing-admins", "Billing admins", [REQUESTER]),
    ("S0APPROVERS", "billing-approvers", "Billing approvers", [APPROVER]),
    ("S0SUPPORT", "billing-support-team", "Billing support", [REQUESTER, APPROVER]),
]

# Fields that slack-sdk sends JSON-encoded inside form bodies (and as objects in JSON bodies).
_JSON_FIELDS = ("blocks", "attachments", "view", "files", "metadata", "errors")

# Block Kit limits the stand-in enforces, because a real workspace rejects a message or modal
# that breaks them and a test should fail the same way (numbers from Slack's Block Kit docs).
_MESSAGE_BLOCK_LIMIT = 50
_VIEW_BLOCK_LIMIT = 100
_TEXT_LIMIT = 40_000
_KNOWN_BLOCKS = {
    "actions",
    "context",
    "divider",
    "file",
    "header",
    "image",
    "input",
    "markdown",
    "rich_text",
    "section",
    "table",
    "video",
    "call",
    "context_actions",
}


@dataclass
class ApiCall:
    """One request the stand-in received.

    ``method`` is the Web API method name (``chat.postMessage``), or one of the pseudo-methods
    ``upload`` (a POST to an upload URL), ``download`` (a GET of a file URL) and
    ``response_url`` (a POST to a response URL), so that tests can ``wait_for`` those too.
    ``params`` merges the query string, form fields and JSON body; fields Slack takes as JSON
    text (``blocks``, ``view``, ``files``...) are decoded into Python objects.
    """

    method: str
    params: dict[str, Any]
    time: float
    token: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    status: int | None = None
    response: Any = None
    fault: str | None = None

    @property
    def ok(self) -> bool:
        """True when the answer was ``{"ok": true}`` (or a 2xx for the pseudo-methods)."""
        if isinstance(self.response, dict) and "ok" in self.response:
            return bool(self.response["ok"])
        return self.status is not None and 200 <= self.status < 300


@dataclass
class ResponseRecord:
    """What arrived on a ``response_url``, and what the stand-in made of it."""

    url: str
    payload: dict[str, Any]
    time: float
    channel: str
    user: str
    action: str  # "ephemeral", "in_channel", "replace", "delete" or "rejected"
    message: dict[str, Any] | None = None


@dataclass
class _Fault:
    error: str
    status: int
    retry_after: int | None
    times: int
    drop: bool


class _ApiError(Exception):
    """Raised inside a method handler; becomes ``{"ok": false, "error": ...}``."""

    def __init__(
        self, error: str, status: int = 200, messages: list[str] | None = None, **extra: Any
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.extra = dict(extra)
        if messages:
            self.extra["response_metadata"] = {"messages": messages}


class _QuietHandler(WSGIRequestHandler):
    """Werkzeug's request handler without the per-request access log line (tests are noisy
    enough; errors are still logged)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


class WsgiServer:
    """A WSGI app served by werkzeug on 127.0.0.1 in a daemon thread.

    Shared by the stand-in and by tests that need to serve a Bolt app
    (``SlackRequestHandler(app)``): one place that binds loopback only, picks a free port and
    shuts down cleanly.
    """

    def __init__(self, app: Callable[..., Any], port: int = 0) -> None:
        self._server: BaseWSGIServer = make_server(
            "127.0.0.1", port, app, threaded=True, request_handler=_QuietHandler
        )
        self.port: int = self._server.server_port
        self.url: str = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # shutdown() waits up to one poll interval
            name=f"wsgi-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=10)
        self._server.server_close()

    def __enter__(self) -> WsgiServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_wsgi(app: Callable[..., Any], port: int = 0) -> WsgiServer:
    """Serve a WSGI app (e.g. ``slack_bolt.adapter.wsgi.SlackRequestHandler(app)``) on
    127.0.0.1; ``.url`` is its base URL, ``.stop()`` ends it."""
    return WsgiServer(app, port)


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def _public(obj: Any) -> Any:
    """A deep copy without the stand-in's private keys (those starting with ``_``)."""
    if isinstance(obj, dict):
        return {k: _public(v) for k, v in obj.items() if not str(k).startswith("_")}
    if isinstance(obj, list):
        return [_public(v) for v in obj]
    return copy.deepcopy(obj)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "_", name.lower()) or "file"


_FILETYPES = {
    "csv": ("text/csv", "CSV"),
    "text": ("text/plain", "Plain Text"),
    "txt": ("text/plain", "Plain Text"),
    "json": ("application/json", "JSON"),
    "pdf": ("application/pdf", "PDF"),
    "png": ("image/png", "PNG"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel"),
    "binary": ("application/octet-stream", "Binary"),
}


def _guess_filetype(name: str) -> str:
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext == "txt":
        return "text"
    return ext if ext in _FILETYPES else "binary"


# --------------------------------------------------------------------------------------------
# Block Kit checks: the subset of Slack's validation that catches real rendering mistakes.
# --------------------------------------------------------------------------------------------
def _check_text_obj(
    obj: Any, ptr: str, limit: int, errs: list[str], plain_only: bool = False
) -> None:
    if not isinstance(obj, dict) or "type" not in obj:
        errs.append(f"[ERROR] must provide an object [json-pointer:{ptr}]")
        return
    allowed = {"plain_text"} if plain_only else {"plain_text", "mrkdwn"}
    if obj["type"] not in allowed:
        errs.append(f"[ERROR] must be one of {sorted(allowed)} [json-pointer:{ptr}/type]")
    text = obj.get("text")
    if not isinstance(text, str) or text == "":
        errs.append(f"[ERROR] must be more than 0 characters [json-pointer:{ptr}/text]")
    elif len(text) > limit:
        errs.append(f"[ERROR] must be less than {limit + 1} characters [json-pointer:{ptr}/text]")


def _check_element(el: Any, ptr: str, errs: list[str]) -> None:
    if not isinstance(el, dict) or "type" not in el:
        errs.append(f"[ERROR] must provide an object with a type [json-pointer:{ptr}]")
        return
    if len(str(el.get("action_id", ""))) > 255:
        errs.append(f"[ERROR] must be less than 256 characters [json-pointer:{ptr}/action_id]")
    if el["type"] == "button":
        _check_text_obj(el.get("text"), f"{ptr}/text", 75, errs, plain_only=True)
        if len(str(el.get("value", ""))) > 2000:
            errs.append(f"[ERROR] must be less than 2001 characters [json-pointer:{ptr}/value]")
        if el.get("style") not in (None, "primary", "danger"):
            errs.append(f"[ERROR] must be primary or danger [json-pointer:{ptr}/style]")


def _validate_blocks(blocks: Any, surface: str) -> list[str]:
    """Return Slack-style error messages for ``blocks`` on a ``message`` or a ``modal``."""
    errs: list[str] = []
    if not isinstance(blocks, list):
        return ["[ERROR] must provide an array [json-pointer:/blocks]"]
    limit = _MESSAGE_BLOCK_LIMIT if surface == "message" else _VIEW_BLOCK_LIMIT
    if len(blocks) > limit:
        errs.append(f"[ERROR] no more than {limit} items allowed [json-pointer:/blocks]")
    for i, block in enumerate(blocks):
        ptr = f"/blocks/{i}"
        if not isinstance(block, dict):
            errs.append(f"[ERROR] must provide an object [json-pointer:{ptr}]")
            continue
        btype = block.get("type")
        if btype not in _KNOWN_BLOCKS:
            errs.append(f"[ERROR] unsupported type: {btype} [json-pointer:{ptr}/type]")
            continue
        if len(str(block.get("block_id", ""))) > 255:
            errs.append(f"[ERROR] must be less than 256 characters [json-pointer:{ptr}/block_id]")
        if btype == "section":
            if "text" not in block and "fields" not in block:
                errs.append(f"[ERROR] must provide text or fields [json-pointer:{ptr}]")
            if "text" in block:
                _check_text_obj(block["text"], f"{ptr}/text", 3000, errs)
            fields = block.get("fields")
            if fields is not None:
                if not isinstance(fields, list) or len(fields) > 10:
                    errs.append(
                        f"[ERROR] no more than 10 items allowed [json-pointer:{ptr}/fields]"
                    )
                else:
                    for j, f in enumerate(fields):
                        _check_text_obj(f, f"{ptr}/fields/{j}", 2000, errs)
            if "accessory" in block:
                _check_element(block["accessory"], f"{ptr}/accessory", errs)
        elif btype == "header":
            _check_text_obj(block.get("text"), f"{ptr}/text", 150, errs, plain_only=True)
        elif btype == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
                errs.append(f"[ERROR] must have 1 to 10 items [json-pointer:{ptr}/elements]")
        elif btype == "actions":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= 25:
                errs.append(f"[ERROR] must have 1 to 25 items [json-pointer:{ptr}/elements]")
            else:
                for j, el in enumerate(elements):
                    _check_element(el, f"{ptr}/elements/{j}", errs)
        elif btype == "input":
            if surface == "message":
                errs.append(f"[ERROR] input blocks are only allowed in views [json-pointer:{ptr}]")
            _check_text_obj(block.get("label"), f"{ptr}/label", 2000, errs, plain_only=True)
            _check_element(block.get("element"), f"{ptr}/element", errs)
        elif btype == "image" and not block.get("image_url") and not block.get("slack_file"):
            errs.append(f"[ERROR] must provide image_url [json-pointer:{ptr}]")
    return errs


def _fill_ids(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give blocks and interactive elements the ``block_id``/``action_id`` Slack generates
    when the app leaves them out (payloads always carry both)."""
    out = copy.deepcopy(blocks)
    for block in out:
        if not isinstance(block, dict):
            continue
        block.setdefault("block_id", secrets.token_hex(3))
        elements: list[Any] = []
        if isinstance(block.get("elements"), list) and block.get("type") == "actions":
            elements = list(block["elements"])
        for key in ("accessory", "element"):
            if isinstance(block.get(key), dict):
                elements.append(block[key])
        for el in elements:
            if isinstance(el, dict) and el.get("type") not in ("image", "plain_text", "mrkdwn"):
                el.setdefault("action_id", secrets.token_hex(3))
    return out


class SlackApiServer:
    """The Slack Web API stand-in. Start it with :func:`start_slack_api`.

    All state sits behind one lock; every change wakes :meth:`wait_for` / :meth:`wait_until`,
    which is how tests wait for the bot's background work without sleeping.
    """

    def __init__(self, bot_token: str = DEFAULT_BOT_TOKEN, trigger_ttl: float | None = 3.0) -> None:
        self.bot_token = bot_token
        self.trigger_ttl = trigger_ttl
        self.team_id = TEAM_ID
        self.team_name = TEAM_NAME
        self.bot_user_id = BOT_USER_ID
        self.bot_id = BOT_ID
        self.app_id = APP_ID
        self._cond = threading.Condition(threading.RLock())
        self._server: WsgiServer | None = None
        self.port = 0
        self._methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "api.test": self._m_api_test,
            "auth.test": self._m_auth_test,
            "chat.postMessage": self._m_chat_post_message,
            "chat.postEphemeral": self._m_chat_post_ephemeral,
            "chat.update": self._m_chat_update,
            "chat.delete": self._m_chat_delete,
            "chat.getPermalink": self._m_chat_get_permalink,
            "conversations.open": self._m_conversations_open,
            "conversations.info": self._m_conversations_info,
            "conversations.history": self._m_conversations_history,
            "conversations.replies": self._m_conversations_replies,
            "conversations.members": self._m_conversations_members,
            "users.info": self._m_users_info,
            "users.lookupByEmail": self._m_users_lookup_by_email,
            "usergroups.list": self._m_usergroups_list,
            "usergroups.users.list": self._m_usergroups_users_list,
            "views.open": self._m_views_open,
            "views.push": self._m_views_push,
            "views.update": self._m_views_update,
            "views.publish": self._m_views_publish,
            "files.info": self._m_files_info,
            "files.getUploadURLExternal": self._m_files_get_upload_url_external,
            "files.completeUploadExternal": self._m_files_complete_upload_external,
            "reactions.add": self._m_reactions_add,
        }
        self._reset_state()

    # ----------------------------------------------------------------------------------------
    # lifecycle
    # ----------------------------------------------------------------------------------------
    def start(self, port: int = 0) -> SlackApiServer:
        """Bind 127.0.0.1 (``port=0``: a free port) and serve in a daemon thread."""
        if self._server is not None:
            return self
        self._server = WsgiServer(self, port)
        self.port = self._server.port
        return self

    def stop(self) -> None:
        """Stop serving; safe to call twice."""
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> SlackApiServer:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash): the stand-in's web root."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """The slack-sdk ``base_url`` (with the trailing slash slack-sdk expects)."""
        return f"{self.base_url}/api/"

    @property
    def files_host(self) -> str:
        """The host serving ``url_private_download`` (Slack's is files.slack.com): the bot's
        download guard must accept it in the sandbox."""
        return f"127.0.0.1:{self.port}"

    def reset(self) -> None:
        """Forget calls, faults, responses and every change to the world (default world back)."""
        with self._cond:
            self._reset_state()
            self._cond.notify_all()

    def _reset_state(self) -> None:
        with self._cond:
            self._calls: list[ApiCall] = []
            self._faults: dict[str, list[_Fault]] = {}
            self._responses: list[ResponseRecord] = []
            self._seq = 0
            self._last_us = 0
            self._counter = 0
            self._users: dict[str, dict[str, Any]] = {}
            self._channels: dict[str, dict[str, Any]] = {}
            self._groups: dict[str, dict[str, Any]] = {}
            self._messages: dict[str, list[dict[str, Any]]] = {}
            self._files: dict[str, dict[str, Any]] = {}
            self._file_data: dict[str, bytes] = {}
            self._uploads: dict[str, dict[str, Any]] = {}
            self._views: dict[str, dict[str, Any]] = {}
            self._view_stacks: dict[str, list[str]] = {}
            self._view_errors: dict[str, dict[str, str]] = {}
            self._home_views: dict[str, dict[str, Any]] = {}
            self._triggers: dict[str, dict[str, Any]] = {}
            self._response_urls: dict[str, dict[str, Any]] = {}
            self._add_user_locked(BOT_USER_ID, BOT_NAME, "Billing Ops Bot", None, is_bot=True)
            for uid, name, real, email, admin in _DEFAULT_USERS:
                self._add_user_locked(uid, name, real, email, is_admin=admin)
            everyone = [BOT_USER_ID] + [u[0] for u in _DEFAULT_USERS]
            for cid, name, purpose in _DEFAULT_CHANNELS:
                self._add_channel_locked(cid, name, list(everyone), purpose=purpose)
            for gid, handle, name, members in _DEFAULT_GROUPS:
                self._add_group_locked(gid, handle, name, list(members))

    # ----------------------------------------------------------------------------------------
    # small internals
    # ----------------------------------------------------------------------------------------
    def _touch(self) -> int:
        self._seq += 1
        return self._seq

    def _next_ts(self) -> str:
        us = max(int(time.time() * 1_000_000), self._last_us + 1)
        self._last_us = us
        return f"{us // 1_000_000}.{us % 1_000_000:06d}"

    def _new_id(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}0{self._counter:07X}"

    def _changed(self) -> None:
        self._cond.notify_all()

    # ----------------------------------------------------------------------------------------
    # world: users, channels, groups
    # ----------------------------------------------------------------------------------------
    def _add_user_locked(
        self,
        uid: str,
        name: str,
        real_name: str,
        email: str | None,
        is_bot: bool = False,
        is_admin: bool = False,
        deleted: bool = False,
    ) -> dict[str, Any]:
        profile: dict[str, Any] = {
            "real_name": real_name,
            "display_name": name,
            "real_name_normalized": real_name,
            "display_name_normalized": name,
            "image_48": "",
            "team": TEAM_ID,
        }
        if email:
            profile["email"] = email
        if is_bot:
            profile["bot_id"] = BOT_ID
        user = {
            "id": uid,
            "team_id": TEAM_ID,
            "name": name,
            "real_name": real_name,
            "deleted": deleted,
            "is_bot": is_bot,
            "is_app_user": False,
            "is_admin": is_admin,
            "is_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "tz": "Europe/London",
            "tz_label": "Greenwich Mean Time",
            "tz_offset": 0,
            "updated": int(time.time()),
            "profile": profile,
        }
        self._users[uid] = user
        self._touch()
        return user

    def _add_channel_locked(
        self, cid: str, name: str, members: list[str], is_private: bool = False, purpose: str = ""
    ) -> dict[str, Any]:
        now = int(time.time())
        channel = {
            "id": cid,
            "name": name,
            "name_normalized": name,
            "is_channel": not is_private,
            "is_group": is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": is_private,
            "is_archived": False,
            "is_general": False,
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "is_member": BOT_USER_ID in members,
            "created": now,
            "creator": REQUESTER,
            "context_team_id": TEAM_ID,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": purpose, "creator": "", "last_set": 0},
            "num_members": len(members),
            "_members": members,
        }
        self._channels[cid] = channel
        self._messages.setdefault(cid, [])
        self._touch()
        return channel

    def _add_group_locked(
        self, gid: str, handle: str, name: str, members: list[str]
    ) -> dict[str, Any]:
        now = int(time.time())
        group = {
            "id": gid,
            "team_id": TEAM_ID,
            "is_usergroup": True,
            "name": name,
            "description": "",
            "handle": handle,
            "is_external": False,
            "date_create": now,
            "date_update": now,
            "date_delete": 0,
            "auto_type": None,
            "created_by": REQUESTER,
            "updated_by": REQUESTER,
            "deleted_by": None,
            "prefs": {"channels": [], "groups": []},
            "users": members,
            "user_count": len(members),
        }
        self._groups[gid] = group
        self._touch()
        return group

    def add_user(
        self,
        name: str,
        real_name: str | None = None,
        *,
        user_id: str | None = None,
        email: str | None = None,
        is_admin: bool = False,
        is_bot: bool = False,
        deleted: bool = False,
        channels: Iterable[str] = (),
    ) -> dict[str, Any]:
        """Add a person to the workspace (and to ``channels``); returns the ``users.info``
        user object."""
        with self._cond:
            uid = user_id or self._new_id("U")
            user = self._add_user_locked(
                uid,
                name,
                real_name or name,
                email,
                is_bot=is_bot,
                is_admin=is_admin,
                deleted=deleted,
            )
            for ch in channels:
                c = self._channels[self._channel_ref(ch)]
                if uid not in c["_members"]:
                    c["_members"].append(uid)
                    c["num_members"] = len(c["_members"])
            self._changed()
            return _public(user)

    def add_channel(
        self,
        name: str,
        *,
        channel_id: str | None = None,
        members: Iterable[str] | None = None,
        is_private: bool = False,
        bot_member: bool = True,
        purpose: str = "",
    ) -> dict[str, Any]:
        """Add a channel; by default every person and the bot are members. ``bot_member=False``
        makes ``chat.postMessage`` answer ``not_in_channel``, as Slack does."""
        with self._cond:
            cid = channel_id or self._new_id("G" if is_private else "C")
            if members is None:
                member_list = [u for u, v in self._users.items() if not v["is_bot"]]
            else:
                member_list = list(members)
            if bot_member and BOT_USER_ID not in member_list:
                member_list.append(BOT_USER_ID)
            if not bot_member and BOT_USER_ID in member_list:
                member_list.remove(BOT_USER_ID)
            channel = self._add_channel_locked(
                cid, name.lstrip("#"), member_list, is_private=is_private, purpose=purpose
            )
            self._changed()
            return _public(channel)

    def add_usergroup(
        self,
        handle: str,
        user_ids: Iterable[str],
        *,
        name: str | None = None,
        group_id: str | None = None,
    ) -> dict[str, Any]:
        """Add (or replace, by handle) a user group; returns the usergroup object."""
        with self._cond:
            existing = [g for g in self._groups.values() if g["handle"] == handle]
            gid = group_id or (existing[0]["id"] if existing else self._new_id("S"))
            group = self._add_group_locked(gid, handle, name or handle, list(user_ids))
            self._changed()
            return _public(group)

    def set_usergroup_users(self, handle_or_id: str, user_ids: Iterable[str]) -> None:
        """Change a group's members (for cache-invalidation tests)."""
        with self._cond:
            for g in self._groups.values():
                if handle_or_id in (g["id"], g["handle"]):
                    g["users"] = list(user_ids)
                    g["user_count"] = len(g["users"])
                    g["date_update"] = int(time.time())
                    self._touch()
                    self._changed()
                    return
            raise KeyError(handle_or_id)

    def users(self) -> list[dict[str, Any]]:
        """Every user object (the bot included)."""
        with self._cond:
            return [_public(u) for u in self._users.values()]

    def channels(self) -> list[dict[str, Any]]:
        """Every conversation, DMs included."""
        with self._cond:
            return [_public(c) for c in self._channels.values()]

    def channel_id(self, name_or_id: str) -> str:
        """Resolve ``#billing-support``, ``billing-support``, a channel ID, or a user ID (the
        bot's DM with that user) to the channel ID; KeyError if there is no such channel."""
        with self._cond:
            return self._channel_ref(name_or_id)

    def _channel_ref(self, ref: str) -> str:
        """The public methods' resolver: like the Web API's, plus user IDs for DMs."""
        if ref in self._users:
            cid = self._open_dm_locked(ref)
            self._changed()
            return cid
        try:
            return self._resolve_channel(ref)
        except _ApiError:
            raise KeyError(f"no channel {ref!r}") from None

    def _resolve_channel(self, ref: str | None) -> str:
        if not ref:
            raise _ApiError("channel_not_found")
        if ref in self._channels:
            return ref
        name = ref.lstrip("#")
        for cid, c in self._channels.items():
            if c.get("name") == name:
                return cid
        raise _ApiError("channel_not_found")

    def _open_dm_locked(self, user_id: str) -> str:
        for cid, c in self._channels.items():
            if c["is_im"] and c["user"] == user_id:
                return cid
        cid = "D" + user_id[1:] if user_id.startswith("U") else self._new_id("D")
        if cid in self._channels:
            cid = self._new_id("D")
        self._channels[cid] = {
            "id": cid,
            "created": int(time.time()),
            "is_im": True,
            "is_channel": False,
            "is_group": False,
            "is_mpim": False,
            "is_private": True,
            "is_archived": False,
            "is_org_shared": False,
            "context_team_id": TEAM_ID,
            "user": user_id,
            "is_user_deleted": False,
            "priority": 0,
            "_members": [user_id, BOT_USER_ID],
        }
        self._messages.setdefault(cid, [])
        self._touch()
        return cid

    def dm_channel(self, user_id: str) -> str:
        """The bot's DM channel with ``user_id`` (opened if needed), as conversations.open."""
        with self._cond:
            cid = self._open_dm_locked(user_id)
            self._changed()
            return cid

    # ----------------------------------------------------------------------------------------
    # world: messages
    # ----------------------------------------------------------------------------------------
    def _find_message(self, channel: str, ts: str) -> dict[str, Any] | None:
        for m in self._messages.get(channel, []):
            if m["ts"] == ts and not m.get("_deleted"):
                return m
        return None

    def _bot_message(
        self,
        channel: str,
        text: str,
        blocks: list[Any] | None,
        attachments: list[Any] | None,
        thread_ts: str | None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        msg: dict[str, Any] = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "text": text,
            "ts": "",
            "team": TEAM_ID,
            "bot_profile": {
                "id": BOT_ID,
                "app_id": APP_ID,
                "name": BOT_NAME,
                "deleted": False,
                "team_id": TEAM_ID,
            },
        }
        if blocks:
            msg["blocks"] = _fill_ids(blocks)
        if attachments:
            msg["attachments"] = copy.deepcopy(attachments)
        if extra:
            msg.update(extra)
        return self._store_message(channel, msg, thread_ts)

    def _store_message(
        self, channel: str, msg: dict[str, Any], thread_ts: str | None
    ) -> dict[str, Any]:
        msg["ts"] = self._next_ts()
        msg["channel"] = channel
        if thread_ts:
            parent = self._find_message(channel, thread_ts)
            if parent is not None and parent.get("thread_ts", parent["ts"]) != parent["ts"]:
                # a reply's ts was given: Slack threads under the parent
                thread_ts = parent["thread_ts"]
                parent = self._find_message(channel, thread_ts)
            msg["thread_ts"] = thread_ts
            if parent is not None and not msg.get("is_ephemeral"):
                msg["parent_user_id"] = parent.get("user")
                parent["thread_ts"] = parent["ts"]
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                users = parent.setdefault("reply_users", [])
                if msg.get("user") and msg["user"] not in users:
                    users.append(msg["user"])
                parent["reply_users_count"] = len(users)
                parent["latest_reply"] = msg["ts"]
                parent["_seq"] = self._touch()
        msg["_seq"] = self._touch()
        self._messages.setdefault(channel, []).append(msg)
        self._changed()
        return msg

    def post_user_message(
        self,
        user: str,
        channel: str,
        text: str = "",
        *,
        files: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Record a message a person posted (as the Slack client would); returns it.

        ``files`` are file dicts from :meth:`add_file`. Used by ``SlackSender.user_message``,
        which then delivers the matching ``message`` event to the bot.
        """
        with self._cond:
            cid = self._channel_ref(channel)
            msg: dict[str, Any] = {
                "type": "message",
                "user": user,
                "text": text,
                "ts": "",
                "team": TEAM_ID,
            }
            if blocks:
                msg["blocks"] = _fill_ids(blocks)
            if files:
                msg["subtype"] = "file_share"
                msg["upload"] = True
                msg["display_as_bot"] = False
                msg["files"] = [self._share_file_locked(f["id"], cid) for f in files]
            stored = self._store_message(cid, msg, thread_ts)
            if files:
                for f in files:
                    self._record_share_locked(f["id"], cid, stored)
            return _public(stored)

    def messages(
        self, channel: str, *, visible_to: str | None = None, include_ephemeral: bool = False
    ) -> list[dict[str, Any]]:
        """Messages in ``channel`` (ID or name), oldest first, thread replies included (they
        carry ``thread_ts``). Ephemeral messages are left out unless ``visible_to`` names their
        recipient or ``include_ephemeral`` is set; they carry ``is_ephemeral`` and
        ``visible_to``."""
        with self._cond:
            cid = self._channel_ref(channel)
            out = []
            for m in self._messages.get(cid, []):
                if m.get("_deleted"):
                    continue
                if (
                    m.get("is_ephemeral")
                    and not include_ephemeral
                    and m.get("visible_to") != visible_to
                ):
                    continue
                out.append(_public(m))
            return out

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """One message by channel and ts (ephemeral ones too), or None."""
        with self._cond:
            m = self._find_message(self._channel_ref(channel), ts)
            return _public(m) if m is not None else None

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """The parent message then its replies, oldest first (what conversations.replies
        returns)."""
        with self._cond:
            cid = self._channel_ref(channel)
            out = [
                _public(m)
                for m in self._messages.get(cid, [])
                if not m.get("_deleted")
                and not m.get("is_ephemeral")
                and (m["ts"] == ts or m.get("thread_ts") == ts)
            ]
            return out

    def ephemeral(
        self, channel: str | None = None, user: str | None = None
    ) -> list[dict[str, Any]]:
        """Ephemeral messages, optionally only those in ``channel`` / for ``user``."""
        with self._cond:
            cids = [self._channel_ref(channel)] if channel else list(self._messages)
            return [
                _public(m)
                for cid in cids
                for m in self._messages.get(cid, [])
                if m.get("is_ephemeral")
                and not m.get("_deleted")
                and (user is None or m.get("visible_to") == user)
            ]

    def wait_for_message(
        self,
        channel: str,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        timeout: float = 5.0,
        *,
        visible_to: str | None = None,
    ) -> dict[str, Any]:
        """Wait until a message matching ``predicate`` is in ``channel``; return it."""

        def find() -> dict[str, Any] | None:
            for m in self.messages(channel, visible_to=visible_to):
                if predicate is None or predicate(m):
                    return m
            return None

        return self.wait_until(find, timeout, what=f"a matching message in {channel}")

    # ----------------------------------------------------------------------------------------
    # world: files
    # ----------------------------------------------------------------------------------------
    def _file_obj(
        self, fid: str, name: str, title: str, filetype: str, size: int, user: str
    ) -> dict[str, Any]:
        mimetype, pretty = _FILETYPES.get(filetype, _FILETYPES["binary"])
        if filetype not in _FILETYPES:
            mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
            pretty = filetype.upper()
        now = int(time.time())
        slug = _slug(name)
        return {
            "id": fid,
            "created": now,
            "timestamp": now,
            "name": name,
            "title": title,
            "mimetype": mimetype,
            "filetype": filetype,
            "pretty_type": pretty,
            "user": user,
            "user_team": TEAM_ID,
            "editable": filetype in ("csv", "text"),
            "size": size,
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": False,
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": f"{self.base_url}/files-pri/{TEAM_ID}-{fid}/{slug}",
            "url_private_download": f"{self.base_url}/files-pri/{TEAM_ID}-{fid}/download/{slug}",
            "permalink": f"{self.base_url}/files/{user}/{fid}/{slug}",
            "permalink_public": f"{self.base_url}/{TEAM_ID}-{fid}-{secrets.token_hex(5)}",
            "comments_count": 0,
            "is_starred": False,
            "shares": {},
            "channels": [],
            "groups": [],
            "ims": [],
            "has_rich_preview": False,
            "file_access": "visible",
        }

    def add_file(
        self,
        content: bytes,
        name: str,
        filetype: str | None = "csv",
        user: str = REQUESTER,
        *,
        title: str | None = None,
        channel: str | None = None,
        thread_ts: str | None = None,
        text: str = "",
    ) -> dict[str, Any]:
        """Place a file in the workspace as if ``user`` had uploaded it (e.g. through a
        modal's ``file_input``). With ``channel``, the user also shares it there in a message
        (what a message shortcut or a DM import starts from). Returns the file object, with
        ``url_private_download`` served by the stand-in to the bot token only."""
        if isinstance(content, str):
            content = content.encode("utf-8")
        with self._cond:
            fid = self._new_id("F")
            ftype = filetype or _guess_filetype(name)
            f = self._file_obj(fid, name, title or name, ftype, len(content), user)
            self._files[fid] = f
            self._file_data[fid] = bytes(content)
            self._touch()
            self._changed()
        if channel:
            self.post_user_message(user, channel, text, files=[f], thread_ts=thread_ts)
        with self._cond:
            return _public(self._files[fid])

    def file(self, file_id: str) -> dict[str, Any] | None:
        """The file object, or None."""
        with self._cond:
            f = self._files.get(file_id)
            return _public(f) if f else None

    def file_content(self, file_id: str) -> bytes:
        """The bytes of a file (uploaded by the bot or added by a test)."""
        with self._cond:
            return self._file_data[file_id]

    def files(self) -> list[dict[str, Any]]:
        """Every file object, oldest first."""
        with self._cond:
            return [_public(f) for f in self._files.values()]

    def _share_file_locked(self, fid: str, cid: str) -> dict[str, Any]:
        f = self._files.get(fid)
        if f is None:
            raise _ApiError("file_not_found")
        c = self._channels[cid]
        key = "ims" if c["is_im"] else ("groups" if c["is_private"] else "channels")
        if cid not in f[key]:
            f[key].append(cid)
        return _public(f)

    def _record_share_locked(self, fid: str, cid: str, msg: dict[str, Any]) -> None:
        f = self._files[fid]
        c = self._channels[cid]
        kind = "private" if c["is_private"] or c["is_im"] else "public"
        share: dict[str, Any] = {
            "ts": msg["ts"],
            "channel_name": c.get("name", ""),
            "team_id": TEAM_ID,
            "share_user_id": msg.get("user"),
        }
        if msg.get("thread_ts"):
            share["thread_ts"] = msg["thread_ts"]
        f["shares"].setdefault(kind, {}).setdefault(cid, []).append(share)
        self._touch()

    # ----------------------------------------------------------------------------------------
    # views, triggers, response URLs
    # ----------------------------------------------------------------------------------------
    def new_trigger_id(self, user: str) -> str:
        """A fresh ``trigger_id`` for ``user`` (valid once, for ``trigger_ttl`` seconds), as
        Slack puts in slash-command and interaction payloads."""
        with self._cond:
            self._counter += 1
            tid = f"{int(time.time())}.{self._counter}.{secrets.token_hex(16)}"
            self._triggers[tid] = {"user": user, "created": time.monotonic(), "used": False}
            return tid

    def _use_trigger(self, trigger_id: Any) -> str:
        if not trigger_id:
            raise _ApiError(
                "invalid_arguments", messages=["[ERROR] missing required field: trigger_id"]
            )
        t = self._triggers.get(str(trigger_id))
        if t is None:
            raise _ApiError("invalid_trigger_id")
        if t["used"]:
            raise _ApiError("exchanged_trigger_id")
        if self.trigger_ttl is not None and time.monotonic() - t["created"] > self.trigger_ttl:
            raise _ApiError("expired_trigger_id")
        t["used"] = True
        return str(t["user"])

    def new_response_url(
        self,
        channel: str,
        user: str,
        *,
        message_ts: str | None = None,
        thread_ts: str | None = None,
        ack_pending: bool = False,
    ) -> str:
        """A ``response_url`` under the stand-in for an interaction by ``user`` in
        ``channel``; ``message_ts`` is the message the interaction came from (what
        ``replace_original``/``delete_original`` act on). Usable 5 times, like Slack's.

        ``ack_pending`` (slash commands): the command's ack body is still to come through
        :meth:`deliver_ack`. Bolt may call ``respond()`` before the sender has read the ack,
        so the two are ordered here as Slack orders them: ack first."""
        with self._cond:
            self._counter += 1
            key = f"{self._counter}/{secrets.token_hex(12)}"
            try:
                cid = self._resolve_channel(channel)
            except _ApiError:
                cid = channel
            self._response_urls[key] = {
                "channel": cid,
                "user": user,
                "message_ts": message_ts,
                "thread_ts": thread_ts,
                "uses": 0,
                "created": time.time(),
                "ack_pending": ack_pending,
                "ack_superseded": False,
            }
            return f"{self.base_url}/actions/{TEAM_ID}/{key}"

    def views(self, user: str) -> list[dict[str, Any]]:
        """The user's open modal stack, bottom first (empty when no modal is open)."""
        with self._cond:
            return [_public(self._views[v]) for v in self._view_stacks.get(user, [])]

    def current_view(self, user: str) -> dict[str, Any] | None:
        """The modal the user is looking at, or None."""
        stack = self.views(user)
        return stack[-1] if stack else None

    def view(self, view_id: str) -> dict[str, Any] | None:
        """A view by id (open or not), or None."""
        with self._cond:
            v = self._views.get(view_id)
            return _public(v) if v else None

    def view_errors(self, view_id: str) -> dict[str, str]:
        """The ``response_action: errors`` last shown on a modal (block_id -> message)."""
        with self._cond:
            return dict(self._view_errors.get(view_id, {}))

    def home_view(self, user: str) -> dict[str, Any] | None:
        """The App Home published for ``user`` with views.publish, or None."""
        with self._cond:
            v = self._home_views.get(user)
            return _public(v) if v else None

    def _owner_of(self, view_id: str) -> str | None:
        for user, stack in self._view_stacks.items():
            if view_id in stack:
                return user
        return None

    def close_view(self, view_id: str, *, clear: bool = False) -> None:
        """Close a modal (the user pressed Cancel, or the app acked a submission): the view
        and any pushed above it go; ``clear`` closes the whole stack."""
        with self._cond:
            user = self._owner_of(view_id)
            if user is None:
                return
            stack = self._view_stacks[user]
            if clear:
                stack.clear()
            else:
                del stack[stack.index(view_id) :]
            self._view_errors.pop(view_id, None)
            self._touch()
            self._changed()

    def set_view_state(self, view_id: str, values: dict[str, Any]) -> None:
        """Store what the user typed into a modal (``view.state.values``)."""
        with self._cond:
            v = self._views[view_id]
            v["state"] = {"values": copy.deepcopy(values)}
            self._touch()
            self._changed()

    def show_view_errors(self, view_id: str, errors: dict[str, str]) -> None:
        """Record ``response_action: errors`` on an open modal (it stays open)."""
        with self._cond:
            self._view_errors[view_id] = dict(errors)
            self._touch()
            self._changed()

    def apply_view_response(
        self, view_id: str, user: str, view: dict[str, Any], action: str
    ) -> dict[str, Any]:
        """Apply ``response_action`` ``update`` (replace the modal) or ``push`` from a
        view_submission ack; returns the new view."""
        with self._cond:
            errs = self._validate_view(view)
            if errs:
                raise ValueError("; ".join(errs))
            if action == "update":
                root = self._views[view_id]["root_view_id"]
                new = self._make_view(view, view_id=view_id, root=root)
                self._views[view_id] = new
                self._view_errors.pop(view_id, None)
            else:
                stack = self._view_stacks.setdefault(user, [])
                root = self._views[stack[0]]["id"] if stack else None
                new = self._make_view(view, root=root, previous=view_id)
                self._views[new["id"]] = new
                stack.append(new["id"])
            self._touch()
            self._changed()
            return _public(new)

    def _make_view(
        self,
        view: dict[str, Any],
        *,
        view_id: str | None = None,
        root: str | None = None,
        previous: str | None = None,
        state: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        vid = view_id or self._new_id("V")
        return {
            "id": vid,
            "team_id": TEAM_ID,
            "type": view.get("type", "modal"),
            "blocks": _fill_ids(view.get("blocks", [])),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": state or {"values": {}},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "title": copy.deepcopy(view.get("title")),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": copy.deepcopy(view.get("close")),
            "submit": copy.deepcopy(view.get("submit")),
            "previous_view_id": previous,
            "root_view_id": root or vid,
            "app_id": APP_ID,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        }

    def _validate_view(self, view: Any) -> list[str]:
        if not isinstance(view, dict):
            return ["[ERROR] must provide an object [json-pointer:/view]"]
        errs: list[str] = []
        vtype = view.get("type")
        if vtype not in ("modal", "home"):
            errs.append("[ERROR] must be one of modal, home [json-pointer:/view/type]")
        if vtype == "modal":
            _check_text_obj(view.get("title"), "/view/title", 24, errs, plain_only=True)
            has_input = any(
                isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or []
            )
            if has_input and not view.get("submit"):
                errs.append(
                    "[ERROR] submit is required when an input block is within the "
                    "blocks array [json-pointer:/view/submit]"
                )
            for key in ("submit", "close"):
                if view.get(key) is not None:
                    _check_text_obj(view[key], f"/view/{key}", 24, errs, plain_only=True)
        if len(str(view.get("private_metadata", ""))) > 3000:
            errs.append(
                "[ERROR] must be less than 3001 characters [json-pointer:/view/private_metadata]"
            )
        if len(str(view.get("callback_id", ""))) > 255:
            errs.append("[ERROR] must be less than 256 characters [json-pointer:/view/callback_id]")
        errs += [
            e.replace("json-pointer:/blocks", "json-pointer:/view/blocks")
            for e in _validate_blocks(view.get("blocks", []), "modal")
        ]
        return errs

    # ----------------------------------------------------------------------------------------
    # calls, waiting, faults
    # ----------------------------------------------------------------------------------------
    @property
    def calls(self) -> list[ApiCall]:
        """Every recorded call, oldest first (a snapshot)."""
        with self._cond:
            return list(self._calls)

    def calls_to(self, method: str) -> list[ApiCall]:
        """Recorded calls of one method."""
        with self._cond:
            return [c for c in self._calls if c.method == method]

    @property
    def responses(self) -> list[ResponseRecord]:
        """What arrived on response URLs, oldest first."""
        with self._cond:
            return list(self._responses)

    def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,
        predicate: Callable[[ApiCall], bool] | None = None,
    ) -> list[ApiCall]:
        """Block until at least ``count`` calls of ``method`` (matching ``predicate``) have
        been answered (so their effect on the world is visible); return all of them. Raises
        AssertionError naming the calls that did arrive."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [
                    c
                    for c in self._calls
                    if c.method == method
                    and c.status is not None
                    and (predicate is None or predicate(c))
                ]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [c.method for c in self._calls]
                    raise AssertionError(
                        f"waited {timeout}s for {count} {method} call(s), got {len(found)}; "
                        f"calls recorded: {seen}"
                    )
                self._cond.wait(remaining)

    def wait_until(
        self, condition: Callable[[], Any], timeout: float = 5.0, what: str = "condition"
    ) -> Any:
        """Block until ``condition()`` is truthy (re-checked on every change); return it."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                result = condition()
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"waited {timeout}s for {what}")
                self._cond.wait(min(remaining, 0.5))

    def fail_next(
        self,
        method: str,
        error: str = "ratelimited",
        status: int | None = None,
        retry_after: int | None = 1,
        times: int = 1,
        *,
        drop: bool = False,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail.

        - ``error="ratelimited"`` (default): HTTP 429, ``Retry-After: retry_after``.
        - any other error: HTTP ``status`` (default 200) with ``{"ok": false, "error": ...}``.
        - ``drop=True``: the connection is closed without an answer (what slack-sdk's
          ``ConnectionErrorRetryHandler`` retries).
        ``method="*"`` matches any Web API method; ``upload``, ``download`` and
        ``response_url`` fault those endpoints.
        """
        if status is None:
            status = 429 if error == "ratelimited" else 200
        with self._cond:
            self._faults.setdefault(method, []).append(
                _Fault(error, status, retry_after if status == 429 else None, times, drop)
            )

    def _plain_fault(self, call: ApiCall, fault: _Fault) -> Response:
        """Answer a faulted non-API route (upload, download, response URL) as told: a dropped
        connection or a plain-text error with the fault's status."""
        if fault.drop:
            self._finish(call, 0, None, fault="drop")
            raise _Drop()
        self._finish(call, fault.status, fault.error, fault=fault.error)
        return Response(fault.error, status=fault.status)

    def _take_fault(self, method: str) -> _Fault | None:
        for key in (method, "*"):
            if key == "*" and method in ("upload", "download", "response_url"):
                continue
            queue = self._faults.get(key)
            if queue:
                fault = queue[0]
                fault.times -= 1
                if fault.times <= 0:
                    queue.pop(0)
                return fault
        return None

    def _record(
        self, method: str, params: dict[str, Any], token: str | None, headers: dict[str, str]
    ) -> ApiCall:
        call = ApiCall(method=method, params=params, time=time.time(), token=token, headers=headers)
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()
        return call

    def _finish(self, call: ApiCall, status: int, response: Any, fault: str | None = None) -> None:
        with self._cond:
            call.status = status
            call.response = response
            call.fault = fault
            self._cond.notify_all()

    # ----------------------------------------------------------------------------------------
    # HTTP
    # ----------------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        try:
            response = self._route(request)
        except _Drop:
            sock = environ.get("werkzeug.socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            raise ConnectionAbortedError("connection dropped by fail_next(drop=True)") from None
        return response(environ, start_response)

    def _route(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/api/"):
            return self._handle_api(request, path[len("/api/") :])
        if path.startswith("/upload/v1/"):
            return self._handle_upload(request, path[len("/upload/v1/") :])
        if path.startswith("/files-pri/"):
            return self._handle_download(request, path)
        if path.startswith(f"/actions/{TEAM_ID}/"):
            return self._handle_response_url(request, path[len(f"/actions/{TEAM_ID}/") :])
        if path == "/signin":
            return self._signin_page(request)
        if path.startswith("/_sandbox/"):
            return self._handle_sandbox(request, path[len("/_sandbox/") :])
        if path.startswith(("/archives/", "/files/")):
            return Response(
                f"<html><body>{html.escape(path)}</body></html>",
                content_type="text/html; charset=utf-8",
            )
        return Response("not found", status=404)

    @staticmethod
    def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return Response(
            json.dumps(data),
            status=status,
            headers=headers,
            content_type="application/json; charset=utf-8",
        )

    def _read_params(self, request: Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.args.items())
        if request.method == "POST":
            if request.mimetype == "application/json":
                body = request.get_data(as_text=True)
                if body.strip():
                    try:
                        data = json.loads(body)
                    except ValueError as e:
                        raise _ApiError("invalid_json") from e
                    if not isinstance(data, dict):
                        raise _ApiError("invalid_json")
                    params.update(data)
            else:
                params.update(request.form.items())
                for key, storage in request.files.items():
                    params[key] = storage.read()
        for key in _JSON_FIELDS:
            value = params.get(key)
            if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
                try:
                    params[key] = json.loads(value)
                except ValueError as e:
                    raise _ApiError(
                        "invalid_arguments", messages=[f"[ERROR] invalid JSON in {key}"]
                    ) from e
        return params

    def _handle_api(self, request: Request, method: str) -> Response:
        headers = {k: v for k, v in request.headers.items()}
        try:
            params = self._read_params(request)
        except _ApiError as e:
            call = self._record(method, {}, None, headers)
            body = {"ok": False, "error": e.error}
            self._finish(call, 200, body)
            return self._json(body)
        auth = request.headers.get("Authorization", "")
        token: str | None = None
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip()
        elif params.get("token"):
            token = str(params["token"])
        params.pop("token", None)
        call = self._record(method, params, token, headers)
        with self._cond:
            fault = self._take_fault(method)
        if fault is not None:
            if fault.drop:
                self._finish(call, 0, None, fault="drop")
                raise _Drop()
            body = {"ok": False, "error": fault.error}
            extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after else None
            self._finish(call, fault.status, body, fault=fault.error)
            return self._json(body, status=fault.status, headers=extra)
        if not token:
            body = {"ok": False, "error": "not_authed"}
        elif token != self.bot_token:
            body = {"ok": False, "error": "invalid_auth"}
        elif method not in self._methods:
            body = {"ok": False, "error": "unknown_method", "req_method": method}
            self._finish(call, 404, body)
            return self._json(body, status=404)
        else:
            try:
                with self._cond:
                    result = self._methods[method](params)
                body = {"ok": True, **result}
            except _ApiError as e:
                body = {"ok": False, "error": e.error, **e.extra}
                if e.status != 200:
                    self._finish(call, e.status, body)
                    return self._json(body, status=e.status)
        self._finish(call, 200, body)
        return self._json(body)

    # ----------------------------------------------------------------------------------------
    # Web API methods (each runs under the lock; returns the fields besides "ok")
    # ----------------------------------------------------------------------------------------
    def _m_api_test(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"args": {k: v for k, v in p.items() if isinstance(v, str)}}

    def _m_auth_test(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"{self.base_url}/",
            "team": TEAM_NAME,
            "user": BOT_NAME,
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _target_channel(self, ref: Any) -> str:
        ref = str(ref or "")
        if ref in self._users:
            return self._open_dm_locked(ref)
        return self._resolve_channel(ref)

    def _message_content(
        self, p: dict[str, Any], *, required: bool = True
    ) -> tuple[str, list[Any] | None, list[Any] | None]:
        text = p.get("text")
        text = "" if text is None else str(text)
        blocks = p.get("blocks")
        attachments = p.get("attachments")
        if blocks is not None:
            errs = _validate_blocks(blocks, "message")
            if errs:
                raise _ApiError("invalid_blocks", messages=errs)
        if attachments is not None and not isinstance(attachments, list):
            raise _ApiError("invalid_attachments")
        if required and not text and not blocks and not attachments:
            raise _ApiError("no_text")
        if len(text) > _TEXT_LIMIT:
            raise _ApiError("msg_too_long")
        return text, blocks or None, attachments or None

    def _check_bot_can_post(self, cid: str) -> dict[str, Any]:
        channel = self._channels[cid]
        if channel.get("is_archived"):
            raise _ApiError("is_archived")
        if BOT_USER_ID not in channel["_members"]:
            raise _ApiError("not_in_channel")
        return channel

    def _m_chat_post_message(self, p: dict[str, Any]) -> dict[str, Any]:
        cid = self._target_channel(p.get("channel"))
        self._check_bot_can_post(cid)
        text, blocks, attachments = self._message_content(p)
        extra: dict[str, Any] = {}
        if isinstance(p.get("metadata"), dict):
            extra["metadata"] = p["metadata"]
        thread_ts = p.get("thread_ts") or None
        if thread_ts and _truthy(p.get("reply_broadcast")):
            extra["subtype"] = "thread_broadcast"
        msg = self._bot_message(cid, text, blocks, attachments, thread_ts, extra)
        return {"channel": cid, "ts": msg["ts"], "message": _public(msg)}

    def _m_chat_post_ephemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        cid = self._target_channel(p.get("channel"))
        user = str(p.get("user") or "")
        if user not in self._users:
            raise _ApiError("user_not_found")
        channel = self._channels[cid]
        if user not in channel["_members"]:
            raise _ApiError("user_not_in_channel")
        text, blocks, attachments = self._message_content(p)
        msg = self._bot_message(
            cid,
            text,
            blocks,
            attachments,
            p.get("thread_ts") or None,
            {"is_ephemeral": True, "visible_to": user},
        )
        return {"message_ts": msg["ts"]}

    def _m_chat_update(self, p: dict[str, Any]) -> dict[str, Any]:
        cid = self._resolve_channel(p.get("channel"))
        msg = self._find_message(cid, str(p.get("ts") or ""))
        if msg is None or msg.get("is_ephemeral"):
            raise _ApiError("message_not_found")
        if msg.get("user") != BOT_USER_ID:
            raise _ApiError("cant_update_message")
        text, blocks, attachments = self._message_content(p, required=False)
        if "text" in p and p["text"] is not None:
            msg["text"] = text
        if "blocks" in p and p["blocks"] is not None:
            if blocks:
                msg["blocks"] = _fill_ids(blocks)
            else:
                msg.pop("blocks", None)
        if "attachments" in p and p["attachments"] is not None:
            if attachments:
                msg["attachments"] = copy.deepcopy(attachments)
            else:
                msg.pop("attachments", None)
        if not msg.get("text") and not msg.get("blocks") and not msg.get("attachments"):
            raise _ApiError("no_text")
        msg["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
        msg["_seq"] = self._touch()
        self._changed()
        return {
            "channel": cid,
            "ts": msg["ts"],
            "text": msg.get("text", ""),
            "message": _public(msg),
        }

    def _delete_locked(self, msg: dict[str, Any]) -> None:
        if msg.get("reply_count") and msg.get("thread_ts") == msg["ts"]:
            # a parent with replies leaves a tombstone, as in Slack
            msg.update({"subtype": "tombstone", "text": "This message was deleted."})
            msg.pop("blocks", None)
            msg.pop("attachments", None)
            msg.pop("files", None)
        else:
            msg["_deleted"] = True
            parent_ts = msg.get("thread_ts")
            if parent_ts and parent_ts != msg["ts"]:
                parent = self._find_message(msg["channel"], parent_ts)
                if parent is not None and parent.get("reply_count"):
                    parent["reply_count"] -= 1
                    parent["_seq"] = self._touch()
        msg["_seq"] = self._touch()
        self._changed()

    def _m_chat_delete(self, p: dict[str, Any]) -> dict[str, Any]:
        cid = self._resolve_channel(p.get("channel"))
        msg = self._find_message(cid, str(p.get("ts") or ""))
        if msg is None or msg.get("is_ephemeral"):
            raise _ApiError("message_not_found")
        if msg.get("user") != BOT_USER_ID:
            raise _ApiError("cant_delete_message")
        self._delete_locked(msg)
        return {"channel": cid, "ts": msg["ts"]}

    def _m_chat_get_permalink(self, p: dict[str, Any]) -> dict[str, Any]:
        cid = self._resolve_channel(p.get("channel"))
        ts = str(p.get("message_ts") or "")
        msg = self._find_message(cid, ts)
        if msg is None or msg.get("is_ephemeral"):
            raise _ApiError("message_not_found")
        link = f"{self.base_url}/archives/{cid}/p{ts.replace('.', '')}"
        if msg.get("thread_ts") and msg["thread_ts"] != ts:
            link += f"?thread_ts={msg['thread_ts']}&cid={cid}"
        return {"channel": cid, "permalink": link}

    def _m_conversations_open(self, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("channel"):
            cid = self._resolve_channel(p["channel"])
            return {"channel": {"id": cid}}
        users = [u.strip() for u in str(p.get("users") or "").split(",") if u.strip()]
        if not users:
            raise _ApiError("users_list_not_supplied")
        for u in users:
            if u not in self._users:
                raise _ApiError("user_not_found")
        if len(users) > 1:
            raise _ApiError("not_supported_in_stand_in")
        cid = self._open_dm_locked(users[0])
        self._changed()
        if _truthy(p.get("return_im")):
            return {"no_op": False, "already_open": False, "channel": _public(self._channels[cid])}
        return {"no_op": False, "already_open": False, "channel": {"id": cid}}

    def _m_conversations_info(self, p: dict[str, Any]) -> dict[str, Any]:
        cid = self._resolve_channel(p.get("channel"))
        channel = _public(self._channels[cid])
        if not channel.get("is_im"):
            channel["is_member"] = BOT_USER_ID in self._channels[cid]["_members"]
            channel["num_members"] = len(self._channels[cid]["_members"])
        return {"channel": channel}

    def _visible_top_level(self, cid: str) -> list[dict[str, Any]]:
        return [
            m
            for m in self._messages.get(cid, [])
            if not m.get("_deleted")
            and not m.get("is_ephemeral")
            and (
                not m.get("thread_ts")
                or m["thread_ts"] == m["ts"]
                or m.get("subtype") == "thread_broadcast"
            )
        ]

    def _page(
        self, items: list[Any], p: dict[str, Any], default: int = 100
    ) -> tuple[list[Any], str]:
        limit = int(p.get("limit") or default) or default
        start = int(p.get("cursor") or 0)
        page = items[start : start + limit]
        nxt = str(start + limit) if start + limit < len(items) else ""
        return page, nxt

    def _m_conversations_history(self, p: dict[str, Any]) -> dict[str, Any]:
        cid = self._resolve_channel(p.get("channel"))
        msgs = list(reversed(self._visible_top_level(cid)))
        if p.get("oldest"):
            msgs = [m for m in msgs if float(m["ts"]) >= float(p["oldest"])]
        if p.get("latest"):
            msgs = [m for m in msgs if float(m["ts"]) <= float(p["latest"])]
        page, nxt = self._page(msgs, p)
        return {
            "messages": [_public(m) for m in page],
            "has_more": bool(nxt),
            "pin_count": 0,
            "response_metadata": {"next_cursor": nxt},
        }

    def _m_conversations_replies(self, p: dict[str, Any]) -> dict[str, Any]:
        cid = self._resolve_channel(p.get("channel"))
        ts = str(p.get("ts") or "")
        parent = self._find_message(cid, ts)
        if parent is None:
            raise _ApiError("thread_not_found")
        root = parent.get("thread_ts") or ts
        msgs = [
            m
            for m in self._messages.get(cid, [])
            if not m.get("_deleted")
            and not m.get("is_ephemeral")
            and (m["ts"] == root or m.get("thread_ts") == root)
        ]
        page, nxt = self._page(msgs, p, default=1000)
        return {
            "messages": [_public(m) for m in page],
            "has_more": bool(nxt),
            "response_metadata": {"next_cursor": nxt},
        }

    def _m_conversations_members(self, p: dict[str, Any]) -> dict[str, Any]:
        cid = self._resolve_channel(p.get("channel"))
        page, nxt = self._page(list(self._channels[cid]["_members"]), p)
        return {"members": page, "response_metadata": {"next_cursor": nxt}}

    def _m_users_info(self, p: dict[str, Any]) -> dict[str, Any]:
        user = self._users.get(str(p.get("user") or ""))
        if user is None:
            raise _ApiError("user_not_found")
        return {"user": _public(user)}

    def _m_users_lookup_by_email(self, p: dict[str, Any]) -> dict[str, Any]:
        email = str(p.get("email") or "").lower()
        for user in self._users.values():
            if user["profile"].get("email", "").lower() == email and email:
                return {"user": _public(user)}
        raise _ApiError("users_not_found")

    def _m_usergroups_list(self, p: dict[str, Any]) -> dict[str, Any]:
        include_users = _truthy(p.get("include_users"))
        include_disabled = _truthy(p.get("include_disabled"))
        groups = []
        for g in self._groups.values():
            if g["date_delete"] and not include_disabled:
                continue
            item = _public(g)
            if not include_users:
                item.pop("users", None)
            if not _truthy(p.get("include_count")):
                item.pop("user_count", None)
            groups.append(item)
        return {"usergroups": groups}

    def _m_usergroups_users_list(self, p: dict[str, Any]) -> dict[str, Any]:
        gid = str(p.get("usergroup") or "")
        group = self._groups.get(gid)
        if group is None:
            raise _ApiError("no_such_subteam")
        return {"users": list(group["users"])}

    def _view_param(self, p: dict[str, Any]) -> dict[str, Any]:
        view = p.get("view")
        errs = self._validate_view(view)
        if errs:
            raise _ApiError("invalid_arguments", messages=errs)
        assert isinstance(view, dict)
        return view

    def _check_external_id(self, view: dict[str, Any], own: str | None = None) -> None:
        ext = view.get("external_id")
        if ext and any(v["external_id"] == ext and v["id"] != own for v in self._views.values()):
            raise _ApiError("duplicate_external_id")

    def _m_views_open(self, p: dict[str, Any]) -> dict[str, Any]:
        view = self._view_param(p)
        user = self._use_trigger(p.get("trigger_id"))
        self._check_external_id(view)
        new = self._make_view(view)
        self._views[new["id"]] = new
        self._view_stacks[user] = [new["id"]]
        self._touch()
        self._changed()
        return {"view": _public(new)}

    def _m_views_push(self, p: dict[str, Any]) -> dict[str, Any]:
        view = self._view_param(p)
        user = self._use_trigger(p.get("trigger_id"))
        stack = self._view_stacks.get(user) or []
        if not stack:
            raise _ApiError("not_found")
        if len(stack) >= 3:
            raise _ApiError("push_limit_reached")
        self._check_external_id(view)
        new = self._make_view(view, root=stack[0], previous=stack[-1])
        self._views[new["id"]] = new
        stack.append(new["id"])
        self._touch()
        self._changed()
        return {"view": _public(new)}

    def _m_views_update(self, p: dict[str, Any]) -> dict[str, Any]:
        view = self._view_param(p)
        vid = p.get("view_id")
        if not vid and p.get("external_id"):
            vid = next(
                (v["id"] for v in self._views.values() if v["external_id"] == p["external_id"]),
                None,
            )
        if not vid or vid not in self._views:
            raise _ApiError("not_found")
        old = self._views[vid]
        if self._owner_of(vid) is None and old["type"] == "modal":
            raise _ApiError("not_found")  # the modal was closed
        if p.get("hash") and p["hash"] != old["hash"]:
            raise _ApiError("hash_conflict")
        self._check_external_id(view, own=vid)
        new = self._make_view(
            view,
            view_id=vid,
            root=old["root_view_id"],
            previous=old["previous_view_id"],
            state=old["state"],
        )
        self._views[vid] = new
        self._touch()
        self._changed()
        return {"view": _public(new)}

    def _m_views_publish(self, p: dict[str, Any]) -> dict[str, Any]:
        view = self._view_param(p)
        user = str(p.get("user_id") or "")
        if user not in self._users:
            raise _ApiError("user_not_found")
        if view.get("type") != "home":
            raise _ApiError(
                "invalid_arguments", messages=["[ERROR] must be home [json-pointer:/view/type]"]
            )
        old = self._home_views.get(user)
        new = self._make_view(view, view_id=old["id"] if old else None)
        self._views[new["id"]] = new
        self._home_views[user] = new
        self._touch()
        self._changed()
        return {"view": _public(new)}

    def _m_files_info(self, p: dict[str, Any]) -> dict[str, Any]:
        f = self._files.get(str(p.get("file") or ""))
        if f is None:
            raise _ApiError("file_not_found")
        return {"file": _public(f), "comments": [], "response_metadata": {"next_cursor": ""}}

    def _m_files_get_upload_url_external(self, p: dict[str, Any]) -> dict[str, Any]:
        filename = p.get("filename")
        length = p.get("length")
        if not filename or length in (None, ""):
            raise _ApiError(
                "invalid_arguments", messages=["[ERROR] missing required field: filename/length"]
            )
        try:
            length_int = int(length)
        except (TypeError, ValueError) as e:
            raise _ApiError("invalid_arguments") from e
        fid = self._new_id("F")
        key = secrets.token_urlsafe(18)
        self._uploads[key] = {
            "file_id": fid,
            "filename": str(filename),
            "length": length_int,
            "data": None,
            "snippet_type": p.get("snippet_type"),
            "alt_txt": p.get("alt_txt"),
        }
        return {"upload_url": f"{self.base_url}/upload/v1/{key}", "file_id": fid}

    def _m_files_complete_upload_external(self, p: dict[str, Any]) -> dict[str, Any]:
        items = p.get("files")
        if not isinstance(items, list) or not items:
            raise _ApiError("invalid_arguments", messages=["[ERROR] missing required field: files"])
        channels: list[str] = []
        if p.get("channel_id"):
            channels.append(self._target_channel(p["channel_id"]))
        for ch in str(p.get("channels") or "").split(","):
            if ch.strip():
                channels.append(self._target_channel(ch.strip()))
        thread_ts = p.get("thread_ts") or None
        if thread_ts and len(channels) != 1:
            raise _ApiError(
                "invalid_arguments", messages=["[ERROR] thread_ts requires exactly one channel"]
            )
        for cid in channels:
            self._check_bot_can_post(cid)
        done: list[dict[str, Any]] = []
        for item in items:
            fid = str(item.get("id") if isinstance(item, dict) else item)
            upload_key = next((k for k, u in self._uploads.items() if u["file_id"] == fid), None)
            if upload_key is None:
                raise _ApiError("file_not_found")
            up = self._uploads[upload_key]
            if up["data"] is None:
                raise _ApiError("file_upload_not_complete")
            del self._uploads[upload_key]
            name = up["filename"]
            title = (item.get("title") if isinstance(item, dict) else None) or name
            ftype = up.get("snippet_type") or _guess_filetype(name)
            f = self._file_obj(fid, name, title, ftype, len(up["data"]), BOT_USER_ID)
            f["display_as_bot"] = False
            if up.get("alt_txt"):
                f["alt_txt"] = up["alt_txt"]
            self._files[fid] = f
            self._file_data[fid] = up["data"]
            done.append(f)
        self._touch()
        for cid in channels:
            shared = [self._share_file_locked(f["id"], cid) for f in done]
            msg = self._bot_message(
                cid,
                str(p.get("initial_comment") or ""),
                p.get("blocks") or None,
                None,
                thread_ts,
                {"files": shared, "upload": True, "display_as_bot": False},
            )
            for f in done:
                self._record_share_locked(f["id"], cid, msg)
        self._changed()
        return {"files": [_public(self._files[f["id"]]) for f in done]}

    def _m_reactions_add(self, p: dict[str, Any]) -> dict[str, Any]:
        cid = self._resolve_channel(p.get("channel"))
        msg = self._find_message(cid, str(p.get("timestamp") or ""))
        if msg is None:
            raise _ApiError("message_not_found")
        name = str(p.get("name") or "")
        if not name:
            raise _ApiError("invalid_name")
        reactions = msg.setdefault("reactions", [])
        for r in reactions:
            if r["name"] == name:
                if BOT_USER_ID in r["users"]:
                    raise _ApiError("already_reacted")
                r["users"].append(BOT_USER_ID)
                r["count"] += 1
                break
        else:
            reactions.append({"name": name, "users": [BOT_USER_ID], "count": 1})
        msg["_seq"] = self._touch()
        self._changed()
        return {}

    # ----------------------------------------------------------------------------------------
    # upload URL, file download, sign-in page
    # ----------------------------------------------------------------------------------------
    def _handle_upload(self, request: Request, key: str) -> Response:
        data = request.get_data()
        if request.mimetype == "multipart/form-data":
            storage = request.files.get("file") or next(iter(request.files.values()), None)
            data = storage.read() if storage is not None else b""
        call = self._record(
            "upload", {"key": key, "size": len(data)}, None, dict(request.headers.items())
        )
        with self._cond:
            fault = self._take_fault("upload")
            if fault is not None:
                return self._plain_fault(call, fault)
            up = self._uploads.get(key)
            if up is None or request.method != "POST":
                self._finish(call, 404, "not found")
                return Response("not found", status=404)
            up["data"] = data
        self._finish(call, 200, f"OK - {len(data)}")
        return Response(f"OK - {len(data)}", content_type="text/plain; charset=utf-8")

    def _handle_download(self, request: Request, path: str) -> Response:
        m = re.match(rf"^/files-pri/{TEAM_ID}-(F[0-9A-Z]+)/(?:download/)?[^/]+$", path)
        auth = request.headers.get("Authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        fid = m.group(1) if m else ""
        call = self._record(
            "download", {"file": fid, "path": path}, token, dict(request.headers.items())
        )
        with self._cond:
            fault = self._take_fault("download")
            f = self._files.get(fid)
            data = self._file_data.get(fid)
        if fault is not None:
            return self._plain_fault(call, fault)
        if token != self.bot_token:
            # Slack answers an unauthenticated file URL with a redirect to its sign-in page
            # (HTML, status 200 after the redirect), never with the file.
            location = f"{self.base_url}/signin?redir={quote(path, safe='')}"
            self._finish(call, 302, None)
            return Response("", status=302, headers={"Location": location})
        if f is None or data is None:
            self._finish(call, 404, None)
            return Response("file not found", status=404)
        self._finish(call, 200, None)
        headers = {"Content-Disposition": f'attachment; filename="{_slug(f["name"])}"'}
        return Response(data, content_type=f["mimetype"], headers=headers)

    def _signin_page(self, request: Request) -> Response:
        redir = html.escape(request.args.get("redir", ""))
        page = (
            "<!DOCTYPE html><html><head><title>Sign in | Slack</title></head><body>"
            f"<h1>Sign in to {html.escape(TEAM_NAME)}</h1>"
            f'<form method="post" action="/signin?redir={redir}">'
            '<input type="email" name="email"><button>Sign in</button></form>'
            "</body></html>"
        )
        return Response(page, content_type="text/html; charset=utf-8")

    # ----------------------------------------------------------------------------------------
    # response_url
    # ----------------------------------------------------------------------------------------
    def _handle_response_url(self, request: Request, key: str) -> Response:
        url = f"{self.base_url}/actions/{TEAM_ID}/{key}"
        try:
            payload = json.loads(request.get_data(as_text=True) or "{}")
        except ValueError:
            payload = None
        if payload is None and request.form.get("payload"):
            try:
                payload = json.loads(request.form["payload"])
            except ValueError:
                payload = None
        call = self._record(
            "response_url",
            payload if isinstance(payload, dict) else {},
            None,
            dict(request.headers.items()),
        )
        with self._cond:
            fault = self._take_fault("response_url")
            if fault is not None:
                return self._plain_fault(call, fault)
            info = self._response_urls.get(key)
            if info is None or request.method != "POST":
                self._finish(call, 404, "no_service")
                return Response("no_service", status=404)
            if not isinstance(payload, dict):
                self._finish(call, 400, "invalid_payload")
                return Response("invalid_payload", status=400)
            if info["uses"] >= 5 or time.time() - info["created"] > 30 * 60:
                self._responses.append(
                    ResponseRecord(
                        url, payload, time.time(), info["channel"], info["user"], "rejected"
                    )
                )
                self._finish(call, 404, "used_url")
                self._changed()
                return Response("used_url", status=404)
            info["uses"] += 1
            try:
                action, msg = self._apply_response_locked(info, payload)
            except _ApiError as e:
                self._finish(call, 400, e.error)
                return Response(e.error, status=400)
            self._responses.append(
                ResponseRecord(
                    url,
                    payload,
                    time.time(),
                    info["channel"],
                    info["user"],
                    action,
                    _public(msg) if msg else None,
                )
            )
            self._changed()
        self._finish(call, 200, "ok")
        return Response("ok", content_type="text/plain; charset=utf-8")

    def deliver_ack(
        self, response_url: str, payload: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        """Show a slash command's ack body the way Slack does: as a message from the app,
        ephemeral unless ``response_type`` is ``in_channel`` (``None``: an empty ack, nothing
        shown). It is tied to the command's ``response_url``, so a later ``replace_original``
        there replaces it; if such a replacement already arrived (Bolt's listener can be
        quicker than the sender), the ack is not shown at all. Does not count as one of the
        URL's five uses and is not added to :attr:`responses`."""
        key = response_url.split(f"/actions/{TEAM_ID}/", 1)[-1]
        with self._cond:
            info = self._response_urls.get(key)
            if info is None:
                return None
            info["ack_pending"] = False
            if not payload or info["ack_superseded"]:
                return None
            earlier = info["message_ts"]
            _, msg = self._apply_response_locked(info, payload)
            if earlier is not None:
                info["message_ts"] = earlier  # responses already own the URL's "original"
            return _public(msg) if msg else None

    def _apply_response_locked(
        self, info: dict[str, Any], payload: dict[str, Any]
    ) -> tuple[str, dict[str, Any] | None]:
        cid = info["channel"]
        if cid not in self._channels:
            raise _ApiError("channel_not_found")
        original = self._find_message(cid, info["message_ts"]) if info["message_ts"] else None
        if _truthy(payload.get("delete_original")):
            if original is not None:
                self._delete_locked(original)
                info["message_ts"] = None
            return "delete", None
        blocks = payload.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        text = str(payload.get("text") or "")
        attachments = payload.get("attachments")
        if blocks is not None:
            errs = _validate_blocks(blocks, "message")
            if errs:
                raise _ApiError("invalid_blocks")
        if not text and not blocks and not attachments:
            raise _ApiError("no_text")
        if _truthy(payload.get("replace_original")) and original is not None:
            original["text"] = text
            if blocks:
                original["blocks"] = _fill_ids(blocks)
            else:
                original.pop("blocks", None)
            if attachments:
                original["attachments"] = copy.deepcopy(attachments)
            else:
                original.pop("attachments", None)
            original["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
            original["_seq"] = self._touch()
            self._changed()
            return "replace", original
        if _truthy(payload.get("replace_original")) and info.get("ack_pending"):
            info["ack_superseded"] = True  # it replaces the ack Slack would have shown first
        # A new message: ephemeral unless response_type is in_channel (Slack's default).
        in_channel = payload.get("response_type") == "in_channel"
        extra: dict[str, Any] = (
            {} if in_channel else {"is_ephemeral": True, "visible_to": info["user"]}
        )
        thread_ts = payload.get("thread_ts") or info.get("thread_ts")
        msg = self._bot_message(cid, text, blocks or None, attachments or None, thread_ts, extra)
        # later replace_original on this URL (e.g. "working..." -> result) acts on this message
        info["message_ts"] = msg["ts"]
        return ("in_channel" if in_channel else "ephemeral"), msg

    # ----------------------------------------------------------------------------------------
    # JSON read API for the browser page
    # ----------------------------------------------------------------------------------------
    def state(self, since: int = 0, user: str | None = None) -> dict[str, Any]:
        """The world as JSON: everything when ``since=0``, else only messages changed after
        sequence number ``since`` (deleted ones as ``{"deleted": true}``). With ``user``,
        ephemeral messages are limited to that user's and ``views`` to that user's modals."""
        with self._cond:
            msgs: list[dict[str, Any]] = []
            for cid, items in self._messages.items():
                for m in items:
                    if m["_seq"] <= since:
                        continue
                    if m.get("is_ephemeral") and user and m.get("visible_to") != user:
                        continue
                    if m.get("_deleted"):
                        if since:
                            msgs.append(
                                {
                                    "channel": cid,
                                    "ts": m["ts"],
                                    "deleted": True,
                                    "thread_ts": m.get("thread_ts"),
                                }
                            )
                        continue
                    msgs.append(_public(m))
            msgs.sort(key=lambda m: m["ts"])
            view_users = [user] if user else list(self._view_stacks)
            return {
                "seq": self._seq,
                "since": since,
                "team": {"id": TEAM_ID, "name": TEAM_NAME, "domain": TEAM_DOMAIN},
                "bot": {
                    "user_id": BOT_USER_ID,
                    "bot_id": BOT_ID,
                    "app_id": APP_ID,
                    "name": BOT_NAME,
                },
                "users": [_public(u) for u in self._users.values()],
                "channels": [_public(c) for c in self._channels.values()],
                "usergroups": [_public(g) for g in self._groups.values()],
                "files": [_public(f) for f in self._files.values()],
                "messages": msgs,
                "views": {
                    u: {
                        "stack": [_public(self._views[v]) for v in self._view_stacks.get(u, [])],
                        "errors": {
                            v: self._view_errors[v]
                            for v in self._view_stacks.get(u, [])
                            if v in self._view_errors
                        },
                    }
                    for u in view_users
                },
            }

    def _handle_sandbox(self, request: Request, sub: str) -> Response:
        args = request.args
        if sub == "state" and request.method == "GET":
            try:
                since = int(args.get("since", "0") or 0)
            except ValueError:
                return self._json({"ok": False, "error": "invalid_since"}, status=400)
            return self._json({"ok": True, **self.state(since, args.get("user") or None)})
        m = re.match(r"^channels/([^/]+)/messages$", sub)
        if m and request.method == "GET":
            try:
                msgs = self.messages(m.group(1), visible_to=args.get("user") or None)
            except KeyError:
                return self._json({"ok": False, "error": "channel_not_found"}, status=404)
            return self._json({"ok": True, "messages": msgs})
        if sub == "files" and request.method == "POST":
            name = args.get("name") or "upload.csv"
            user = args.get("user") or REQUESTER
            f = self.add_file(request.get_data(), name, args.get("filetype") or None, user)
            return self._json({"ok": True, "file": f})
        m = re.match(r"^files/(F[0-9A-Z]+)$", sub)
        if m and request.method == "GET":
            # The page plays a signed-in person (Slack's session cookie), so it gets files
            # here; url_private_download stays bot-token-only for the bot under test.
            with self._cond:
                f = self._files.get(m.group(1))
                data = self._file_data.get(m.group(1))
            if f is None or data is None:
                return self._json({"ok": False, "error": "file_not_found"}, status=404)
            disposition = f'attachment; filename="{_slug(f["name"])}"'
            return Response(
                data, content_type=f["mimetype"], headers={"Content-Disposition": disposition}
            )
        m = re.match(r"^views/([^/]+)/close$", sub)
        if m and request.method == "POST":
            self.close_view(m.group(1))
            return self._json({"ok": True})
        return self._json({"ok": False, "error": "unknown_endpoint"}, status=404)


class _Drop(Exception):
    """Internal: close the connection without answering."""


def start_slack_api(
    port: int = 0, bot_token: str = DEFAULT_BOT_TOKEN, trigger_ttl: float | None = 3.0
) -> SlackApiServer:
    """Start a Slack Web API stand-in on 127.0.0.1 (``port=0`` picks a free port).

    ``trigger_ttl`` is how long a trigger_id stays valid (Slack: 3 s; None: forever).
    """
    return SlackApiServer(bot_token=bot_token, trigger_ttl=trigger_ttl).start(port)
