"""Settings from the environment (and a `.env` file when present).

Every setting is declared once in `SETTINGS`, with its variable, default, whether it is a
secret, and a parser that says in words what it expected. Start-up collects every problem
and prints one line per variable, so an operator fixes a broken deployment in one pass
instead of one traceback at a time.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class ConfigError(Exception):
    """Raised with every problem found, one line each."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


# --- parsers: each raises ValueError with the sentence the operator will read --------------


def _text(value: str) -> str:
    return value.strip()


def _prefixed(*prefixes: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        value = value.strip()
        if not value.startswith(prefixes):
            raise ValueError(f"should start with {' or '.join(prefixes)}")
        return value

    return parse


def _url(value: str) -> str:
    value = value.strip().rstrip("/")
    if not re.match(r"^https?://[^\s/]+", value):
        raise ValueError("should be a URL such as https://example.my.salesforce.com")
    return value


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise ValueError("should be a port number (1-65535)") from None
    if not 1 <= port <= 65535:
        raise ValueError("should be a port number (1-65535)")
    return port


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ValueError("should be a whole number") from None
    if number < 1:
        raise ValueError("should be 1 or more")
    return number


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("should be true or false")


def _api_version(value: str) -> str:
    value = value.strip().lstrip("v")
    if not re.match(r"^\d{2}\.0$", value):
        raise ValueError("should look like 59.0")
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("should be an IANA time zone such as Europe/Paris or UTC") from None
    return value.strip()


def _crontab(value: str) -> str:
    from apscheduler.triggers.cron import CronTrigger

    value = " ".join(value.split())
    if len(value.split(" ")) != 5:
        raise ValueError("should be five crontab fields, e.g. 0 8 * * mon-fri")
    if any(ch.isdigit() for ch in value.split(" ")[4]):
        # APScheduler numbers weekdays from Monday=0, cron from Sunday=0: the same text would
        # fire on the wrong days, so only names are accepted for the weekday field.
        raise ValueError("should name weekdays (mon-fri), not number them")
    try:
        CronTrigger.from_crontab(value)
    except ValueError as exc:
        raise ValueError(f"is not a valid crontab ({exc})") from None
    return value


def _file(value: str) -> str:
    if not Path(value).is_file():
        raise ValueError("should be the path of a readable file")
    return value


def _slack_refs(value: str) -> tuple[str, ...]:
    """Users (U…/W…), user groups (S… or @handle), channels (C…/G…/D…), or * for everyone."""
    refs = tuple(part.strip() for part in re.split(r"[,\s]+", value) if part.strip())
    for ref in refs:
        if ref != "*" and not re.match(r"^(@[\w.\-]+|[UWSCGD][A-Z0-9]{2,})$", ref):
            raise ValueError(
                f"has {ref!r}: use Slack user IDs (U…), user-group IDs (S…) or @handles, "
                "channel IDs (C…), or * for everyone"
            )
    return refs


def _channel(value: str) -> str:
    value = value.strip()
    if not re.match(r"^[CGD][A-Z0-9]{2,}$", value):
        raise ValueError("should be a channel ID such as C0123456789 (not a #name)")
    return value


@dataclass(frozen=True)
class Setting:
    name: str  # environment variable
    attr: str
    default: Any = None
    parse: Callable[[str], Any] = _text
    secret: bool = False
    help: str = ""


SETTINGS: tuple[Setting, ...] = (
    # Slack
    Setting(
        "SLACK_BOT_TOKEN",
        "slack_bot_token",
        parse=_prefixed("xoxb-"),
        secret=True,
        help="Bot User OAuth Token (xoxb-…), from OAuth & Permissions",
    ),
    Setting(
        "SLACK_APP_TOKEN",
        "slack_app_token",
        parse=_prefixed("xapp-"),
        secret=True,
        help="App-level token (xapp-…) with connections:write: selects Socket Mode",
    ),
    Setting(
        "SLACK_SIGNING_SECRET",
        "slack_signing_secret",
        secret=True,
        help="Signing Secret, from Basic Information: HTTP mode",
    ),
    Setting("PORT", "port", 3000, _port, help="HTTP mode listening port"),
    Setting("HOST", "host", "0.0.0.0", help="HTTP mode listening address"),
    Setting(
        "SLACK_API_URL",
        "slack_api_url",
        parse=_url,
        help="Web API base URL: only for the stand-in; leave unset in production",
    ),
    # Salesforce
    Setting(
        "SF_INSTANCE_URL",
        "sf_instance_url",
        parse=_url,
        help="the org's My Domain URL, e.g. https://acme.my.salesforce.com",
    ),
    Setting(
        "SF_ACCESS_TOKEN",
        "sf_access_token",
        secret=True,
        help="a session/access token (with SF_INSTANCE_URL)",
    ),
    Setting("SF_USERNAME", "sf_username", help="integration user's username"),
    Setting("SF_PASSWORD", "sf_password", secret=True, help="its password"),
    Setting(
        "SF_SECURITY_TOKEN",
        "sf_security_token",
        "",
        secret=True,
        help="its security token (appended to the password)",
    ),
    Setting("SF_CLIENT_ID", "sf_client_id", help="connected app consumer key"),
    Setting(
        "SF_CLIENT_SECRET", "sf_client_secret", secret=True, help="connected app consumer secret"
    ),
    Setting(
        "SF_PRIVATE_KEY_FILE",
        "sf_private_key_file",
        parse=_file,
        help="PEM private key for the OAuth JWT bearer flow",
    ),
    Setting(
        "SF_LOGIN_URL",
        "sf_login_url",
        "https://login.salesforce.com",
        _url,
        help="https://test.salesforce.com for sandboxes, or the My Domain URL",
    ),
    Setting("SF_API_VERSION", "sf_api_version", "59.0", _api_version, help="REST API version"),
    Setting(
        "SF_CA_BUNDLE",
        "sf_ca_bundle",
        parse=_file,
        help="CA bundle to trust for Salesforce: only for the stand-in",
    ),
    Setting(
        "SF_STRIPE_CUSTOMER_FIELD",
        "sf_stripe_customer_field",
        help="Account field holding the Stripe Customer ID, when discovery cannot tell",
    ),
    Setting(
        "SF_PM_STRIPE_CUSTOMER_FIELD",
        "sf_pm_stripe_customer_field",
        help="payment-method field holding the Stripe Customer ID (optional)",
    ),
    Setting(
        "SF_TOKEN_FIELD",
        "sf_token_field",
        "blng__PaymentGatewayToken__c",
        help="payment-method field holding the gateway token (Card Mapping)",
    ),
    Setting(
        "SF_BATCH_SIZE_SETTING",
        "sf_batch_size_setting",
        help="Name of the blng__BillingConfig__c record for Payment creation batch size",
    ),
    Setting("SF_TIMEOUT", "sf_timeout", 20, _positive_int, help="seconds per Salesforce call"),
    # Stripe
    Setting(
        "STRIPE_API_KEY",
        "stripe_api_key",
        parse=_prefixed("sk_", "rk_"),
        secret=True,
        help="secret or restricted read-only key (sk_… / rk_…)",
    ),
    Setting(
        "STRIPE_API_BASE",
        "stripe_api_base",
        parse=_url,
        help="API base URL: only for the stand-in; leave unset in production",
    ),
    Setting("STRIPE_TIMEOUT", "stripe_timeout", 10, _positive_int, help="seconds per Stripe call"),
    Setting(
        "STRIPE_CONCURRENCY",
        "stripe_concurrency",
        8,
        _positive_int,
        help="parallel Stripe requests (test keys allow 25/s, live 100/s)",
    ),
    # Channels and people
    Setting(
        "APPROVALS_CHANNEL",
        "approvals_channel",
        parse=_channel,
        help="channel ID where import approvals are requested",
    ),
    Setting(
        "ALERTS_CHANNEL",
        "alerts_channel",
        parse=_channel,
        help="channel ID where audit summaries are posted",
    ),
    Setting(
        "ACCESS_LOOKUP",
        "access_lookup",
        ("*",),
        _slack_refs,
        help="who may run customer/pm lookups",
    ),
    Setting("ACCESS_IMPORT", "access_import", (), _slack_refs, help="who may request imports"),
    Setting("ACCESS_APPROVE", "access_approve", (), _slack_refs, help="who may approve imports"),
    Setting("ACCESS_AUDIT", "access_audit", ("*",), _slack_refs, help="who may run audits"),
    Setting(
        "ACCESS_CHANNELS",
        "access_channels",
        ("*",),
        _slack_refs,
        help="channels where the bot answers commands",
    ),
    Setting(
        "ACCESS_CONTACT",
        "access_contact",
        "your Salesforce admin",
        help="who to ask for access, shown in refusals (e.g. <@U0123> or #billing-ops)",
    ),
    # Audit schedule
    Setting(
        "AUDIT_SCHEDULE",
        "audit_schedule",
        "0 8 * * mon-fri",
        _crontab,
        help="crontab with weekday names",
    ),
    Setting("TIMEZONE", "timezone", "UTC", _timezone, help="time zone of AUDIT_SCHEDULE"),
    Setting(
        "SCHEDULER_ENABLED",
        "scheduler_enabled",
        True,
        _bool,
        help="false in every process but one when running several",
    ),
    Setting(
        "AUDIT_QUIET",
        "audit_quiet",
        False,
        _bool,
        help="post only when something changed or failed",
    ),
    Setting(
        "AUDIT_STRIPE_SAMPLE",
        "audit_stripe_sample",
        0,
        int,
        help="payment methods to cross-check with Stripe per audit (0 = all)",
    ),
    # Imports
    Setting(
        "IMPORT_MAX_BYTES",
        "import_max_bytes",
        5_000_000,
        _positive_int,
        help="largest CSV accepted",
    ),
    Setting(
        "IMPORT_MAX_ROWS",
        "import_max_rows",
        2000,
        _positive_int,
        help="most rows accepted in one import",
    ),
    Setting(
        "IMPORT_BULK_THRESHOLD",
        "import_bulk_threshold",
        2000,
        _positive_int,
        help="rows above which Bulk API 2.0 is used",
    ),
    Setting(
        "IMPORT_EXPIRY_HOURS",
        "import_expiry_hours",
        24,
        _positive_int,
        help="hours an approval request stays open",
    ),
    # Storage, logs
    Setting(
        "DATABASE_PATH",
        "database_path",
        "./data/billing-bot.db",
        help="SQLite file, created on first start",
    ),
    Setting("LOG_LEVEL", "log_level", "INFO", lambda v: v.strip().upper(), help="log level"),
)


@dataclass(frozen=True)
class Settings:
    """Parsed settings. Secrets are kept out of repr so they never reach a log by accident."""

    values: Mapping[str, Any] = field(repr=False)

    def __getattr__(self, attr: str) -> Any:
        try:
            return self.values[attr]
        except KeyError:
            raise AttributeError(attr) from None

    @property
    def secrets(self) -> list[str]:
        """Every secret value in use: the log filter redacts these wherever they appear."""
        return [str(self.values[s.attr]) for s in SETTINGS if s.secret and self.values.get(s.attr)]

    @property
    def slack_mode(self) -> str:
        return "socket" if self.slack_app_token else "http"

    @property
    def salesforce_auth(self) -> str | None:
        """Which Salesforce credentials are set: token, jwt, password, client_credentials."""
        if self.sf_instance_url and self.sf_access_token:
            return "token"
        if self.sf_username and self.sf_private_key_file and self.sf_client_id:
            return "jwt"
        if self.sf_username and self.sf_password:
            return "password"
        if self.sf_client_id and self.sf_client_secret:
            return "client_credentials"
        return None

    def replace(self, **changes: Any) -> Settings:
        return Settings({**self.values, **changes})

    # What each purpose needs. Problems are phrased for the person reading the terminal.

    def slack_problems(self) -> list[str]:
        problems = []
        if not self.slack_bot_token:
            problems.append(
                "SLACK_BOT_TOKEN is not set: it should hold the Bot User OAuth "
                "Token (xoxb-…) from your Slack app's OAuth & Permissions page"
            )
        if not self.slack_app_token and not self.slack_signing_secret:
            problems.append(
                "SLACK_APP_TOKEN or SLACK_SIGNING_SECRET must be set: an app-level "
                "token (xapp-…) for Socket Mode, or the Signing Secret for HTTP mode"
            )
        return problems

    def salesforce_problems(self) -> list[str]:
        if self.salesforce_auth:
            return []
        if self.sf_access_token and not self.sf_instance_url:
            return [
                "SF_INSTANCE_URL is not set: it should hold your org's URL "
                "(https://yourdomain.my.salesforce.com) to go with SF_ACCESS_TOKEN"
            ]
        if self.sf_username and not (self.sf_password or self.sf_private_key_file):
            return [
                "SF_PASSWORD (with SF_SECURITY_TOKEN) or SF_PRIVATE_KEY_FILE (JWT bearer, "
                "with SF_CLIENT_ID) must be set to go with SF_USERNAME"
            ]
        if self.sf_private_key_file and not self.sf_client_id:
            return [
                "SF_CLIENT_ID is not set: the JWT bearer flow needs the connected app's "
                "consumer key"
            ]
        return [
            "Salesforce is not configured: set SF_INSTANCE_URL + SF_ACCESS_TOKEN, or "
            "SF_USERNAME + SF_PASSWORD (+ SF_SECURITY_TOKEN), or SF_USERNAME + "
            "SF_CLIENT_ID + SF_PRIVATE_KEY_FILE (JWT), or SF_CLIENT_ID + SF_CLIENT_SECRET"
        ]

    def stripe_problems(self) -> list[str]:
        if self.stripe_api_key:
            return []
        return [
            "STRIPE_API_KEY is not set: it should hold a secret or restricted key "
            "(sk_… / rk_…) with read access to customers and payment methods"
        ]

    def bot_problems(self) -> list[str]:
        """What `billing-bot run` needs before it can serve Slack."""
        problems = self.slack_problems() + self.salesforce_problems() + self.stripe_problems()
        if self.access_import and not self.approvals_channel:
            problems.append(
                "APPROVALS_CHANNEL is not set: imports are enabled (ACCESS_IMPORT) "
                "and need a channel ID for approval requests"
            )
        return problems


def load_settings(
    environ: Mapping[str, str] | None = None, dotenv_path: str | os.PathLike[str] | None = ".env"
) -> Settings:
    """Parse every setting, collecting all problems before raising ConfigError.

    Values from the real environment win over the `.env` file, as in every twelve-factor tool.
    """
    source: dict[str, str] = {}
    if dotenv_path and Path(dotenv_path).is_file():
        from dotenv import dotenv_values

        source.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
    source.update(os.environ if environ is None else environ)

    values: dict[str, Any] = {}
    problems: list[str] = []
    for setting in SETTINGS:
        raw = source.get(setting.name)
        if raw is None or raw.strip() == "":
            values[setting.attr] = setting.default
            continue
        try:
            values[setting.attr] = setting.parse(raw)
        except ValueError as exc:
            shown = "" if setting.secret else f" (got {raw.strip()[:60]!r})"
            problems.append(f"{setting.name} {exc}{shown}")
    if problems:
        raise ConfigError(problems)
    return Settings(values)


def describe_settings() -> list[tuple[str, str, str]]:
    """(variable, default, meaning) for every setting: the README's table and `--help`."""
    rows = []
    for setting in SETTINGS:
        default = setting.default
        if isinstance(default, tuple):
            default = ",".join(default) or "(nobody)"
        rows.append((setting.name, "" if default is None else str(default), setting.help))
    return rows
