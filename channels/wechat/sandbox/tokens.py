"""access_token issuing and checking (classic /cgi-bin/token and stable_token)."""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from typing import Literal

from .clock import Clock
from .errors import ApiError
from .limits import TOKEN_OVERLAP

TokenKind = Literal["classic", "stable"]


@dataclass
class IssuedToken:
    """One access_token and the window in which it authenticates."""

    value: str
    account: str
    kind: TokenKind
    issued_at: float
    expires_at: float
    invalid_from: float | None = None
    """Set when superseded or revoked: from then on the token answers 40001."""

    def expires_in(self, now: float) -> int:
        """Whole seconds of natural validity left."""
        return max(0, math.ceil(self.expires_at - now))


class TokenStore:
    """All tokens of all accounts; a token authenticates exactly one account."""

    def __init__(self, clock: Clock, ttl: int) -> None:
        self._clock = clock
        self._ttl = ttl
        self._tokens: dict[str, IssuedToken] = {}

    def issue_classic(self, account: str) -> IssuedToken:
        """New token; the account's earlier classic tokens keep working for 300 s."""
        now = self._clock.now()
        for token in self._of(account, "classic"):
            if self._valid(token, now):
                limit = now + TOKEN_OVERLAP
                token.invalid_from = min(token.invalid_from or limit, limit)
        return self._issue(account, "classic", now)

    def stable(self, account: str, *, force_refresh: bool) -> IssuedToken:
        """The current stable token, or a new one (force_refresh invalidates the old at once)."""
        now = self._clock.now()
        current = [t for t in self._of(account, "stable") if self._valid(t, now)]
        if current and not force_refresh:
            return current[-1]
        for token in current:
            token.invalid_from = now
        return self._issue(account, "stable", now)

    def authenticate(self, value: str | None) -> str:
        """The account a token belongs to; 41001 missing, 40001 invalid, 42001 expired."""
        if not value:
            raise ApiError(41001, "pass access_token as a query parameter")
        token = self._tokens.get(value)
        now = self._clock.now()
        if token is None:
            raise ApiError(40001, "unknown access_token")
        replaced = token.invalid_from is not None and token.invalid_from < token.expires_at
        if replaced and token.invalid_from is not None and now >= token.invalid_from:
            raise ApiError(40001, "access_token was replaced or revoked")
        if now >= token.expires_at:
            raise ApiError(42001, "access_token expired")
        return token.account

    def owner(self, value: str | None) -> str | None:
        """The account a token was issued to, valid or not."""
        token = self._tokens.get(value or "")
        return token.account if token else None

    def _live(self, account: str, now: float) -> list[IssuedToken]:
        return [t for t in self._tokens.values() if t.account == account and self._valid(t, now)]

    def revoke(self, account: str) -> int:
        """Invalidate every token of an account now (40001), as if another party refreshed."""
        now = self._clock.now()
        live = self._live(account, now)
        for token in live:
            token.invalid_from = now
        return len(live)

    def expire(self, account: str) -> int:
        """Let every token of an account run out now (42001)."""
        now = self._clock.now()
        live = self._live(account, now)
        for token in live:
            token.expires_at = now
        return len(live)

    def clear(self) -> None:
        """Forget every token."""
        self._tokens.clear()

    def _issue(self, account: str, kind: TokenKind, now: float) -> IssuedToken:
        # Real tokens are 150+ characters; callers must store at least 512.
        value = secrets.token_urlsafe(120)
        token = IssuedToken(value, account, kind, issued_at=now, expires_at=now + self._ttl)
        self._tokens[value] = token
        return token

    def _of(self, account: str, kind: TokenKind) -> list[IssuedToken]:
        return [t for t in self._tokens.values() if t.account == account and t.kind == kind]

    @staticmethod
    def _valid(token: IssuedToken, now: float) -> bool:
        invalid = token.invalid_from is not None and now >= token.invalid_from
        return not invalid and now < token.expires_at
