"""Who may decide an import request, and when (DESIGN sections 7.5 and 10).

A write to the billing system needs a second person: only configured approvers decide, never
the person who asked; a request expires; and it is decided exactly once. "Once" is the
store's job (an atomic `pending_approval -> approved|rejected` update that only one of two
simultaneous clicks can win); the rules and the words people read are here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol


class Status(StrEnum):
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Refusal(StrEnum):
    UNKNOWN = "unknown"
    NOT_APPROVER = "not_approver"
    OWN_REQUEST = "own_request"
    DECIDED = "decided"
    EXPIRED = "expired"


@dataclass(frozen=True)
class RequestFacts:
    """What the rules need to know about one request."""

    id: int
    requester: str
    status: Status
    expires_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str = ""


class DecisionStore(Protocol):
    def facts(self, request_id: int) -> RequestFacts | None: ...

    def decide(
        self,
        request_id: int,
        status: Status,
        *,
        decided_by: str | None,
        decided_at: datetime,
        reason: str = "",
    ) -> bool:
        """Move the request from pending_approval to `status`; False if it was no longer
        pending (someone else decided first). Must be atomic."""
        ...


@dataclass(frozen=True)
class DecisionOutcome:
    request: RequestFacts | None  # as it stands after this call
    decided: bool = False  # this call made the decision
    refusal: Refusal | None = None
    expired_now: bool = False  # this call found it overdue and marked it expired


def expiry(created_at: datetime, hours: int) -> datetime:
    return created_at + timedelta(hours=hours)


def check(
    request: RequestFacts | None, decider: str, *, is_approver: bool, now: datetime
) -> Refusal | None:
    """Why `decider` may not decide `request` now, or None when they may."""
    if request is None:
        return Refusal.UNKNOWN
    if not is_approver:
        return Refusal.NOT_APPROVER
    if decider == request.requester:
        return Refusal.OWN_REQUEST
    if request.status is Status.EXPIRED:
        return Refusal.EXPIRED
    if request.status is not Status.PENDING_APPROVAL:
        return Refusal.DECIDED
    if now >= request.expires_at:
        return Refusal.EXPIRED
    return None


def decide(
    store: DecisionStore,
    request_id: int,
    *,
    decider: str,
    approve: bool,
    is_approver: bool,
    now: datetime,
    reason: str = "",
) -> DecisionOutcome:
    """Approve or reject, if the rules allow it and nobody decided first."""
    request = store.facts(request_id)
    refusal = check(request, decider, is_approver=is_approver, now=now)
    if refusal is Refusal.EXPIRED and request and request.status is Status.PENDING_APPROVAL:
        expired_now = store.decide(request_id, Status.EXPIRED, decided_by=None, decided_at=now)
        return DecisionOutcome(store.facts(request_id), refusal=refusal, expired_now=expired_now)
    if refusal is not None:
        return DecisionOutcome(request, refusal=refusal)
    status = Status.APPROVED if approve else Status.REJECTED
    won = store.decide(request_id, status, decided_by=decider, decided_at=now, reason=reason)
    after = store.facts(request_id)
    if not won:
        return DecisionOutcome(after, refusal=Refusal.DECIDED)
    return DecisionOutcome(after, decided=True)


def expire_overdue(
    store: DecisionStore, request_ids: list[int], now: datetime
) -> list[RequestFacts]:
    """Mark overdue pending requests expired; returns those this call expired."""
    expired = []
    for request_id in request_ids:
        request = store.facts(request_id)
        if (
            request
            and request.status is Status.PENDING_APPROVAL
            and now >= request.expires_at
            and store.decide(request_id, Status.EXPIRED, decided_by=None, decided_at=now)
        ):
            expired.append(store.facts(request_id) or request)
    return expired


def refusal_text(
    outcome: DecisionOutcome, *, contact: str, mention: Callable[[str], str] = str
) -> str:
    """The sentence the person who clicked reads."""
    request = outcome.request
    refusal = outcome.refusal
    if refusal is Refusal.UNKNOWN or request is None:
        return "I can't find this import request any more."
    if refusal is Refusal.NOT_APPROVER:
        return (
            "Sorry, you are not set up to approve imports with the billing bot. "
            f"Please ask {contact} to add you."
        )
    if refusal is Refusal.OWN_REQUEST:
        return "You asked for this import, so someone else must approve it."
    if refusal is Refusal.EXPIRED:
        return (
            f"This request expired on {when(request.expires_at)} without a decision, so it "
            f"can no longer be approved. Ask {mention(request.requester)} to send the file again."
        )
    who = mention(request.decided_by) if request.decided_by else "someone"
    at = f" on {when(request.decided_at)}" if request.decided_at else ""
    return f"This request was already {status_words(request.status)} by {who}{at}."


def status_words(status: Status) -> str:
    return {
        Status.PENDING_APPROVAL: "waiting for approval",
        Status.APPROVED: "approved",
        Status.REJECTED: "rejected",
        Status.EXPIRED: "expired",
        Status.RUNNING: "approved (running now)",
        Status.DONE: "approved (finished)",
        Status.FAILED: "approved (stopped with an error)",
    }[status]


def when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")
