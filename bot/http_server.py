"""HTTP mode: Slack's request URL (`/slack/events`) and a health check, served by waitress.

waitress is a production WSGI server with no C dependencies; Bolt's own development server
binds every interface and cannot be stopped cleanly, so it is not used.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.adapter.wsgi.http_response import WsgiHttpResponse

from bot.slack_request import BadRequest, SlackRequest, check_timestamp, parse

log = logging.getLogger(__name__)

# Slack payloads are small; anything far larger is not from Slack.
MAX_BODY_BYTES = 1_000_000


def wsgi_app(app: App, health: Callable[[], dict[str, Any]]) -> Callable[..., Iterable[bytes]]:
    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == "/slack/events":
            try:
                request = _slack_request(environ)
            except BadRequest as exc:
                log.info("refused a request on /slack/events: %s", exc.reason)
                status = f"{exc.status} {HTTPStatus(exc.status).phrase}"
                return _json(start_response, status, {"error": exc.reason})
            answer = app.dispatch(request)
            response = WsgiHttpResponse(answer.status, answer.headers, answer.body)
            start_response(response.status, response.get_headers())
            return response.get_body()
        if path == "/healthz":
            status = health()
            code = "200 OK" if status.get("ok") else "503 Service Unavailable"
            return _json(start_response, code, status)
        return _json(start_response, "404 Not Found", {"error": "not found"})

    return application


def _slack_request(environ: dict[str, Any]) -> SlackRequest:
    """The POST on /slack/events as a SlackRequest; BadRequest for anything Slack never sends."""
    if environ.get("REQUEST_METHOD") != "POST":
        raise BadRequest(405, "Slack only POSTs")
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise BadRequest(400, "the Content-Length is not a number") from None
    if length > MAX_BODY_BYTES:
        raise BadRequest(413, f"a body of {length:,} bytes is far larger than Slack sends")
    check_timestamp(environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP"))
    raw = environ["wsgi.input"].read(length) if length > 0 else b""
    text, parsed = parse(raw, environ.get("CONTENT_TYPE") or "")
    headers = WsgiHttpRequest(environ).get_headers()
    return SlackRequest(raw=text, parsed=parsed, query=environ.get("QUERY_STRING"), headers=headers)


def _json(start_response: Callable[..., Any], status: str, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]


class HttpServer:
    """waitress serving one WSGI app, stoppable from another thread.

    waitress's own `run()` loops until the process ends; a signal handler or a test needs to
    stop it cleanly, so the loop here checks a flag between short polls and closes its own
    sockets on the serving thread.
    """

    def __init__(self, app: Any, host: str, port: int, threads: int = 16):
        from waitress.server import create_server

        self._server = create_server(
            app, host=host, port=port, threads=threads, ident="billing-bot"
        )
        self._stopping = threading.Event()
        self._stopped = threading.Event()

    @property
    def port(self) -> int:
        return self._server.effective_port

    def serve_forever(self) -> None:
        try:
            while not self._stopping.is_set():
                self._server.asyncore.loop(timeout=0.2, map=self._server._map, count=1)
        finally:
            self._server.task_dispatcher.shutdown()
            self._server.close()
            self._stopped.set()

    def request_stop(self) -> None:
        """Safe from a signal handler on the serving thread itself."""
        self._stopping.set()

    def stop(self, timeout: float = 10.0) -> None:
        self.request_stop()
        self._stopped.wait(timeout)


def make_server(app: Any, host: str, port: int, threads: int = 16) -> HttpServer:
    return HttpServer(app, host, port, threads)
