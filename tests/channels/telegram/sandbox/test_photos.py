"""sendPhoto, users' photos, getFile and downloads."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from aiohttp import web
from telegram.error import BadRequest

from .conftest import ALICE, OPS, OTHER, Sandbox, png


async def test_upload_with_caption_and_resend_by_file_id(sandbox: Sandbox) -> None:
    await sandbox.user().send("/start")
    bot = await sandbox.bot()
    image = png("upload")
    message = await bot.send_photo(ALICE, image, caption="<b>Receipt</b>", parse_mode="HTML")
    assert message.caption == "Receipt" and message.caption_entities[0].type == "bold"
    small, large = message.photo
    assert max(small.width, small.height) <= 90 and large.file_size == len(image)
    entry = sandbox.fake.timeline("ops", ALICE)[-1]
    assert entry["kind"] == "photo" and entry["caption"] == "Receipt"
    assert entry["photo"] is not None
    assert entry["photo"]["sha256"] == hashlib.sha256(image).hexdigest()
    again = await bot.send_photo(ALICE, large.file_id)
    assert again.photo[-1].file_unique_id == large.file_unique_id and again.caption is None


async def test_photo_rules(sandbox: Sandbox) -> None:
    await sandbox.user().send("/start")
    bot = await sandbox.bot()
    with pytest.raises(BadRequest, match=r"(?i)image_process_failed"):
        await bot.send_photo(ALICE, b"%PDF-1.4 not an image")
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await bot.send_photo(ALICE, png(), caption="c" * 1025)
    assert (await bot.send_photo(ALICE, png(), caption="c" * 1024)).caption == "c" * 1024
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_photo(ALICE, "AgACAgIAAxkBAAIunknown")
    oversized = png() + bytes(10 * 1024 * 1024)
    with pytest.raises(BadRequest, match=r"(?i)photo is too big"):
        await bot.send_photo(ALICE, oversized)


async def test_photo_by_url_is_fetched(sandbox: Sandbox, aiohttp_server: Any) -> None:
    image = png("by url")
    site = web.Application()

    async def serve(request: web.Request) -> web.Response:
        return web.Response(body=image, content_type="image/png")

    site.router.add_get("/p.png", serve)
    server = await aiohttp_server(site)
    await sandbox.user().send("/start")
    bot = await sandbox.bot()
    message = await bot.send_photo(ALICE, str(server.make_url("/p.png")))
    assert message.photo[-1].file_size == len(image)
    with pytest.raises(BadRequest, match=r"(?i)failed to get http url content"):
        await bot.send_photo(ALICE, str(server.make_url("/missing.png")))


async def test_users_photo_downloads_through_get_file(sandbox: Sandbox) -> None:
    image = png("from alice")
    delivery = await sandbox.user().send_photo(image, caption="/scan this")
    assert delivery.update is not None
    assert delivery.update["message"]["caption_entities"][0]["type"] == "bot_command"
    bot = await sandbox.bot()
    (update,) = await bot.get_updates()
    assert update.message is not None and len(update.message.photo) == 2
    file = await bot.get_file(update.message.photo[-1].file_id)
    assert file.file_size == len(image) and file.file_path is not None
    assert file.file_path.startswith(f"{sandbox.base}/file/bot{OPS.token}/photos/")
    assert bytes(await file.download_as_bytearray()) == image
    thumb = await bot.get_file(update.message.photo[0].file_id)
    assert (await thumb.download_as_bytearray())[:8] == b"\x89PNG\r\n\x1a\n"


async def test_file_ids_belong_to_one_bot(sandbox: Sandbox) -> None:
    delivery = await sandbox.user().send_photo(png())
    assert delivery.update is not None
    file_id = delivery.update["message"]["photo"][-1]["file_id"]
    other = await sandbox.bot(OTHER)
    with pytest.raises(BadRequest, match=r"(?i)invalid file_id"):
        await other.get_file(file_id)
    path = "photos/file_2.png"  # the original of the first photo this bot got
    own = await sandbox.client.get(f"{sandbox.prefix}/file/bot{OPS.token}/{path}")
    assert own.status == 200 and await own.read() == png()
    status, _ = await sandbox.control("GET", f"/file/bot{OTHER.token}/{path}")
    assert status == 404


async def test_user_photo_must_be_an_image(sandbox: Sandbox) -> None:
    from channels.telegram.sandbox import ActionRejected

    with pytest.raises(ActionRejected, match="IMAGE_PROCESS_FAILED"):
        await sandbox.user().send_photo(b"GIF8 broken")
