"""The adapter against the sandbox's fake Telegram: users write, the poller or the webhook hands
their messages over, the sender's answers land in the chat's timeline, and the fake's flood
control and faults come back as our errors."""

from __future__ import annotations

import struct
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from channels.errors import RateLimited, RecipientUnreachable
from channels.telegram.client import TelegramClient
from channels.telegram.outbound import TelegramSender
from channels.telegram.poller import TelegramPoller
from channels.telegram.sandbox import (
    TELEGRAM_FAKE_STATE,
    FakeBot,
    FakeTelegram,
    FakeUser,
    create_telegram_fake_app,
)
from channels.telegram.webhook import TelegramWebhook
from handlers.delivery import RetryLater, Undeliverable
from handlers.messages import Picture, Text
from tests.channels.telegram.conftest import RecordingHandler
from tests.channels.telegram.updates import SECRET, TOKEN, USERNAME, telegram_bot

ServerFactory = Callable[[web.Application], Awaitable[TestServer]]
GROUP_ID = -1_001_234_567_890


def tiny_png(width: int = 3, height: int = 2) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    rows = b"".join(b"\0" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PNG = tiny_png()


@dataclass
class Sandbox:
    fake: FakeTelegram
    url: str
    client: TelegramClient

    def user(self, user_id: int = 10001, name: str = "Li") -> FakeUser:
        return self.fake.user("demo", user_id, name)

    def bot_texts(self, chat_id: int) -> list[str]:
        return [
            str(e["text"])
            for e in self.fake.timeline("demo", chat_id)
            if e["sender"] == "bot" and e["kind"] == "text"
        ]

    def pending(self) -> int:
        return len(self.fake.bot("demo").updates.pending)


@pytest.fixture
async def sandbox(aiohttp_server: ServerFactory) -> AsyncIterator[Sandbox]:
    app = create_telegram_fake_app([FakeBot("demo", TOKEN, USERNAME)])
    server = await aiohttp_server(app)
    url = str(server.make_url("")).rstrip("/")
    client = TelegramClient(telegram_bot(url))
    await client.start()
    yield Sandbox(app[TELEGRAM_FAKE_STATE], url, client)
    await client.close()


@pytest.fixture
async def sender(sandbox: Sandbox) -> AsyncIterator[TelegramSender]:
    async with aiohttp.ClientSession() as session:
        yield TelegramSender({"demo": sandbox.client}, session)


async def test_get_me_and_a_text_into_a_private_chat(sandbox: Sandbox) -> None:
    assert sandbox.client.username == USERNAME
    await sandbox.user().send("帮助")
    await sandbox.client.send_text("10001", "可用命令：规则 列表")
    assert sandbox.bot_texts(10001) == ["可用命令：规则 列表"]


async def test_a_long_text_arrives_in_pieces_of_4096(
    sandbox: Sandbox, sender: TelegramSender
) -> None:
    await sandbox.user().send("规则 列表")
    text = "".join(chr(0x4E00 + i % 300) for i in range(9000))
    await sender.send("demo", "10001", Text(text))
    pieces = sandbox.bot_texts(10001)
    assert [len(p) for p in pieces] == [4096, 4096, 808]
    assert "".join(pieces) == text


async def test_a_picture_is_fetched_and_shown_with_its_caption(
    sandbox: Sandbox, sender: TelegramSender, aiohttp_server: ServerFactory
) -> None:
    async def qr(_: web.Request) -> web.Response:
        return web.Response(body=PNG, content_type="image/png")

    site = web.Application()
    site.router.add_get("/qr.png", qr)
    server = await aiohttp_server(site)
    await sandbox.user().send("渠道 二维码 春节")
    await sender.send("demo", "10001", Picture(str(server.make_url("/qr.png")), "春节渠道码"))
    (photo,) = [e for e in sandbox.fake.timeline("demo", 10001) if e["kind"] == "photo"]
    assert photo["sender"] == "bot"
    assert photo["caption"] == "春节渠道码"
    assert photo["photo"] is not None
    assert (photo["photo"]["size"], photo["photo"]["width"]) == (len(PNG), 3)


async def test_flood_control_is_rate_limited_with_retry_after(
    sandbox: Sandbox, sender: TelegramSender
) -> None:
    await sandbox.user().send("帮助")
    sandbox.fake.inject_fault("sendMessage", error_code=429, retry_after=7)
    with pytest.raises(RateLimited) as caught:
        await sandbox.client.send_text("10001", "稍等")
    assert caught.value.retry_after == 7.0
    sandbox.fake.inject_fault("sendMessage", error_code=429, retry_after=3)
    with pytest.raises(RetryLater) as later:
        await sender.send("demo", "10001", Text("稍等"))
    assert later.value.retry_after == 3.0
    assert sandbox.bot_texts(10001) == []


async def test_a_user_who_blocked_the_bot_is_unreachable(
    sandbox: Sandbox, sender: TelegramSender
) -> None:
    user = sandbox.user()
    await user.send("帮助")
    user.block()
    with pytest.raises(RecipientUnreachable):
        await sandbox.client.send_text("10001", "hi")
    with pytest.raises(Undeliverable, match="blocked"):
        await sender.send("demo", "10001", Text("hi"))


async def test_a_photo_a_user_sent_can_be_downloaded(sandbox: Sandbox) -> None:
    delivery = await sandbox.user().send_photo(PNG, "新素材")
    assert delivery.update is not None
    largest = delivery.update["message"]["photo"][-1]["file_id"]
    assert await sandbox.client.download(largest) == PNG


async def test_the_poller_hands_over_a_users_message_and_confirms_it(sandbox: Sandbox) -> None:
    handler = RecordingHandler()
    poller = TelegramPoller(sandbox.client, telegram_bot(mode="polling"), handler, timeout=0)
    await sandbox.user().send("规则 列表")
    assert sandbox.pending() == 1
    assert await poller.poll_once()
    assert [(m.text, m.user, m.chat, m.direct) for m in handler.messages] == [
        ("规则 列表", "10001", "10001", True)
    ]
    assert await poller.poll_once()  # the next round confirms the offset
    assert sandbox.pending() == 0
    assert len(handler.messages) == 1


async def test_the_poller_loses_nothing_when_the_handler_fails_once(sandbox: Sandbox) -> None:
    handler = RecordingHandler(failures=1)
    poller = TelegramPoller(sandbox.client, telegram_bot(mode="polling"), handler, timeout=0)
    await sandbox.user().send("帮助")
    assert await poller.poll_once() is False
    assert await poller.poll_once() is True
    assert [m.text for m in handler.messages] == ["帮助"]
    assert await poller.poll_once()
    assert sandbox.pending() == 0


async def test_a_group_command_and_a_button_press_through_the_poller(sandbox: Sandbox) -> None:
    handler = RecordingHandler()
    poller = TelegramPoller(sandbox.client, telegram_bot(mode="polling"), handler, timeout=0)
    sandbox.fake.group("demo", GROUP_ID, "运营群", [10001, 10002])
    user = sandbox.user()
    await user.send("/help@OurBot 规则", chat_id=GROUP_ID)
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("确认", callback_data="确认 42")]])
    shown = await sandbox.client.bot.send_message(GROUP_ID, "删除规则？", reply_markup=keyboard)
    await user.press(shown.message_id, "确认 42", chat_id=GROUP_ID)
    assert await poller.poll_once()
    assert [(m.text, m.addressed, m.chat) for m in handler.messages] == [
        ("/help 规则", True, str(GROUP_ID)),
        ("确认 42", True, str(GROUP_ID)),
    ]
    answers = [e for e in sandbox.fake.timeline("demo", GROUP_ID) if e["kind"] == "answer"]
    assert len(answers) == 1


