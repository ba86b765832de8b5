"""Platform access tokens shared by every process through the database.

Within a process, concurrent callers share one lookup (single flight). Across processes, the
database row is the source of truth: a process that finds no usable token takes a short lease on
the row, fetches a new token from the platform, stores it and releases the lease; the others wait
for the row to change. So however many callers ask at once, one request goes to the platform.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol

from channels.errors import PlatformUnavailable
from storage.models import utcnow
from storage.tokens import StoredToken

log = logging.getLogger(__name__)

# A fetch returns the token and its lifetime in seconds, as the platform says.
Fetch = Callable[[], Awaitable[tuple[str, int]]]


class TokenStorePort(Protocol):
    async def load(self, key: str) -> StoredToken | None: ...
    async def try_lease(self, key: str, owner: str, now: datetime, until: datetime) -> bool: ...
    async def save(self, key: str, owner: str, token: StoredToken, now: datetime) -> None: ...
    async def release(self, key: str, owner: str) -> None: ...
    async def discard(self, key: str, token: str) -> None: ...


class SharedToken:
    """One platform token (e.g. ``wechat:main``), cached in memory and shared in the database."""

    def __init__(
        self,
        key: str,
        store: TokenStorePort,
        fetch: Fetch,
        *,
        owner: str,
        lease_seconds: float = 30.0,
        wait_seconds: float = 20.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.key = key
        self._store = store
        self._fetch = fetch
        self._owner = owner
        self._lease = timedelta(seconds=lease_seconds)
        self._wait = timedelta(seconds=wait_seconds)
        self._clock = clock
        self._cached: StoredToken | None = None
        self._inflight: asyncio.Future[str] | None = None
        self.fetches = 0  # how many times this process asked the platform

    async def get(self) -> str:
        cached = self._cached
        if cached is not None and cached.use_until > self._clock():
            return cached.token
        if self._inflight is None or self._inflight.done():
            self._inflight = asyncio.ensure_future(self._obtain())
        return await asyncio.shield(self._inflight)

    async def discard(self, token: str) -> None:
        """The platform refused ``token``: stop using it here and everywhere."""
        if self._cached is not None and self._cached.token == token:
            self._cached = None
        await self._store.discard(self.key, token)

    async def _obtain(self) -> str:
        deadline = self._clock() + self._wait
        pause = 0.02
        while True:
            stored = await self._usable()
            if stored is not None:
                return stored.token
            now = self._clock()
            if await self._store.try_lease(self.key, self._owner, now, now + self._lease):
                try:
                    stored = await self._usable()  # another process may have just saved one
                    if stored is not None:
                        await self._store.release(self.key, self._owner)
                        return stored.token
                    return await self._refresh()
                except BaseException:
                    await self._store.release(self.key, self._owner)
                    raise
            if self._clock() > deadline:
                raise PlatformUnavailable(f"no {self.key} token: another process holds the refresh")
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.5)

    async def _usable(self) -> StoredToken | None:
        stored = await self._store.load(self.key)
        if stored is not None and stored.use_until > self._clock():
            self._cached = stored
            return stored
        return None

    async def _refresh(self) -> str:
        self.fetches += 1
        token, expires_in = await self._fetch()
        now = self._clock()
        # Stop using a token a while before the platform says it ends (at most 5 minutes early).
        margin = min(300, max(expires_in // 10, 1))
        stored = StoredToken(token, now + timedelta(seconds=max(expires_in - margin, 1)))
        await self._store.save(self.key, self._owner, stored, now)
        self._cached = stored
        log.info("%s token refreshed, valid for %d s", self.key, expires_in)
        return token
