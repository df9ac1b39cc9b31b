"""Failures of the outside world, as the capabilities see them.

Adapters in `bot/` translate client-library exceptions into these, so a command can say
"Stripe is unavailable" or "this object is not readable" without importing any client.
"""

from __future__ import annotations


class UpstreamError(Exception):
    """Salesforce or Stripe could not answer. `message` is safe to show a user."""

    service = "upstream"

    def __init__(self, message: str, *, retryable: bool = False, code: str = ""):
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.code = code


class SalesforceError(UpstreamError):
    service = "Salesforce"


class NotReadable(SalesforceError):
    """The object or field is not there or not visible to the integration user: the audit
    reports the check as unknown rather than as a pass."""


class ConfigurationError(SalesforceError):
    """The org does not look the way settings say (e.g. which field holds the Stripe ID)."""


class StripeError(UpstreamError):
    service = "Stripe"
