"""A small threaded HTTP/1.1 server for the stand-in's WSGI app, with keep-alive and TLS.

Why not werkzeug's development server: it closes the connection after every response, so each
API call over TLS pays a full handshake (about 15 ms here, five times the call itself), which
slows every test and benchmark that drives the stand-in. Salesforce keeps connections alive,
and so does requests' connection pool. This server keeps them too, performs each TLS
handshake in the connection's own thread (a slow client cannot block the accept loop), and
lets the app drop a connection on purpose (the fault knobs) by raising `ConnectionDropped`.
On stop, open keep-alive connections are closed so nothing keeps talking to a stopped server.
"""

from __future__ import annotations

import contextlib
import io
import socket
import ssl
import sys
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote_to_bytes

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
IDLE_TIMEOUT_SECONDS = 60


class ConnectionDropped(ConnectionAbortedError):
    """Raised by the app after it shut the client's socket: send nothing, close quietly."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT_SECONDS
    wbufsize = -1  # headers and body leave in one write (flushed after each request)
    server: WSGIServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.track(self.connection, add=False)

    def handle(self) -> None:
        # The client went away, failed the handshake, or the server is stopping.
        with contextlib.suppress(OSError, ssl.SSLError, ValueError):
            super().handle()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib name)
        pass

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _environ(self, body: bytes) -> dict[str, Any]:
        path, _, query = self.path.partition("?")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": str(self.server.server_address[1]),
            "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0],
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "https" if self.server.ssl_context else "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "sandbox.socket": self.connection,
        }
        for key, value in self.headers.items():
            name = key.upper().replace("-", "_")
            if name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                continue
            existing = environ.get(f"HTTP_{name}")
            environ[f"HTTP_{name}"] = f"{existing},{value}" if existing else value
        return environ

    def _run(self) -> None:
        body = self._read_body()
        answer: dict[str, Any] = {}

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            answer["status"], answer["headers"] = status, headers
            return lambda data: None

        try:
            result = self.server.app(self._environ(body), start_response)
            try:
                data = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close:
                    close()
        except ConnectionDropped:
            self.close_connection = True
            return
        code, _, reason = answer["status"].partition(" ")
        self.send_response(int(code), reason)
        for key, value in answer["headers"]:
            if key.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _run


class WSGIServer(ThreadingHTTPServer):
    """Serves one WSGI app on 127.0.0.1, one thread per connection."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, app: WSGIApp, ssl_context: ssl.SSLContext | None) -> None:
        self.app = app
        self.ssl_context = ssl_context
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = self.socket.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle delay on replies
        if self.ssl_context is not None:
            sock = self.ssl_context.wrap_socket(
                sock, server_side=True, do_handshake_on_connect=False
            )
        return sock, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # connection-level failures are the client's business

    def track(self, connection: socket.socket, add: bool) -> None:
        with self._connections_lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def close_connections(self) -> None:
        """Shut every open (keep-alive) connection, so clients see the server is gone."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            shutdown_socket(connection)


def shutdown_socket(connection: socket.socket) -> None:
    """Shut a (possibly TLS) connection at the TCP level, whatever thread is using it.

    The plain-socket method is called on purpose: `SSLSocket.shutdown` also discards the TLS
    state, which a thread still reading from it would trip over.
    """
    with contextlib.suppress(OSError):
        socket.socket.shutdown(connection, socket.SHUT_RDWR)
