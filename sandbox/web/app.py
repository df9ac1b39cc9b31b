"""The browser page's server: static files, the world from the Slack stand-in, and Slack's
requests to the bot on a person's behalf.

Why a server side at all: the page plays Slack's client, but Slack's requests to the bot must
be signed and shaped exactly as Slack documents them. The page says what a person did ("Riley
typed `/billing customer Acme` in #billing-support", "Avery clicked Approve on that message",
"Riley submitted this modal with these values"); this app turns that into the request Slack
would send, with :class:`sandbox.slack_sender.SlackSender`, so nothing in the bot is
special-cased for the sandbox.

Routes (127.0.0.1 only):

- ``GET /`` and ``GET /static/<file>``: the page (``index.html``, its CSS and JS modules).
- ``GET /api/config``: people, the app's slash command and shortcuts, sample files.
- ``GET /samples/<name>``: a sample file to import (kept in memory).
- ``GET /_sandbox/state``, ``GET /_sandbox/channels/<id>/messages``, ``GET /_sandbox/files/<id>``
  and ``POST /_sandbox/files``: passed to the Slack stand-in as they are (its routes for a
  signed-in person: the world as JSON, downloads, uploads).
- ``POST /api/slash``, ``/api/message``, ``/api/action``, ``/api/submit``, ``/api/close``,
  ``/api/shortcut``: JSON bodies; each sends one Slack request to the bot and answers
  ``{"ok": ..., "status": <the bot's HTTP status>, "error": ...}``. What the bot does in
  return shows up in the stand-in's world, which the page polls.

Every POST must carry the ``X-Sandbox-Page`` header and every request a loopback ``Host``: a
web page from elsewhere cannot send either without the browser asking first (CORS preflight,
which is never granted), and DNS rebinding gets a 403.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from sandbox.slack_api import SlackApiServer
from sandbox.slack_sender import SlackHttpResult, SlackSender

STATIC_DIR = Path(__file__).resolve().parent
STATIC_FILES = ("index.html", "page.css", "page.js", "mrkdwn.js", "blocks.js", "modal.js")
PAGE_HEADER = "X-Sandbox-Page"
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
_PROXIED_GET = ("state", "channels/", "files/")
_MAX_JSON_BYTES = 1_000_000


@dataclass(frozen=True)
class Person:
    """Someone the page can act as, with what the sandbox lets them do."""

    user_id: str
    may: str


@dataclass(frozen=True)
class Shortcut:
    """One of the app's shortcuts, as its manifest declares it."""

    type: str  # "global" or "message"
    callback_id: str
    name: str
    description: str


@dataclass(frozen=True)
class SlashCommand:
    command: str
    description: str
    usage_hint: str


@dataclass
class PageConfig:
    """What the page needs to know about the app and the people (sent as /api/config)."""

    people: list[Person]
    slash_commands: list[SlashCommand]
    shortcuts: list[Shortcut] = field(default_factory=list)
    samples: dict[str, bytes] = field(default_factory=dict)


