"""Webhook settings, URL rules, and one POST of an Update to the bot."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final, Literal
from urllib.parse import urlsplit

import aiohttp

from .errors import bad_request
from .limits import TelegramLimits

SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
WEBHOOK_PORTS: Final = frozenset({443, 80, 88, 8443})
_SECRET: Final = re.compile(r"[A-Za-z0-9_-]{1,256}")


@dataclass(frozen=True)
class WebhookConfig:
    """What setWebhook stored."""

    url: str
    secret_token: str | None
    max_connections: int
    ip_address: str | None
    has_custom_certificate: bool


@dataclass(frozen=True)
class Attempt:
    """One webhook POST: the HTTP status (None when no answer) and the error, if any."""

    status: int | None
    error: str | None
    reply: bytes = b""

    @property
    def ok(self) -> bool:
        """A 2xx answer."""
        return self.status is not None and 200 <= self.status < 300

    def as_json(self) -> dict[str, Any]:
        """The control-route form."""
        return {"status": self.status, "error": self.error}


Route = Literal["webhook", "polling", "hidden", "filtered"]


@dataclass(frozen=True)
class Delivery:
    """What became of one user action.

    route: webhook (POSTed, see `attempts`), polling (queued for getUpdates), hidden (the
    bot cannot see it: group privacy mode) or filtered (allowed_updates excludes the type).
    """

    route: Route
    delivered: bool
    seq: int
    update_id: int | None = None
    update: dict[str, Any] | None = None
    attempts: tuple[Attempt, ...] = field(default_factory=tuple)
    reason: str | None = None

    @property
    def statuses(self) -> list[int | None]:
        """HTTP status of each webhook attempt (None for a timeout or connection failure)."""
        return [attempt.status for attempt in self.attempts]

    def as_json(self) -> dict[str, Any]:
        """The control-route answer."""
        return {
            "route": self.route,
            "delivered": self.delivered,
            "seq": self.seq,
            "update_id": self.update_id,
            "update": self.update,
            "attempts": [attempt.as_json() for attempt in self.attempts],
            "reason": self.reason,
        }


def check_webhook_url(url: str, limits: TelegramLimits) -> None:
    """An absolute http(s) URL; HTTPS on Telegram's ports when `require_https_webhook`."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise bad_request("bad webhook: invalid port") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    if limits.require_https_webhook:
        if parts.scheme != "https":
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if (port or 443) not in WEBHOOK_PORTS:
            raise bad_request(
                "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
            )


def check_secret_token(secret: str) -> None:
    """1-256 characters of A-Z a-z 0-9 _ -."""
    if not _SECRET.fullmatch(secret):
        raise bad_request("bad webhook: secret token contains unallowed characters")


async def post_update(
    session: aiohttp.ClientSession,
    config: WebhookConfig,
    update: dict[str, Any],
    time_limit: float,
) -> Attempt:
    """POST one Update as JSON, with the secret header when a secret was set."""
    headers = {SECRET_HEADER: config.secret_token} if config.secret_token else {}
    try:
        async with session.post(
            config.url,
            json=update,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=time_limit),
            allow_redirects=False,  # Telegram does not follow redirects: a 3xx is a failure
        ) as resp:
            body = await resp.read()
            if 200 <= resp.status < 300:
                return Attempt(resp.status, None, body)
            return Attempt(
                resp.status, f"Wrong response from the webhook: {resp.status} {resp.reason}"
            )
    except TimeoutError:
        return Attempt(None, "Read timeout expired")
    except aiohttp.ClientError as exc:
        return Attempt(None, f"Connection failed: {exc.__class__.__name__}")
