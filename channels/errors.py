"""Platform errors, mapped from ``errcode``, HTTP status and network failures in one place each.

PlatformError
├── PlatformUnavailable        network error, HTTP 5xx, system busy: safe to try again later
│   └── OutcomeUnknown         the request may have been carried out (timeout after sending)
├── RateLimited                a platform quota or rate limit; ``retry_after`` seconds if known
└── PlatformRejected           the platform refused the request: ``code`` and ``message``
    ├── TokenRejected          the access token was refused again after one refresh
    └── RecipientUnreachable   the customer cannot be messaged now (window, quota, unfollowed)
"""

from __future__ import annotations


class PlatformError(Exception):
    """Base of every error raised by a platform client."""


class PlatformUnavailable(PlatformError):
    """The platform could not be reached or answered with a server error."""


class OutcomeUnknown(PlatformUnavailable):
    """The request was sent but no answer came back: it may or may not have taken effect."""


class RateLimited(PlatformError):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PlatformRejected(PlatformError):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class TokenRejected(PlatformRejected):
    """The access token was refused even after it was refreshed once."""


class RecipientUnreachable(PlatformRejected):
    """The recipient cannot receive this message now (outside the window, over quota, gone)."""
