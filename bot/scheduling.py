"""Scheduled audits. The audit itself arrives with issue 6; until then nothing is scheduled."""

from __future__ import annotations

from typing import Any


def start_scheduler(services: Any, client: Any) -> None:
    return None
