"""Stripe stand-in: localstripe, served on 127.0.0.1 only, with nothing written to disk.

Why a launcher at all
---------------------
localstripe's own CLI (``localstripe --port P``) binds ``('::', P)`` (every interface) and
pickles its whole store to a fixed file in the system temp folder after every write (even with
``--from-scratch``, which only skips loading it). Parallel runs would share state through that
file, any host on the network could reach the "Stripe" API, and writes get slower as the store
grows. This launcher binds ``127.0.0.1`` itself and replaces ``Store.dump_to_disk`` and
``Store.try_load_from_disk`` with no-ops before localstripe handles a single request.

Why a subprocess (``python -m sandbox.stripe --port P``) and not a thread
-------------------------------------------------------------------------
localstripe keeps its store, its aiohttp ``app`` and its webhook registry in module globals:
two servers in one interpreter would share one store, and patching ``Store`` in the test process
would leak into everything else that imports localstripe. A child process gives each server
its own store, and cleanup is certain: ``stop()`` sends SIGTERM, then SIGKILL after a grace
period, and the child also exits on its own when its stdin closes (that is, when the parent
dies, however it dies), so no server outlives the test run that started it. The child writes
no files.

What the launcher adds (and what it does not)
---------------------------------------------
- ``/_sandbox/knobs`` (GET, POST JSON): run-time faults applied to every ``/v1/`` request by an
  aiohttp middleware in the localstripe process, so clients see real HTTP behaviour:
  ``latency`` (seconds slept before answering), ``rate_limit_rate`` (fraction answered 429 with
  Stripe's body ``{"error": {"type": "invalid_request_error", "code": "rate_limit", ...}}``
  and no ``Stripe-Should-Retry`` header, so the SDK does not retry it, as with real Stripe
  rate limits), ``error_rate`` (fraction answered 500 with ``{"error": {"type": "api_error"}}``,
  which the SDK does retry when ``max_network_retries`` > 0), ``fault_seed`` (seed of the fault
  draw, for a reproducible pattern). One draw per request: a request is rate-limited with
  probability ``rate_limit_rate``, fails with probability ``error_rate``, so their sum must not
  exceed 1.
- ``/_sandbox/stats`` (GET; DELETE zeroes it): requests seen under ``/v1/`` (faulted ones
  included), and counts by status.
- ``/_sandbox/reset`` (POST): knobs back to defaults and stats zeroed (``DELETE /_config/data``,
  localstripe's own route, empties the store; ``StripeServer.reset`` does both).
- ``/_sandbox/seed`` (POST JSON ``{"ops": [...], "bindings": {...}}``): runs a batch of object
  creations in-process through localstripe's own resource classes (the same validation as over
  HTTP), so ``sandbox.seed`` can create 50,000 customers in seconds rather than minutes. See
  ``_run_ops`` for the operations. While a batch runs, localstripe's webhook events are not
  created (each one exports the object, which scans the whole store: quadratic at that size),
  except a ``customer.deleted`` event for each deleted customer, so ``GET /v1/events`` still
  says which customers were deleted.
- A per-type index of the store for list scans (see ``_patch_store``): the same answers,
  but a customer retrieve no longer scans every object (about 40 ms each at 50,000 customers
  without it, which would make cross-check benchmarks measure localstripe, not the bot).
- ``/_sandbox/`` routes need no API key (like localstripe's own ``/_config/``): the server
  only listens on the loopback interface.

localstripe's gaps are NOT papered over here (the bot's Stripe gateway must handle them, as it
would handle the differences between Stripe API versions):

- A deleted customer answers **404** (``{"error": {"type": "invalid_request_error",
  "message": "Not Found"}}``), where Stripe answers 200 ``{"id": ..., "deleted": true}``. Over
  ``GET /v1/customers/{id}`` it is indistinguishable from a customer that never existed;
  ``GET /v1/events?type=customer.deleted`` lists the deleted ones.
- There is no ``GET /v1/customers/{id}/payment_methods`` (nor the single-item form): aiohttp
  answers a plain-text 404 and the SDK raises ``APIError: Invalid response body``. Use
  ``GET /v1/payment_methods?customer=...&type=card`` (``type`` is required by localstripe).
- ``PaymentMethod.list`` without ``type`` is a 400; ``Customer.search`` is a 404.
- Deleting a customer leaves its payment methods' ``customer`` pointing at the deleted id.
- Payment methods exist only as ``card`` and ``sepa_debit`` (no ``us_bank_account``); every
  card's brand is ``visa``; PaymentMethod.create takes exactly ``number``, ``exp_month``,
  ``exp_year``, ``cvc`` and an expiry year in 2019..2099; ``PaymentMethod.retrieve`` of a
  legacy ``card_``/``src_`` id returns that Card/Source (as Stripe does).
- Responses have old object shapes (``account_balance``, ``sources``) whatever
  ``Stripe-Version`` is sent; any key starting with ``sk_`` and longer than 5 characters is
  accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
DEFAULT_API_KEY = "sk_test_localstripe_sandbox"
KNOB_DEFAULTS: dict[str, float | int | None] = {
    "latency": 0.0,
    "rate_limit_rate": 0.0,
    "error_rate": 0.0,
    "fault_seed": None,
}

__all__ = ["DEFAULT_API_KEY", "Knobs", "StripeServer", "StripeServerError", "start_stripe"]


class StripeServerError(RuntimeError):
    """The stand-in did not start, or a control request to it failed."""


# ---------------------------------------------------------------------------------------------
# Parent side: start, control and stop the child process.
# ---------------------------------------------------------------------------------------------

# The control client ignores proxy settings: the server is on the loopback interface, and an
# HTTP(S)_PROXY in the environment must never see its traffic.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _control(base: str, method: str, path: str, body: Any = None, timeout: float = 30.0) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:500]
        raise StripeServerError(f"{method} {path} answered {exc.code}: {detail}") from exc
    except OSError as exc:
        raise StripeServerError(f"{method} {path} failed: {exc}") from exc
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


class Knobs:
    """Run-time faults of one server, read and written over HTTP (``/_sandbox/knobs``).

    Attribute access is a live round trip, so a value set here is what the server uses for the
    very next request: ``s.knobs.rate_limit_rate = 1.0``; ``s.knobs.set(latency=0.05)``;
    ``with s.knobs.applied(error_rate=0.5): ...`` restores the previous values on exit.
    """

    NAMES = tuple(KNOB_DEFAULTS)

    def __init__(self, api_base: str) -> None:
        object.__setattr__(self, "_api_base", api_base)

    def get(self) -> dict[str, Any]:
        """All knob values, as the server holds them."""
        return _control(self._api_base, "GET", "/_sandbox/knobs")

    def set(self, **values: Any) -> dict[str, Any]:
        """Change some knobs (the others keep their values); returns all of them."""
        unknown = set(values) - set(self.NAMES)
        if unknown:
            raise AttributeError(f"unknown knob(s): {', '.join(sorted(unknown))}")
        return _control(self._api_base, "POST", "/_sandbox/knobs", values)

    def reset(self) -> dict[str, Any]:
        """Every knob back to its default (no latency, no faults)."""
        return self.set(**KNOB_DEFAULTS)

    @contextlib.contextmanager
    def applied(self, **values: Any) -> Iterator[Knobs]:
        """Set knobs for the duration of a ``with`` block, then restore the previous values."""
        before = self.get()
        self.set(**values)
        try:
            yield self
        finally:
            self.set(**{name: before[name] for name in values})

    def __getattr__(self, name: str) -> Any:
        if name in KNOB_DEFAULTS:
            return self.get()[name]
        raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in KNOB_DEFAULTS:
            raise AttributeError(f"unknown knob: {name}")
        self.set(**{name: value})

    def __repr__(self) -> str:
        return f"Knobs({self._api_base})"


class StripeServer:
    """A running localstripe child process on 127.0.0.1. Use ``start_stripe`` to make one.

    A context manager: leaving the ``with`` block stops the process.
    """

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        port: int,
        api_key: str,
        stderr_tail: collections.deque[str],
    ) -> None:
        self._process = process
        self._stderr_tail = stderr_tail
        self.port = port
        self.host = HOST
        self.api_key = api_key
        self.api_base = f"http://{HOST}:{port}"
        self.knobs = Knobs(self.api_base)

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process.poll() is None

    def settings(self) -> dict[str, str]:
        """The environment a Stripe client needs to use this server (same names as the bot)."""
        return {"STRIPE_API_BASE": self.api_base, "STRIPE_API_KEY": self.api_key}

    def reset(self, knobs: bool = True) -> None:
        """Empty the store (``DELETE /_config/data``); with ``knobs``, also default the knobs
        and zero the request counters, so one test's faults never leak into the next."""
        _control(self.api_base, "DELETE", "/_config/data")
        if knobs:
            _control(self.api_base, "POST", "/_sandbox/reset", {})

    def stats(self) -> dict[str, Any]:
        """``{"requests": n, "by_status": {...}, "rate_limited": n, "errors_injected": n}``."""
        return _control(self.api_base, "GET", "/_sandbox/stats")

    @property
    def request_count(self) -> int:
        """``/v1/`` requests seen since start or the last reset (faulted ones included)."""
        return int(self.stats()["requests"])

    def reset_stats(self) -> None:
        _control(self.api_base, "DELETE", "/_sandbox/stats")

    def seed_ops(
        self, ops: list[dict[str, Any]], bindings: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """Run a batch of creation ops in-process (see ``_run_ops``); returns ref -> Stripe id."""
        return post_seed_ops(self.api_base, ops, bindings)

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM, wait, SIGKILL if needed; reap the process and close its pipes. Idempotent."""
        process = self._process
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                process.wait(timeout=timeout)
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def __enter__(self) -> StripeServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"StripeServer({self.api_base}, pid={self.pid}, {state})"


def post_seed_ops(
    api_base: str, ops: list[dict[str, Any]], bindings: Mapping[str, str] | None = None
) -> dict[str, str]:
    """POST one batch to ``/_sandbox/seed``. Batches must stay under 1 MiB of JSON, the default
    request size limit of localstripe's aiohttp app."""
    result = _control(
        api_base,
        "POST",
        "/_sandbox/seed",
        {"ops": ops, "bindings": dict(bindings or {})},
        timeout=300.0,
    )
    return dict(result["refs"])


def has_sandbox_routes(api_base: str) -> bool:
    """True when ``api_base`` is a server started by this module (it has ``/_sandbox/``)."""
    try:
        _control(api_base, "GET", "/_sandbox/stats", timeout=5.0)
    except StripeServerError:
        return False
    return True


def _project_root() -> str:
    return str(Path(__file__).resolve().parent.parent)


def start_stripe(
    port: int = 0,
    *,
    api_key: str = DEFAULT_API_KEY,
    timeout: float = 15.0,
    knobs: Mapping[str, Any] | None = None,
) -> StripeServer:
    """Start localstripe on 127.0.0.1:``port`` (0 picks a free port) in a child process and
    return once it answers HTTP. ``knobs`` sets initial faults.

    Raises ``StripeServerError`` (with the child's stderr) if it does not come up in time.
    """
    if not (api_key.startswith("sk_") and len(api_key) > 5):
        raise ValueError("localstripe only accepts keys that start with sk_ (and are > 5 chars)")
    env = dict(os.environ)
    root = _project_root()
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYTHONUNBUFFERED"] = "1"
    command = [
        sys.executable,
        "-m",
        "sandbox.stripe",
        "--port",
        str(port),
        "--api-key",
        api_key,
        "--exit-on-stdin-eof",
    ]
    if knobs:
        command += ["--knobs", json.dumps(dict(knobs))]
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=root,
        start_new_session=True,  # a Ctrl-C in the terminal is the parent's to handle
    )
    lines: collections.deque[str] = collections.deque()
    stderr_tail: collections.deque[str] = collections.deque(maxlen=200)
    got_line = threading.Condition()

    def pump(stream: Any, sink: collections.deque[str], notify: bool) -> None:
        # Drain the pipe for the child's whole life, so it can never block on a full pipe.
        for raw in iter(stream.readline, b""):
            with got_line:
                sink.append(raw.decode(errors="replace").rstrip("\n"))
                if notify:
                    got_line.notify_all()
        with got_line:
            got_line.notify_all()

    threading.Thread(target=pump, args=(process.stdout, lines, True), daemon=True).start()
    threading.Thread(target=pump, args=(process.stderr, stderr_tail, False), daemon=True).start()

    deadline = time.monotonic() + timeout
    values: dict[str, str] = {}
    with got_line:
        while not {"STRIPE_API_BASE", "STRIPE_API_KEY"} <= values.keys():
            while lines:
                key, _, value = lines.popleft().partition("=")
                values[key] = value
            if {"STRIPE_API_BASE", "STRIPE_API_KEY"} <= values.keys():
                break
            remaining = deadline - time.monotonic()
            if process.poll() is not None or remaining <= 0:
                break
            got_line.wait(timeout=min(remaining, 0.1))
    if "STRIPE_API_BASE" not in values:
        server = StripeServer(process, port, api_key, stderr_tail)
        server.stop(timeout=2.0)
        raise StripeServerError("localstripe did not start: " + " | ".join(list(stderr_tail)[-10:]))
    actual_port = int(values["STRIPE_API_BASE"].rsplit(":", 1)[1])
    server = StripeServer(process, actual_port, values["STRIPE_API_KEY"], stderr_tail)
    while True:  # the socket listens before the lines are printed; this is belt and braces
        if has_sandbox_routes(server.api_base):
            return server
        if time.monotonic() > deadline or not server.running:
            server.stop(timeout=2.0)
            raise StripeServerError("localstripe printed its address but does not answer")
        time.sleep(0.02)


