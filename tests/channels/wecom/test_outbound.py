"""The WeCom sender against the WeCom fake: what a member sees for each neutral message, and
how platform failures become the outbox's RetryLater / Undeliverable / DeliveryInDoubt."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.wecom.limits import TEXT_BYTES
from channels.wecom.outbound import WecomSender
from handlers.delivery import DeliveryInDoubt, RetryLater, Undeliverable
from handlers.messages import (
    Article,
    Image,
    Message,
    Music,
    News,
    Picture,
    Text,
    TransferToAgent,
    Voice,
)
from tests.channels.wecom.fake import PNG, Fake, start_fake
from tests.channels.wecom.wire import APP

SEND = "/cgi-bin/message/send"
UPLOAD = "/cgi-bin/media/upload"
BIG = 10 * 1024 * 1024 + 1


@dataclass
class Env:
    fake: Fake
    sender: WecomSender
    pictures: str  # base URL of the test's picture server

    async def send(self, message: Message, to: str = "zhangsan") -> None:
        await self.sender.send(APP.name, to, message)

    def seen(self, to: str = "zhangsan") -> list[dict[str, object]]:
        return self.fake.seen(to)


async def picture_routes() -> web.Application:
    async def png(_: web.Request) -> web.Response:
        return web.Response(body=PNG, content_type="image/png")

    async def html(_: web.Request) -> web.Response:
        return web.Response(text="<html></html>", content_type="text/html")

    async def big(_: web.Request) -> web.Response:
        return web.Response(body=PNG + bytes(BIG), content_type="image/png")

    async def streamed(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "image/png"})
        resp.enable_chunked_encoding()  # no Content-Length: the size shows only while reading
        await resp.prepare(request)
        await resp.write(PNG)
        for _ in range(BIG // 65536 + 1):
            await resp.write(bytes(65536))
        await resp.write_eof()
        return resp

    app = web.Application()
    app.router.add_get("/qr.png", png)
    app.router.add_get("/page", html)
    app.router.add_get("/big.png", big)
    app.router.add_get("/streamed.png", streamed)
    return app


@pytest.fixture
async def env(aiohttp_server: AiohttpServer, engine: AsyncEngine) -> AsyncIterator[Env]:
    async with aiohttp.ClientSession() as http:
        fake = await start_fake(aiohttp_server, http)
        fake.wecom.member(APP.name, "zhangsan")
        pictures = await aiohttp_server(await picture_routes())
        sender = WecomSender({APP.name: fake.client(engine, timeout=0.5)}, http)
        yield Env(fake, sender, str(pictures.make_url("")).rstrip("/"))


async def test_a_text_is_one_app_message(env: Env) -> None:
    await env.send(Text("你好，话术已发送"))
    [entry] = env.seen()
    assert (entry["kind"], entry["content"], entry["truncated"]) == (
        "text",
        "你好，话术已发送",
        False,
    )
    [call] = env.fake.wecom.calls_to(SEND)
    assert call["body"]["agentid"] == APP.agent_id and call["body"]["touser"] == "zhangsan"


async def test_a_long_text_goes_out_in_pieces_nothing_truncated(env: Env) -> None:
    first = "话术库搜索结果" * 85  # 1785 bytes, then a newline in the last quarter of a piece
    second = "第二段" * 300  # 2700 bytes
    await env.send(Text(first + "\n" + second))
    entries = env.seen()
    assert len(entries) == 3
    assert not any(e["truncated"] for e in entries)
    contents = [str(e["content"]) for e in entries]
    assert all(len(c.encode()) <= TEXT_BYTES for c in contents)
    assert contents[0] == first
    assert "".join(contents[1:]) == second


async def test_a_picture_is_fetched_uploaded_and_sent_with_its_caption(env: Env) -> None:
    await env.send(Picture(env.pictures + "/qr.png", caption="渠道二维码：春季活动"))
    image, caption = env.seen()
    assert image["kind"] == "image"
    assert image["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert image["filename"] == "picture.png"
    assert (caption["kind"], caption["content"]) == ("text", "渠道二维码：春季活动")


async def test_a_picture_without_caption_is_just_the_image(env: Env) -> None:
    await env.send(Picture(env.pictures + "/qr.png"))
    assert [e["kind"] for e in env.seen()] == ["image"]


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("/missing.png", "HTTP 404"),
        ("/page", "not an image"),
        ("/big.png", "larger than"),
        ("/streamed.png", "larger than"),
    ],
)
async def test_a_picture_that_cannot_be_sent_is_undeliverable(
    env: Env, path: str, why: str
) -> None:
    with pytest.raises(Undeliverable) as info:
        await env.send(Picture(env.pictures + path, caption="x"))
    assert why in str(info.value)
    assert env.fake.count(UPLOAD) == 0
    assert env.seen() == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "http://", "qr.png"])
async def test_a_picture_url_that_is_not_http_is_undeliverable(env: Env, url: str) -> None:
    with pytest.raises(Undeliverable) as info:
        await env.send(Picture(url))
    assert "not an http(s) URL" in str(info.value)
    assert env.fake.count(UPLOAD) == 0


async def test_an_uploaded_image_is_sent_by_media_id(env: Env, engine: AsyncEngine) -> None:
    media_id = await env.fake.client(engine).upload_media("image", "a.png", PNG)
    await env.send(Image(media_id))
    [entry] = env.seen()
    assert (entry["kind"], entry["media_id"]) == ("image", media_id)


async def test_news_carries_at_most_eight_articles_within_the_limits(env: Env) -> None:
    articles = tuple(
        Article(
            f"第{i}篇" + "长" * 60, "描述", f"https://example.com/{i}", "https://example.com/p.png"
        )
        for i in range(10)
    )
    await env.send(News(articles))
    [entry] = env.seen()
    sent = entry["articles"]
    assert isinstance(sent, list) and len(sent) == 8
    assert entry["truncated"] is False  # we cut the titles, not the platform
    assert sent[0]["url"] == "https://example.com/0"
    assert sent[0]["picurl"] == "https://example.com/p.png"
    assert len(sent[0]["title"].encode()) <= 128 and sent[0]["title"].startswith("第0篇")


@pytest.mark.parametrize(
    "message",
    [Voice("m"), Music(title="t"), TransferToAgent(), News(()), Text("   ")],
    ids=["voice", "music", "transfer", "empty news", "blank text"],
)
async def test_what_an_app_chat_cannot_carry_is_undeliverable(env: Env, message: Message) -> None:
    with pytest.raises(Undeliverable):
        await env.send(message)
    assert env.fake.count(SEND) == 0


@pytest.mark.parametrize("recipient", ["@all", "zhangsan|lisi", ""])
async def test_only_one_member_can_be_a_recipient(env: Env, recipient: str) -> None:
    with pytest.raises(Undeliverable):
        await env.send(Text("hi"), to=recipient)
    assert env.fake.count(SEND) == 0


async def test_an_unknown_app_or_member_is_undeliverable(env: Env) -> None:
    with pytest.raises(Undeliverable):
        await env.sender.send("other-app", "zhangsan", Text("hi"))
    with pytest.raises(Undeliverable) as info:
        await env.send(Text("hi"), to="nobody")
    assert "81013" in str(info.value)


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"errcode": 45009}, RetryLater),
        ({"errcode": -1}, RetryLater),
        ({"errcode": 40058}, Undeliverable),
        ({"http_status": 502}, DeliveryInDoubt),
        ({"hang": 2.0}, DeliveryInDoubt),
    ],
)
async def test_platform_failures_map_to_delivery_errors(
    env: Env, fault: dict[str, int], error: type[Exception]
) -> None:
    env.fake.wecom.inject_fault(SEND, **fault)
    with pytest.raises(error) as info:
        await env.send(Text("hi"))
    assert type(info.value) is error
    if fault.get("errcode") == 45009:
        assert isinstance(info.value, RetryLater) and info.value.retry_after == 60.0


async def test_after_a_delivered_piece_a_failure_is_never_retried(env: Env) -> None:
    env.fake.wecom.inject_fault(SEND, hang=0.01)  # the first piece goes through
    env.fake.wecom.inject_fault(SEND, errcode=-1)  # the second meets a busy platform
    with pytest.raises(DeliveryInDoubt) as info:
        await env.send(Text("a" * 5000))
    assert "1 of 3 parts delivered" in str(info.value)
    assert len(env.seen()) == 1


async def test_an_upload_without_answer_is_retried_later(env: Env) -> None:
    env.fake.wecom.inject_fault(UPLOAD, hang=2.0)
    with pytest.raises(RetryLater):
        await env.send(Picture(env.pictures + "/qr.png"))
    assert env.fake.count(SEND) == 0
