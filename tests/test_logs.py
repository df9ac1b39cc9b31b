"""Secrets never reach a log line, whoever logs them."""

from __future__ import annotations

import logging

from bot.logs import setup_logging


def test_configured_secrets_and_token_shapes_are_redacted(capfd) -> None:
    secret = "my-signing-secret-value"
    setup_logging("INFO", [secret, "xoxb-configured-bot-token"])
    log = logging.getLogger("test.secrets")
    log.info("signing with %s", secret)
    log.warning("header Authorization: Bearer xoxb-configured-bot-token")
    log.warning("some other key sk_live_abcdefghijklmnop leaked by a library")
    try:
        raise ValueError(f"bad secret {secret}")
    except ValueError:
        log.exception("failure")
    err = capfd.readouterr().err
    assert secret not in err
    assert "xoxb-configured-bot-token" not in err
    assert "sk_live_abcdefghijklmnop" not in err
    assert err.count("[redacted]") == 4
    logging.getLogger().handlers.clear()
