"""HTTP mode: Slack's request URL (`/slack/events`) and a health check, served by waitress.

waitress is a production WSGI server with no C dependencies; Bolt's own development server
binds every interface and cannot be stopped cleanly, so it is not used.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

log = logging.getLogger(__name__)

# Slack payloads are small; anything far larger is not from Slack.
MAX_BODY_BYTES = 1_000_000


def wsgi_app(app: App, health: Callable[[], dict[str, Any]]) -> Callable[..., Iterable[bytes]]:
    slack = SlackRequestHandler(app)

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == "/slack/events":
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = MAX_BODY_BYTES + 1
            if length > MAX_BODY_BYTES:
                return _json(start_response, "413 Payload Too Large", {"error": "too large"})
            return slack(environ, start_response)
        if path == "/healthz":
            status = health()
            code = "200 OK" if status.get("ok") else "503 Service Unavailable"
            return _json(start_response, code, status)
        return _json(start_response, "404 Not Found", {"error": "not found"})

    return application


def _json(start_response: Callable[..., Any], status: str, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]


def make_server(app: Any, host: str, port: int, threads: int = 16) -> Any:
    """A waitress server object (call .run() to serve, .close() to stop)."""
    from waitress.server import create_server

    return create_server(app, host=host, port=port, threads=threads, ident="billing-bot")
