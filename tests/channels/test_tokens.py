"""Database-shared tokens: one refresh however many callers, in however many processes."""

from __future__ import annotations

import asyncio

import pytest

from channels.errors import PlatformRejected
from channels.tokens import SharedToken
from storage.db import create_engine
from storage.tokens import TokenStore


class Platform:
    """Counts token requests; each answer is a new token."""

    def __init__(self, delay: float = 0.05) -> None:
        self.calls = 0
        self.delay = delay

    async def fetch(self) -> tuple[str, int]:
        self.calls += 1
        await asyncio.sleep(self.delay)  # long enough for every caller to be waiting
        return f"token-{self.calls}", 7200


async def test_concurrent_callers_in_two_processes_cause_one_refresh(db_url: str) -> None:
    platform = Platform()
    engines = [create_engine(db_url), create_engine(db_url)]
    try:
        tokens = [
            SharedToken("wechat:demo", TokenStore(e), platform.fetch, owner=f"p{i}")
            for i, e in enumerate(engines)
        ]
        got = await asyncio.gather(*(tokens[i % 2].get() for i in range(100)))
        assert platform.calls == 1
        assert set(got) == {"token-1"}
        assert sum(t.fetches for t in tokens) == 1
    finally:
        for e in engines:
            await e.dispose()


async def test_a_discarded_token_is_replaced_once_for_everyone(db_url: str) -> None:
    platform = Platform(delay=0.01)
    engines = [create_engine(db_url), create_engine(db_url)]
    try:
        a, b = (
            SharedToken("k", TokenStore(e), platform.fetch, owner=f"p{i}")
            for i, e in enumerate(engines)
        )
        assert await a.get() == "token-1"
        assert await b.get() == "token-1"
        await a.discard("token-1")
        await b.discard("token-1")  # both saw it refused; only one new token is fetched
        assert {await a.get(), await b.get()} == {"token-2"}
        await a.discard("token-1")  # a stale report does not throw away the new token
        assert await b.get() == "token-2"
        assert platform.calls == 2
    finally:
        for e in engines:
            await e.dispose()


async def test_a_failed_refresh_releases_the_lease(engine: object) -> None:
    calls = 0

    async def failing() -> tuple[str, int]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise PlatformRejected(40013, "invalid appid")
        return "ok", 7200

    token = SharedToken("k", TokenStore(engine), failing, owner="p")  # type: ignore[arg-type]
    with pytest.raises(PlatformRejected):
        await token.get()
    assert await token.get() == "ok"  # not stuck behind its own lease