# ---------------------------------------------------------------------------------------------
# Child side: runs inside ``python -m sandbox.stripe``; imports localstripe only here.
# ---------------------------------------------------------------------------------------------


def _patch_store() -> None:
    """No pickle in the temp folder, ever (not on load, not on any write); and list scans by
    object type through an index instead of the whole store.

    The index changes no answer: localstripe lists objects of one type by scanning every key of
    the store, and every customer retrieve lists subscriptions (a dynamic property of the
    export), so with 50,000 customers one retrieve took ~40 ms. The index keeps, per type, the
    keys in the store's own insertion order, so lists come back exactly as before.
    """
    import localstripe.resources as res

    index: dict[str, dict[str, None]] = collections.defaultdict(dict)

    def setitem(self: Any, key: str, value: Any) -> None:
        dict.__setitem__(self, key, value)
        kind, sep, _ = key.partition(":")
        if sep:
            index[kind][key] = None

    def delitem(self: Any, key: str) -> None:
        dict.__delitem__(self, key)
        kind, sep, _ = key.partition(":")
        if sep:
            index[kind].pop(key, None)

    def clear(self: Any) -> None:
        dict.clear(self)
        index.clear()

    def list_all(
        cls: Any, url: str, limit: Any = None, starting_after: Any = None, **kwargs: Any
    ) -> Any:
        if kwargs:  # same check and message as localstripe's own
            raise res.UserError(400, "Unexpected " + ", ".join(kwargs.keys()))
        li = res.List(url, limit=limit, starting_after=starting_after)
        li._list = [res.store[key] for key in index.get(cls.object, {})]
        return li

    res.Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]
    res.Store.try_load_from_disk = lambda self: None  # type: ignore[method-assign]
    res.Store.__setitem__ = setitem  # type: ignore[method-assign,assignment]
    res.Store.__delitem__ = delitem  # type: ignore[method-assign,assignment]
    res.Store.clear = clear  # type: ignore[method-assign,assignment]
    res.StripeObject._api_list_all = classmethod(list_all)  # type: ignore[method-assign,assignment]
    for key in list(res.store.keys()):  # nothing yet at start-up; index it all the same
        setitem(res.store, key, res.store[key])


