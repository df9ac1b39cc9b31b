"""Making text safe to echo back in Slack mrkdwn.

Whatever a user typed or a record holds is shown literally: `<!channel>`, `<@U…>` or a
crafted link must not ping people or disguise a URL when the bot repeats it.
"""

from __future__ import annotations


def escape(text: str | None) -> str:
    """Slack's three control characters, escaped as Slack documents."""
    if text is None:
        return ""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str, label: str) -> str:
    return f"<{url}|{escape(label).replace('|', '¦')}>"
