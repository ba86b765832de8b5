"""Fixtures: the fake Telegram on loopback, python-telegram-bot clients, a webhook receiver."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import segno
import telegram
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from telegram.request import HTTPXRequest

from channels.telegram.sandbox import (
    SECRET_HEADER,
    TELEGRAM_FAKE_STATE,
    Clock,
    FakeBot,
    FakeTelegram,
    TelegramLimits,
    create_telegram_fake_app,
)

OPS = FakeBot(name="ops", token="123456:AAHops-sandbox-token_0123456789abcdef", username="ops_bot")
OTHER = FakeBot(
    name="other", token="654321:AAHother-sandbox-token_0123456789abcd", username="other_bot"
)
ALICE = 1001
BOB = 1002


@dataclass
class Received:
    """One webhook POST as the receiver saw it."""

    update: dict[str, Any]
    secret: str | None


@dataclass
class Receiver:
    """A tiny bot webhook: records updates and answers with scripted HTTP statuses."""

    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    reply: dict[str, Any] | None = None
    delay: float = 0.0
    app: web.Application = field(default_factory=web.Application)

    def __post_init__(self) -> None:
        self.app.router.add_post("/hook", self._hook)

    async def _hook(self, request: web.Request) -> web.StreamResponse:
        self.received.append(Received(await request.json(), request.headers.get(SECRET_HEADER)))
        if self.delay:
            await asyncio.sleep(self.delay)
        status = self.statuses.pop(0) if self.statuses else 200
        if status == 200 and self.reply is not None:
            return web.json_response(self.reply)
        return web.Response(status=status)


class Sandbox:
    """The served fake plus a control client and python-telegram-bot Bot objects."""

    def __init__(
        self, fake: FakeTelegram, server: TestServer, client: TestClient[Any, Any], prefix: str
    ) -> None:
        self.fake = fake
        self.server = server
        self.client = client
        self.prefix = prefix
        self.base = str(server.make_url(prefix)).rstrip("/")
        self._bots: list[telegram.Bot] = []

    async def bot(self, fake_bot: FakeBot = OPS, *, read_timeout: float = 5.0) -> telegram.Bot:
        """An initialized python-telegram-bot Bot pointed at the fake (shut down after the test)."""
        request = HTTPXRequest(read_timeout=read_timeout, connect_timeout=5.0)
        bot = telegram.Bot(
            fake_bot.token,
            base_url=f"{self.base}/bot",
            base_file_url=f"{self.base}/file/bot",
            request=request,
            get_updates_request=HTTPXRequest(read_timeout=read_timeout),
        )
        await bot.initialize()
        self._bots.append(bot)
        return bot

    async def shutdown(self) -> None:
        for bot in self._bots:
            await bot.shutdown()

    async def control(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        resp = await self.client.request(method, self.prefix + path, **kwargs)
        return resp.status, await resp.json()

    def user(self, user_id: int = ALICE, name: str = "Alice", bot: str = "ops") -> Any:
        return self.fake.user(bot, user_id, name, name.lower())


def png(text: str = "sandbox") -> bytes:
    """A real PNG image."""
    buffer = io.BytesIO()
    segno.make(text).save(buffer, kind="png", scale=3)
    return buffer.getvalue()


class FrozenClock(Clock):
    """A platform clock that moves only when a test advances it."""

    def __init__(self) -> None:
        super().__init__()
        self._base = 1_700_000_000.0

    def now(self) -> float:
        return self._base + self.offset


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


SandboxFactory = Callable[..., Awaitable[Sandbox]]


@pytest.fixture
async def sandbox_factory(
    aiohttp_server: Any, aiohttp_client: Any, clock: FrozenClock
) -> AsyncIterator[SandboxFactory]:
    made: list[Sandbox] = []

    async def make(
        *,
        limits: TelegramLimits | None = None,
        webhook_timeout: float = 2.0,
        mounted: bool = True,
    ) -> Sandbox:
        fake_app = create_telegram_fake_app(
            [OPS, OTHER], clock=clock, webhook_timeout=webhook_timeout, limits=limits
        )
        if mounted:
            parent = web.Application()
            parent.add_subapp("/telegram", fake_app)
            app, prefix = parent, "/telegram"
        else:
            app, prefix = fake_app, ""
        server = await aiohttp_server(app)
        client = await aiohttp_client(server)
        sandbox = Sandbox(fake_app[TELEGRAM_FAKE_STATE], server, client, prefix)
        made.append(sandbox)
        return sandbox

    yield make
    for sandbox in made:
        await sandbox.shutdown()


@pytest.fixture
async def sandbox(sandbox_factory: SandboxFactory) -> Sandbox:
    return await sandbox_factory()


@pytest.fixture
async def hook_url(aiohttp_server: Any, receiver: Receiver) -> str:
    server = await aiohttp_server(receiver.app)
    return str(server.make_url("/hook"))
