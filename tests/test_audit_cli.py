"""`billing-bot audit [--json] [--post]` from a shell, against the seeded stand-ins."""

from __future__ import annotations

import json

from commands.audit.catalogue import CODES_IN_ORDER, STRIPE_CODES
from tests.plugins.bot import base_env
from tests.test_cli import run_cli


def env_for(seeded, slack_api, tmp_path, **extra: str) -> dict[str, str]:
    return {
        **base_env(slack_api, tmp_path / "bot.db"),
        **seeded.settings(),
        "AUDIT_STRIPE_SAMPLE": "10",
        **extra,
    }


def test_json_has_every_check_and_the_changes(seeded, slack_api, tmp_path) -> None:
    result = run_cli("audit", "--json", env=env_for(seeded, slack_api, tmp_path), cwd=tmp_path)
    assert result.returncode == 1, result.stderr  # the seeded org has failing checks
    data = json.loads(result.stdout)
    assert set(data) == {"run_at", "previous_run_at", "checks", "changes"}
    assert data["changes"] == {"new": 0, "resolved": 0, "open": 0}
    assert [c["code"] for c in data["checks"]] == list(CODES_IN_ORDER)
    for check in data["checks"]:
        assert {"code", "status", "count", "examples", "message"} <= set(check)
        if check["code"] not in STRIPE_CODES:
            assert check["count"] == seeded.report.expected[check["code"]], check["code"]
        else:
            assert "checked a sample of 10 of" in check["message"]
    missing = next(c for c in data["checks"] if c["code"] == "account_missing_stripe_id")
    assert missing["status"] == "fail"
    assert missing["examples"][0]["link"].startswith(seeded.sf_server.settings()["SF_INSTANCE_URL"])
    assert slack_api.calls_to("chat.postMessage") == []  # a look, not a post


def test_post_records_and_posts_then_prints_text(seeded, slack_api, tmp_path) -> None:
    env = env_for(seeded, slack_api, tmp_path)
    result = run_cli("audit", "--post", env=env, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("Billing audit, ")
    assert "✗ fail    card_expired" in result.stdout
    [post] = slack_api.calls_to("chat.postMessage")
    assert post.params["channel"] == env["ALERTS_CHANNEL"]
    again = run_cli("audit", "--json", env=env, cwd=tmp_path)
    changes = json.loads(again.stdout)["changes"]
    assert changes["new"] == 0 and changes["resolved"] == 0 and changes["open"] > 0


def test_post_without_slack_settings_says_what_is_missing(seeded, tmp_path) -> None:
    env = {**seeded.settings(), "DATABASE_PATH": str(tmp_path / "bot.db")}
    result = run_cli("audit", "--post", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "billing-bot: SLACK_BOT_TOKEN is not set",
        "billing-bot: ALERTS_CHANNEL is not set",
    ]
