"""The WeCom sender with a Clip, against the WeCom fake: the video is fetched, uploaded as video
media and sent as a video app message; what cannot be sent is refused before any upload."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.wecom.outbound import VIDEO_BYTES, WecomSender
from handlers.delivery import RetryLater, Undeliverable
from handlers.messages import Clip
from tests.channels.wecom.fake import PNG, Fake, start_fake
from tests.channels.wecom.wire import APP

SEND = "/cgi-bin/message/send"
UPLOAD = "/cgi-bin/media/upload"
MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8
BIG = VIDEO_BYTES + 1


@dataclass
class Env:
    fake: Fake
    sender: WecomSender
    site: str  # base URL of the test's video server

    async def send(self, clip: Clip) -> None:
        await self.sender.send(APP.name, "zhangsan", clip)

    def seen(self) -> list[dict[str, object]]:
        return self.fake.seen("zhangsan")


def video_site() -> web.Application:
    async def mp4(_: web.Request) -> web.Response:
        return web.Response(body=MP4, content_type="video/mp4")

    async def mov(_: web.Request) -> web.Response:
        return web.Response(body=MP4, content_type="video/quicktime")

    async def picture(_: web.Request) -> web.Response:
        return web.Response(body=PNG, content_type="image/png")

    async def lying(_: web.Request) -> web.Response:  # says MP4, holds a PNG
        return web.Response(body=PNG, content_type="video/mp4")

    async def big(_: web.Request) -> web.Response:
        return web.Response(body=MP4 + bytes(BIG - len(MP4)), content_type="video/mp4")

    async def streamed(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "video/mp4"})
        resp.enable_chunked_encoding()  # no Content-Length: the size shows only while reading
        await resp.prepare(request)
        await resp.write(MP4)
        for _ in range(BIG // 65536 + 1):
            await resp.write(bytes(65536))
        await resp.write_eof()
        return resp

    app = web.Application()
    app.router.add_get("/intro.mp4", mp4)
    app.router.add_get("/intro.mov", mov)
    app.router.add_get("/qr.png", picture)
    app.router.add_get("/lying.mp4", lying)
    app.router.add_get("/big.mp4", big)
    app.router.add_get("/streamed.mp4", streamed)
    return app


@pytest.fixture
async def env(aiohttp_server: AiohttpServer, engine: AsyncEngine) -> AsyncIterator[Env]:
    async with aiohttp.ClientSession() as http:
        fake = await start_fake(aiohttp_server, http)
        fake.wecom.member(APP.name, "zhangsan")
        site = await aiohttp_server(video_site())
        sender = WecomSender({APP.name: fake.client(engine, timeout=0.5)}, http)
        yield Env(fake, sender, str(site.make_url("")).rstrip("/"))


async def test_a_clip_is_uploaded_as_video_and_sent_with_title_and_description(env: Env) -> None:
    await env.send(Clip(env.site + "/intro.mp4", title="产品介绍", caption="可以直接转发给客户"))
    [upload] = env.fake.wecom.calls_to(UPLOAD)
    assert upload["query"]["type"] == "video"
    [video] = env.seen()
    assert video["kind"] == "video"
    assert (video["title"], video["description"]) == ("产品介绍", "可以直接转发给客户")
    assert video["size"] == len(MP4)
    assert video["sha256"] == hashlib.sha256(MP4).hexdigest()
    assert (video["content_type"], video["filename"]) == ("video/mp4", "video.mp4")
    assert video["truncated"] is False


async def test_a_clip_without_words_is_just_the_video(env: Env) -> None:
    await env.send(Clip(env.site + "/intro.mp4"))
    [video] = env.seen()
    assert (video["kind"], video["title"], video["description"]) == ("video", "", "")


async def test_a_long_title_and_caption_are_cut_by_us_and_the_caption_follows_whole(
    env: Env,
) -> None:
    title = "视" * 50  # 150 bytes: byte 128 falls inside the 43rd character
    caption = "第一段说明。" * 30  # 540 bytes
    await env.send(Clip(env.site + "/intro.mp4", title=title, caption=caption))
    video, *texts = env.seen()
    assert video["truncated"] is False  # we cut, not the platform
    assert video["title"] == "视" * 42
    description = str(video["description"])
    assert len(description.encode()) <= 512 and caption.startswith(description)
    assert len(description) == 170  # 510 bytes: the next character would pass 512
    assert [t["kind"] for t in texts] == ["text"]
    assert texts[0]["content"] == caption


async def test_a_caption_that_fits_is_not_repeated(env: Env) -> None:
    caption = "说" * 170  # 510 bytes
    await env.send(Clip(env.site + "/intro.mp4", caption=caption))
    assert [e["kind"] for e in env.seen()] == ["video"]


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("/intro.mov", "is video/quicktime, not video/mp4"),
        ("/qr.png", "is image/png, not video/mp4"),
        ("/big.mp4", f"larger than {VIDEO_BYTES} bytes"),
        ("/streamed.mp4", f"larger than {VIDEO_BYTES} bytes"),
        ("/missing.mp4", "answered HTTP 404"),
    ],
)
async def test_a_video_that_cannot_be_sent_is_undeliverable_before_any_upload(
    env: Env, path: str, why: str
) -> None:
    with pytest.raises(Undeliverable) as info:
        await env.send(Clip(env.site + path, title="t"))
    assert str(info.value).startswith("the video ")
    assert why in str(info.value)
    assert env.fake.count(UPLOAD) == 0
    assert env.seen() == []


async def test_a_video_url_that_is_not_http_is_undeliverable(env: Env) -> None:
    with pytest.raises(Undeliverable, match="the video URL is not an http"):
        await env.send(Clip("file:///tmp/intro.mp4"))
    assert env.fake.count(UPLOAD) == 0


async def test_content_the_platform_does_not_take_for_video_is_undeliverable(env: Env) -> None:
    with pytest.raises(Undeliverable) as info:
        await env.send(Clip(env.site + "/lying.mp4"))
    assert "40004" in str(info.value)  # invalid media file type
    assert env.fake.count(SEND) == 0


async def test_a_video_upload_without_answer_is_retried_later(env: Env) -> None:
    env.fake.wecom.inject_fault(UPLOAD, hang=2.0)
    with pytest.raises(RetryLater, match="uploading the video"):
        await env.send(Clip(env.site + "/intro.mp4"))
    assert env.fake.count(SEND) == 0
