"""Platform limits and the time-based quota rules (CS window, mass receipts, rates)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Final

from .errors import ApiError

MB: Final = 1024 * 1024
CHINA: Final = timezone(timedelta(hours=8))
"""WeChat's calendar days and months are Beijing time."""

TEMP_MEDIA_TTL: Final = 3 * 24 * 3600
TOKEN_OVERLAP: Final = 300
MASS_DEDUPE_WINDOW: Final = 24 * 3600
MESSAGE_GRANT: Final = (5, 48 * 3600)
"""A customer message allows 5 custom-service messages for 48 hours."""
INTERACTION_GRANT: Final = (3, 60)
"""A menu click, follow or parametric-QR scan allows 3 messages for 1 minute."""


@dataclass(frozen=True)
class Limits:
    """Limits the fake enforces that the fact sheet marks as configurable or large."""

    temp_image_bytes: int = 10 * MB
    permanent_qr_codes: int = 100_000
    mass_requests_per_minute: int = 60
    previews_by_wxname_per_day: int = 100
    service_mass_per_month: int = 4
    subscription_mass_per_day: int = 1
    draft_content_chars: int = 20_000
    draft_content_bytes: int = MB
    """Article bodies must stay below both. Counted over the whole HTML, 20,000 characters
    are at most 80 KB, so the byte limit only binds when lowered (which the sheet leaves open:
    the platform may count the characters of the visible text only)."""


@dataclass
class Grant:
    """One custom-service allowance earned by a customer action."""

    remaining: int
    expires_at: float
    reason: str


def open_window(grants: list[Grant], allowance: tuple[int, int], now: float, reason: str) -> None:
    """Add the allowance a customer action earns."""
    count, ttl = allowance
    grants.append(Grant(remaining=count, expires_at=now + ttl, reason=reason))


def consume_window(grants: list[Grant], now: float) -> Grant:
    """Take one message from the active grant that expires first (45015 / 45047 if none)."""
    grants[:] = [g for g in grants if g.expires_at > now]
    if not grants:
        raise ApiError(45015, "no customer interaction within the allowed window")
    usable = [g for g in grants if g.remaining > 0]
    if not usable:
        raise ApiError(45047, "every active allowance of this customer is used up")
    grant = min(usable, key=lambda g: g.expires_at)
    grant.remaining -= 1
    return grant


def window_open(grants: list[Grant], now: float) -> bool:
    """Whether any grant is still within its validity."""
    return any(g.expires_at > now for g in grants)


def receipt_allowed(
    receipts: list[float], *, service_account: bool, limits: Limits, now: float
) -> bool:
    """Whether a customer may receive one more mass message now (Beijing calendar)."""
    if service_account:
        month = _month(now)
        used = sum(1 for t in receipts if _month(t) == month)
        return used < limits.service_mass_per_month
    day = china_day(now)
    used = sum(1 for t in receipts if china_day(t) == day)
    return used < limits.subscription_mass_per_day


def _month(at: float) -> tuple[int, int]:
    moment = datetime.fromtimestamp(at, CHINA)
    return moment.year, moment.month


def china_day(now: float) -> str:
    """The Beijing calendar day of a timestamp, e.g. "2024-05-01"."""
    return datetime.fromtimestamp(now, CHINA).date().isoformat()


class SlidingWindow:
    """At most `limit` hits in any `period` seconds."""

    def __init__(self, limit: int, period: float) -> None:
        self._limit = limit
        self._period = period
        self._hits: deque[float] = deque()

    def hit(self, now: float) -> bool:
        """Record a hit if allowed; False when the window is full."""
        while self._hits and self._hits[0] <= now - self._period:
            self._hits.popleft()
        if len(self._hits) >= self._limit:
            return False
        self._hits.append(now)
        return True


def utf8_len(text: str) -> int:
    """Length in UTF-8 bytes (a CJK character counts 3)."""
    return len(text.encode("utf-8"))
