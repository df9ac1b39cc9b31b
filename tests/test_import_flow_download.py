"""Downloading a shared CSV: only from Slack's file host, with the size limit while streaming,
and never a request carrying the bot token anywhere else."""

from __future__ import annotations

import pytest

from bot.config import load_settings
from bot.slack_files import SLACK_FILE_HOST, DownloadRefused, allowed_origin, check_url, download
from sandbox.slack_api import SlackApiServer
from tests.import_rig import elsewhere


def settings_for(slack: SlackApiServer, **extra: str):
    return load_settings(
        {
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_API_URL": slack.api_url.rstrip("/"),
            "DATABASE_PATH": ":memory:",
            **extra,
        },
        dotenv_path=None,
    )


def test_production_allows_only_files_slack_com_over_https():
    settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-1"}, dotenv_path=None)
    assert allowed_origin(settings) == ("https", SLACK_FILE_HOST)
    check_url("https://files.slack.com/files-pri/T1-F1/download/a.csv", settings)
    for url in (
        "http://files.slack.com/files-pri/T1-F1/download/a.csv",
        "https://files.slack.com.evil.example/a.csv",
        "https://evil.example/files.slack.com/a.csv",
        "https://user@files.slack.com/a.csv",
        "https://files.slack.com:444/a.csv",
        "",
    ):
        with pytest.raises(DownloadRefused):
            check_url(url, settings)


def test_a_file_from_the_slack_host_is_downloaded_with_the_token(slack_api: SlackApiServer):
    file = slack_api.add_file(b"Account Name\nAcme\n", "ok.csv")
    data = download(file["url_private_download"], settings_for(slack_api), max_bytes=1000)
    assert data == b"Account Name\nAcme\n"
    (call,) = slack_api.calls_to("download")
    assert call.token == slack_api.bot_token


def test_another_host_gets_no_request_at_all(slack_api: SlackApiServer):
    refused = pytest.raises(DownloadRefused, match="not on Slack's file host")
    with elsewhere() as (recorder, url), refused:
        download(f"{url}/files-pri/T0001-F1/download/a.csv", settings_for(slack_api), 1000)
    assert recorder.requests == []


def test_the_size_limit_holds_while_streaming(slack_api: SlackApiServer):
    file = slack_api.add_file(b"x" * 5000, "big.csv")
    with pytest.raises(DownloadRefused, match="larger than the 1,000-byte limit"):
        download(file["url_private_download"], settings_for(slack_api), max_bytes=1000)


def test_a_token_slack_does_not_accept_is_reported_not_followed(slack_api: SlackApiServer):
    file = slack_api.add_file(b"Account Name\nAcme\n", "ok.csv")
    settings = settings_for(slack_api).replace(slack_bot_token="xoxb-wrong")
    with pytest.raises(DownloadRefused, match="did not hand over the file"):
        download(file["url_private_download"], settings, max_bytes=1000)
    assert len(slack_api.calls_to("download")) == 1  # the sign-in redirect was not followed
