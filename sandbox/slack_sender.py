"""The Slack platform's side of the conversation: signed requests to the bot's Request URL.

Why: every end-to-end test (and the offline sandbox's browser page) must reach the bot the way
Slack does, through Bolt's signature check, with the payload shapes Slack documents, so that
nothing in the bot is special-cased for tests. A request built here is what Slack would send:

- slash commands: ``application/x-www-form-urlencoded`` fields (``command``, ``text``,
  ``user_id``, ``channel_id``, ``response_url``, ``trigger_id``...);
- interactivity (``block_actions``, ``view_submission``, ``view_closed``, ``shortcut``,
  ``message_action``): a form with one ``payload`` field holding the JSON;
- Events API (``event_callback`` with ``event_id``, ``url_verification``): a JSON body.

Each is signed with ``v0=HMAC-SHA256(signing_secret, "v0:{timestamp}:{body}")`` in
``X-Slack-Signature`` plus ``X-Slack-Request-Timestamp``. Options on every request:
``timestamp=`` (stale-timestamp tests), ``bad_signature=True``, ``retry_num=`` /
``retry_reason=`` (``X-Slack-Retry-Num`` / ``X-Slack-Retry-Reason``) and ``headers=``.

With a :class:`~sandbox.slack_api.SlackApiServer` attached, the sender also plays Slack's
part in the world: it registers ``response_url`` and ``trigger_id`` values with the stand-in,
shows a slash command's ack text as the ephemeral reply Slack would show, and closes, updates
or annotates a modal according to the ``view_submission`` ack (``response_action``).
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from sandbox.slack_api import (
    APP_ID,
    BOT_USER_ID,
    REQUESTER,
    SUPPORT_CHANNEL,
    TEAM_DOMAIN,
    TEAM_ID,
)

if TYPE_CHECKING:
    from sandbox.slack_api import SlackApiServer

__all__ = ["SIGNING_SECRET", "SlackHttpResult", "SlackSender"]

SIGNING_SECRET = "sandbox-signing-secret"
"""The signing secret tests and the sandbox share with the bot (not a real secret)."""

_VERIFICATION_TOKEN = "sandbox-verification-token"  # the deprecated ``token`` field

_OPTION_KEYS = {"timestamp", "bad_signature", "retry_num", "retry_reason", "headers"}

# element type -> (state key, empty value) for view.state.values
_STATE_KEYS: dict[str, tuple[str, Any]] = {
    "plain_text_input": ("value", None),
    "email_text_input": ("value", None),
    "url_text_input": ("value", None),
    "number_input": ("value", None),
    "rich_text_input": ("rich_text_value", None),
    "file_input": ("files", []),
    "static_select": ("selected_option", None),
    "external_select": ("selected_option", None),
    "radio_buttons": ("selected_option", None),
    "multi_static_select": ("selected_options", []),
    "multi_external_select": ("selected_options", []),
    "checkboxes": ("selected_options", []),
    "users_select": ("selected_user", None),
    "multi_users_select": ("selected_users", []),
    "conversations_select": ("selected_conversation", None),
    "multi_conversations_select": ("selected_conversations", []),
    "channels_select": ("selected_channel", None),
    "multi_channels_select": ("selected_channels", []),
    "datepicker": ("selected_date", None),
    "timepicker": ("selected_time", None),
    "datetimepicker": ("selected_date_time", None),
}


@dataclass
class SlackHttpResult:
    """The bot's HTTP answer to one request, with what was sent."""

    status: int
    body: str
    headers: dict[str, str]
    elapsed: float
    raw_body: str
    content_type: str
    timestamp: str
    payload: dict[str, Any] | None = None
    response_url: str | None = None
    trigger_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """HTTP 2xx (Slack treats anything else as a failed delivery)."""
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The body parsed as JSON (None when empty or not JSON)."""
        try:
            return json.loads(self.body) if self.body.strip() else None
        except ValueError:
            return None


class SlackSender:
    """Sends Slack's requests to the bot. See the module docstring for the options."""

    def __init__(
        self,
        bot_url: str,
        signing_secret: str = SIGNING_SECRET,
        api: SlackApiServer | None = None,
        team_id: str = TEAM_ID,
        *,
        team_domain: str = TEAM_DOMAIN,
        app_id: str = APP_ID,
        timeout: float = 30.0,
    ) -> None:
        self.bot_url = bot_url
        self.signing_secret = signing_secret
        self.api = api
        self.team_id = team_id
        self.team_domain = team_domain
        self.app_id = app_id
        self.timeout = timeout
        self._verifier = SignatureVerifier(signing_secret)
        self.sent: list[SlackHttpResult] = []

    # ----------------------------------------------------------------------------------------
    # transport
    # ----------------------------------------------------------------------------------------
    def send(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | str | None = None,
        bad_signature: bool = False,
        retry_num: int | None = None,
        retry_reason: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> SlackHttpResult:
        """POST a raw body, signed as Slack signs it, and return the bot's answer."""
        ts = str(int(time.time())) if timestamp is None else str(timestamp)
        signature = self._verifier.generate_signature(timestamp=ts, body=body)
        if bad_signature:
            signature = "v0=" + ("0" if signature[3] != "0" else "1") + signature[4:]
        hdrs = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        }
        if retry_num is not None:
            hdrs["X-Slack-Retry-Num"] = str(retry_num)
            hdrs["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
        if headers:
            hdrs.update(headers)
        req = urllib.request.Request(
            self.bot_url, data=body.encode("utf-8"), headers=hdrs, method="POST"
        )
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                status = resp.status
                text = resp.read().decode("utf-8", errors="replace")
                resp_headers = dict(resp.headers.items())
        except urllib.error.HTTPError as e:
            status = e.code
            text = e.read().decode("utf-8", errors="replace")
            resp_headers = dict(e.headers.items())
        elapsed = time.perf_counter() - started
        result = SlackHttpResult(
            status=status,
            body=text,
            headers=resp_headers,
            elapsed=elapsed,
            raw_body=body,
            content_type=content_type,
            timestamp=ts,
        )
        self.sent.append(result)
        return result

    def resend(
        self,
        result: SlackHttpResult,
        retry_num: int = 1,
        retry_reason: str = "http_timeout",
        **opts: Any,
    ) -> SlackHttpResult:
        """Deliver the same body again as a Slack retry (fresh timestamp and signature,
        ``X-Slack-Retry-Num``/``X-Slack-Retry-Reason``), as Slack does after a timeout."""
        self._check_opts(opts)
        again = self.send(
            result.raw_body,
            result.content_type,
            retry_num=retry_num,
            retry_reason=retry_reason,
            **opts,
        )
        again.payload = result.payload
        again.response_url = result.response_url
        again.trigger_id = result.trigger_id
        return again

    def send_form(self, fields: dict[str, str], **opts: Any) -> SlackHttpResult:
        """POST form fields (a slash command's encoding)."""
        self._check_opts(opts)
        body = urlencode(fields)
        result = self.send(body, "application/x-www-form-urlencoded", **opts)
        result.payload = dict(fields)
        return result

    def send_interaction(self, payload: dict[str, Any], **opts: Any) -> SlackHttpResult:
        """POST an interactivity payload as Slack does: a form with one ``payload`` field."""
        self._check_opts(opts)
        body = urlencode({"payload": json.dumps(payload)})
        result = self.send(body, "application/x-www-form-urlencoded", **opts)
        result.payload = payload
        return result

    def send_json(self, payload: dict[str, Any], **opts: Any) -> SlackHttpResult:
        """POST an Events API JSON body."""
        self._check_opts(opts)
        result = self.send(json.dumps(payload), "application/json", **opts)
        result.payload = payload
        return result

    @staticmethod
    def _check_opts(opts: dict[str, Any]) -> None:
        unknown = set(opts) - _OPTION_KEYS
        if unknown:
            raise TypeError(f"unknown option(s): {sorted(unknown)}; use {sorted(_OPTION_KEYS)}")

    # ----------------------------------------------------------------------------------------
    # helpers for the world
    # ----------------------------------------------------------------------------------------
    def _user_obj(self, user: str) -> dict[str, Any]:
        name = self._user_name(user)
        return {"id": user, "username": name, "name": name, "team_id": self.team_id}

    def _user_name(self, user: str) -> str:
        if self.api is not None:
            for u in self.api.users():
                if u["id"] == user:
                    return str(u["name"])
        return user.lower()

    def _channel_obj(self, channel: str) -> dict[str, str]:
        cid, name = channel, channel
        if self.api is not None:
            cid = self.api.channel_id(channel)
            for c in self.api.channels():
                if c["id"] == cid:
                    name = "directmessage" if c.get("is_im") else str(c.get("name", cid))
        return {"id": cid, "name": name}

    def _team(self) -> dict[str, str]:
        return {"id": self.team_id, "domain": self.team_domain}

    def _trigger(self, user: str) -> str:
        if self.api is not None:
            return self.api.new_trigger_id(user)
        return f"{int(time.time())}.{secrets.randbelow(10**6)}.{secrets.token_hex(16)}"

    def _response_url(
        self,
        channel: str,
        user: str,
        message_ts: str | None = None,
        thread_ts: str | None = None,
        ack_pending: bool = False,
    ) -> str:
        if self.api is not None:
            return self.api.new_response_url(
                channel, user, message_ts=message_ts, thread_ts=thread_ts, ack_pending=ack_pending
            )
        return (
            f"https://hooks.slack.com/actions/{self.team_id}/"
            f"{secrets.randbelow(10**12)}/{secrets.token_hex(12)}"
        )

    # ----------------------------------------------------------------------------------------
    # Slack's requests
    # ----------------------------------------------------------------------------------------
    def url_verification(self, challenge: str | None = None, **opts: Any) -> SlackHttpResult:
        """The handshake Slack sends when a Request URL is saved; the bot echoes ``challenge``."""
        payload = {
            "token": _VERIFICATION_TOKEN,
            "challenge": challenge or secrets.token_urlsafe(24),
            "type": "url_verification",
        }
        return self.send_json(payload, **opts)

    def slash(
        self,
        command: str,
        text: str = "",
        user: str = REQUESTER,
        channel: str = SUPPORT_CHANNEL,
        **opts: Any,
    ) -> SlackHttpResult:
        """A slash command, e.g. ``slash("/billing", "customer Acme")``. With a stand-in
        attached, a non-empty ack is shown as Slack shows it (ephemeral unless
        ``response_type: in_channel``) and ``result.response_url`` works with ``respond()``."""
        ch = self._channel_obj(channel)
        response_url = self._response_url(ch["id"], user, ack_pending=True)
        trigger_id = self._trigger(user)
        fields = {
            "token": _VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "channel_id": ch["id"],
            "channel_name": ch["name"],
            "user_id": user,
            "user_name": self._user_name(user),
            "command": command,
            "text": text,
            "api_app_id": self.app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
        result = self.send_form(fields, **opts)
        result.response_url = response_url
        result.trigger_id = trigger_id
        if self.api is not None:
            ack: Any = None
            if result.status == 200 and result.body.strip():
                ack = result.json()
                if not isinstance(ack, dict):
                    ack = {"text": result.body}
                if not (ack.get("text") or ack.get("blocks") or ack.get("attachments")):
                    ack = None
            self.api.deliver_ack(response_url, ack)
        return result

    def _find_element(
        self, blocks: list[dict[str, Any]], action_id: str
    ) -> tuple[str | None, dict[str, Any] | None]:
        for block in blocks or []:
            candidates: list[Any] = []
            if block.get("type") == "actions":
                candidates += block.get("elements", [])
            for key in ("accessory", "element"):
                if isinstance(block.get(key), dict):
                    candidates.append(block[key])
            for el in candidates:
                if isinstance(el, dict) and el.get("action_id") == action_id:
                    return block.get("block_id"), el
        return None, None

    def block_action(
        self,
        user: str,
        action_id: str,
        value: str | None = None,
        *,
        message: dict[str, Any] | None = None,
        channel: str | None = None,
        container: dict[str, Any] | None = None,
        block_id: str | None = None,
        view: dict[str, Any] | None = None,
        action: dict[str, Any] | None = None,
        **opts: Any,
    ) -> SlackHttpResult:
        """A ``block_actions`` payload: ``user`` clicked ``action_id``.

        Pass the ``message`` (as from ``api.messages``) the button is on, or the ``view``
        for a button in a modal; the block_id, button text and (if ``value`` is None) value
        are read from it. ``action`` overrides fields of the action (e.g. a select's
        ``selected_option``).
        """
        now = f"{time.time():.6f}"
        blocks = (message or view or {}).get("blocks", [])
        found_block, element = self._find_element(blocks, action_id)
        element = element or {"type": "button"}
        act: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block_id or found_block or secrets.token_hex(3),
            "type": element.get("type", "button"),
            "action_ts": now,
        }
        if act["type"] == "button":
            act["text"] = element.get("text") or {"type": "plain_text", "text": action_id}
            act["value"] = value if value is not None else element.get("value", "")
            if element.get("style"):
                act["style"] = element["style"]
        elif value is not None:
            act["value"] = value
        if action:
            act.update(action)
        trigger_id = self._trigger(user)
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user_obj(user),
            "api_app_id": self.app_id,
            "token": _VERIFICATION_TOKEN,
            "trigger_id": trigger_id,
            "team": self._team(),
            "enterprise": None,
            "is_enterprise_install": False,
            "actions": [act],
        }
        response_url = None
        if view is not None:
            current = (self.api.view(view["id"]) if self.api is not None else None) or view
            payload["container"] = container or {"type": "view", "view_id": current["id"]}
            payload["view"] = current
            payload["state"] = current.get("state", {"values": {}})
        else:
            ch_ref = channel or (message or {}).get("channel") or SUPPORT_CHANNEL
            ch = self._channel_obj(ch_ref)
            ts = (message or {}).get("ts")
            ephemeral = bool((message or {}).get("is_ephemeral"))
            response_url = self._response_url(
                ch["id"], user, message_ts=ts, thread_ts=(message or {}).get("thread_ts")
            )
            payload["container"] = container or {
                "type": "message",
                "message_ts": ts,
                "channel_id": ch["id"],
                "is_ephemeral": ephemeral,
            }
            payload["channel"] = ch
            if message is not None and not ephemeral:
                # Slack includes the whole message, except for ephemeral messages
                payload["message"] = {k: v for k, v in message.items() if k != "channel"}
            payload["state"] = {"values": {}}
            payload["response_url"] = response_url
        result = self.send_interaction(payload, **opts)
        result.trigger_id = trigger_id
        result.response_url = response_url
        return result

    def click(
        self, user: str, message: dict[str, Any], action_id: str, **opts: Any
    ) -> SlackHttpResult:
        """Shorthand: ``user`` clicks the button ``action_id`` on ``message``."""
        return self.block_action(user, action_id, message=message, **opts)

    def _state_values(
        self, view: dict[str, Any], values: dict[str, Any] | None
    ) -> dict[str, dict[str, Any]]:
        state: dict[str, dict[str, Any]] = {}
        elements: dict[str, tuple[str, dict[str, Any]]] = {}
        for block in view.get("blocks", []):
            bid = block.get("block_id")
            candidates: list[Any] = []
            if block.get("type") == "input":
                candidates.append(block.get("element"))
            elif block.get("type") == "actions":
                candidates += block.get("elements", [])
            elif block.get("type") == "section":
                candidates.append(block.get("accessory"))
            for el in candidates:
                if not isinstance(el, dict) or el.get("type") not in _STATE_KEYS:
                    continue
                key, empty = _STATE_KEYS[el["type"]]
                initial = _initial_value(el)
                entry: dict[str, Any] = {
                    "type": el["type"],
                    key: initial
                    if initial is not None
                    else (list(empty) if isinstance(empty, list) else empty),
                }
                state.setdefault(bid, {})[el["action_id"]] = entry
                elements[el["action_id"]] = (bid, el)
        for key, val in (values or {}).items():
            targets: list[tuple[str, Any]]
            if key in state and isinstance(val, dict) and val and set(val) <= set(state[key]):
                targets = list(val.items())  # {block_id: {action_id: value}}
            elif key in state and key not in elements and len(state[key]) == 1:
                targets = [(next(iter(state[key])), val)]  # {block_id: value}
            else:
                targets = [(key, val)]  # {action_id: value}
            for action_id, v in targets:
                if action_id not in elements:
                    raise KeyError(
                        f"no input with action_id or block_id {action_id!r} in view; "
                        f"inputs: {sorted(elements)}"
                    )
                bid, el = elements[action_id]
                state[bid][action_id] = self._state_entry(el, v)
        return state

    def _state_entry(self, el: dict[str, Any], v: Any) -> dict[str, Any]:
        if isinstance(v, dict) and "type" in v and v.get("type") == el["type"]:
            return v
        etype = el["type"]
        key, _ = _STATE_KEYS[etype]
        if etype == "file_input":
            files = v if isinstance(v, list) else [v]
            out = []
            for f in files:
                if isinstance(f, str) and self.api is not None:
                    f = self.api.file(f)
                out.append(f)
            return {"type": etype, "files": out}
        if key == "selected_option":
            return {"type": etype, key: _option_for(el, v)}
        if key == "selected_options":
            items = v if isinstance(v, list) else [v]
            return {"type": etype, key: [_option_for(el, x) for x in items]}
        if key.startswith("selected_") and key.endswith("s") and not isinstance(v, list):
            v = [v]  # multi-selects take lists
        return {"type": etype, key: v}

    def view_submission(
        self,
        user: str,
        view: dict[str, Any],
        values: dict[str, Any] | None = None,
        *,
        check_required: bool = True,
        **opts: Any,
    ) -> SlackHttpResult:
        """``user`` presses Submit on ``view`` (as returned by views.open) after filling in
        ``values``: ``{action_id: value}`` or ``{block_id: {action_id: value}}``; a value is
        a string, a list of file dicts/ids for ``file_input``, an option value for selects, or
        a full Slack state dict. Like the Slack client, refuses (ValueError) when a required
        input is empty, unless ``check_required=False``."""
        current = (self.api.view(view["id"]) if self.api is not None else None) or view
        state = self._state_values(current, values)
        if check_required:
            for block in current.get("blocks", []):
                if block.get("type") != "input" or block.get("optional"):
                    continue
                el = block.get("element") or {}
                entry = state.get(block.get("block_id"), {}).get(el.get("action_id"), {})
                key = _STATE_KEYS.get(el.get("type"), ("value", None))[0]
                if entry.get(key) in (None, "", []):
                    raise ValueError(
                        f"Slack would not submit: required input {block.get('block_id')!r} "
                        f"({el.get('type')}) is empty"
                    )
        submitted = dict(current)
        submitted["state"] = {"values": state}
        if self.api is not None and view.get("id"):
            self.api.set_view_state(view["id"], state)
        trigger_id = self._trigger(user)
        payload = {
            "type": "view_submission",
            "team": self._team(),
            "user": self._user_obj(user),
            "api_app_id": self.app_id,
            "token": _VERIFICATION_TOKEN,
            "trigger_id": trigger_id,
            "view": submitted,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        result = self.send_interaction(payload, **opts)
        result.trigger_id = trigger_id
        if self.api is not None and view.get("id"):
            self._apply_view_ack(user, view["id"], result)
        return result

    def _apply_view_ack(self, user: str, view_id: str, result: SlackHttpResult) -> None:
        assert self.api is not None
        if result.status != 200:
            return  # Slack shows "We had some trouble connecting" and keeps the modal open
        ack = result.json() if result.body.strip() else None
        action = ack.get("response_action") if isinstance(ack, dict) else None
        result.extra["response_action"] = action
        if action == "errors":
            self.api.show_view_errors(view_id, ack.get("errors") or {})
        elif action in ("update", "push"):
            new = self.api.apply_view_response(view_id, user, ack.get("view") or {}, action)
            result.extra["view"] = new
        elif action == "clear":
            self.api.close_view(view_id, clear=True)
        else:
            self.api.close_view(view_id)

    def view_closed(self, user: str, view: dict[str, Any], **opts: Any) -> SlackHttpResult:
        """``user`` cancels a modal: it closes in the stand-in. Like Slack, a ``view_closed``
        request is sent only when the view has ``notify_on_close``; otherwise nothing is sent
        and the result has status 0."""
        current = (self.api.view(view["id"]) if self.api is not None else None) or view
        if self.api is not None:
            self.api.close_view(view["id"])
        payload = {
            "type": "view_closed",
            "team": self._team(),
            "user": self._user_obj(user),
            "api_app_id": self.app_id,
            "token": _VERIFICATION_TOKEN,
            "view": current,
            "is_cleared": False,
            "is_enterprise_install": False,
            "enterprise": None,
        }
        if not current.get("notify_on_close"):
            return SlackHttpResult(0, "", {}, 0.0, "", "", "", payload=payload)
        return self.send_interaction(payload, **opts)

    def shortcut(self, callback_id: str, user: str, **opts: Any) -> SlackHttpResult:
        """A global shortcut (no channel, no response_url: Slack sends neither)."""
        trigger_id = self._trigger(user)
        payload = {
            "type": "shortcut",
            "token": _VERIFICATION_TOKEN,
            "action_ts": f"{time.time():.6f}",
            "team": self._team(),
            "user": {"id": user, "username": self._user_name(user), "team_id": self.team_id},
            "is_enterprise_install": False,
            "enterprise": None,
            "callback_id": callback_id,
            "trigger_id": trigger_id,
        }
        result = self.send_interaction(payload, **opts)
        result.trigger_id = trigger_id
        return result

    def message_shortcut(
        self, callback_id: str, user: str, channel: str, message: dict[str, Any], **opts: Any
    ) -> SlackHttpResult:
        """A message shortcut (``message_action``) on ``message`` (with its ``files``)."""
        ch = self._channel_obj(channel)
        trigger_id = self._trigger(user)
        response_url = self._response_url(
            ch["id"], user, message_ts=message.get("ts"), thread_ts=message.get("thread_ts")
        )
        payload = {
            "type": "message_action",
            "token": _VERIFICATION_TOKEN,
            "action_ts": f"{time.time():.6f}",
            "team": self._team(),
            "user": self._user_obj(user),
            "channel": ch,
            "is_enterprise_install": False,
            "enterprise": None,
            "callback_id": callback_id,
            "trigger_id": trigger_id,
            "message_ts": message.get("ts"),
            "message": {k: v for k, v in message.items() if k != "channel"},
            "response_url": response_url,
        }
        result = self.send_interaction(payload, **opts)
        result.trigger_id = trigger_id
        result.response_url = response_url
        return result

    def event(
        self,
        event: dict[str, Any],
        retry_num: int | None = None,
        retry_reason: str | None = None,
        *,
        event_id: str | None = None,
        **opts: Any,
    ) -> SlackHttpResult:
        """An Events API ``event_callback`` wrapping ``event``. Reuse ``event_id`` (or
        :meth:`resend`) to deliver the same event twice, as a Slack retry does."""
        ev = dict(event)
        ev.setdefault("event_ts", f"{time.time():.6f}")
        payload = {
            "token": _VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "context_team_id": self.team_id,
            "context_enterprise_id": None,
            "api_app_id": self.app_id,
            "event": ev,
            "type": "event_callback",
            "event_id": event_id or f"Ev{secrets.token_hex(5).upper()}",
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{secrets.token_urlsafe(24)}",
        }
        return self.send_json(payload, retry_num=retry_num, retry_reason=retry_reason, **opts)

    def user_message(
        self,
        user: str,
        channel: str,
        text: str = "",
        *,
        files: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
        **opts: Any,
    ) -> SlackHttpResult:
        """``user`` posts a message (optionally with files, e.g. a CSV in a DM to the bot):
        it is added to the stand-in's world, then delivered as a ``message`` event (subtype
        ``file_share`` when files are attached). ``channel`` may be a user ID for the DM."""
        if self.api is None:
            raise RuntimeError("user_message needs the Slack API stand-in (api=...)")
        msg = self.api.post_user_message(user, channel, text, files=files, thread_ts=thread_ts)
        info = next(c for c in self.api.channels() if c["id"] == msg["channel"])
        channel_type = (
            "im" if info.get("is_im") else ("group" if info.get("is_private") else "channel")
        )
        ev = {k: v for k, v in msg.items() if k not in ("team",)}
        ev.update({"type": "message", "event_ts": msg["ts"], "channel_type": channel_type})
        return self.event(ev, **opts)


def _initial_value(el: dict[str, Any]) -> Any:
    if "initial_value" in el:
        return el["initial_value"]
    if "initial_option" in el:
        return el["initial_option"]
    if "initial_options" in el:
        return el["initial_options"]
    if "initial_user" in el:
        return el["initial_user"]
    if "initial_conversation" in el:
        return el["initial_conversation"]
    if "initial_channel" in el:
        return el["initial_channel"]
    if "initial_date" in el:
        return el["initial_date"]
    return None


def _option_for(el: dict[str, Any], value: Any) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    options = list(el.get("options") or [])
    for group in el.get("option_groups") or []:
        options += group.get("options", [])
    for opt in options:
        if opt.get("value") == value:
            return opt
    return {"text": {"type": "plain_text", "text": str(value)}, "value": str(value)}
