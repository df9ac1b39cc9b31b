"""The stand-in's server side: TLS, OAuth grants, sessions, fault knobs, counters, the CLI."""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceRefusedRequest,
)

from sandbox.salesforce import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_PASSWORD,
    DEFAULT_SECURITY_TOKEN,
    DEFAULT_USERNAME,
    Org,
    SalesforceServer,
    start_salesforce,
)
from tests.plugins.salesforce import sf_connect, sf_session

ROOT = Path(__file__).resolve().parents[1]


@functools.cache
def _other_rsa_key() -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def token_request(server: SalesforceServer, form: dict[str, str], **kwargs: Any) -> Any:
    return sf_session(server).post(
        f"{server.instance_url}/services/oauth2/token", data=form, **kwargs
    )


# TLS and binding ------------------------------------------------------------------------------


def test_serves_https_on_loopback_with_its_own_ca(sf_server: SalesforceServer) -> None:
    assert sf_server.instance_url.startswith("https://127.0.0.1:")
    assert sf_server._server.server_address[0] == "127.0.0.1"
    assert sf_server.settings() == {
        "SF_INSTANCE_URL": sf_server.instance_url,
        "SF_ACCESS_TOKEN": sf_server.access_token,
        "SF_CA_BUNDLE": sf_server.ca_bundle,
    }
    assert sf_server.ca_bundle and Path(sf_server.ca_bundle).is_file()
    untrusting = requests.Session()
    untrusting.trust_env = False
    with pytest.raises(requests.exceptions.SSLError):
        untrusting.get(sf_server.instance_url + "/services/data/")


def test_stop_removes_the_ca_and_closes_the_port(sf_org: Org, sf_start: Any) -> None:
    server = sf_start(sf_org)
    ca = Path(server.ca_bundle)
    server.stop()
    server.stop()  # idempotent
    assert not ca.exists()
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(server.instance_url.replace("https", "http") + "/", timeout=2)


def test_plain_http_mode(sf_start: Any) -> None:
    server = sf_start(tls=False)
    assert server.instance_url.startswith("http://127.0.0.1:")
    assert "SF_CA_BUNDLE" not in server.settings()
    response = requests.get(
        server.instance_url + "/services/data/v59.0/limits",
        headers={"Authorization": f"Bearer {server.access_token}"},
        timeout=5,
    )
    assert response.status_code == 200


# OAuth ------------------------------------------------------------------------------------------


