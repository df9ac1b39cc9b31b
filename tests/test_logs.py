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


def test_payment_method_tokens_are_masked_in_library_logs(capfd) -> None:
    setup_logging("INFO", [])
    logging.getLogger("stripe").warning(
        "Request to Stripe api method=get url=http://127.0.0.1:1/v1/payment_methods/pm_swYGWQs4YbM3IS"
    )
    err = capfd.readouterr().err
    assert "pm_swYGWQs4YbM3IS" not in err
    assert "pm_…M3IS" in err
    logging.getLogger().handlers.clear()
