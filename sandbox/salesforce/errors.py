"""The one exception type of the stand-in: a Salesforce API error, shaped as Salesforce sends it.

The same object serves the Python API (raised by `Org` methods) and the HTTP layer (turned
into the JSON error list), so a test that seeds through Python meets exactly the errors the
bot would meet over REST.
"""

from __future__ import annotations

from typing import Any


class SalesforceError(Exception):
    """An error as Salesforce reports it: HTTP status, `errorCode`, message and field names."""

    def __init__(
        self,
        status: int,
        error_code: str,
        message: str,
        fields: list[str] | None = None,
    ) -> None:
        super().__init__(f"{error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = fields

    def to_dict(self) -> dict[str, Any]:
        """One entry of the REST error list (`fields` only where Salesforce sends it)."""
        body: dict[str, Any] = {"message": self.message, "errorCode": self.error_code}
        if self.fields is not None:
            body["fields"] = list(self.fields)
        return body

    def to_record_error(self) -> dict[str, Any]:
        """The per-record form used by sObject Collections (`statusCode`, always `fields`)."""
        return {
            "statusCode": self.error_code,
            "message": self.message,
            "fields": list(self.fields or []),
        }

    def to_json(self) -> list[dict[str, Any]]:
        """The REST response body: Salesforce always answers errors with a JSON list."""
        return [self.to_dict()]


def not_found() -> SalesforceError:
    return SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")


def invalid_type(name: str) -> SalesforceError:
    return SalesforceError(400, "INVALID_TYPE", f"sObject type '{name}' is not supported.")