def test_password_grant_issues_a_working_token(sf_server: SalesforceServer) -> None:
    response = token_request(
        sf_server,
        {
            "grant_type": "password",
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
            "username": DEFAULT_USERNAME,
            "password": DEFAULT_PASSWORD + DEFAULT_SECURITY_TOKEN,
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["instance_url"] == sf_server.instance_url
    assert body["access_token"] != sf_server.access_token
    expected = base64.b64encode(
        hmac.new(
            DEFAULT_CLIENT_SECRET.encode(),
            (body["id"] + body["issued_at"]).encode(),
            hashlib.sha256,
        ).digest()
    ).decode()
    assert body["signature"] == expected
    sf = sf_connect(sf_server, token=body["access_token"])
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 0


@pytest.mark.parametrize(
    ("changes", "error", "description"),
    [
        ({"password": DEFAULT_PASSWORD}, "invalid_grant", "authentication failure"),
        ({"username": "nobody@example.com"}, "invalid_grant", "authentication failure"),
        ({"client_id": "wrong"}, "invalid_client_id", "client identifier invalid"),
        ({"client_secret": "wrong"}, "invalid_client", "invalid client credentials"),
        (
            {"grant_type": "authorization_code"},
            "unsupported_grant_type",
            "grant type not supported",
        ),
    ],
)
def test_password_grant_failures(
    sf_server: SalesforceServer, changes: dict[str, str], error: str, description: str
) -> None:
    form = {
        "grant_type": "password",
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
        "username": DEFAULT_USERNAME,
        "password": DEFAULT_PASSWORD + DEFAULT_SECURITY_TOKEN,
        **changes,
    }
    response = token_request(sf_server, form)
    assert response.status_code == 400
    assert response.json() == {"error": error, "error_description": description}


def test_client_credentials_in_body_or_basic_header(sf_server: SalesforceServer) -> None:
    body = token_request(
        sf_server,
        {
            "grant_type": "client_credentials",
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
        },
    )
    assert body.status_code == 200
    basic = token_request(
        sf_server,
        {"grant_type": "client_credentials"},
        auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
    )
    assert basic.status_code == 200
    wrong = token_request(
        sf_server, {"grant_type": "client_credentials"}, auth=(DEFAULT_CLIENT_ID, "nope")
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_client"


def test_custom_users_and_connected_app(sf_start: Any) -> None:
    server = sf_start(
        users={"ops@acme.example": {"password": "pw", "security_token": "TOK"}},
        client_id="cid",
        client_secret="csecret",
    )
    good = token_request(
        server,
        {
            "grant_type": "password",
            "client_id": "cid",
            "client_secret": "csecret",
            "username": "ops@acme.example",
            "password": "pwTOK",
        },
    )
    assert good.status_code == 200
    user_id = good.json()["id"].rsplit("/", 1)[1]
    assert user_id.startswith("005")


@pytest.fixture(scope="module")
def jwt_server() -> Iterator[SalesforceServer]:
    """One server for the JWT tests: generating its RSA key is the slow part."""
    org = Org()
    server = start_salesforce(org, port=0)
    try:
        yield server
    finally:
        server.stop()
        org.close()


def test_jwt_grant_with_the_generated_key(jwt_server: SalesforceServer) -> None:
    sf_server = jwt_server
    for audience in (
        "https://login.salesforce.com",
        "https://test.salesforce.com",
        sf_server.instance_url,
    ):
        response = token_request(
            sf_server,
            {
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": sf_server.make_jwt(audience=audience),
            },
        )
        assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert sf_connect(sf_server, token=token).query("SELECT COUNT() FROM Account")


def test_jwt_grant_accepts_simple_salesforce_style_claims(jwt_server: SalesforceServer) -> None:
    sf_server = jwt_server
    # simple-salesforce sends `exp` as a string of digits; Salesforce accepts it.
    claims = {
        "iss": DEFAULT_CLIENT_ID,
        "sub": DEFAULT_USERNAME,
        "aud": "https://login.salesforce.com",
        "exp": f"{time.time() + 180:.0f}",
    }
    assertion = jwt.encode(claims, sf_server.jwt_private_key_pem, algorithm="RS256")
    response = token_request(
        sf_server,
        {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("claims", "error", "description"),
    [
        ({"exp": -60}, "invalid_grant", "expired authorization code"),
        ({"aud": "https://evil.example.com"}, "invalid_grant", "audience is invalid"),
        ({"iss": "someone-else"}, "invalid_client_id", "client identifier invalid"),
        ({"sub": "stranger@example.com"}, "invalid_grant", "user hasn't approved this consumer"),
        ({"key": "other"}, "invalid_grant", "invalid assertion"),
        ({"assertion": "not.a.jwt"}, "invalid_grant", "invalid assertion"),
    ],
)
def test_jwt_grant_failures(
    jwt_server: SalesforceServer, claims: dict[str, Any], error: str, description: str
) -> None:
    sf_server = jwt_server
    key = sf_server.jwt_private_key_pem
    if claims.pop("key", None):
        key = _other_rsa_key()  # a well-formed RS256 signature from a key it does not know
    payload = {
        "iss": DEFAULT_CLIENT_ID,
        "sub": DEFAULT_USERNAME,
        "aud": "https://login.salesforce.com",
        "exp": int(time.time()) + 180,
    }
    assertion = claims.pop("assertion", None)
    if claims.get("exp") is not None:
        claims["exp"] = int(time.time()) + claims["exp"]
    payload.update(claims)
    assertion = assertion or jwt.encode(payload, key, algorithm="RS256")
    response = token_request(
        sf_server,
        {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
    )
    assert response.status_code == 400
    assert response.json() == {"error": error, "error_description": description}


def test_jwt_grant_verifies_against_a_configured_certificate(sf_start: Any) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "bot")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now.replace(year=now.year + 1))
        .sign(key, hashes.SHA256())
    )
    server = sf_start(jwt_public_key_pem=cert.public_bytes(serialization.Encoding.PEM))
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    claims = {
        "iss": DEFAULT_CLIENT_ID,
        "sub": DEFAULT_USERNAME,
        "aud": server.instance_url,
        "exp": int(time.time()) + 180,
    }
    response = token_request(
        server,
        {
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": jwt.encode(claims, private, algorithm="RS256"),
        },
    )
    assert response.status_code == 200
    with pytest.raises(RuntimeError):
        server.jwt_private_key_pem  # noqa: B018 - the server never saw this private key


# Sessions ---------------------------------------------------------------------------------------


def test_expire_sessions_until_a_new_login(sf_server: SalesforceServer) -> None:
    sf = sf_connect(sf_server)
    sf.query("SELECT COUNT() FROM Account")
    calls = sf_server.api_calls
    sf_server.expire_sessions()
    with pytest.raises(SalesforceExpiredSession) as info:
        sf.query("SELECT COUNT() FROM Account")
    assert info.value.content[0]["errorCode"] == "INVALID_SESSION_ID"
    assert sf_server.api_calls == calls  # refused calls are not counted
    fresh = token_request(
        sf_server,
        {
            "grant_type": "client_credentials",
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
        },
    ).json()
    assert (
        sf_connect(sf_server, token=fresh["access_token"]).query("SELECT COUNT() FROM Account")[
            "totalSize"
        ]
        == 0
    )
    assert (
        sf_connect(sf_server, token=sf_server.issue_token()).query("SELECT COUNT() FROM Account")[
            "done"
        ]
        is True
    )


# Counters ---------------------------------------------------------------------------------------


def test_api_calls_counter_header_and_reset(sf_server: SalesforceServer) -> None:
    sf = sf_connect(sf_server)
    sf.Account.create({"Name": "A"})
    sf.query("SELECT Id FROM Account")
    assert sf_server.api_calls == 2
    assert sf.api_usage["api-usage"].used == 2 and sf.api_usage["api-usage"].total == 100_000
    assert ("POST", "/services/data/v59.0/sobjects/Account/") in sf_server.calls
    assert ("GET", "/services/data/v59.0/query/") in sf_server.calls
    sf_session(sf_server).get(sf_server.instance_url + "/services/data/")  # not an API call
    assert sf_server.api_calls == 2
    sf_server.reset_counters()
    assert sf_server.api_calls == 0 and sf_server.calls == []


def test_daily_limit_is_enforced(sf_start: Any) -> None:
    server = sf_start(api_limit=2)
    sf = sf_connect(server)
    sf.query("SELECT COUNT() FROM Account")
    sf.query("SELECT COUNT() FROM Account")
    with pytest.raises(SalesforceRefusedRequest) as info:
        sf.query("SELECT COUNT() FROM Account")
    assert info.value.status == 403
    assert info.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"


# Faults -----------------------------------------------------------------------------------------


def test_fault_rate_answers_503(sf_server: SalesforceServer) -> None:
    sf = sf_connect(sf_server)
    sf_server.knobs.fault_rate = 1.0
    with pytest.raises(SalesforceGeneralError) as info:
        sf.query("SELECT Id FROM Account")
    assert info.value.status == 503
    assert info.value.content[0]["errorCode"] == "SERVER_UNAVAILABLE"
    assert sf_server.api_calls == 0
    # Faults hit only API calls: the token endpoint and the versions list still answer.
    assert sf_session(sf_server).get(sf_server.instance_url + "/services/data/").ok
    sf_server.knobs.fault_rate = 0.0
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 0


def test_drop_rate_closes_the_connection_without_an_answer(sf_server: SalesforceServer) -> None:
    sf = sf_connect(sf_server)
    sf_server.knobs.drop_rate = 1.0
    with pytest.raises(requests.exceptions.ConnectionError):
        sf.query("SELECT Id FROM Account")
    sf_server.knobs.drop_rate = 0.0
    sf.query("SELECT Id FROM Account")


def test_timeout_rate_hangs_past_the_client_timeout(sf_server: SalesforceServer) -> None:
    sf_server.knobs.update({"timeout_rate": 1, "timeout_seconds": 5})
    session = sf_session(sf_server)
    with pytest.raises(requests.exceptions.ReadTimeout):
        session.get(
            f"{sf_server.instance_url}/services/data/v59.0/limits",
            headers={"Authorization": f"Bearer {sf_server.access_token}"},
            timeout=0.5,
        )
    # stop() releases the hung request instead of waiting the full five seconds.


def test_commit_then_lose_the_response(sf_server: SalesforceServer, sf_org: Org) -> None:
    sf = sf_connect(sf_server)
    sf_server.knobs.lose_next_responses = 1
    with pytest.raises(requests.exceptions.ConnectionError):
        sf.Account.create({"Name": "Committed"})
    # The client saw an error, yet the record exists: a blind retry would duplicate it.
    assert [r["Name"] for r in sf_org.query_all("SELECT Name FROM Account")] == ["Committed"]
    assert sf_server.knobs.lose_next_responses == 0
    sf.Account.create({"Name": "Second"})  # the fault was for the next write only
    sf_server.knobs.lose_response_rate = 1.0
    sf.query("SELECT Id FROM Account")  # reads are never lost
    with pytest.raises(requests.exceptions.ConnectionError):
        sf.restful(
            "composite/sobjects",
            method="POST",
            json={"allOrNone": True, "records": [{"attributes": {"type": "Account"}, "Name": "C"}]},
        )
    assert sf_org.count("Account") == 3


def test_fault_draws_are_reproducible_with_a_seed(sf_start: Any) -> None:
    def pattern(seed: int) -> list[bool]:
        server = sf_start(seed=seed)
        server.knobs.fault_rate = 0.5
        sf = sf_connect(server)
        outcome = []
        for _ in range(12):
            try:
                sf.query("SELECT COUNT() FROM Account")
                outcome.append(True)
            except SalesforceGeneralError:
                outcome.append(False)
        return outcome

    first = pattern(7)
    assert first == pattern(7)
    assert True in first and False in first


def test_knobs_and_stats_over_http(sf_server: SalesforceServer) -> None:
    session = sf_session(sf_server)
    url = sf_server.instance_url + "/_sandbox/"
    auth = {"Authorization": f"Bearer {sf_server.access_token}"}
    assert session.get(url + "stats").status_code == 401
    knobs = session.post(
        url + "knobs", json={"fault_rate": 0.25, "latency": 0.01, "seed": 3}, headers=auth
    )
    assert knobs.status_code == 200
    assert knobs.json()["fault_rate"] == 0.25 and sf_server.knobs.latency == 0.01
    assert session.post(url + "knobs", json={"fault_rate": 2}, headers=auth).status_code == 400
    assert session.post(url + "knobs", json={"nonsense": 1}, headers=auth).status_code == 400
    sf_server.knobs.update({"fault_rate": 0, "latency": 0})
    sf_connect(sf_server).query("SELECT COUNT() FROM Account")
    stats = session.get(url + "stats", headers=auth).json()
    assert stats["api_calls"] == 1 and stats["api_limit"] == 100_000
    sf_server.expire_sessions()  # the printed admin token still reaches the control endpoints
    assert session.post(url + "reset_counters", headers=auth).json() == {"api_calls": 0}
    assert sf_server.api_calls == 0


def test_latency_knob_is_applied_per_call(sf_start: Any) -> None:
    server = sf_start(latency=0.05)
    assert server.knobs.latency == 0.05
    assert sf_connect(server).query("SELECT COUNT() FROM Account")["totalSize"] == 0


# Command line -------------------------------------------------------------------------------


def test_runs_alone_prints_settings_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox.salesforce",
            "--port",
            "0",
            "--page-size",
            "2",
            "--stripe-field",
            "stripeGC__Customer_Id__c",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [process.stdout.readline().strip() for _ in range(3)]  # type: ignore[union-attr]
        settings = dict(line.split("=", 1) for line in lines)
        assert set(settings) == {"SF_INSTANCE_URL", "SF_ACCESS_TOKEN", "SF_CA_BUNDLE"}
        session = requests.Session()
        session.trust_env = False
        session.verify = settings["SF_CA_BUNDLE"]
        headers = {"Authorization": f"Bearer {settings['SF_ACCESS_TOKEN']}"}
        base = settings["SF_INSTANCE_URL"] + "/services/data/v59.0"
        for name in ("A", "B", "C"):
            created = session.post(
                f"{base}/sobjects/Account/",
                headers=headers,
                json={"Name": name, "stripeGC__Customer_Id__c": "cus_1"},
                timeout=10,
            )
            assert created.status_code == 201
        page = session.get(
            f"{base}/query", params={"q": "SELECT Name FROM Account"}, headers=headers, timeout=10
        ).json()
        assert page["totalSize"] == 3 and len(page["records"]) == 2
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        assert not Path(settings["SF_CA_BUNDLE"]).exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_error_bodies_are_json_lists(sf_server: SalesforceServer) -> None:
    response = sf_session(sf_server).get(
        sf_server.instance_url + "/services/data/v59.0/query",
        params={"q": "SELECT"},
        headers={"Authorization": f"Bearer {sf_server.access_token}"},
    )
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("application/json")
    body = json.loads(response.text)
    assert isinstance(body, list) and body[0]["errorCode"] == "MALFORMED_QUERY"
    assert "Sforce-Limit-Info" in response.headers
