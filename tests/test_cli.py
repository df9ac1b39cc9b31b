"""The `billing-bot` command: configuration errors, doctor's checklist, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SF_", "STRIPE_"))}
    clean.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=clean,
        cwd=cwd or ROOT,
        timeout=60,
    )


def test_bad_settings_exit_2_with_one_line_each(tmp_path) -> None:
    result = run_cli(
        "run",
        env={"PORT": "x", "SLACK_BOT_TOKEN": "nope", "STRIPE_API_KEY": "pk_test_LEAKME"},
        cwd=tmp_path,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "billing-bot: SLACK_BOT_TOKEN should start with xoxb-",
        "billing-bot: PORT should be a port number (1-65535) (got 'x')",
        "billing-bot: STRIPE_API_KEY should start with sk_ or rk_",
    ]
    assert "Traceback" not in result.stderr
    assert "LEAKME" not in result.stderr + result.stdout


def test_run_without_credentials_names_what_is_missing(tmp_path) -> None:
    result = run_cli("run", env={"DATABASE_PATH": str(tmp_path / "db.sqlite")}, cwd=tmp_path)
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN is not set" in result.stderr
    assert "Salesforce is not configured" in result.stderr
    assert "Traceback" not in result.stderr


def test_socket_mode_without_app_token_is_refused(tmp_path) -> None:
    result = run_cli("run", "--mode", "socket", cwd=tmp_path)
    assert result.returncode == 2
    assert "SLACK_APP_TOKEN is not set" in result.stderr


def test_doctor_fails_and_lists_every_service(tmp_path) -> None:
    result = run_cli(
        "doctor", "--json", env={"DATABASE_PATH": str(tmp_path / "db.sqlite")}, cwd=tmp_path
    )
    assert result.returncode == 1
    report = json.loads(result.stdout)
    by_name = {c["name"]: c for c in report["checks"]}
    assert by_name["Database"]["ok"] is True
    assert by_name["Slack"]["ok"] is False
    assert by_name["Salesforce"]["ok"] is False
    assert by_name["Stripe"]["ok"] is False
    assert "SLACK_BOT_TOKEN is not set" in by_name["Slack"]["hints"][0]


def test_doctor_reports_an_unreachable_service(tmp_path) -> None:
    env = {
        "DATABASE_PATH": str(tmp_path / "db.sqlite"),
        "SF_INSTANCE_URL": "https://127.0.0.1:9",
        "SF_ACCESS_TOKEN": "00Dxx!secret-session",
        "SLACK_BOT_TOKEN": "xoxb-doctor-test",
        "SLACK_SIGNING_SECRET": "s3cr3t",
        "SLACK_API_URL": "http://127.0.0.1:9/api",
        "SF_TIMEOUT": "2",
    }
    result = run_cli("doctor", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "✗ Slack       Slack could not be reached" in result.stdout
    assert "✗ Salesforce  Salesforce could not be reached" in result.stdout
    assert "secret-session" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_settings_lists_every_variable() -> None:
    result = run_cli("settings")
    assert result.returncode == 0
    for name in ("SLACK_BOT_TOKEN", "SF_INSTANCE_URL", "STRIPE_API_KEY", "AUDIT_SCHEDULE"):
        assert name in result.stdout


def test_doctor_passes_against_the_stand_ins_and_names_what_it_found(
    seeded, slack_api, tmp_path
) -> None:
    env = {
        **seeded.settings(),
        "SLACK_BOT_TOKEN": slack_api.bot_token,
        "SLACK_SIGNING_SECRET": "s3cr3t-signing",
        "SLACK_API_URL": slack_api.api_url.rstrip("/"),
        "DATABASE_PATH": str(tmp_path / "db.sqlite"),
    }
    result = run_cli("doctor", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "✓ Slack       connected as @" in out
    assert "✓ Salesforce  https://127.0.0.1:" in out
    assert "Stripe Customer ID field on Account: Stripe_Customer_Id__c" in out
    assert "Payment creation batch size: 50 (Stripe recommends 70:" in out
    assert "✓ Stripe      key works (test mode)" in out
    assert "All checks passed." in out