class PageError(Exception):
    """A request the page should not have made; becomes ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str, status: int = 400) -> None:
        super().__init__(error)
        self.error = error
        self.status = status


class SandboxPage:
    """The WSGI app. ``slack`` is the stand-in (also a WSGI app), ``sender`` signs requests
    to the bot."""

    def __init__(self, slack: SlackApiServer, sender: SlackSender, config: PageConfig) -> None:
        self.slack = slack
        self.sender = sender
        self.config = config
        self._actions: dict[str, Callable[[dict[str, Any]], SlackHttpResult]] = {
            "slash": self._slash,
            "message": self._message,
            "action": self._action,
            "submit": self._submit,
            "close": self._close,
            "shortcut": self._shortcut,
        }

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        host = request.host.rsplit(":", 1)[0] if request.host else ""
        if host not in _LOOPBACK_HOSTS:
            return _json({"ok": False, "error": "forbidden_host"}, 403)(environ, start_response)
        path = request.path
        if path.startswith("/_sandbox/") and self._may_proxy(request, path[len("/_sandbox/") :]):
            return self.slack(environ, start_response)
        return self._route(request, path)(environ, start_response)

    def _may_proxy(self, request: Request, sub: str) -> bool:
        if request.method == "GET":
            return sub.startswith(_PROXIED_GET)
        return request.method == "POST" and sub == "files" and PAGE_HEADER in request.headers

    def _route(self, request: Request, path: str) -> Response:
        if request.method == "GET":
            if path == "/":
                return _static("index.html")
            if path.startswith("/static/") and path[len("/static/") :] in STATIC_FILES:
                return _static(path[len("/static/") :])
            if path == "/api/config":
                return _json(self._config_json())
            name = path[len("/samples/") :] if path.startswith("/samples/") else ""
            if name in self.config.samples:
                disposition = f'attachment; filename="{name}"'
                return Response(
                    self.config.samples[name],
                    content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": disposition},
                )
            return _json({"ok": False, "error": "not_found"}, 404)
        action = self._actions.get(path[len("/api/") :]) if path.startswith("/api/") else None
        if request.method != "POST" or action is None:
            return _json({"ok": False, "error": "not_found"}, 404)
        if PAGE_HEADER not in request.headers or request.mimetype != "application/json":
            return _json({"ok": False, "error": "not_from_the_page"}, 403)
        try:
            body = _read_json(request)
            result = action(body)
        except PageError as exc:
            return _json({"ok": False, "error": exc.error}, exc.status)
        except (KeyError, ValueError) as exc:  # the stand-in's "no such channel/view/input"
            return _json({"ok": False, "error": str(exc.args[0] if exc.args else exc)}, 400)
        return _json(_outcome(result))

    def _config_json(self) -> dict[str, Any]:
        users = {u["id"]: u for u in self.slack.users()}
        return {
            "team": {"id": self.slack.team_id, "name": self.slack.team_name},
            "slack_base_url": self.slack.base_url,
            "bot": {
                "user_id": self.slack.bot_user_id,
                "name": users[self.slack.bot_user_id]["name"],
            },
            "people": [
                {
                    "id": p.user_id,
                    "name": users[p.user_id]["name"],
                    "real_name": users[p.user_id]["real_name"],
                    "may": p.may,
                }
                for p in self.config.people
            ],
            "slash_commands": [vars(c) for c in self.config.slash_commands],
            "shortcuts": [vars(s) for s in self.config.shortcuts],
            "samples": [{"name": n, "url": f"/samples/{n}"} for n in self.config.samples],
        }

    # --- what a person did, as Slack's request --------------------------------------------------

    def _person(self, body: dict[str, Any]) -> str:
        user = _text(body, "user")
        if user not in {p.user_id for p in self.config.people}:
            raise PageError("unknown_user")
        return user

    def _slash(self, body: dict[str, Any]) -> SlackHttpResult:
        command = _text(body, "command")
        if command not in {c.command for c in self.config.slash_commands}:
            raise PageError("unknown_command")
        return self.sender.slash(
            command,
            _text(body, "text", ""),
            user=self._person(body),
            channel=_text(body, "channel"),
        )

    def _message(self, body: dict[str, Any]) -> SlackHttpResult:
        files = [self._file(fid) for fid in body.get("files") or []]
        return self.sender.user_message(
            self._person(body),
            _text(body, "channel"),
            _text(body, "text", ""),
            files=files or None,
            thread_ts=body.get("thread_ts") or None,
        )

    def _action(self, body: dict[str, Any]) -> SlackHttpResult:
        user = self._person(body)
        extra = {k: body[k] for k in ("selected_option", "selected_options") if k in body}
        common: dict[str, Any] = {
            "value": body.get("value"),
            "block_id": body.get("block_id") or None,
            "action": extra or None,
        }
        if body.get("view_id"):
            return self.sender.block_action(
                user, _text(body, "action_id"), view=self._view(body), **common
            )
        message = self._message_at(body)
        return self.sender.block_action(
            user, _text(body, "action_id"), message=message, channel=message["channel"], **common
        )

    def _submit(self, body: dict[str, Any]) -> SlackHttpResult:
        values = body.get("values") or {}
        if not isinstance(values, dict):
            raise PageError("invalid_values")
        return self.sender.view_submission(self._person(body), self._view(body), values)

    def _close(self, body: dict[str, Any]) -> SlackHttpResult:
        return self.sender.view_closed(self._person(body), self._view(body))

    def _shortcut(self, body: dict[str, Any]) -> SlackHttpResult:
        user = self._person(body)
        found = [s for s in self.config.shortcuts if s.callback_id == body.get("callback_id")]
        if not found:
            raise PageError("unknown_shortcut")
        if found[0].type == "global":
            return self.sender.shortcut(found[0].callback_id, user)
        message = self._message_at(body)
        return self.sender.message_shortcut(found[0].callback_id, user, message["channel"], message)

    # --- lookups in the world ---------------------------------------------------------------

    def _message_at(self, body: dict[str, Any]) -> dict[str, Any]:
        message = self.slack.message(_text(body, "channel"), _text(body, "ts"))
        if message is None:
            raise PageError("message_not_found", 404)
        return message

    def _view(self, body: dict[str, Any]) -> dict[str, Any]:
        view = self.slack.view(_text(body, "view_id"))
        if view is None:
            raise PageError("view_not_found", 404)
        return view

    def _file(self, file_id: Any) -> dict[str, Any]:
        found = self.slack.file(str(file_id))
        if found is None:
            raise PageError("file_not_found", 404)
        return found


def _text(body: dict[str, Any], key: str, default: str | None = None) -> str:
    value = body.get(key, default)
    if not isinstance(value, str) or (default is None and not value):
        raise PageError(f"missing_{key}")
    return value


def _read_json(request: Request) -> dict[str, Any]:
    if (request.content_length or 0) > _MAX_JSON_BYTES:
        raise PageError("too_large", 413)
    try:
        body = json.loads(request.get_data(as_text=True) or "{}")
    except ValueError:
        raise PageError("invalid_json") from None
    if not isinstance(body, dict):
        raise PageError("invalid_json")
    return body


def _outcome(result: SlackHttpResult) -> dict[str, Any]:
    """The bot's answer as the page needs it. Status 0: nothing was sent (a modal without
    ``notify_on_close`` closes without telling the app, as in Slack)."""
    if result.status == 0 or result.ok:
        return {"ok": True, "status": result.status}
    return {"ok": False, "status": result.status, "error": f"the app answered HTTP {result.status}"}


def _json(data: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(data),
        status=status,
        content_type="application/json; charset=utf-8",
        headers={"Cache-Control": "no-store"},
    )


def _static(name: str) -> Response:
    kind = "text/javascript" if name.endswith(".js") else mimetypes.guess_type(name)[0]
    data = (STATIC_DIR / name).read_bytes()
    return Response(
        data,
        content_type=f"{kind or 'application/octet-stream'}; charset=utf-8",
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )
