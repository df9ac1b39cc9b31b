"""The OAuth 2.0 token endpoint (`POST /services/oauth2/token`) of the stand-in.

The bot may log in with a username + password + security token, with client credentials, or
with a signed JWT (the server-to-server flow most production integrations use). Each grant is
checked the way Salesforce checks it, and failures answer Salesforce's `error` /
`error_description` pairs with HTTP 400, so the bot's login errors can be tested for real.

Defaults (all overridable through `start_salesforce`): one user `DEFAULT_USERNAME` with
password `DEFAULT_PASSWORD` and security token `DEFAULT_SECURITY_TOKEN`; a connected app with
`DEFAULT_CLIENT_ID` / `DEFAULT_CLIENT_SECRET`, whose client-credentials "run as" user is the
first configured user. For the JWT grant the server verifies RS256 signatures with the public
key or certificate it was given; without one it generates a key pair and offers the private
half (`SalesforceServer.jwt_private_key_pem`, `SalesforceServer.make_jwt()`) to tests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .org import DEFAULT_USERNAME

DEFAULT_PASSWORD = "sandbox-password"
DEFAULT_SECURITY_TOKEN = "SANDBOXSECURITYTOKEN"
DEFAULT_CLIENT_ID = "3MVG9sandbox.billing.ops.bot.client.id"
DEFAULT_CLIENT_SECRET = "sandbox-client-secret"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
STANDARD_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")


class OAuthError(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def load_public_key(pem: str | bytes) -> Any:
    """A public key from a PEM public key or certificate (connected apps upload a cert)."""
    data = pem.encode() if isinstance(pem, str) else pem
    if b"BEGIN CERTIFICATE" in data:
        return x509.load_pem_x509_certificate(data).public_key()
    return serialization.load_pem_public_key(data)


@dataclass
class OAuthConfig:
    users: dict[str, dict[str, str]]
    client_id: str
    client_secret: str
    audiences: set[str]
    jwt_public_key: Any = None
    jwt_private_key_pem: bytes | None = None
    run_as: str = DEFAULT_USERNAME
    leeway_seconds: int = 5
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        users: dict[str, dict[str, str]] | None,
        client_id: str,
        client_secret: str,
        jwt_public_key_pem: str | bytes | None,
        audiences: list[str] | tuple[str, ...],
    ) -> OAuthConfig:
        users = users or {
            DEFAULT_USERNAME: {
                "password": DEFAULT_PASSWORD,
                "security_token": DEFAULT_SECURITY_TOKEN,
            }
        }
        config = cls(
            users=dict(users),
            client_id=client_id,
            client_secret=client_secret,
            audiences=set(audiences),
            run_as=next(iter(users)),
        )
        if jwt_public_key_pem is not None:
            config.jwt_public_key = load_public_key(jwt_public_key_pem)
        return config

    def ensure_key_pair(self) -> bytes:
        """The private key for test JWTs, generated on first use when none was configured."""
        if self.jwt_private_key_pem is None:
            if self.jwt_public_key is not None:
                raise RuntimeError(
                    "the server was given a public key: sign JWTs with its private key"
                )
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.jwt_private_key_pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            self.jwt_public_key = key.public_key()
        return self.jwt_private_key_pem


def _client_from_basic(header: str) -> tuple[str, str] | None:
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip()).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


def authenticate(config: OAuthConfig, form: dict[str, str], authorization: str) -> str:
    """The username a token request authenticates, or OAuthError as Salesforce words it."""
    grant = form.get("grant_type", "")
    if grant == "password":
        _check_client(config, form.get("client_id", ""), form.get("client_secret", ""))
        username = form.get("username", "")
        user = config.users.get(username)
        expected = (user or {}).get("password", "") + (user or {}).get("security_token", "")
        if user is None or not hmac.compare_digest(form.get("password", ""), expected):
            raise OAuthError("invalid_grant", "authentication failure")
        return username
    if grant == "client_credentials":
        basic = _client_from_basic(authorization)
        client_id, secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
        _check_client(config, client_id, secret)
        return config.run_as
    if grant == JWT_GRANT:
        return _check_jwt(config, form.get("assertion", ""))
    raise OAuthError("unsupported_grant_type", "grant type not supported")


def _check_client(config: OAuthConfig, client_id: str, secret: str) -> None:
    if not hmac.compare_digest(client_id, config.client_id):
        raise OAuthError("invalid_client_id", "client identifier invalid")
    if not hmac.compare_digest(secret, config.client_secret):
        raise OAuthError("invalid_client", "invalid client credentials")


def _check_jwt(config: OAuthConfig, assertion: str) -> str:
    if not assertion or config.jwt_public_key is None:
        raise OAuthError("invalid_grant", "invalid assertion")
    try:
        header = jwt.get_unverified_header(assertion)
        if header.get("alg") != "RS256":
            raise OAuthError("invalid_grant", "invalid assertion")
        # Salesforce accepts `exp` as a number or a numeric string (simple-salesforce sends
        # a string), so the claims are checked here rather than by PyJWT.
        claims = jwt.decode(
            assertion,
            config.jwt_public_key,
            algorithms=["RS256"],
            options={
                "verify_exp": False,
                "verify_aud": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.PyJWTError:
        raise OAuthError("invalid_grant", "invalid assertion") from None
    if claims.get("iss") != config.client_id:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if not any(isinstance(a, str) and a.rstrip("/") in config.audiences for a in audiences):
        raise OAuthError("invalid_grant", "audience is invalid")
    try:
        expires = float(claims.get("exp"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise OAuthError("invalid_grant", "invalid assertion") from None
    if expires + config.leeway_seconds < time.time():
        raise OAuthError("invalid_grant", "expired authorization code")
    username = claims.get("sub")
    if not isinstance(username, str) or username not in config.users:
        raise OAuthError("invalid_grant", "user hasn't approved this consumer")
    return username


def token_response(
    config: OAuthConfig, access_token: str, instance_url: str, org_id: str, user_id: str
) -> dict[str, Any]:
    """The success body: token, instance URL, identity URL and Salesforce's HMAC signature."""
    issued_at = str(int(time.time() * 1000))
    identity = f"{instance_url}/id/{org_id}/{user_id}"
    signature = base64.b64encode(
        hmac.new(
            config.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256
        ).digest()
    ).decode()
    return {
        "access_token": access_token,
        "instance_url": instance_url,
        "id": identity,
        "token_type": "Bearer",
        "issued_at": issued_at,
        "signature": signature,
        "scope": "api",
    }
