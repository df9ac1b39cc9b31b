"""The HTTP(S) side of the stand-in: Salesforce's REST paths, OAuth, faults and counters.

A small keep-alive HTTP/1.1 server (`wsgi_server`) bound to 127.0.0.1 serves, in a background
thread, the resources simple-salesforce calls (paths as it sends them, trailing slashes
included). Errors are the JSON lists Salesforce sends; every API response carries
`Sforce-Limit-Info`.

Faults exist because the bot's retry and resume logic matters most where tests cannot reach
a real org: a 503, a connection closed without an answer, a request that hangs past the
client's timeout, and the worst one, a write that commits while its response is lost (a naive
retry then creates a duplicate). They apply only to `/services/data/vNN.N/...` calls, are
drawn from a seeded `random.Random`, and can be changed while the server runs (Python:
`server.knobs`; HTTP: `POST /_sandbox/knobs`).

Counting: `server.api_calls` counts authenticated API calls that were answered (errors
included, as Salesforce counts them); the versions list, OAuth, `/_sandbox/`, 401s, injected
503s, drops and hangs are not counted. `Sforce-Limit-Info: api-usage=USED/LIMIT` and `/limits`
report the same number; past the limit every call answers 403 REQUEST_LIMIT_EXCEEDED.
"""

from __future__ import annotations

import json
import logging
import random
import re
import secrets
import shutil
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from werkzeug.wrappers import Request, Response

from .bulk import BulkJobs
from .errors import SalesforceError, not_found
from .oauth import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    STANDARD_AUDIENCES,
    OAuthConfig,
    OAuthError,
    authenticate,
    token_response,
)
from .org import DEFAULT_API_VERSION, DEFAULT_PAGE_SIZE, Org
from .values import normalize_id
from .wsgi_server import ConnectionDropped, WSGIServer, shutdown_socket

log = logging.getLogger("sandbox.salesforce")

MAX_COLLECTION_RECORDS = 200
MAX_COMPOSITE_SUBREQUESTS = 25
MAX_HANG_SECONDS = 30.0
DEFAULT_API_LIMIT = 100_000
_VERSION_PATH = re.compile(r"^/services/data/v(\d{2}\.\d)(/.*)?$")
_REFERENCE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")
JSON_TYPE = "application/json;charset=UTF-8"


@dataclass
class Knobs:
    """Fault and latency settings, changeable while the server runs.

    Rates are probabilities per API call (0..1). `lose_next_responses` counts down: each of
    the next N successful writes commits and then loses its response.
    """

    latency: float = 0.0
    fault_rate: float = 0.0
    drop_rate: float = 0.0
    timeout_rate: float = 0.0
    timeout_seconds: float = MAX_HANG_SECONDS
    lose_response_rate: float = 0.0
    lose_next_responses: int = 0
    seed: int = 0
    rng: random.Random = field(default_factory=lambda: random.Random(0), repr=False)

    _RATES = ("fault_rate", "drop_rate", "timeout_rate", "lose_response_rate")

    def update(self, values: dict[str, Any]) -> None:
        """Set knobs from a mapping (the HTTP endpoint's JSON); ValueError on a bad value."""
        for key, value in values.items():
            if key == "seed":
                self.reseed(int(value))
            elif key in self._RATES:
                rate = float(value)
                if not 0.0 <= rate <= 1.0:
                    raise ValueError(f"{key} must be between 0 and 1")
                setattr(self, key, rate)
            elif key in ("latency", "timeout_seconds"):
                seconds = float(value)
                if seconds < 0:
                    raise ValueError(f"{key} must not be negative")
                setattr(self, key, min(seconds, MAX_HANG_SECONDS))
            elif key == "lose_next_responses":
                count = int(value)
                if count < 0:
                    raise ValueError("lose_next_responses must not be negative")
                self.lose_next_responses = count
            else:
                raise ValueError(f"unknown knob: {key}")

    @property
    def random(self) -> random.Random:
        """The seeded generator every fault draw uses (reseed with `update({"seed": n})`)."""
        return self.rng

    def reseed(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "latency": self.latency,
            "fault_rate": self.fault_rate,
            "drop_rate": self.drop_rate,
            "timeout_rate": self.timeout_rate,
            "timeout_seconds": self.timeout_seconds,
            "lose_response_rate": self.lose_response_rate,
            "lose_next_responses": self.lose_next_responses,
            "seed": self.seed,
        }

    def roll(self, rate: float) -> bool:
        return rate > 0 and self.rng.random() < rate


