"""Configuration: one clear line per problem, secrets never echoed."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings

SECRET = "xoxb-very-secret-token-123456"


def problems(env: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_settings(env, dotenv_path=None)
    return info.value.problems


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"SLACK_BOT_TOKEN": "abc"}, "SLACK_BOT_TOKEN should start with xoxb-"),
        ({"SLACK_APP_TOKEN": "xoxb-1"}, "SLACK_APP_TOKEN should start with xapp-"),
        ({"PORT": "eighty"}, "PORT should be a port number (1-65535) (got 'eighty')"),
        ({"PORT": "70000"}, "PORT should be a port number (1-65535) (got '70000')"),
        ({"SF_INSTANCE_URL": "acme.my.salesforce.com"}, "SF_INSTANCE_URL should be a URL"),
        ({"SF_API_VERSION": "fifty"}, "SF_API_VERSION should look like 59.0"),
        ({"SF_PRIVATE_KEY_FILE": "/nonexistent/key.pem"}, "SF_PRIVATE_KEY_FILE should be the path"),
        ({"STRIPE_API_KEY": "pk_live_abcdef"}, "STRIPE_API_KEY should start with sk_ or rk_"),
        ({"APPROVALS_CHANNEL": "#billing"}, "APPROVALS_CHANNEL should be a channel ID"),
        ({"ACCESS_APPROVE": "alice"}, "ACCESS_APPROVE has 'alice'"),
        ({"AUDIT_SCHEDULE": "0 8 * * 1-5"}, "AUDIT_SCHEDULE should name weekdays (mon-fri)"),
        ({"AUDIT_SCHEDULE": "every day"}, "AUDIT_SCHEDULE should be five crontab fields"),
        ({"AUDIT_SCHEDULE": "0 25 * * mon"}, "AUDIT_SCHEDULE is not a valid crontab"),
        ({"TIMEZONE": "Mars/Olympus"}, "TIMEZONE should be an IANA time zone"),
        ({"SCHEDULER_ENABLED": "perhaps"}, "SCHEDULER_ENABLED should be true or false"),
        ({"IMPORT_MAX_ROWS": "0"}, "IMPORT_MAX_ROWS should be 1 or more"),
    ],
)
def test_each_bad_setting_names_its_variable(env: dict[str, str], expected: str) -> None:
    found = problems(env)
    assert len(found) == 1
    assert found[0].startswith(expected)


def test_every_problem_is_reported_at_once() -> None:
    found = problems({"PORT": "x", "TIMEZONE": "Nowhere/Else", "SLACK_BOT_TOKEN": "abc"})
    assert [line.split()[0] for line in found] == ["SLACK_BOT_TOKEN", "PORT", "TIMEZONE"]


def test_secret_values_are_never_echoed() -> None:
    found = problems({"STRIPE_API_KEY": "pk_live_SHOULD_NOT_APPEAR", "SLACK_SIGNING_SECRET": ""})
    assert "SHOULD_NOT_APPEAR" not in "\n".join(found)


def test_defaults_without_any_setting() -> None:
    settings = load_settings({}, dotenv_path=None)
    assert settings.database_path == "./data/billing-bot.db"
    assert settings.audit_schedule == "0 8 * * mon-fri"
    assert settings.access_lookup == ("*",)
    assert settings.access_import == ()
    assert settings.salesforce_auth is None
    assert settings.slack_mode == "http"


def test_repr_hides_secrets() -> None:
    settings = load_settings({"SLACK_BOT_TOKEN": SECRET}, dotenv_path=None)
    assert SECRET not in repr(settings)
    assert SECRET in settings.secrets


def test_dotenv_is_read_and_environment_wins(tmp_path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("PORT=4000\nTIMEZONE=Europe/Paris\n")
    settings = load_settings({"PORT": "5000"}, dotenv_path=env_file)
    assert settings.port == 5000
    assert settings.timezone == "Europe/Paris"


@pytest.mark.parametrize(
    ("env", "mode"),
    [
        ({"SF_INSTANCE_URL": "https://x.my.salesforce.com", "SF_ACCESS_TOKEN": "t"}, "token"),
        ({"SF_USERNAME": "u", "SF_PASSWORD": "p"}, "password"),
        ({"SF_CLIENT_ID": "c", "SF_CLIENT_SECRET": "s"}, "client_credentials"),
    ],
)
def test_salesforce_auth_mode(env: dict[str, str], mode: str) -> None:
    assert load_settings(env, dotenv_path=None).salesforce_auth == mode


def test_bot_problems_explain_what_is_missing() -> None:
    settings = load_settings({"ACCESS_IMPORT": "U123"}, dotenv_path=None)
    text = "\n".join(settings.bot_problems())
    for variable in (
        "SLACK_BOT_TOKEN",
        "SLACK_APP_TOKEN or SLACK_SIGNING_SECRET",
        "Salesforce",
        "STRIPE_API_KEY",
        "APPROVALS_CHANNEL",
    ):
        assert variable in text
