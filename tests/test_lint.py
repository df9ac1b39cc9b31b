"""The code base stays ruff-clean (lint and format), as CI would otherwise let drift in."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def ruff(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("ruff") or shutil.which("ruff", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("ruff is not installed (it is in the test extra)")
    return subprocess.run([exe, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_ruff_check_is_clean() -> None:
    result = ruff("check", ".")
    assert result.returncode == 0, result.stdout


def test_ruff_format_is_clean() -> None:
    result = ruff("format", "--check", ".")
    assert result.returncode == 0, result.stdout


FORBIDDEN = re.compile(
    r"^\s*(?:import|from)\s+(slack_bolt|slack_sdk|simple_salesforce|stripe|bot)\b"
)


def test_commands_do_not_import_client_libraries() -> None:
    """The capabilities stay plain Python: Slack, Salesforce and Stripe live in bot/."""
    offenders = [
        f"{path.relative_to(ROOT)}: {line.strip()}"
        for path in (ROOT / "commands").rglob("*.py")
        for line in path.read_text().splitlines()
        if FORBIDDEN.match(line)
    ]
    assert offenders == []
    assert FORBIDDEN.match("import stripe") and FORBIDDEN.match("from bot.config import x")
    assert not FORBIDDEN.match("from commands.stripe_facts import Found")