class _State:
    """Knobs and counters of the child process (one server per process)."""

    def __init__(self) -> None:
        self.knobs: dict[str, Any] = dict(KNOB_DEFAULTS)
        self.rng = random.Random()
        self.zero()

    def zero(self) -> None:
        self.requests = 0
        self.rate_limited = 0
        self.errors_injected = 0
        self.by_status: collections.Counter[str] = collections.Counter()

    def stats(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "rate_limited": self.rate_limited,
            "errors_injected": self.errors_injected,
            "by_status": dict(sorted(self.by_status.items())),
        }

    def update_knobs(self, values: Mapping[str, Any]) -> None:
        merged = dict(self.knobs)
        for name, value in values.items():
            if name not in KNOB_DEFAULTS:
                raise ValueError(f"unknown knob: {name}")
            merged[name] = value
        for name in ("latency", "rate_limit_rate", "error_rate"):
            value = merged[name]
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name} must be a number >= 0")
            merged[name] = float(value)
        if merged["rate_limit_rate"] + merged["error_rate"] > 1:
            raise ValueError("rate_limit_rate + error_rate must not exceed 1")
        seed = merged["fault_seed"]
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError("fault_seed must be an integer or null")
        if "fault_seed" in values:
            self.rng = random.Random(seed)
        self.knobs = merged


