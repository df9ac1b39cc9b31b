"""Deciding an import in the approvals channel, end to end: who may, once, before it expires,
and what the message then shows."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from bot.imports_store import ImportStore
from commands.imports.approval import Status
from sandbox.slack_api import APPROVALS_CHANNEL, APPROVER, OUTSIDER, REQUESTER
from tests.import_rig import NEW, WAIT, ImportWorld, buttons, csv_bytes, text_of


@pytest.fixture
def world(bot_rig) -> ImportWorld:
    return ImportWorld(bot_rig)


def requested(world: ImportWorld, stem: str) -> tuple[dict, str, str]:
    """An import request waiting in the approvals channel: (message, customer id, token)."""
    ((name, cus, card),) = world.customers(stem, 1)
    file_name = f"{stem.lower().replace(' ', '-')}.csv"
    world.submit(
        world.upload(csv_bytes(NEW, [[name, cus, world.gateway(), "true", card]]), file_name)
    )
    return world.wait_request(file_name), cus, card


def told(world: ImportWorld, user: str, needle: str) -> dict:
    return world.slack.wait_until(
        lambda: next(
            (m for m in world.slack.ephemeral(APPROVALS_CHANNEL, user) if needle in m["text"]),
            None,
        ),
        WAIT,
        what=f"an ephemeral message to {user} containing {needle!r}",
    )


def status(world: ImportWorld, message: dict) -> Status:
    return ImportStore(world.rig.services.storage).get(world.request_number(message)).status


OWN = "You asked for this import, so someone else must approve it."


@pytest.mark.parametrize(
    ("user", "action", "needle"),
    [
        (REQUESTER, "import_approve", OWN),  # the requester is on the approvers list too
        (REQUESTER, "import_reject", OWN),
        (OUTSIDER, "import_approve", "not set up to approve imports"),
        (OUTSIDER, "import_reject", "not set up to approve imports"),
    ],
    ids=["self-approval", "self-rejection", "outsider-approval", "outsider-rejection"],
)
def test_refused_decisions_leave_the_request_waiting(world, user, action, needle) -> None:
    request, cus, _ = requested(world, f"Refused {action[7:]} Co")
    world.click(request, action, user=user)

    told(world, user, needle)
    assert status(world, request) is Status.PENDING_APPROVAL
    assert set(buttons(world.message(request))) == {"import_approve", "import_reject"}
    assert world.slack.current_view(user) is None  # no reason asked of someone refused
    assert not world.accounts_with([cus])


def test_two_clicks_at_once_make_one_decision_and_one_run(world: ImportWorld) -> None:
    request, cus, card = requested(world, "Double Click Co")
    message = world.message(request)
    barrier = threading.Barrier(2)

    def click() -> None:
        barrier.wait()
        world.rig.sender.click(APPROVER, message, "import_approve")

    clicks = [threading.Thread(target=click) for _ in range(2)]
    for t in clicks:
        t.start()
    for t in clicks:
        t.join()

    world.wait_results(request)
    told(world, APPROVER, "This request was already approved")
    assert len(world.accounts_with([cus])) == 1
    assert len(world.payment_methods([card])) == 1
    updates = [
        c
        for c in world.slack.calls_to("chat.update")
        if c.params.get("ts") == request["ts"] and "Approved by" in str(c.params.get("blocks"))
    ]
    assert len(updates) == 1


def test_an_expired_request_cannot_be_approved_and_says_so(world: ImportWorld) -> None:
    request, cus, _ = requested(world, "Late Click Co")
    services = world.rig.services
    real_clock = services.clock
    services.clock = lambda: real_clock() + timedelta(hours=24, minutes=1)
    try:
        world.click(request, "import_approve")
        told(world, APPROVER, "expired on")
    finally:
        services.clock = real_clock

    expired = world.wait_message(request, lambda m: not buttons(m), "the buttons to go")
    assert "Expired on" in text_of(expired) and "can no longer be approved" in text_of(expired)
    assert status(world, request) is Status.EXPIRED
    assert not world.accounts_with([cus])


def test_reject_asks_for_a_reason_and_shows_it(world: ImportWorld) -> None:
    request, cus, _ = requested(world, "Rejected Co")
    before = len(world.slack.calls_to("views.open"))
    world.click(request, "import_reject")
    world.slack.wait_for("views.open", before + 1, WAIT)
    modal = world.slack.current_view(APPROVER)
    assert modal["callback_id"] == "import_reject_reason"

    world.rig.sender.view_submission(APPROVER, modal, {"text": "Wrong gateway <!channel>"})

    rejected = world.wait_message(request, lambda m: not buttons(m), "the buttons to go")
    shown = text_of(rejected)
    assert f"Rejected by <@{APPROVER}>" in shown
    assert "Wrong gateway &lt;!channel&gt;" in shown  # echoed, never a ping
    notice = world.slack.wait_until(
        lambda: [m for m in world.thread(request) if "was rejected by" in m.get("text", "")],
        WAIT,
    )
    assert f"<@{REQUESTER}>" in notice[0]["text"]
    stored = ImportStore(world.rig.services.storage).get(world.request_number(request))
    assert stored.status is Status.REJECTED and stored.reason == "Wrong gateway <!channel>"
    assert stored.decided_by == APPROVER
    assert not world.accounts_with([cus])
