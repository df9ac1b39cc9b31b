"""The Stripe stand-in launcher, exercised through the Stripe SDK over real HTTP.

What matters: it is reachable on 127.0.0.1 only, leaves no pickle behind, resets, its faults
are what the SDK sees, and it never outlives whoever started it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import stripe

from sandbox.stripe import StripeServer, StripeServerError, has_sandbox_routes, start_stripe

CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}
ROOT = Path(__file__).resolve().parent.parent
# localstripe hard-codes this path (not tempfile.gettempdir()).
LOCALSTRIPE_PICKLE = Path("/tmp/localstripe.pickle")


def _gone(pid: int, wait: float = 10.0) -> bool:
    """True once no process has this pid (waiting up to `wait` seconds for it to exit)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def _listening_addresses(port: int) -> set[str]:
    """Local addresses (hex, as in /proc/net/tcp*) listening on `port`."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if int(hex_port, 16) == port and fields[3] == "0A":  # 0A = LISTEN
                found.add(f"{table.rsplit('/', 1)[1]}:{address}")
    return found


def _refused(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return True  # unreachable counts as "not served there"


def _other_local_address() -> str | None:
    """A non-loopback address of this machine, if it has one."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1; UDP connect sends nothing
            address = probe.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def test_binds_loopback_only(stripe_api: StripeServer) -> None:
    assert stripe_api.api_base == f"http://127.0.0.1:{stripe_api.port}"
    if Path("/proc/net/tcp").exists():
        # exactly one listener on the port: 127.0.0.1 (0100007F), nothing on :: or 0.0.0.0
        assert _listening_addresses(stripe_api.port) == {"tcp:0100007F"}
    # Linux routes all of 127/8 to lo: a wildcard bind would answer on 127.0.0.2 too.
    if sys.platform.startswith("linux"):
        assert _refused("127.0.0.2", stripe_api.port)
    other = _other_local_address()
    if other:
        assert _refused(other, stripe_api.port)


def test_sdk_round_trip_and_no_pickle(stripe_client: stripe.StripeClient) -> None:
    before = LOCALSTRIPE_PICKLE.stat() if LOCALSTRIPE_PICKLE.exists() else None
    customer = stripe_client.v1.customers.create(params={"name": "Acme", "email": "a@x.test"})
    pm = stripe_client.v1.payment_methods.create(params={"type": "card", "card": dict(CARD)})
    stripe_client.v1.payment_methods.attach(pm.id, params={"customer": customer.id})
    assert stripe_client.v1.payment_methods.retrieve(pm.id).customer == customer.id
    assert stripe_client.v1.customers.retrieve(customer.id).name == "Acme"
    after = LOCALSTRIPE_PICKLE.stat() if LOCALSTRIPE_PICKLE.exists() else None
    if before is None:
        assert after is None, "localstripe wrote its pickle to the temp folder"
    else:  # left by something else earlier: it must not have been touched
        assert after is not None
        assert (after.st_mtime_ns, after.st_size) == (before.st_mtime_ns, before.st_size)


