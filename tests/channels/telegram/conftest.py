"""Fixtures: a recording staff handler, the Bot API stand-in on a loopback port, and a client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from channels.telegram.client import TelegramClient
from handlers.staff import StaffMessage
from tests.channels.telegram.standin import StandIn
from tests.channels.telegram.updates import telegram_bot

ServerFactory = Callable[[web.Application], Coroutine[Any, Any, TestServer]]


class RecordingHandler:
    """Remembers what it was given; raises for the next ``failures`` messages."""

    def __init__(self, failures: int = 0) -> None:
        self.messages: list[StaffMessage] = []
        self.failures = failures

    async def handle_staff(self, message: StaffMessage) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("the database is away")
        self.messages.append(message)


@pytest.fixture
def handler() -> RecordingHandler:
    return RecordingHandler()


@pytest.fixture
async def standin(aiohttp_server: ServerFactory) -> AsyncIterator[tuple[StandIn, str]]:
    fake = StandIn()
    server = await aiohttp_server(fake.app())
    yield fake, str(server.make_url("")).rstrip("/")


@pytest.fixture
async def client(standin: tuple[StandIn, str]) -> AsyncIterator[TelegramClient]:
    client = TelegramClient(telegram_bot(standin[1]), timeout=5.0)
    await client.start()
    yield client
    await client.close()
