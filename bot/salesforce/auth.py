"""Getting a Salesforce access token from whichever credentials are configured.

The OAuth token endpoint is called directly (not through simple-salesforce's login helpers)
because those build `https://{domain}.salesforce.com` themselves; posting to SF_LOGIN_URL works
the same for production, sandboxes, My Domain login and the local stand-in.
"""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import requests

from bot.config import Settings
from commands.errors import SalesforceError


def authenticate(settings: Settings, session: requests.Session) -> tuple[str, str]:
    """(instance_url, access_token) for the configured auth mode."""
    mode = settings.salesforce_auth
    if mode == "token":
        return settings.sf_instance_url, settings.sf_access_token
    if mode is None:
        raise SalesforceError("Salesforce is not configured (see `billing-bot doctor`)")
    form: dict[str, str]
    if mode == "jwt":
        form = {
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": jwt_assertion(settings),
        }
    elif mode == "password":
        if not (settings.sf_client_id and settings.sf_client_secret):
            raise SalesforceError(
                "Username/password login needs SF_CLIENT_ID and SF_CLIENT_SECRET (a connected "
                "app with the OAuth username-password flow enabled)"
            )
        form = {
            "grant_type": "password",
            "client_id": settings.sf_client_id,
            "client_secret": settings.sf_client_secret,
            "username": settings.sf_username,
            "password": settings.sf_password + (settings.sf_security_token or ""),
        }
    else:
        form = {
            "grant_type": "client_credentials",
            "client_id": settings.sf_client_id,
            "client_secret": settings.sf_client_secret,
        }
    url = settings.sf_login_url + "/services/oauth2/token"
    try:
        response = session.post(url, data=form)
    except requests.RequestException as exc:
        raise SalesforceError(
            f"Salesforce login at {settings.sf_login_url} failed: {type(exc).__name__}",
            retryable=True,
        ) from None
    body = _json(response)
    if response.status_code != 200 or "access_token" not in body:
        reason = body.get("error_description") or body.get("error") or response.status_code
        raise SalesforceError(f"Salesforce login ({mode}) was refused: {reason}")
    return body.get("instance_url") or settings.sf_instance_url, body["access_token"]


def jwt_assertion(settings: Settings) -> str:
    """The signed JWT of the OAuth 2.0 JWT bearer flow (RS256, valid three minutes)."""
    key = Path(settings.sf_private_key_file).read_text()
    claims = {
        "iss": settings.sf_client_id,
        "sub": settings.sf_username,
        "aud": settings.sf_login_url,
        "exp": int(time.time()) + 180,
    }
    return jwt.encode(claims, key, algorithm="RS256")


def _json(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
