"""Errors of the fake Telegram.

BotApiError     a Bot API call answered `{"ok": false, ...}` with its HTTP status = error_code
ActionRejected  a /sandbox control request (or FakeUser action) the fake refuses (HTTP 4xx)
FormattingError a text whose parse_mode markup Telegram cannot parse (becomes a 400 BotApiError)
"""

from __future__ import annotations

from typing import Any


class BotApiError(Exception):
    """A Bot API failure: `error_code`, `description` and optional `parameters`."""

    def __init__(
        self,
        error_code: int,
        description: str,
        *,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        self.error_code = error_code
        self.description = description
        self.parameters: dict[str, int] = {}
        if retry_after is not None:
            self.parameters["retry_after"] = retry_after
        if migrate_to_chat_id is not None:
            self.parameters["migrate_to_chat_id"] = migrate_to_chat_id
        super().__init__(f"{error_code} {description}")

    def body(self) -> dict[str, Any]:
        """The JSON envelope Telegram answers with."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = dict(self.parameters)
        return body


def bad_request(detail: str) -> BotApiError:
    """The 400 answer with Telegram's "Bad Request: " prefix."""
    return BotApiError(400, f"Bad Request: {detail}")


def forbidden(detail: str) -> BotApiError:
    """The 403 answer with Telegram's "Forbidden: " prefix."""
    return BotApiError(403, f"Forbidden: {detail}")


class FormattingError(ValueError):
    """Markup that cannot be parsed; the message is Telegram's explanation."""


class ActionRejected(Exception):
    """A control request the fake refuses, with the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(message)
