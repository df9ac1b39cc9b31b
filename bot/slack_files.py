"""Downloading a file someone shared with the bot, without leaking the bot token.

`url_private_download` needs the bot token in an Authorization header, so the one rule that
matters is *where* that header goes: only to Slack's own file host (files.slack.com, or the
stand-in's host when SLACK_API_URL points the bot at one), over HTTPS in production, never
through a redirect (a redirect from Slack's file host means the token was not accepted). The
size limit is enforced while the bytes arrive, so a file bigger than announced stops early.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import requests

from bot.config import Settings

SLACK_FILE_HOST = "files.slack.com"
CHUNK = 64 * 1024


class DownloadRefused(Exception):
    """The file was not fetched; `reason` is for the person who shared it."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def allowed_origin(settings: Settings) -> tuple[str, str]:
    """(scheme, host[:port]) the token may be sent to."""
    if settings.slack_api_url:
        parts = urlsplit(settings.slack_api_url)
        return parts.scheme, parts.netloc
    return "https", SLACK_FILE_HOST


def check_url(url: str, settings: Settings) -> None:
    """Raise DownloadRefused unless `url` is on Slack's own file host."""
    scheme, host = allowed_origin(settings)
    parts = urlsplit(url or "")
    if parts.scheme != scheme or parts.netloc != host or parts.username or parts.password:
        raise DownloadRefused(
            "the file's address is not on Slack's file host, so I did not download it "
            "(please upload the CSV to Slack directly)"
        )


def download(url: str, settings: Settings, max_bytes: int, timeout: float = 30.0) -> bytes:
    """The file's bytes, at most `max_bytes` (DownloadRefused otherwise)."""
    check_url(url, settings)
    headers = {"Authorization": f"Bearer {settings.slack_bot_token}"}
    try:
        with requests.get(
            url, headers=headers, stream=True, timeout=timeout, allow_redirects=False
        ) as response:
            if response.is_redirect or response.status_code != 200:
                raise DownloadRefused(
                    f"Slack did not hand over the file (HTTP {response.status_code}); the bot "
                    "may be missing the files:read permission"
                )
            if response.headers.get("Content-Type", "").startswith("text/html"):
                raise DownloadRefused(
                    "Slack answered with a web page instead of the file; the bot may be "
                    "missing the files:read permission"
                )
            data = bytearray()
            for chunk in response.iter_content(CHUNK):
                data.extend(chunk)
                if len(data) > max_bytes:
                    raise DownloadRefused(too_large(max_bytes))
            return bytes(data)
    except requests.RequestException as exc:
        raise DownloadRefused(
            f"the file could not be downloaded from Slack ({type(exc).__name__})"
        ) from None


def too_large(max_bytes: int) -> str:
    return f"the file is larger than the {max_bytes:,}-byte limit (IMPORT_MAX_BYTES)"
