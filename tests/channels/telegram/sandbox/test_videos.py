"""sendVideo: uploads, captions and their parse modes, limits, file ids and the chat's timeline."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from aiohttp import web
from telegram.error import BadRequest, NetworkError

from channels.telegram.sandbox import TelegramLimits

from .conftest import ALICE, OPS, Sandbox, SandboxFactory, png

MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4
MB = 1024 * 1024


async def test_upload_with_caption_is_on_the_timeline_and_resent_by_file_id(
    sandbox: Sandbox,
) -> None:
    await sandbox.user().send("/start")
    bot = await sandbox.bot()
    message = await bot.send_video(
        ALICE, MP4, caption="<b>产品介绍</b>\n请转发", parse_mode="HTML", width=640, height=360
    )
    assert message.video is not None
    assert (message.video.file_size, message.video.mime_type) == (len(MP4), "video/mp4")
    assert (message.video.width, message.video.height) == (640, 360)
    assert message.caption == "产品介绍\n请转发"
    assert message.caption_entities[0].type == "bold"
    entry = sandbox.fake.timeline("ops", ALICE)[-1]
    assert (entry["sender"], entry["kind"], entry["caption"]) == (
        "bot",
        "video",
        "产品介绍\n请转发",
    )
    assert entry["source"] == "<b>产品介绍</b>\n请转发" and entry["parse_mode"] == "HTML"
    assert entry["message_id"] == message.message_id and entry["photo"] is None
    assert entry["video"] is not None
    assert entry["video"]["size"] == len(MP4)
    assert entry["video"]["sha256"] == hashlib.sha256(MP4).hexdigest()
    assert entry["video"]["file_id"] == message.video.file_id
    again = await bot.send_video(ALICE, message.video.file_id)
    assert again.video is not None and again.caption is None
    assert again.video.file_unique_id == message.video.file_unique_id


async def test_a_sent_video_can_be_downloaded(sandbox: Sandbox) -> None:
    await sandbox.user().send("/start")
    bot = await sandbox.bot()
    message = await bot.send_video(ALICE, MP4)
    assert message.video is not None
    file = await bot.get_file(message.video.file_id)
    assert file.file_path is not None
    assert file.file_path.startswith(f"{sandbox.base}/file/bot{OPS.token}/videos/")
    assert bytes(await file.download_as_bytearray()) == MP4
    path = file.file_path.removeprefix(f"{sandbox.base}/")
    resp = await sandbox.client.get(f"{sandbox.prefix}/{path}")
    assert resp.content_type == "video/mp4"


async def test_video_rules(sandbox: Sandbox) -> None:
    await sandbox.user().send("/start")
    bot = await sandbox.bot()
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await bot.send_video(ALICE, MP4, caption="c" * 1025)
    assert (await bot.send_video(ALICE, MP4, caption="c" * 1024)).caption == "c" * 1024
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):  # counted after parsing
        await bot.send_video(ALICE, MP4, caption=f"<i>{'c' * 1025}</i>", parse_mode="HTML")
    assert await bot.send_video(ALICE, MP4, caption=f"<i>{'c' * 1024}</i>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)video_content_type_invalid"):
        await bot.send_video(ALICE, png())
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_video(ALICE, "BAACAgIAAxkBAAIunknown")
    photo = await bot.send_photo(ALICE, png())
    with pytest.raises(BadRequest, match=r"(?i)can't use file of type photo as video"):
        await bot.send_video(ALICE, photo.photo[-1].file_id)
    kinds = [e["kind"] for e in sandbox.fake.timeline("ops", ALICE) if e["sender"] == "bot"]
    assert kinds == ["video", "video", "photo"]


async def test_an_upload_over_the_video_limit_is_too_large(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = await sandbox_factory(limits=TelegramLimits(video_upload_bytes=len(MP4)))
    await sandbox.user().send("/start")
    bot = await sandbox.bot()
    assert await bot.send_video(ALICE, MP4)
    with pytest.raises(NetworkError, match="Request Entity Too Large"):
        await bot.send_video(ALICE, MP4 + b"\0")
    calls = sandbox.fake.calls_to("sendVideo")
    assert [c["status"] for c in calls] == [200, 413]
    assert TelegramLimits().video_upload_bytes == 50 * MB


async def test_a_video_by_url_is_fetched(sandbox: Sandbox, aiohttp_server: Any) -> None:
    async def mp4(_: web.Request) -> web.Response:
        return web.Response(body=MP4, content_type="video/mp4")

    async def page(_: web.Request) -> web.Response:
        return web.Response(text="<html></html>", content_type="text/html")

    site = web.Application()
    site.router.add_get("/intro.mp4", mp4)
    site.router.add_get("/page", page)
    server = await aiohttp_server(site)
    await sandbox.user().send("/start")
    bot = await sandbox.bot()
    message = await bot.send_video(ALICE, str(server.make_url("/intro.mp4")))
    assert message.video is not None and message.video.file_size == len(MP4)
    with pytest.raises(BadRequest, match=r"(?i)wrong type of the web page content"):
        await bot.send_video(ALICE, str(server.make_url("/page")))
    with pytest.raises(BadRequest, match=r"(?i)failed to get http url content"):
        await bot.send_video(ALICE, str(server.make_url("/missing.mp4")))
