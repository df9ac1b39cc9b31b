"""Who may run what, from configuration (DESIGN section 10).

Each capability has an allow-list of Slack user IDs, user groups (IDs or @handles) and `*`;
commands are also limited to the channels in ACCESS_CHANNELS. Group membership is read with
`usergroups.users.list` and cached for a few minutes, so a busy channel does not spend Slack's
rate limit on it, and a change in Slack takes effect soon without a restart.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from bot.config import Settings

log = logging.getLogger(__name__)

CAPABILITIES = ("lookup", "import", "approve", "audit")
CACHE_SECONDS = 300


class AccessControl:
    def __init__(self, settings: Settings, client: Any | None = None):
        """`client` is a slack_sdk WebClient (None in the CLI, where groups cannot be read)."""
        self.settings = settings
        self.client = client
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._handles: tuple[float, dict[str, str]] | None = None
        self._lock = threading.Lock()

    def refs(self, capability: str) -> tuple[str, ...]:
        return getattr(self.settings, f"access_{capability}")

    def allowed(self, capability: str, user_id: str, channel_id: str | None = None) -> bool:
        if channel_id and not self.channel_allowed(channel_id):
            return False
        return self.user_allowed(capability, user_id)

    def channel_allowed(self, channel_id: str) -> bool:
        refs = self.settings.access_channels
        # Direct messages with the bot are always a fine place to ask privately.
        return "*" in refs or channel_id in refs or channel_id.startswith("D")

    def user_allowed(self, capability: str, user_id: str) -> bool:
        """`capability` may name alternatives, `import|approve`: any one of them is enough."""
        if "|" in capability:
            return any(self.user_allowed(c, user_id) for c in capability.split("|"))
        refs = self.refs(capability)
        if "*" in refs or user_id in refs:
            return True
        return any(user_id in self._members(ref) for ref in refs if ref.startswith(("S", "@")))

    def _members(self, group_ref: str) -> frozenset[str]:
        if self.client is None:
            return frozenset()
        group_id = self._group_id(group_ref)
        if not group_id:
            return frozenset()
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(group_id)
            if cached and now - cached[0] < CACHE_SECONDS:
                return cached[1]
        try:
            users = self.client.usergroups_users_list(usergroup=group_id)["users"]
        except Exception as exc:  # a Slack outage must not grant access, only refuse it
            log.warning("could not read user group %s: %s", group_id, exc)
            return cached[1] if cached else frozenset()
        members = frozenset(users)
        with self._lock:
            self._cache[group_id] = (now, members)
        return members

    def _group_id(self, ref: str) -> str | None:
        if not ref.startswith("@"):
            return ref
        now = time.monotonic()
        if self._handles is None or now - self._handles[0] > CACHE_SECONDS:
            try:
                groups = self.client.usergroups_list()["usergroups"]
            except Exception as exc:
                log.warning("could not list user groups: %s", exc)
                return None
            self._handles = (now, {g["handle"]: g["id"] for g in groups})
        return self._handles[1].get(ref[1:])

    def refusal(self, capability: str) -> str:
        what = {
            "lookup": "look up customers and payment methods",
            "import": "request imports",
            "approve": "approve imports",
            "audit": "run audits",
            "import|approve": "see imports",
        }.get(capability, capability)
        return (
            f"Sorry, you are not set up to {what} with the billing bot. "
            f"Please ask {self.settings.access_contact} to add you."
        )