@dataclass
class _Req:
    """One API request, as the dispatcher sees it (also built for composite subrequests)."""

    method: str
    rest: str
    version: str
    args: dict[str, str]
    body: bytes
    content_type: str = ""

    def json(self) -> Any:
        if not self.body.strip():
            raise SalesforceError(
                400,
                "JSON_PARSER_ERROR",
                "No content to map due to end-of-input at [line:1, column:0]",
            )
        try:
            return json.loads(self.body)
        except json.JSONDecodeError as exc:
            shown = exc.doc[exc.pos] if exc.pos < len(exc.doc) else "EOF"
            raise SalesforceError(
                400,
                "JSON_PARSER_ERROR",
                f"Unexpected character ('{shown}' (code {ord(shown[0]) if shown != 'EOF' else -1}"
                f")): {exc.msg} at [line:{exc.lineno}, column:{exc.colno}]",
            ) from None
        except UnicodeDecodeError:
            raise SalesforceError(
                400, "JSON_PARSER_ERROR", "Invalid UTF-8 in the request body"
            ) from None


@dataclass
class _Answer:
    status: int
    body: Any = None  # JSON-able, or str for CSV/text
    content_type: str = JSON_TYPE


def _versions() -> list[dict[str, str]]:
    seasons = ("Winter", "Spring", "Summer")
    return [
        {
            "label": f"{seasons[(n - 20) % 3]} '{11 + (n - 20) // 3}",
            "url": f"/services/data/v{n}.0",
            "version": f"{n}.0",
        }
        for n in range(31, 63)
    ]