async def test_the_webhook_receives_what_the_fake_posts(
    sandbox: Sandbox, aiohttp_server: ServerFactory
) -> None:
    handler = RecordingHandler()
    hook = TelegramWebhook(
        [telegram_bot(sandbox.url)], handler, {"demo": sandbox.client}, max_body_bytes=65536
    )
    ours = web.Application()
    ours.add_routes(hook.routes())
    server = await aiohttp_server(ours)
    await sandbox.client.set_webhook(str(server.make_url("/telegram/demo")), SECRET)
    delivery = await sandbox.user(10002, "韩梅梅").send("渠道 列表")
    assert delivery.delivered
    assert [(m.text, m.user, m.name) for m in handler.messages] == [
        ("渠道 列表", "10002", "韩梅梅")
    ]


async def test_the_webhook_with_a_wrong_secret_gets_nothing_through(
    sandbox: Sandbox, aiohttp_server: ServerFactory
) -> None:
    handler = RecordingHandler()
    hook = TelegramWebhook(
        [telegram_bot(sandbox.url)], handler, {"demo": sandbox.client}, max_body_bytes=65536
    )
    ours = web.Application()
    ours.add_routes(hook.routes())
    server = await aiohttp_server(ours)
    await sandbox.client.set_webhook(str(server.make_url("/telegram/demo")), "not-the-secret")
    delivery = await sandbox.user().send("帮助")
    assert not delivery.delivered
    assert handler.messages == []
    assert delivery.statuses and set(delivery.statuses) == {403}