def _stripe_error(status: int, error: dict[str, Any]) -> Any:
    from aiohttp import web

    headers = {"Request-Id": f"req_sandbox{random.randrange(10**12):012d}"}
    return web.json_response({"error": error}, status=status, headers=headers)


def _build_app(state: _State) -> Any:
    """localstripe's aiohttp app plus the sandbox middleware (outermost) and its routes."""
    from aiohttp import web
    from localstripe.server import app

    async def sandbox_route(request: web.Request) -> web.StreamResponse:
        path, method = request.path.rstrip("/"), request.method
        try:
            if path == "/_sandbox/knobs" and method == "GET":
                return web.json_response(state.knobs)
            if path == "/_sandbox/knobs" and method == "POST":
                state.update_knobs(await request.json())
                return web.json_response(state.knobs)
            if path == "/_sandbox/stats" and method == "GET":
                return web.json_response(state.stats())
            if path == "/_sandbox/stats" and method == "DELETE":
                state.zero()
                return web.json_response(state.stats())
            if path == "/_sandbox/reset" and method == "POST":
                state.update_knobs(KNOB_DEFAULTS)
                state.zero()
                return web.json_response({"knobs": state.knobs, "stats": state.stats()})
            if path == "/_sandbox/seed" and method == "POST":
                body = await request.json()
                refs = _run_ops(body.get("ops") or [], body.get("bindings") or {})
                return web.json_response({"refs": refs})
        except (ValueError, TypeError, KeyError) as exc:
            return web.json_response(
                {"error": {"type": "invalid_request_error", "message": str(exc)}}, status=400
            )
        return web.json_response(
            {"error": {"type": "invalid_request_error", "message": "Not Found"}}, status=404
        )

    @web.middleware
    async def sandbox_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith("/_sandbox/"):
            return await sandbox_route(request)
        if not request.path.startswith("/v1/"):
            return await handler(request)
        state.requests += 1
        knobs = state.knobs
        if knobs["latency"]:
            await asyncio.sleep(knobs["latency"])
        draw = state.rng.random() if (knobs["rate_limit_rate"] or knobs["error_rate"]) else 1.0
        if draw < knobs["rate_limit_rate"]:
            state.rate_limited += 1
            state.by_status["429"] += 1
            return _stripe_error(
                429,
                {
                    "type": "invalid_request_error",
                    "code": "rate_limit",
                    "message": "Request rate limit exceeded. Learn more about rate limits here "
                    "https://stripe.com/docs/rate-limits.",
                    "doc_url": "https://stripe.com/docs/error-codes/rate-limit",
                },
            )
        if draw < knobs["rate_limit_rate"] + knobs["error_rate"]:
            state.errors_injected += 1
            state.by_status["500"] += 1
            return _stripe_error(
                500,
                {
                    "type": "api_error",
                    "message": "Something went wrong on Stripe's end. (sandbox fault)",
                },
            )
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            state.by_status[str(exc.status)] += 1
            raise
        state.by_status[str(response.status)] += 1
        return response

    app.middlewares.insert(0, sandbox_middleware)
    return app