def test_known_gaps_are_not_papered_over(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create(params={"name": "Gone"})
    deleted = stripe_client.v1.customers.delete(customer.id)
    assert deleted.deleted is True
    with pytest.raises(stripe.InvalidRequestError) as info:  # real Stripe: 200 deleted=true
        stripe_client.v1.customers.retrieve(customer.id)
    assert info.value.http_status == 404
    events = stripe_client.v1.events.list(params={"type": "customer.deleted"})
    assert [event.data.object.id for event in events.data] == [customer.id]
    with pytest.raises(stripe.APIError):  # no /v1/customers/{id}/payment_methods route
        stripe_client.v1.customers.payment_methods.list(customer.id)


def test_reset_empties_store(stripe_api: StripeServer, stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create(params={"name": "Temp"})
    stripe_api.knobs.latency = 0.01
    assert stripe_api.request_count == 1
    stripe_api.reset()
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.customers.retrieve(customer.id)
    assert stripe_api.knobs.get()["latency"] == 0.0
    assert stripe_api.request_count == 1  # the retrieve above, after the reset


def test_rate_limit_knob_is_a_429_the_sdk_sees(
    stripe_api: StripeServer, stripe_client: stripe.StripeClient
) -> None:
    stripe_api.knobs.rate_limit_rate = 1.0
    with pytest.raises(stripe.RateLimitError) as info:
        stripe_client.v1.customers.list()
    assert info.value.http_status == 429
    assert info.value.json_body["error"] == {
        "type": "invalid_request_error",
        "code": "rate_limit",
        "message": info.value.json_body["error"]["message"],
        "doc_url": "https://stripe.com/docs/error-codes/rate-limit",
    }
    # the SDK does not retry real rate limits (no Stripe-Should-Retry header), like Stripe
    retrying = stripe.StripeClient(
        stripe_api.api_key, base_addresses={"api": stripe_api.api_base}, max_network_retries=2
    )
    count = stripe_api.request_count
    with pytest.raises(stripe.RateLimitError):
        retrying.v1.customers.list()
    assert stripe_api.request_count == count + 1
    assert stripe_api.stats()["rate_limited"] == 2


def test_rate_limit_fraction_is_reproducible(
    stripe_api: StripeServer, stripe_client: stripe.StripeClient
) -> None:
    def pattern() -> list[bool]:
        stripe_api.knobs.set(rate_limit_rate=0.5, fault_seed=7)
        outcome = []
        for _ in range(60):
            try:
                stripe_client.v1.customers.list()
                outcome.append(True)
            except stripe.RateLimitError:
                outcome.append(False)
        return outcome

    first, second = pattern(), pattern()
    assert first == second
    assert 10 < first.count(False) < 50


def test_error_knob_is_a_500_the_sdk_retries(stripe_api: StripeServer) -> None:
    retrying = stripe.StripeClient(
        stripe_api.api_key, base_addresses={"api": stripe_api.api_base}, max_network_retries=2
    )
    with stripe_api.knobs.applied(error_rate=1.0):
        with pytest.raises(stripe.APIError) as info:
            retrying.v1.customers.list()
        assert info.value.http_status == 500
    assert stripe_api.request_count == 3  # first try + 2 retries
    assert stripe_api.stats()["errors_injected"] == 3
    assert stripe_api.knobs.error_rate == 0.0  # applied() restored it
    assert retrying.v1.customers.list().data == []


def test_latency_knob_is_seen_by_the_sdk(stripe_api: StripeServer) -> None:
    stripe_api.knobs.latency = 0.3
    client = stripe.StripeClient(
        stripe_api.api_key,
        base_addresses={"api": stripe_api.api_base},
        max_network_retries=0,
        http_client=stripe.RequestsClient(timeout=0.05),
    )
    with pytest.raises(stripe.APIConnectionError):  # the server waits longer than the client
        client.v1.customers.list()
    patient = stripe.StripeClient(
        stripe_api.api_key, base_addresses={"api": stripe_api.api_base}, max_network_retries=0
    )
    started = time.monotonic()
    patient.v1.customers.list()
    assert time.monotonic() - started >= 0.3  # a lower bound only: sleeping is never faster


def test_knob_validation(stripe_api: StripeServer) -> None:
    with pytest.raises(StripeServerError, match="must not exceed 1"):
        stripe_api.knobs.set(rate_limit_rate=0.7, error_rate=0.5)
    with pytest.raises(AttributeError):
        stripe_api.knobs.set(nonsense=1)
    with pytest.raises(StripeServerError, match="latency"):
        stripe_api.knobs.set(latency=-1)


def test_stop_leaves_no_process() -> None:
    with start_stripe(port=0) as server:
        pid, base = server.pid, server.api_base
        assert has_sandbox_routes(base)
    assert _gone(pid)
    assert not has_sandbox_routes(base)
    server.stop()  # idempotent


def test_two_servers_do_not_share_state() -> None:
    with start_stripe() as first, start_stripe() as second:
        client = stripe.StripeClient(
            first.api_key, base_addresses={"api": first.api_base}, max_network_retries=0
        )
        customer = client.v1.customers.create(params={"name": "Only in first"})
        other = stripe.StripeClient(
            second.api_key, base_addresses={"api": second.api_base}, max_network_retries=0
        )
        with pytest.raises(stripe.InvalidRequestError):
            other.v1.customers.retrieve(customer.id)


def test_child_dies_with_its_parent(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys, time
        from sandbox.stripe import start_stripe
        server = start_stripe()
        print(server.pid, flush=True)
        time.sleep(600)
        """
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        child_pid = int(parent.stdout.readline())
        assert not _gone(child_pid, wait=0.1)
        parent.kill()  # SIGKILL: no cleanup code runs in the parent
        parent.wait(timeout=10)
        assert _gone(child_pid)
    finally:
        parent.kill()
        parent.wait(timeout=10)
        if parent.stdout:
            parent.stdout.close()


def test_cli_prints_settings_and_stops_on_sigint() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox.stripe", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [process.stdout.readline().strip() for _ in range(2)]
        settings = dict(line.split("=", 1) for line in lines)
        assert settings["STRIPE_API_BASE"].startswith("http://127.0.0.1:")
        assert settings["STRIPE_API_KEY"].startswith("sk_test_")
        client = stripe.StripeClient(
            settings["STRIPE_API_KEY"],
            base_addresses={"api": settings["STRIPE_API_BASE"]},
            max_network_retries=0,
        )
        assert client.v1.customers.create(params={"name": "cli"}).id.startswith("cus_")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        process.kill()
        process.wait(timeout=10)
        process.stdout.close()
        process.stderr.close()


def test_cli_refuses_a_port_in_use() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "sandbox.stripe", "--port", str(port)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 2
    assert "cannot bind" in result.stderr


def test_seed_ops_route(stripe_api: StripeServer, stripe_client: stripe.StripeClient) -> None:
    refs = stripe_api.seed_ops(
        [
            {"op": "payment_method", "ref": "p", "params": {"type": "card", "card": dict(CARD)}},
            {
                "op": "customer",
                "ref": "c",
                "params": {
                    "name": "Bulk",
                    "payment_method": "@p",
                    "invoice_settings": {"default_payment_method": "@p"},
                },
            },
            {"op": "token", "ref": "t", "card": dict(CARD)},
            {"op": "source", "ref": "legacy", "customer": "@c", "source": "@t"},
        ]
    )
    customer = stripe_client.v1.customers.retrieve(refs["c"])
    assert customer.invoice_settings.default_payment_method == refs["p"]
    assert stripe_client.v1.payment_methods.retrieve(refs["p"]).customer == refs["c"]
    assert refs["legacy"].startswith("card_")
    assert stripe_client.v1.payment_methods.retrieve(refs["legacy"]).customer == refs["c"]
    # later batches refer to earlier objects through bindings
    more = stripe_api.seed_ops(
        [{"op": "delete_customer", "customer": "@c"}], bindings={"c": refs["c"]}
    )
    assert more == {}
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.customers.retrieve(refs["c"])
    with pytest.raises(StripeServerError, match="op 0"):
        stripe_api.seed_ops([{"op": "attach", "payment_method": "pm_nope", "customer": "cus_x"}])
