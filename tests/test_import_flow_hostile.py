"""Hostile files through the Slack path: each gets a clear private answer, and nothing is
posted for approval; a file whose address is not Slack's gets no request with the token."""

from __future__ import annotations

import time

import pytest

from sandbox.slack_api import REQUESTER
from tests.import_rig import NEW, WAIT, ImportWorld, Recorder, csv_bytes, elsewhere


@pytest.fixture
def world(bot_rig) -> ImportWorld:
    return ImportWorld(bot_rig)


def refused(world: ImportWorld, data: bytes, name: str) -> str:
    world.submit(world.upload(data, name))
    reply = world.wait_private(f"I can't import *{name}*")
    assert not [m for m in world.approval_messages() if name in m["text"]]
    return reply["text"]


@pytest.mark.parametrize(
    ("data", "name", "reason"),
    [
        (b"", "empty.csv", "the file is empty"),
        (b"Account Name,Stripe Customer ID\n", "header.csv", "a header but no rows"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "photo.csv", "binary"),
        (b"PK\x03\x04" + bytes(200), "book.csv", "Excel workbook"),
        (b"a|b|c\n1|2|3\n", "pipes.csv", "none of the columns"),
    ],
)
def test_unusable_files_are_refused_with_the_reason(world, data, name, reason) -> None:
    assert reason in refused(world, data, name)


def test_more_rows_than_allowed_are_refused(world: ImportWorld) -> None:
    rows = [
        [f"Co {i}", f"cus_{i:06d}", "a0G000000000001", "true", f"pm_{i:06d}"] for i in range(2001)
    ]
    text = refused(world, csv_bytes(NEW, rows), "huge.csv")
    assert "more than 2,000 rows" in text


def test_a_file_over_the_size_limit_is_refused_in_the_modal(world: ImportWorld) -> None:
    file = world.upload(b"Account Name\nAcme\n", "big.csv")
    view = world.open_modal()
    result = world.rig.sender.view_submission(
        REQUESTER, view, {"file": [{**file, "size": 50_000_000}]}
    )
    assert result.extra.get("response_action") == "errors"
    assert "the limit is 5.0 MB" in world.slack.view_errors(view["id"])["csv"]
    assert not world.slack.calls_to("download")


def test_a_file_on_another_host_is_refused_without_sending_the_token(world: ImportWorld) -> None:
    with elsewhere() as (recorder, url):
        lured(world, recorder, url)


def lured(world: ImportWorld, recorder: Recorder, url: str) -> None:
    """A DM and a modal naming a file at `url`: both refused, nothing sent there."""
    dm = world.slack.dm_channel(REQUESTER)
    lure = {
        "id": "F0LURE",
        "name": "lure.csv",
        "filetype": "csv",
        "size": 20,
        "url_private": f"{url}/files-pri/T0001-F0LURE/lure.csv",
        "url_private_download": f"{url}/files-pri/T0001-F0LURE/download/lure.csv",
    }
    world.rig.sender.event(
        {
            "type": "message",
            "subtype": "file_share",
            "channel": dm,
            "channel_type": "im",
            "user": REQUESTER,
            "text": "",
            "ts": f"{time.time():.6f}",
            "files": [lure],
        }
    )
    reply = world.slack.wait_until(
        lambda: [m for m in world.slack.messages(dm) if "can't import *lure.csv*" in m["text"]],
        WAIT,
    )
    assert "not on Slack's file host" in reply[0]["text"]
    assert recorder.requests == []
    assert not [m for m in world.approval_messages() if "lure.csv" in m["text"]]

    view = world.open_modal()
    world.rig.sender.view_submission(REQUESTER, view, {"file": [lure]})
    world.wait_private("not on Slack's file host")
    assert recorder.requests == []