def _run_ops(ops: list[dict[str, Any]], bindings: Mapping[str, str]) -> dict[str, str]:
    """Create objects in-process through localstripe's resource classes.

    Each op is a dict with ``op`` and, optionally, ``ref`` (a name for the object it creates).
    A string value ``"@name"`` refers to an object made earlier in this batch, or named in
    ``bindings`` (``{name: stripe_id}``, for objects of earlier batches). Ops:

    - ``{"op": "payment_method", "params": {"type": "card", "card": {...}}, "attach": "@c"}``
    - ``{"op": "customer", "params": {"name": ..., "email": ..., "metadata": {...},
      "payment_method": "@p", "invoice_settings": {"default_payment_method": "@p"}}}``
    - ``{"op": "attach", "payment_method": "@p", "customer": "@c"}``; ``{"op": "detach",
      "payment_method": "@p"}``
    - ``{"op": "token", "card": {number, exp_month, exp_year, cvc}}``: a single-use ``tok_``
    - ``{"op": "source", "customer": "@c", "source": "@tok"}``: a legacy ``card_`` on a customer
    - ``{"op": "delete_customer", "customer": "@c"}``

    Returns ``{ref: id}`` for the refs made by this batch. Not transactional: a failing op
    answers 400 naming it, and the ops before it stay applied.
    """
    import localstripe.resources as res
    from localstripe.errors import UserError

    refs: dict[str, str] = dict(bindings)
    made: dict[str, str] = {}

    def resolve(value: Any) -> Any:
        if isinstance(value, str) and value.startswith("@"):
            return refs[value[1:]]
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        return value

    saved = res.Event, res.schedule_webhook
    res.Event = lambda *args, **kwargs: None  # type: ignore[assignment,misc]
    res.schedule_webhook = lambda event: None  # type: ignore[assignment]
    try:
        for index, op in enumerate(ops):
            kind = op.get("op")
            try:
                if kind == "payment_method":
                    obj = res.PaymentMethod._api_create(**resolve(op["params"]))
                    if op.get("attach"):
                        res.PaymentMethod._api_attach(obj.id, customer=resolve(op["attach"]))
                elif kind == "customer":
                    obj = res.Customer._api_create(**resolve(op.get("params") or {}))
                elif kind == "attach":
                    obj = res.PaymentMethod._api_attach(
                        resolve(op["payment_method"]), customer=resolve(op["customer"])
                    )
                elif kind == "detach":
                    obj = res.PaymentMethod._api_detach(resolve(op["payment_method"]))
                elif kind == "token":
                    obj = res.Token._api_create(card=dict(op["card"]))
                elif kind == "source":
                    obj = res.Customer._api_add_source(
                        resolve(op["customer"]), source=resolve(op["source"])
                    )
                elif kind == "delete_customer":
                    customer = res.Customer._api_retrieve(resolve(op["customer"]))
                    res.Customer._api_delete(customer.id)
                    _record_deleted_event(saved[0], customer)
                    obj = customer
                else:
                    raise ValueError(f"unknown op {kind!r}")
            except UserError as exc:
                raise ValueError(f"op {index} ({kind}): {exc.code} {exc.body}") from exc
            except KeyError as exc:
                raise ValueError(f"op {index} ({kind}): unknown ref or field {exc}") from exc
            if op.get("ref"):
                refs[op["ref"]] = made[op["ref"]] = obj.id
    finally:
        res.Event, res.schedule_webhook = saved
    return made


