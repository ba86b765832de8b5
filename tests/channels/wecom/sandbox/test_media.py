"""Temporary media: upload type, size and magic-byte checks, media/get, the 3-day lifetime."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import FormData

from channels.wecom.sandbox import WecomLimits

from .conftest import AMR, GIF, JPEG, MP4, png

MB = 1024 * 1024
SMALL = WecomLimits(image_bytes=1000, voice_bytes=500, video_bytes=800, file_bytes=2000)


@pytest.mark.parametrize(
    ("kind", "data", "errcode"),
    [
        ("image", png(), 0),
        ("image", JPEG, 0),
        ("image", GIF, 40004),
        ("image", b"%PDF-1.7" + bytes(40), 40004),
        ("image", MP4, 40004),
        ("voice", AMR, 0),
        ("voice", b"ID3" + bytes(40), 40004),
        ("video", MP4, 0),
        ("video", png(), 40004),
        ("file", b"%PDF-1.7" + bytes(40), 0),
        ("file", b"123456", 0),
        ("file", b"12345", 40006),
        ("file", b"", 44001),
        ("thumb", JPEG, 40005),
        ("mpnews", JPEG, 40005),
    ],
)
async def test_upload_type_and_content_rules(
    fake: Any, clock: Any, kind: str, data: bytes, errcode: int
) -> None:
    clock.advance(86400)  # created_at is platform time
    answer = await fake.upload(kind, data, filename="report.pdf")
    assert answer["errcode"] == errcode, answer
    if errcode == 0:
        assert answer["type"] == kind and answer["media_id"] and answer["errmsg"] == "ok"
        assert isinstance(answer["created_at"], str) and answer["created_at"].isdigit()
        assert abs(int(answer["created_at"]) - fake.wecom.clock.now()) < 5


@pytest.mark.parametrize(
    ("kind", "data", "errcode"),
    [
        ("image", png(1000), 0),
        ("image", png(1001), 40009),
        ("voice", AMR + bytes(500 - len(AMR)), 0),
        ("voice", AMR + bytes(501 - len(AMR)), 40006),
        ("video", MP4 + bytes(800 - len(MP4)), 0),
        ("video", MP4 + bytes(801 - len(MP4)), 40011),
        ("file", bytes(2000), 0),
        ("file", bytes(2001), 40006),
    ],
)
async def test_upload_size_limits(fake_factory: Any, kind: str, data: bytes, errcode: int) -> None:
    fake = await fake_factory(limits=SMALL)
    assert (await fake.upload(kind, data))["errcode"] == errcode


def test_default_limits_are_the_platforms() -> None:
    limits = WecomLimits()
    assert (limits.image_bytes, limits.voice_bytes, limits.video_bytes, limits.file_bytes) == (
        10 * MB,
        2 * MB,
        10 * MB,
        20 * MB,
    )
    assert limits.media_ttl == 3 * 86400


async def test_default_image_limit_is_10_mb(fake: Any) -> None:
    assert (await fake.upload("image", png(10 * MB)))["errcode"] == 0
    assert (await fake.upload("image", png(10 * MB + 1)))["errcode"] == 40009


async def test_upload_needs_the_media_field(fake: Any) -> None:
    form = FormData()
    form.add_field("file", JPEG, filename="a.jpg")
    answer = await fake.api("POST", "/cgi-bin/media/upload", params={"type": "image"}, data=form)
    assert answer["errcode"] == 41005
    plain = await fake.api(
        "POST", "/cgi-bin/media/upload", params={"type": "image"}, data=b"raw bytes"
    )
    assert plain["errcode"] == 41005


async def test_media_get_returns_the_bytes_until_they_expire(fake: Any, clock: Any) -> None:
    data = png(2000)
    media_id = (await fake.upload("image", data))["media_id"]
    resp = await fake.client.get(
        "/cgi-bin/media/get", params={"access_token": await fake.token(), "media_id": media_id}
    )
    assert resp.status == 200 and resp.content_type == "image/png"
    assert await resp.read() == data
    clock.advance(3 * 86400 - 10)
    assert await fake.api("GET", "/cgi-bin/media/get", params={"media_id": media_id}) == data
    clock.advance(10)
    expired = await fake.api("GET", "/cgi-bin/media/get", params={"media_id": media_id})
    assert expired["errcode"] == 40007


async def test_media_get_errors(fake: Any) -> None:
    assert (await fake.api("GET", "/cgi-bin/media/get", params={"media_id": "x"}))[
        "errcode"
    ] == 40007
    assert (await fake.api("GET", "/cgi-bin/media/get"))["errcode"] == 41006


async def test_media_is_shared_within_a_corp_only(fake: Any) -> None:
    media_id = (await fake.upload("file", b"%PDF-1.7 hello", filename="r.pdf"))["media_id"]
    same_corp = await fake.api("GET", "/cgi-bin/media/get", "admin", params={"media_id": media_id})
    assert same_corp == b"%PDF-1.7 hello"
    other = await fake.api("GET", "/cgi-bin/media/get", "other", params={"media_id": media_id})
    assert other["errcode"] == 40007


async def test_file_content_type_follows_the_filename(fake: Any) -> None:
    media_id = (await fake.upload("file", b"%PDF-1.7 hello", filename="r.pdf"))["media_id"]
    resp = await fake.client.get(
        "/cgi-bin/media/get", params={"access_token": await fake.token(), "media_id": media_id}
    )
    assert resp.content_type == "application/pdf"
    assert 'filename="r.pdf"' in resp.headers["Content-Disposition"]
