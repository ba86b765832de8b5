"""Flood control: the per-chat, per-group and overall message rates of the Bots FAQ."""

from __future__ import annotations

import math
from collections import deque

from .errors import BotApiError
from .limits import TelegramLimits


class TokenBucket:
    """`capacity` messages at once, refilled at `rate` per second (platform time)."""

    def __init__(self, capacity: int, rate: float, now: float) -> None:
        self._capacity = float(capacity)
        self._rate = rate
        self._tokens = float(capacity)
        self._updated = now

    def wait(self, now: float) -> float:
        """Seconds until one message is allowed (0 when it is allowed now)."""
        self._refill(now)
        return 0.0 if self._tokens >= 1 else (1 - self._tokens) / self._rate

    def take(self, now: float) -> None:
        """Spend one message; call only after wait() returned 0."""
        self._refill(now)
        self._tokens -= 1

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(self._capacity, self._tokens + elapsed * self._rate)
        self._updated = now


class SlidingWindow:
    """At most `limit` messages in any `period` seconds (platform time)."""

    def __init__(self, limit: int, period: float) -> None:
        self._limit = limit
        self._period = period
        self._hits: deque[float] = deque()

    def wait(self, now: float) -> float:
        """Seconds until one message is allowed (0 when it is allowed now)."""
        while self._hits and self._hits[0] <= now - self._period:
            self._hits.popleft()
        if len(self._hits) < self._limit:
            return 0.0
        return self._hits[0] + self._period - now

    def take(self, now: float) -> None:
        """Record one message; call only after wait() returned 0."""
        self._hits.append(now)


class FloodControl:
    """The rates of one bot; `admit` raises 429 with retry_after when a message must wait."""

    def __init__(self, limits: TelegramLimits) -> None:
        self._limits = limits
        self._chats: dict[int, TokenBucket] = {}
        self._groups: dict[int, SlidingWindow] = {}
        self._overall = SlidingWindow(limits.global_messages_per_second, 1.0)

    def admit(self, chat_id: int, *, group: bool, now: float) -> None:
        """Count one message into `chat_id`, or refuse it with 429 and count nothing."""
        limits = self._limits
        bucket = self._chats.get(chat_id)
        if bucket is None:
            bucket = TokenBucket(limits.chat_burst, limits.chat_refill_per_second, now)
            self._chats[chat_id] = bucket
        checks: list[TokenBucket | SlidingWindow] = [bucket, self._overall]
        if group:
            window = self._groups.get(chat_id)
            if window is None:
                window = SlidingWindow(limits.group_messages_per_minute, 60.0)
                self._groups[chat_id] = window
            checks.append(window)
        wait = max(check.wait(now) for check in checks)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise BotApiError(
                429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
            )
        for check in checks:
            check.take(now)