def _record_deleted_event(event_cls: Any, customer: Any) -> None:
    """A ``customer.deleted`` event like localstripe's own, with the customer's plain fields
    (its full export would scan the whole store)."""
    import localstripe.resources as res

    data = {
        key: value
        for key, value in vars(customer).items()
        if not key.startswith("_") and isinstance(value, str | int | float | bool | dict | None)
    }
    event = event_cls.__new__(event_cls)
    res.StripeObject.__init__(event)
    event.type = "customer.deleted"
    event.data = {"object": data}
    event.api_version = "2017-08-15"


async def _serve(app: Any, sock: socket.socket, api_key: str, exit_on_stdin_eof: bool) -> None:
    from aiohttp import web

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread / no Unix signals
            signal.signal(signum, lambda *_: loop.call_soon_threadsafe(stop.set))
    if exit_on_stdin_eof:
        # The parent holds the other end of this pipe: EOF means it is gone. Watched by the
        # event loop on the raw fd (a thread blocked in a buffered read would hold up exit).
        def on_stdin() -> None:
            try:
                data = os.read(0, 4096)
            except OSError:
                data = b""
            if not data:
                loop.remove_reader(0)
                stop.set()

        loop.add_reader(0, on_stdin)

    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.SockSite(runner, sock)
    await site.start()
    port = sock.getsockname()[1]
    print(f"STRIPE_API_BASE=http://{HOST}:{port}", flush=True)
    print(f"STRIPE_API_KEY={api_key}", flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    """``python -m sandbox.stripe --port P``: serve until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.stripe",
        description="localstripe on 127.0.0.1 only, nothing persisted to disk.",
    )
    parser.add_argument("--port", type=int, default=8420, help="0 picks a free port")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY, help="the key printed for clients")
    parser.add_argument("--knobs", default=None, help='initial knobs as JSON, e.g. {"latency":0.1}')
    parser.add_argument(
        "--exit-on-stdin-eof",
        action="store_true",
        help="stop when stdin closes (used by start_stripe so the child dies with its parent)",
    )
    args = parser.parse_args(argv)

    _patch_store()
    state = _State()
    if args.knobs:
        state.update_knobs(json.loads(args.knobs))
    app = _build_app(state)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, args.port))
    except OSError as exc:
        print(f"cannot bind {HOST}:{args.port}: {exc}", file=sys.stderr, flush=True)
        sock.close()
        return 2
    sock.listen(128)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(app, sock, args.api_key, args.exit_on_stdin_eof))
    return 0


if __name__ == "__main__":
    sys.exit(main())
