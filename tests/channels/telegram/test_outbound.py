"""The outbox's Telegram sender: long texts in pieces, pictures fetched and uploaded, and platform
errors turned into the worker's retry / give-up / in-doubt decisions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from channels.telegram.client import TelegramClient
from channels.telegram.outbound import TelegramSender, split_text
from handlers.delivery import DeliveryInDoubt, RetryLater, Undeliverable
from handlers.messages import Image, Picture, Text
from tests.channels.telegram.standin import StandIn
from tests.channels.telegram.updates import telegram_bot

StandInFixture = tuple[StandIn, str]
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
BIG = 10 * 1024 * 1024 + 1


@pytest.fixture
async def pictures(
    aiohttp_server: Callable[[web.Application], Awaitable[TestServer]],
) -> str:
    """A tiny site serving the pictures a Picture message points at."""

    async def png(_: web.Request) -> web.Response:
        return web.Response(body=PNG, content_type="image/png")

    async def big(_: web.Request) -> web.Response:
        return web.Response(body=b"\0" * BIG, content_type="image/jpeg")

    async def page(_: web.Request) -> web.Response:
        return web.Response(text="<html></html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/qr.png", png)
    app.router.add_get("/big.jpg", big)
    app.router.add_get("/page", page)
    server = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/")


@pytest.fixture
async def sender(client: TelegramClient) -> AsyncIterator[TelegramSender]:
    async with aiohttp.ClientSession() as session:
        yield TelegramSender({"demo": client}, session)


def texts(standin: StandInFixture) -> list[str]:
    return [c.params["text"] for c in standin[0].called("sendMessage")]


async def test_a_short_text_is_one_message(sender: TelegramSender, standin: StandInFixture) -> None:
    await sender.send("demo", "-100777", Text("规则已保存"))
    (call,) = standin[0].called("sendMessage")
    assert (call.params["chat_id"], call.params["text"]) == ("-100777", "规则已保存")


async def test_a_long_text_is_split_at_4096(
    sender: TelegramSender, standin: StandInFixture
) -> None:
    text = "".join(chr(0x4E00 + i % 500) for i in range(10_000))  # no newline anywhere
    await sender.send("demo", "10001", Text(text))
    sent = texts(standin)
    assert [len(p) for p in sent] == [4096, 4096, 1808]
    assert "".join(sent) == text


async def test_a_long_text_is_cut_at_a_newline_in_the_last_quarter(
    sender: TelegramSender, standin: StandInFixture
) -> None:
    first, second = "甲" * 3500, "乙" * 3000
    await sender.send("demo", "10001", Text(f"{first}\n{second}"))
    assert texts(standin) == [first, second]


def test_a_newline_early_in_the_piece_is_not_used() -> None:
    text = "甲" * 100 + "\n" + "乙" * 5000
    pieces = split_text(text)
    assert [len(p) for p in pieces] == [4096, 1005]
    assert "".join(pieces) == text


def test_pieces_count_emoji_as_two_utf16_units() -> None:
    pieces = split_text("😀" * 3000)
    assert [len(p) for p in pieces] == [2048, 952]


async def test_a_picture_is_fetched_and_sent_with_its_caption(
    sender: TelegramSender, standin: StandInFixture, pictures: str
) -> None:
    await sender.send("demo", "10001", Picture(f"{pictures}/qr.png", "春节活动 渠道码"))
    (call,) = standin[0].called("sendPhoto")
    assert call.files["photo"] == PNG
    assert call.params["caption"] == "春节活动 渠道码"
    assert texts(standin) == []


async def test_a_caption_over_1024_follows_the_picture_as_text(
    sender: TelegramSender, standin: StandInFixture, pictures: str
) -> None:
    caption = "说" * 1025
    await sender.send("demo", "10001", Picture(f"{pictures}/qr.png", caption))
    (call,) = standin[0].called("sendPhoto")
    assert "caption" not in call.params
    assert texts(standin) == [caption]
    assert [c.method for c in standin[0].calls] == ["getMe", "sendPhoto", "sendMessage"]


@pytest.mark.parametrize("path", ["/missing.png", "/page", "/big.jpg"])
async def test_a_picture_that_cannot_be_used_is_undeliverable(
    sender: TelegramSender, standin: StandInFixture, pictures: str, path: str
) -> None:
    with pytest.raises(Undeliverable):
        await sender.send("demo", "10001", Picture(f"{pictures}{path}"))
    assert standin[0].called("sendPhoto") == []


async def test_other_messages_and_unknown_bots_are_undeliverable(
    sender: TelegramSender, standin: StandInFixture
) -> None:
    with pytest.raises(Undeliverable, match="Image"):
        await sender.send("demo", "10001", Image("media-1"))
    with pytest.raises(Undeliverable, match="other"):
        await sender.send("other", "10001", Text("hi"))
    assert standin[0].called("sendMessage") == []


async def test_flood_control_is_retried_later_with_its_pause(
    sender: TelegramSender, standin: StandInFixture
) -> None:
    standin[0].fail_next("sendMessage", 429, "Too Many Requests: retry after 9", retry_after=9)
    with pytest.raises(RetryLater) as caught:
        await sender.send("demo", "10001", Text("hi"))
    assert caught.value.retry_after == 9.0


async def test_a_blocked_bot_is_undeliverable(
    sender: TelegramSender, standin: StandInFixture
) -> None:
    standin[0].fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    with pytest.raises(Undeliverable, match="blocked"):
        await sender.send("demo", "10001", Text("hi"))


async def test_a_server_error_is_retried_later(
    sender: TelegramSender, standin: StandInFixture
) -> None:
    standin[0].fail_next("sendMessage", 500, "Internal Server Error")
    with pytest.raises(RetryLater):
        await sender.send("demo", "10001", Text("hi"))


async def test_no_answer_is_in_doubt(standin: StandInFixture) -> None:
    standin[0].hang.add("sendMessage")
    client = TelegramClient(telegram_bot(standin[1]), timeout=0.3)
    try:
        async with aiohttp.ClientSession() as session:
            with pytest.raises(DeliveryInDoubt):
                await TelegramSender({"demo": client}, session).send("demo", "1", Text("hi"))
    finally:
        await client.close()


async def test_a_failure_after_the_first_piece_is_never_retried(
    sender: TelegramSender, standin: StandInFixture
) -> None:
    standin[0].fail_next("sendMessage", 503, "Service Unavailable", later=1)
    with pytest.raises(Undeliverable, match="1 of 2 parts were sent"):
        await sender.send("demo", "10001", Text("甲" * 5000))


async def test_a_refusal_after_the_first_piece_is_undeliverable(
    sender: TelegramSender, standin: StandInFixture
) -> None:
    standin[0].fail_next("sendMessage", 400, "Bad Request: chat not found", later=1)
    with pytest.raises(Undeliverable, match="1 of 2 parts were sent"):
        await sender.send("demo", "10001", Text("甲" * 5000))


async def test_a_short_flood_pause_between_pieces_is_waited_out(
    sender: TelegramSender, standin: StandInFixture
) -> None:
    standin[0].fail_next("sendMessage", 429, "Too Many Requests", later=1, retry_after=1)
    await sender.send("demo", "10001", Text("甲" * 5000))
    # The second piece was asked for twice: refused once, then sent after the pause.
    assert [len(t) for t in texts(standin)] == [4096, 904, 904]
