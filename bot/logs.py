"""Logging set-up with secrets redacted from every record, whoever logs them.

A library that logs a request with its headers, or an exception that repeats a URL with a
token in it, must not put a secret in the log: the filter replaces every configured secret
value, and any Stripe key or Slack token shape, before a handler sees the record. Stripe
payment-method tokens (which the Stripe SDK logs in request URLs) are masked the same way as
in the command log.
"""

from __future__ import annotations

import logging
import re

from bot.storage import mask_tokens_in

_TOKEN_SHAPES = re.compile(
    r"\b(?:xox[abpr]-[A-Za-z0-9-]{8,}|xapp-[A-Za-z0-9-]{8,}|(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{8,})"
)


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: list[str]):
        super().__init__()
        # Longest first, so a secret that contains another is replaced whole.
        self.secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return mask_tokens_in(_TOKEN_SHAPES.sub("[redacted]", text))

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = self.redact(message), ()
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


def setup_logging(level: str, secrets: list[str]) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # The Stripe SDK logs every request and response at INFO: detail for LOG_LEVEL=DEBUG,
    # not two lines per payment method in every lookup.
    if logging.getLevelName(level) != logging.DEBUG:
        logging.getLogger("stripe").setLevel(logging.WARNING)
