"""End to end on loopback: the fake's members talk to the real callback route (signed and
encrypted by the fake, retried by it like WeCom), and the bot fetches what they sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp.test_utils import unused_port
from pytest_aiohttp import AiohttpServer
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.wecom.callback import WecomCallback
from handlers.staff import StaffMessage
from tests.channels.wecom.fake import PNG, Fake, start_fake
from tests.channels.wecom.wire import APP, web_app


class FlakyRecorder:
    """Records what reached it; the first ``failures`` calls fail like a database that is down."""

    def __init__(self) -> None:
        self.messages: list[StaffMessage] = []
        self.attempts: list[str] = []
        self.failures = 0

    async def handle_staff(self, message: StaffMessage) -> None:
        self.attempts.append(message.dedupe_key)
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the database is down")
        self.messages.append(message)


@dataclass
class Env:
    fake: Fake
    handler: FlakyRecorder


@pytest.fixture
async def env(aiohttp_server: AiohttpServer) -> AsyncIterator[Env]:
    handler = FlakyRecorder()
    route = WecomCallback([APP], handler, timestamp_window=300, max_body_bytes=65536)
    port = unused_port()
    await aiohttp_server(web_app(route), port=port)
    async with aiohttp.ClientSession() as http:
        yield Env(await start_fake(aiohttp_server, http, bot_port=port), handler)


async def test_the_fake_verifies_the_callback_url(env: Env) -> None:
    assert await env.fake.wecom.member(APP.name, "zhangsan").verify_url()


async def test_a_member_text_reaches_the_handler(env: Env) -> None:
    outcome = await env.fake.wecom.member(APP.name, "zhangsan").say("搜 退款 话术")
    assert (outcome.delivered, outcome.statuses, outcome.reply) == (True, (200,), None)
    [message] = env.handler.messages
    assert (message.user, message.chat, message.text, message.image) == (
        "zhangsan",
        "zhangsan",
        "搜 退款 话术",
        "",
    )
    assert message.dedupe_key == f"wecom:{APP.name}:msg:{outcome.msg_id}"


async def test_a_member_picture_can_be_fetched_by_the_bot(env: Env, engine: AsyncEngine) -> None:
    outcome = await env.fake.wecom.member(APP.name, "lisi").send_image(PNG)
    assert outcome.delivered
    [message] = env.handler.messages
    assert message.text == "" and message.image
    assert await env.fake.client(engine).get_media(message.image) == PNG


async def test_events_are_answered_without_the_handler(env: Env) -> None:
    member = env.fake.wecom.member(APP.name, "zhangsan")
    for event, key in (("enter_agent", ""), ("click", "MENU_SCRIPTS")):
        outcome = await member.event(event, key)
        assert outcome.statuses == (200,)
    assert env.handler.attempts == []


async def test_a_failed_handling_is_retried_by_the_platform_with_the_same_key(env: Env) -> None:
    env.handler.failures = 2
    outcome = await env.fake.wecom.member(APP.name, "zhangsan").say("hi")
    assert outcome.statuses == (503, 503, 200)
    key = f"wecom:{APP.name}:msg:{outcome.msg_id}"
    assert env.handler.attempts == [key, key, key]
    assert [m.dedupe_key for m in env.handler.messages] == [key]
