"""The Telegram sender with a Clip, against the sandbox's fake Telegram: the video is fetched and
uploaded with sendVideo, its title and caption shown as the caption (the rest as text after)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from channels.telegram.client import TelegramClient
from channels.telegram.outbound import (
    CAPTION_LIMIT,
    MAX_VIDEO_BYTES,
    VIDEO,
    TelegramSender,
    fetch_media,
    split_caption,
)
from channels.telegram.sandbox import (
    TELEGRAM_FAKE_STATE,
    FakeBot,
    FakeTelegram,
    create_telegram_fake_app,
)
from handlers.delivery import Undeliverable
from handlers.messages import Clip
from tests.channels.telegram.updates import TOKEN, USERNAME, telegram_bot

ServerFactory = Callable[[web.Application], Awaitable[TestServer]]
MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4
USER = 10001


@dataclass
class Env:
    fake: FakeTelegram
    sender: TelegramSender
    site: str  # base URL of the test's video server

    async def send(self, clip: Clip) -> None:
        await self.sender.send("demo", str(USER), clip)

    def bot_entries(self) -> list[Any]:
        return [e for e in self.fake.timeline("demo", USER) if e["sender"] == "bot"]


def video_site() -> web.Application:
    async def mp4(_: web.Request) -> web.Response:
        return web.Response(body=MP4, content_type="video/mp4")

    async def mov(_: web.Request) -> web.Response:
        return web.Response(body=MP4, content_type="video/quicktime")

    app = web.Application()
    app.router.add_get("/intro.mp4", mp4)
    app.router.add_get("/intro.mov", mov)
    return app


@pytest.fixture
async def env(aiohttp_server: ServerFactory) -> AsyncIterator[Env]:
    app = create_telegram_fake_app([FakeBot("demo", TOKEN, USERNAME)])
    server = await aiohttp_server(app)
    site = await aiohttp_server(video_site())
    fake = app[TELEGRAM_FAKE_STATE]
    await fake.user("demo", USER, "Li").send("视频 发给我")
    client = TelegramClient(telegram_bot(str(server.make_url("")).rstrip("/")))
    await client.start()
    try:
        async with aiohttp.ClientSession() as session:
            sender = TelegramSender({"demo": client}, session)
            yield Env(fake, sender, str(site.make_url("")).rstrip("/"))
    finally:
        await client.close()


async def test_a_clip_is_sent_as_a_video_with_title_and_caption(env: Env) -> None:
    await env.send(Clip(env.site + "/intro.mp4", title="产品介绍", caption="可以直接转发给客户"))
    [entry] = env.bot_entries()
    assert entry["kind"] == "video"
    assert entry["caption"] == "产品介绍\n可以直接转发给客户"
    assert entry["parse_mode"] is None  # shown as written
    assert entry["video"] is not None
    assert entry["video"]["size"] == len(MP4)
    assert entry["video"]["sha256"] == hashlib.sha256(MP4).hexdigest()
    assert entry["video"]["mime_type"] == "video/mp4"


async def test_a_clip_without_words_has_no_caption(env: Env) -> None:
    await env.send(Clip(env.site + "/intro.mp4"))
    [entry] = env.bot_entries()
    assert (entry["kind"], entry["caption"]) == ("video", None)


async def test_a_long_caption_is_cut_at_1024_and_the_rest_follows_as_text(env: Env) -> None:
    caption = "说" * 1500  # no newline anywhere
    await env.send(Clip(env.site + "/intro.mp4", title="介绍", caption=caption))
    video, text = env.bot_entries()
    whole = "介绍\n" + caption
    assert video["kind"] == "video" and video["caption"] == whole[:CAPTION_LIMIT]
    assert (text["kind"], text["text"]) == ("text", whole[CAPTION_LIMIT:])


def test_a_caption_is_cut_at_a_late_newline() -> None:
    first, second = "甲" * 900, "乙" * 500
    assert split_caption(f"{first}\n{second}") == (first, [second])
    early = "甲" * 100 + "\n" + "乙" * 1000  # the newline is not in the last quarter
    caption, rest = split_caption(early)
    assert len(caption) == CAPTION_LIMIT and caption + "".join(rest) == early
    assert split_caption("") == ("", [])


async def test_a_video_that_is_not_mp4_is_undeliverable_before_any_upload(env: Env) -> None:
    with pytest.raises(Undeliverable, match="video/quicktime, not video/mp4"):
        await env.send(Clip(env.site + "/intro.mov", title="t"))
    with pytest.raises(Undeliverable, match="HTTP 404"):
        await env.send(Clip(env.site + "/missing.mp4"))
    with pytest.raises(Undeliverable, match="not an http"):
        await env.send(Clip("file:///tmp/intro.mp4"))
    assert env.fake.calls_to("sendVideo") == []
    assert env.bot_entries() == []


async def test_the_download_stops_past_the_limit(env: Env) -> None:
    assert VIDEO.limit == MAX_VIDEO_BYTES == 50 * 1024 * 1024  # the Bot API upload limit
    small = replace(VIDEO, limit=len(MP4) - 1)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(Undeliverable, match=f"the video is larger than {len(MP4) - 1} bytes"):
            await fetch_media(session, env.site + "/intro.mp4", small)
        assert await fetch_media(session, env.site + "/intro.mp4", VIDEO) == MP4


async def test_a_user_who_blocked_the_bot_gets_no_video(env: Env) -> None:
    env.fake.user("demo", USER, "Li").block()
    with pytest.raises(Undeliverable, match="blocked"):
        await env.send(Clip(env.site + "/intro.mp4"))
    assert env.bot_entries() == []
