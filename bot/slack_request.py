"""A request on `/slack/events`, read and checked before Bolt sees it.

Slack sends three shapes: a slash command as form fields, an interaction as a form with one
`payload` field holding JSON, and an Events API callback as a JSON body. Bolt trusts the body
to be one of them, and its parser guesses the shape from the text: any form body containing the
word "payload" is read as an interaction, so `/billing customer payload systems` became an empty
request that nothing handles (HTTP 404: Slack tells the person the command failed). Anything
else malformed raised inside Bolt (HTTP 500 and a traceback in the log), and a slash command
without `user_id` failed in the dispatcher.

So the body is parsed here, by its content type, and checked for the fields every listener
relies on; a body that is not what Slack sends is refused with a 4xx and a one-line reason,
before anything runs. `SlackRequest` carries the parsed body into Bolt (and into the copies
Bolt makes for lazy listeners) so Bolt's own guess is never used. The signature is still
checked by Bolt, on the raw body.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt.context import BoltContext
from slack_bolt.request import BoltRequest
from slack_bolt.request.internals import build_context

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
SLASH_FIELDS = ("command", "user_id", "channel_id", "response_url")
# Interactions done by a person; Bolt's listeners and ours read `user.id` on every one.
PERSON_INTERACTIONS = {
    "block_actions",
    "block_suggestion",
    "view_submission",
    "view_closed",
    "shortcut",
    "message_action",
}


class BadRequest(Exception):
    """Not a request Slack sends: `status` (4xx) and `reason` for the answer and the log."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def parse(raw: bytes, content_type: str) -> tuple[str, dict[str, Any]]:
    """The body as text and as Slack meant it; BadRequest when it is neither shape."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media not in (FORM, JSON):
        raise BadRequest(415, f"content type {media or 'none'} is not one Slack sends")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(400, "the body is not UTF-8") from None
    if media == JSON:
        return text, _event(_json_object(text, "body"))
    fields = dict(parse_qsl(text, keep_blank_values=True))
    if fields.get("ssl_check"):  # Slack checking the certificate; Bolt answers it
        return text, fields
    if "payload" in fields:
        return text, _interaction(_json_object(fields["payload"], "payload"))
    missing = [name for name in SLASH_FIELDS if not fields.get(name)]
    if missing:
        raise BadRequest(400, f"a slash command without {', '.join(missing)}")
    return text, fields


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        raise BadRequest(400, f"the {what} is not JSON") from None
    if not isinstance(value, dict):
        raise BadRequest(400, f"the {what} is not a JSON object")
    return value


def _interaction(payload: dict[str, Any]) -> dict[str, Any]:
    kind = payload.get("type")
    if not isinstance(kind, str):
        raise BadRequest(400, "an interaction without a type")
    if kind in PERSON_INTERACTIONS and not isinstance((payload.get("user") or {}).get("id"), str):
        raise BadRequest(400, f"a {kind} without user.id")
    if kind == "block_actions" and not (
        isinstance(payload.get("actions"), list)
        and payload["actions"]
        and all(isinstance(a, dict) for a in payload["actions"])
    ):
        raise BadRequest(400, "a block_actions without actions")
    if kind.startswith("view_") and not isinstance((payload.get("view") or {}).get("type"), str):
        raise BadRequest(400, f"a {kind} without its view")
    return payload


def _event(body: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(body.get("type"), str):
        raise BadRequest(400, "an Events API body without a type")
    if body["type"] == "event_callback" and not isinstance(body.get("event"), dict):
        raise BadRequest(400, "an event_callback without its event")
    return body


def check_timestamp(value: str | None) -> None:
    """Bolt refuses a missing `X-Slack-Request-Timestamp` (401) but fails on one that is not
    a number (a 500 and a traceback): refused the same way here."""
    if value is not None and not (value.isascii() and value.isdigit()):
        raise BadRequest(401, "the request timestamp is not a number")


class SlackRequest(BoltRequest):
    """A BoltRequest whose body is `parsed` (see the module docstring), not Bolt's guess."""

    def __init__(
        self,
        *,
        raw: str,
        parsed: dict[str, Any],
        query: Any = None,
        headers: Any = None,
        context: dict[str, Any] | None = None,
    ):
        super().__init__(body="", query=query, headers=headers, context=context)
        self.raw_body = raw  # what the signature is computed over
        self.body = parsed
        self.context = build_context(BoltContext(context or {}), parsed)

    def to_copyable(self) -> SlackRequest:
        """The copy Bolt hands to lazy listeners, with the same parsed body."""
        return SlackRequest(
            raw=self.raw_body,
            parsed=self.body,
            query=self.query,
            headers=self.headers,
            context=self.context.to_copyable(),
        )
