"""Access control from configuration: user groups (by ID or @handle, read from Slack and
cached) and channel allow-lists, end to end through the Bolt app and the Slack stand-in."""

from __future__ import annotations

from bot.access import AccessControl
from bot.config import load_settings
from bot.storage import recent_commands
from sandbox.slack_api import SUPPORT_CHANNEL
from tests.plugins.bot import RunningBot


def help_text(bot: RunningBot, user: str, channel: str | None = None) -> str:
    kwargs = {"channel": channel} if channel else {}
    return bot.sender.slash("/billing", "help", user=user, **kwargs).json()["text"]


def test_user_groups_by_handle_and_id_grant_access(bot_factory) -> None:
    bot = bot_factory(ACCESS_LOOKUP="@billing-support-team", ACCESS_AUDIT="S0ADMINS")
    requester, approver, outsider = bot.requester, bot.approver, bot.outsider
    assert "• customer:" in help_text(bot, requester)
    assert "• customer:" in help_text(bot, approver)
    assert "• customer:" not in help_text(bot, outsider)
    assert "• audit:" in help_text(bot, requester)  # in S0ADMINS
    assert "• audit:" not in help_text(bot, approver)  # not in S0ADMINS


def test_group_membership_is_cached_not_asked_per_command(bot_factory) -> None:
    bot = bot_factory(ACCESS_LOOKUP="@billing-support-team")
    for _ in range(5):
        help_text(bot, bot.requester)
    assert len(bot.slack.calls_to("usergroups.users.list")) == 1
    assert len(bot.slack.calls_to("usergroups.list")) == 1


def test_a_slack_outage_refuses_rather_than_grants() -> None:
    settings = load_settings({"ACCESS_LOOKUP": "S0SUPPORT"}, dotenv_path=None)

    class DownClient:
        def usergroups_users_list(self, **_: object) -> dict:
            raise ConnectionError("Slack is down")

    access = AccessControl(settings, DownClient())
    assert access.user_allowed("lookup", "U0REQUESTER") is False


def test_commands_outside_the_allowed_channels_are_refused_and_logged(bot_factory) -> None:
    bot = bot_factory(ACCESS_CHANNELS=SUPPORT_CHANNEL)
    bot.sender.slash("/billing", "customer Acme", user=bot.requester, channel=bot.approvals)
    text = bot.slack.wait_until(
        lambda: next(
            (m["text"] for m in bot.slack.ephemeral(user=bot.requester) if "Sorry" in m["text"]),
            None,
        ),
        timeout=10,
    )
    assert text == "Sorry, I only answer billing commands in the channels set up for them."
    row = bot.slack.wait_until(lambda: recent_commands(bot.services.db))[0]
    assert (row["command"], row["outcome"], row["channel_id"]) == (
        "customer",
        "refused",
        bot.approvals,
    )
