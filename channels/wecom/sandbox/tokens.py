"""access_token issuing and checking: one token per app secret, reused within validity."""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass

from channels.wechat.sandbox.clock import Clock

from .errors import WecomApiError


@dataclass
class AppToken:
    """One access_token of one app and when it runs out."""

    value: str
    app: str
    issued_at: float
    expires_at: float

    def expires_in(self, now: float) -> int:
        """Whole seconds of validity left."""
        return max(0, math.ceil(self.expires_at - now))


class WecomTokenStore:
    """All tokens of all apps; a token authenticates exactly one app."""

    def __init__(self, clock: Clock, ttl: int) -> None:
        self._clock = clock
        self._ttl = ttl
        self._tokens: dict[str, AppToken] = {}
        self._current: dict[str, AppToken] = {}

    def issue(self, app: str) -> AppToken:
        """The app's token: the same one while it is valid, else a new one."""
        now = self._clock.now()
        current = self._current.get(app)
        if current is not None and now < current.expires_at:
            return current
        # Real tokens are long opaque strings; callers must store at least 512 characters.
        token = AppToken(secrets.token_urlsafe(96), app, issued_at=now, expires_at=now + self._ttl)
        self._tokens[token.value] = token
        self._current[app] = token
        return token

    def authenticate(self, value: str | None) -> str:
        """The app a token belongs to; 41001 missing, 40014 invalid, 42001 expired."""
        if not value:
            raise WecomApiError(41001, "pass access_token as a query parameter")
        token = self._tokens.get(value)
        if token is None:
            raise WecomApiError(40014, "unknown access_token")
        if self._clock.now() >= token.expires_at:
            raise WecomApiError(42001, "access_token expired")
        return token.app

    def owner(self, value: str | None) -> str | None:
        """The app a token was issued to, valid or not."""
        token = self._tokens.get(value or "")
        return token.app if token else None

    def expire(self, app: str) -> int:
        """Let the app's live tokens run out now (42001 from then on); how many there were."""
        now = self._clock.now()
        live = [t for t in self._tokens.values() if t.app == app and now < t.expires_at]
        for token in live:
            token.expires_at = now
        return len(live)