class SalesforceServer:
    """A running stand-in: one Org over HTTPS on 127.0.0.1, in a background thread.

    Start it with `start_salesforce`; use as a context manager or call `stop()`.
    """

    def __init__(
        self,
        org: Org,
        port: int = 0,
        tls: bool = True,
        page_size: int = DEFAULT_PAGE_SIZE,
        latency: float = 0.0,
        *,
        api_version: str = DEFAULT_API_VERSION,
        access_token: str | None = None,
        api_limit: int = DEFAULT_API_LIMIT,
        users: dict[str, dict[str, str]] | None = None,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        jwt_public_key_pem: str | bytes | None = None,
        jwt_audiences: list[str] | tuple[str, ...] | None = None,
        seed: int = 0,
    ) -> None:
        self.org = org
        self.page_size = page_size
        self.api_version = api_version
        self.api_limit = api_limit
        self.tls = tls
        self.knobs = Knobs(latency=latency)
        self.knobs.reseed(seed)
        self.api_calls = 0
        self.calls: list[tuple[str, str]] = []
        self.bulk = BulkJobs(org)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._tempdir = tempfile.mkdtemp(prefix="sf-server-")
        self.ca_bundle: str | None = None
        ssl_context = self._tls_context() if tls else None
        self._server = WSGIServer(port, self._wsgi, ssl_context)
        self.port = self._server.server_address[1]
        scheme = "https" if tls else "http"
        self.instance_url = (
            f"https://127.0.0.1:{self.port}" if tls else f"{scheme}://127.0.0.1:{self.port}"
        )
        self.oauth = OAuthConfig.build(
            users,
            client_id,
            client_secret,
            jwt_public_key_pem,
            tuple(jwt_audiences) if jwt_audiences else (*STANDARD_AUDIENCES, self.instance_url),
        )
        self._sessions: dict[str, str] = {}  # token -> user Id
        for username in self.oauth.users:
            org.ensure_user(username)
        self.access_token = access_token or self._new_token()
        self._sessions[self.access_token] = org.ensure_user(self.oauth.run_as)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"salesforce-standin-{self.port}",
            daemon=True,
        )
        self._stopped = False

    # lifecycle -------------------------------------------------------------------------------

    def _tls_context(self) -> ssl.SSLContext:
        import trustme

        ca = trustme.CA(organization_name="billing-ops-bot sandbox")
        cert = ca.issue_cert("127.0.0.1", "localhost")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        self.ca_bundle = f"{self._tempdir}/ca.pem"
        ca.cert_pem.write_to_path(self.ca_bundle)
        return context

    def start(self) -> SalesforceServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (hung requests are released), and remove the CA and temp files."""
        if self._stopped:
            return
        self._stopped = True
        self._stopping.set()
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=10)
        self._server.server_close()
        self._server.close_connections()
        shutil.rmtree(self._tempdir, ignore_errors=True)

    def __enter__(self) -> SalesforceServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # sessions and counters -------------------------------------------------------------------

    def _new_token(self) -> str:
        return f"{self.org.org_id[:15]}!{secrets.token_urlsafe(72)}"

    def issue_token(self, username: str | None = None) -> str:
        """A new valid access token for a configured user (as a successful OAuth login)."""
        username = username or self.oauth.run_as
        token = self._new_token()
        with self._lock:
            self._sessions[token] = self.org.ensure_user(username)
        return token

    def expire_sessions(self) -> None:
        """Every current access token becomes invalid (401 INVALID_SESSION_ID)."""
        with self._lock:
            self._sessions.clear()

    def reset_counters(self) -> None:
        with self._lock:
            self.api_calls = 0
            self.calls.clear()

    def settings(self) -> dict[str, str]:
        """The settings a client needs: SF_INSTANCE_URL, SF_ACCESS_TOKEN, SF_CA_BUNDLE."""
        values = {"SF_INSTANCE_URL": self.instance_url, "SF_ACCESS_TOKEN": self.access_token}
        if self.ca_bundle:
            values["SF_CA_BUNDLE"] = self.ca_bundle
        return values

    @property
    def jwt_private_key_pem(self) -> bytes:
        """The private key matching the server's JWT key (generated when none was given)."""
        return self.oauth.ensure_key_pair()

    def make_jwt(
        self,
        username: str | None = None,
        audience: str | None = None,
        expires_in: int = 180,
        client_id: str | None = None,
    ) -> str:
        """A JWT-bearer assertion the token endpoint accepts (for tests and the demo)."""
        import time

        import jwt

        claims = {
            "iss": client_id or self.oauth.client_id,
            "sub": username or self.oauth.run_as,
            "aud": audience or "https://login.salesforce.com",
            "exp": int(time.time()) + expires_in,
        }
        return jwt.encode(claims, self.jwt_private_key_pem, algorithm="RS256")

    # WSGI ------------------------------------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        path = request.path
        with self._lock:
            self.calls.append((request.method, path))
        try:
            if path.rstrip("/") == "/services/oauth2/token":
                response = self._token(request)
            elif path.startswith("/_sandbox/"):
                response = self._sandbox(request)
            elif path.rstrip("/") == "/services/data":
                response = self._json(_Answer(200, _versions()))
            elif path.startswith("/services/data/"):
                response = self._api(request, environ)
            else:
                response = self._json(_Answer(404, not_found().to_json()))
        except ConnectionDropped:
            raise
        except Exception:  # never let a bug look like a dropped connection
            log.exception("salesforce stand-in: unexpected error")
            response = self._json(
                _Answer(
                    500,
                    [
                        {
                            "errorCode": "UNKNOWN_EXCEPTION",
                            "message": "An unexpected error occurred.",
                        }
                    ],
                )
            )
        return response(environ, start_response)

    @staticmethod
    def _json(answer: _Answer, headers: dict[str, str] | None = None) -> Response:
        if answer.status == 204:
            return Response(status=204, headers=headers)
        data = answer.body if isinstance(answer.body, str) else json.dumps(answer.body)
        return Response(
            data, status=answer.status, content_type=answer.content_type, headers=headers
        )

    def _drop(self, environ: dict[str, Any]) -> None:
        sock = environ.get("sandbox.socket")
        if sock is not None:
            shutdown_socket(sock)
        raise ConnectionDropped("connection dropped by the stand-in")

    def _bearer(self, request: Request) -> str | None:
        header = request.headers.get("Authorization", "")
        if header[:7].lower() == "bearer ":
            return header[7:].strip()
        if header[:6].lower() == "oauth ":
            return header[6:].strip()
        return None

    # OAuth and sandbox control ---------------------------------------------------------------

    def _token(self, request: Request) -> Response:
        if request.method != "POST":
            return self._json(
                _Answer(
                    405, {"error": "invalid_request", "error_description": "must use HTTP POST"}
                )
            )
        form = {key: request.form.get(key, "") for key in request.form}
        try:
            username = authenticate(self.oauth, form, request.headers.get("Authorization", ""))
        except OAuthError as exc:
            return self._json(_Answer(400, exc.body(), "application/json;charset=UTF-8"))
        token = self.issue_token(username)
        user_id = self.org.ensure_user(username)
        return self._json(
            _Answer(
                200, token_response(self.oauth, token, self.instance_url, self.org.org_id, user_id)
            )
        )

    def _sandbox(self, request: Request) -> Response:
        token = self._bearer(request)
        with self._lock:
            valid = token is not None and (token == self.access_token or token in self._sessions)
        if not valid:
            return self._json(
                _Answer(
                    401,
                    [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
                )
            )
        name = request.path[len("/_sandbox/") :].rstrip("/")
        if name == "knobs":
            if request.method == "POST":
                try:
                    values = json.loads(request.get_data() or b"{}")
                    if not isinstance(values, dict):
                        raise ValueError("a JSON object is required")
                    with self._lock:
                        self.knobs.update(values)
                except (ValueError, TypeError) as exc:
                    return self._json(_Answer(400, {"error": str(exc)}))
            return self._json(_Answer(200, self.knobs.to_dict()))
        if name == "stats":
            with self._lock:
                stats = {
                    "api_calls": self.api_calls,
                    "api_limit": self.api_limit,
                    "requests": len(self.calls),
                    "sessions": len(self._sessions),
                    "page_size": self.page_size,
                }
            return self._json(_Answer(200, stats))
        if name == "reset_counters" and request.method == "POST":
            self.reset_counters()
            return self._json(_Answer(200, {"api_calls": 0}))
        if name == "expire_sessions" and request.method == "POST":
            self.expire_sessions()
            return self._json(_Answer(200, {"sessions": 0}))
        return self._json(_Answer(404, not_found().to_json()))

    # the API ---------------------------------------------------------------------------------

    def _api(self, request: Request, environ: dict[str, Any]) -> Response:
        match = _VERSION_PATH.match(request.path)
        if not match:
            return self._json(_Answer(404, not_found().to_json()))
        with self._lock:
            knobs = self.knobs
            latency = knobs.latency
            drop = knobs.roll(knobs.drop_rate)
            hang = not drop and knobs.roll(knobs.timeout_rate)
            fault = not (drop or hang) and knobs.roll(knobs.fault_rate)
            hang_seconds = knobs.timeout_seconds
        if latency:
            self._stopping.wait(latency)
        if drop:
            self._drop(environ)
        if hang:
            self._stopping.wait(min(hang_seconds, MAX_HANG_SECONDS))
            self._drop(environ)
        if fault:
            return self._json(
                _Answer(
                    503,
                    [
                        {
                            "errorCode": "SERVER_UNAVAILABLE",
                            "message": "Server temporarily unavailable.",
                        }
                    ],
                )
            )
        token = self._bearer(request)
        with self._lock:
            authorized = token is not None and token in self._sessions
            if authorized and self.api_calls >= self.api_limit:
                over_limit = True
            else:
                over_limit = False
                if authorized:
                    self.api_calls += 1
            used = self.api_calls
        if not authorized:
            return self._json(
                _Answer(
                    401,
                    [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
                )
            )
        limit_header = {"Sforce-Limit-Info": f"api-usage={used}/{self.api_limit}"}
        if over_limit:
            return self._json(
                _Answer(
                    403,
                    [
                        {
                            "message": "TotalRequests Limit exceeded.",
                            "errorCode": "REQUEST_LIMIT_EXCEEDED",
                        }
                    ],
                ),
                limit_header,
            )
        req = _Req(
            method=request.method,
            rest=(match.group(2) or "").rstrip("/"),
            version=match.group(1),
            args={key: request.args.get(key, "") for key in request.args},
            body=request.get_data(),
            content_type=request.headers.get("Content-Type", ""),
        )
        if "batchSize=" in request.headers.get("Sforce-Query-Options", ""):
            req.args["_batch_size"] = request.headers["Sforce-Query-Options"]
        answer = self.dispatch(req)
        response = self._json(answer, limit_header)
        is_write = req.method in ("POST", "PATCH", "PUT", "DELETE")
        if is_write and answer.status < 400:
            with self._lock:
                lose = self.knobs.lose_next_responses > 0
                if lose:
                    self.knobs.lose_next_responses -= 1
                else:
                    lose = self.knobs.roll(self.knobs.lose_response_rate)
            if lose:
                self._drop(environ)
        return response

    def dispatch(self, req: _Req) -> _Answer:
        """Route one API request; Salesforce errors become their JSON answers."""
        try:
            return self._route(req)
        except SalesforceError as exc:
            return _Answer(exc.status, exc.to_json())

    @staticmethod
    def _method_not_allowed(req: _Req, allowed: str) -> SalesforceError:
        return SalesforceError(
            405,
            "METHOD_NOT_ALLOWED",
            f"HTTP Method '{req.method}' not allowed. Allowed are {allowed}",
        )

    def _route(self, req: _Req) -> _Answer:
        parts = [p for p in req.rest.split("/") if p != ""] if req.rest else []
        version = req.version
        if not parts:
            base = f"/services/data/v{version}"
            return _Answer(
                200,
                {
                    name: f"{base}/{name}"
                    for name in ("sobjects", "query", "queryAll", "limits", "composite", "jobs")
                },
            )
        head = parts[0]
        if head == "sobjects":
            return self._sobjects(req, parts[1:])
        if head in ("query", "queryAll"):
            if req.method != "GET":
                raise self._method_not_allowed(req, "GET")
            return self._query(req, parts[1:])
        if head == "limits" and len(parts) == 1:
            if req.method != "GET":
                raise self._method_not_allowed(req, "GET")
            return _Answer(200, self._limits())
        if head == "composite":
            if len(parts) >= 2 and parts[1] == "sobjects":
                return self._collections(req, parts[2:])
            if len(parts) == 1:
                if req.method != "POST":
                    raise self._method_not_allowed(req, "POST")
                return self._composite(req)
        if head == "jobs" and len(parts) >= 2 and parts[1] == "ingest":
            return self._ingest(req, parts[2:])
        raise not_found()

    def _limits(self) -> dict[str, Any]:
        with self._lock:
            used = self.api_calls
        jobs = len(self.bulk.jobs)
        return {
            "DailyApiRequests": {"Max": self.api_limit, "Remaining": max(self.api_limit - used, 0)},
            "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000 - jobs},
            "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
            "DailyBulkV2QueryFileStorageMB": {"Max": 1048576, "Remaining": 1048576},
            "DataStorageMB": {"Max": 5120, "Remaining": 5100},
            "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
        }

    # sobjects
    def _object_or_404(self, name: str) -> Any:
        try:
            return self.org.sobject(name)
        except SalesforceError:
            raise not_found() from None

    def _sobjects(self, req: _Req, parts: list[str]) -> _Answer:
        version = req.version
        if not parts:
            if req.method != "GET":
                raise self._method_not_allowed(req, "GET,HEAD")
            return _Answer(200, self.org.describe_global(version))
        obj = self._object_or_404(parts[0])
        if len(parts) == 1:
            if req.method == "GET":
                return _Answer(200, {"objectDescribe": obj.summary(version), "recentItems": []})
            if req.method == "POST":
                record_id = self.org.create(obj.name, req.json())
                return _Answer(201, {"id": record_id, "success": True, "errors": []})
            raise self._method_not_allowed(req, "GET,HEAD,POST")
        if len(parts) == 2 and parts[1] == "describe":
            if req.method != "GET":
                raise self._method_not_allowed(req, "GET,HEAD")
            return _Answer(200, self.org.describe(obj.name, version))
        if len(parts) == 2:
            record_id = parts[1]
            if req.method == "GET":
                fields = [f for f in req.args.get("fields", "").split(",") if f.strip()]
                if normalize_id(record_id) is None:
                    raise SalesforceError(
                        404,
                        "NOT_FOUND",
                        "Provided external ID field does "
                        f"not exist or is not accessible: {record_id}",
                    )
                return _Answer(200, self.org.get(obj.name, record_id, fields or None, version))
            if req.method == "PATCH":
                body = req.json()
                if isinstance(body, dict):
                    body = {
                        k: v
                        for k, v in body.items()
                        if k.lower() != "id" or normalize_id(str(v)) != normalize_id(record_id)
                    }
                self.org.update(obj.name, record_id, body)
                return _Answer(204)
            if req.method == "DELETE":
                self.org.delete(obj.name, record_id)
                return _Answer(204)
            raise self._method_not_allowed(req, "GET,HEAD,PATCH,DELETE")
        if len(parts) == 3:
            f = obj.field(parts[1])
            if f is None or not (f.external_id or f.name == "Id"):
                raise SalesforceError(
                    404,
                    "NOT_FOUND",
                    f"Provided external ID field does not exist or is not accessible: {parts[1]}",
                )
            return self._sobjects(
                _Req(req.method, req.rest, req.version, req.args, req.body, req.content_type),
                [parts[0], parts[2]],
            )
        raise not_found()

    # query
    def _query(self, req: _Req, parts: list[str]) -> _Answer:
        page_size = self.page_size
        options = req.args.pop("_batch_size", "")
        match = re.search(r"batchSize=(\d+)", options)
        if match:
            page_size = min(page_size, max(200, min(2000, int(match.group(1)))))
        if parts:
            if len(parts) != 1:
                raise not_found()
            return _Answer(200, self.org.query_more(parts[0], req.version))
        if "q" not in req.args:
            raise SalesforceError(400, "MALFORMED_QUERY", "A query string has to be specified")
        return _Answer(200, self.org.query(req.args["q"], page_size, req.version))

    # sObject Collections
    def _collections(self, req: _Req, parts: list[str]) -> _Answer:
        if parts:
            if len(parts) != 1 or req.method not in ("GET", "POST"):
                raise not_found() if len(parts) != 1 else self._method_not_allowed(req, "GET,POST")
            return self._collection_retrieve(req, parts[0])
        if req.method == "DELETE":
            ids = [i for i in req.args.get("ids", "").split(",") if i]
            all_or_none = req.args.get("allOrNone", "false").lower() == "true"
            return _Answer(
                200, self._collection_write("delete", [{"id": i} for i in ids], all_or_none)
            )
        if req.method not in ("POST", "PATCH"):
            raise self._method_not_allowed(req, "POST,PATCH,DELETE")
        body = req.json()
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise SalesforceError(
                400, "JSON_PARSER_ERROR", "The request body must be an object with a records array"
            )
        all_or_none = bool(body.get("allOrNone", False))
        operation = "create" if req.method == "POST" else "update"
        return _Answer(200, self._collection_write(operation, body["records"], all_or_none))

    def _collection_retrieve(self, req: _Req, name: str) -> _Answer:
        obj = self._object_or_404(name)
        if req.method == "POST":
            body = req.json()
            ids = body.get("ids", []) if isinstance(body, dict) else []
            fields = body.get("fields", []) if isinstance(body, dict) else []
        else:
            ids = [i for i in req.args.get("ids", "").split(",") if i]
            fields = [f for f in req.args.get("fields", "").split(",") if f]
        if not fields:
            raise SalesforceError(400, "MALFORMED_QUERY", "fields parameter is required")
        if len(ids) > 2000:
            raise SalesforceError(400, "EXCEEDED_ID_LIMIT", "too many ids: at most 2000")
        records = []
        for record_id in ids:
            try:
                records.append(self.org.get(obj.name, record_id, fields, req.version))
            except SalesforceError as exc:
                if exc.error_code != "NOT_FOUND":
                    raise
                records.append(None)
        return _Answer(200, records)

    def _collection_write(
        self, operation: str, records: list[Any], all_or_none: bool
    ) -> list[dict[str, Any]]:
        if len(records) > MAX_COLLECTION_RECORDS:
            raise SalesforceError(
                400,
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 200 records into this call",
            )
        results: list[dict[str, Any]] = []
        errors = 0

        class _Rollback(Exception):
            pass

        try:
            with self.org.transaction():
                for record in records:
                    record_id = None
                    try:
                        with self.org.transaction():
                            record_id = self._collection_one(operation, record)
                        results.append({"id": record_id, "success": True, "errors": []})
                    except SalesforceError as exc:
                        errors += 1
                        failed: dict[str, Any] = {
                            "success": False,
                            "errors": [exc.to_record_error()],
                        }
                        if operation != "create" and isinstance(record, dict):
                            failed = {"id": record.get("id") or record.get("Id"), **failed}
                        results.append(failed)
                if all_or_none and errors:
                    raise _Rollback
        except _Rollback:
            rolled = {
                "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                "message": "Record rolled back because not all records were valid and "
                "the request was using AllOrNone header",
                "fields": [],
            }
            for result in results:
                if result["success"]:
                    result["success"] = False
                    result["errors"] = [rolled]
                    if operation == "create":
                        del result["id"]
        return results

    def _collection_one(self, operation: str, record: Any) -> str:
        if not isinstance(record, dict):
            raise SalesforceError(400, "JSON_PARSER_ERROR", "Each record must be a JSON object")
        if operation == "delete":
            record_id = record["id"]
            name = self._object_name_for_id(record_id)
            try:
                self.org.delete(name, record_id)
            except SalesforceError as exc:
                raise self._collection_missing(exc, record_id) from None
            return normalize_id(record_id) or record_id
        attributes = record.get("attributes")
        sobject = attributes.get("type") if isinstance(attributes, dict) else None
        if not isinstance(sobject, str):
            raise SalesforceError(
                400, "INVALID_TYPE", "Each record must have an attributes object with a type"
            )
        fields = {k: v for k, v in record.items() if k.lower() != "id"}
        if operation == "create":
            if record.get("id") is not None or record.get("Id") is not None:
                raise SalesforceError(
                    400, "INVALID_FIELD", "cannot specify Id in an insert call", []
                )
            return self.org.create(sobject, fields)
        record_id = record.get("id") or record.get("Id")
        if not record_id:
            raise SalesforceError(400, "MISSING_ARGUMENT", "Id not specified in an update call", [])
        try:
            self.org.update(sobject, record_id, fields)
        except SalesforceError as exc:
            raise self._collection_missing(exc, record_id) from None
        return normalize_id(record_id) or record_id

    @staticmethod
    def _collection_missing(exc: SalesforceError, record_id: Any) -> SalesforceError:
        if exc.error_code != "NOT_FOUND":
            return exc
        if normalize_id(str(record_id)) is None:
            return SalesforceError(400, "MALFORMED_ID", f"malformed id {record_id}", [])
        return SalesforceError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])

    def _object_name_for_id(self, record_id: Any) -> str:
        normalized = normalize_id(str(record_id))
        if normalized:
            for obj in self.org.objects.values():
                if obj.key_prefix == normalized[:3]:
                    return obj.name
        raise SalesforceError(400, "MALFORMED_ID", f"malformed id {record_id}", [])

    # composite (subrequests as one call)
    def _composite(self, req: _Req) -> _Answer:
        body = req.json()
        subrequests = body.get("compositeRequest") if isinstance(body, dict) else None
        if not isinstance(subrequests, list) or not subrequests:
            raise SalesforceError(
                400, "JSON_PARSER_ERROR", "compositeRequest must be a non-empty array"
            )
        if len(subrequests) > MAX_COMPOSITE_SUBREQUESTS:
            raise SalesforceError(
                400, "LIMIT_EXCEEDED", "Composite API supports at most 25 subrequests"
            )
        all_or_none = bool(body.get("allOrNone", False))
        results: dict[str, Any] = {}
        answers: list[dict[str, Any]] = []
        halted = {
            "errorCode": "PROCESSING_HALTED",
            "message": "The transaction was rolled back since another operation in the "
            "same transaction failed.",
        }

        class _Rollback(Exception):
            pass

        try:
            with self.org.transaction():
                failed = False
                for sub in subrequests:
                    ref = sub.get("referenceId", "") if isinstance(sub, dict) else ""
                    if failed and all_or_none:
                        answers.append(
                            {
                                "body": [halted],
                                "httpHeaders": {},
                                "httpStatusCode": 400,
                                "referenceId": ref,
                            }
                        )
                        continue
                    answer = self._composite_one(sub, results, req.version)
                    answers.append(
                        {
                            "body": answer.body,
                            "httpHeaders": {},
                            "httpStatusCode": answer.status,
                            "referenceId": ref,
                        }
                    )
                    if answer.status < 300:
                        results[ref] = answer.body
                    else:
                        failed = True
                if failed and all_or_none:
                    raise _Rollback
        except _Rollback:
            for entry in answers:
                if entry["httpStatusCode"] < 300:
                    entry.update(body=[halted], httpStatusCode=400)
        return _Answer(200, {"compositeResponse": answers})

    def _composite_one(self, sub: Any, results: dict[str, Any], version: str) -> _Answer:
        if not isinstance(sub, dict) or not isinstance(sub.get("url"), str):
            return _Answer(
                400,
                [
                    {
                        "errorCode": "JSON_PARSER_ERROR",
                        "message": "Each subrequest needs a method and a url",
                    }
                ],
            )
        try:
            url = self._resolve_refs(sub["url"], results)
            body = self._resolve_refs(sub.get("body"), results)
        except KeyError as exc:
            return _Answer(
                400,
                [
                    {
                        "errorCode": "PROCESSING_HALTED",
                        "message": f"Invalid reference specified. No value for {exc.args[0]} found",
                    }
                ],
            )
        parsed = urlsplit(url)
        match = _VERSION_PATH.match(parsed.path)
        if not match:
            return _Answer(404, not_found().to_json())
        args = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        sub_req = _Req(
            str(sub.get("method", "GET")).upper(),
            (match.group(2) or "").rstrip("/"),
            match.group(1),
            args,
            json.dumps(body).encode() if body is not None else b"",
        )
        return self.dispatch(sub_req)

    def _resolve_refs(self, value: Any, results: dict[str, Any]) -> Any:
        if isinstance(value, str):

            def substitute(match: re.Match[str]) -> str:
                ref, path = match.group(1), match.group(2)
                if ref not in results:
                    raise KeyError(f"@{{{ref}{path}}}")
                current = results[ref]
                for step in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
                    key, index = step
                    try:
                        current = current[int(index)] if index else current[key]
                    except (KeyError, IndexError, TypeError):
                        raise KeyError(f"@{{{ref}{path}}}") from None
                return str(current)

            return _REFERENCE.sub(substitute, value)
        if isinstance(value, dict):
            return {k: self._resolve_refs(v, results) for k, v in value.items()}
        if isinstance(value, list):
            return [self._resolve_refs(v, results) for v in value]
        return value

    # Bulk API 2.0 ingest
    def _ingest(self, req: _Req, parts: list[str]) -> _Answer:
        if not parts:
            if req.method == "POST":
                return _Answer(200, self.bulk.create(req.json(), req.version))
            if req.method == "GET":
                return _Answer(200, self.bulk.list())
            raise self._method_not_allowed(req, "GET,POST")
        job_id = parts[0]
        if len(parts) == 1:
            if req.method == "GET":
                return _Answer(200, self.bulk.info(job_id))
            if req.method == "PATCH":
                return _Answer(200, self.bulk.set_state(job_id, req.json()))
            if req.method == "DELETE":
                self.bulk.delete(job_id)
                return _Answer(204)
            raise self._method_not_allowed(req, "GET,PATCH,DELETE")
        if len(parts) == 2 and parts[1] == "batches":
            if req.method != "PUT":
                raise self._method_not_allowed(req, "PUT")
            self.bulk.upload(job_id, req.body)
            return _Answer(201, "")
        if len(parts) == 2 and parts[1].lower() in (
            "successfulresults",
            "failedresults",
            "unprocessedrecords",
        ):
            if req.method != "GET":
                raise self._method_not_allowed(req, "GET")
            return _Answer(200, self.bulk.results(job_id, parts[1]), "text/csv")
        raise not_found()


def start_salesforce(
    org: Org,
    port: int = 0,
    tls: bool = True,
    page_size: int = DEFAULT_PAGE_SIZE,
    latency: float = 0.0,
    **options: Any,
) -> SalesforceServer:
    """Serve `org` on 127.0.0.1 (HTTPS by default) in a background thread; returns the server.

    Options (keyword): api_version ("59.0"), access_token (random by default), api_limit
    (100,000 calls), users ({username: {"password", "security_token"}}), client_id,
    client_secret, jwt_public_key_pem, jwt_audiences, seed (for the fault knobs' random).
    """
    return SalesforceServer(org, port, tls, page_size, latency, **options).start()
