"""Media and materials (§2.7): sizes, types by magic bytes, lifetimes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import FormData

from channels.wechat.sandbox import Limits

from .conftest import AMR, JPEG, MP4, png

GIF = b"GIF89a" + bytes(40)
BMP = b"BM" + bytes(60)
WAV = b"RIFF\x00\x00\x00\x00WAVE" + bytes(40)


@pytest.mark.parametrize(
    ("kind", "data", "errcode"),
    [
        ("image", png(), 0),
        ("image", JPEG, 0),
        ("image", GIF, 0),
        ("image", BMP, 40005),  # bmp only as permanent material
        ("image", b"%PDF-1.7" + bytes(40), 40005),
        ("image", MP4, 40005),
        ("voice", AMR, 0),
        ("voice", b"ID3" + bytes(40), 0),
        ("voice", WAV, 40005),
        ("voice", AMR + bytes(2 * 1024 * 1024), 40010),
        ("video", MP4, 0),
        ("video", png(), 40005),
        ("video", MP4 + bytes(10 * 1024 * 1024), 40011),
        ("thumb", JPEG, 0),
        ("thumb", png(), 40005),
        ("thumb", JPEG + bytes(64 * 1024), 40012),
        ("thumb", b"", 40006),
        ("file", JPEG, 40004),
    ],
)
async def test_temporary_upload_rules(fake: Any, kind: str, data: bytes, errcode: int) -> None:
    answer = await fake.upload("/cgi-bin/media/upload", data, type=kind)
    assert answer.get("errcode", 0) == errcode, answer
    if errcode == 0:
        key = "thumb_media_id" if kind == "thumb" else "media_id"
        assert answer["type"] == kind and answer[key] and isinstance(answer["created_at"], int)


async def test_image_size_limit_is_a_setting(fake_factory: Any) -> None:
    fake = await fake_factory(limits=Limits(temp_image_bytes=2000))
    assert (await fake.upload("/cgi-bin/media/upload", png(2000), type="image"))["media_id"]
    answer = await fake.upload("/cgi-bin/media/upload", png(2001), type="image")
    assert answer["errcode"] == 40009


async def test_default_image_limit_is_10_mb(fake: Any) -> None:
    ok = await fake.upload("/cgi-bin/media/upload", png(10 * 1024 * 1024), type="image")
    assert "media_id" in ok
    big = await fake.upload("/cgi-bin/media/upload", png(10 * 1024 * 1024 + 1), type="image")
    assert big["errcode"] == 40009


async def test_missing_media_field_and_non_multipart(fake: Any) -> None:
    form = FormData()
    form.add_field("other", JPEG, filename="a.jpg")
    answer = await fake.api("POST", "/cgi-bin/media/upload", params={"type": "image"}, data=form)
    assert answer["errcode"] == 41005
    answer = await fake.api("POST", "/cgi-bin/media/upload", params={"type": "image"}, json={})
    assert answer["errcode"] == 41005
    call = fake.platform.calls_to("/cgi-bin/media/upload")[0]
    assert call["body"]["files"]["other"]["size"] == len(JPEG)


async def test_temporary_media_lives_three_days(fake: Any, clock: Any) -> None:
    media_id = (await fake.upload("/cgi-bin/media/upload", JPEG, type="image"))["media_id"]
    assert await fake.api("GET", "/cgi-bin/media/get", params={"media_id": media_id}) == JPEG
    clock.advance(3 * 86400 - 10)
    assert await fake.api("GET", "/cgi-bin/media/get", params={"media_id": media_id}) == JPEG
    clock.advance(20)
    gone = await fake.api("GET", "/cgi-bin/media/get", params={"media_id": media_id})
    assert gone["errcode"] == 40007


async def test_media_belongs_to_its_account(fake: Any) -> None:
    media_id = (await fake.upload("/cgi-bin/media/upload", JPEG, "plain", type="image"))["media_id"]
    other = await fake.api("GET", "/cgi-bin/media/get", "safe", params={"media_id": media_id})
    assert other["errcode"] == 40007


async def test_permanent_materials(fake: Any, clock: Any) -> None:
    image = await fake.upload("/cgi-bin/material/add_material", BMP, type="image")
    assert image["url"].startswith("http://mmbiz.qpic.cn/")
    no_description = await fake.upload("/cgi-bin/material/add_material", MP4, type="video")
    assert no_description["errcode"] == 47001
    video = await fake.upload(
        "/cgi-bin/material/add_material",
        MP4,
        type="video",
        description=json.dumps({"title": "V", "introduction": "I"}),
    )
    assert "url" not in video
    voice = await fake.upload("/cgi-bin/material/add_material", WAV, type="voice")
    clock.advance(30 * 86400)
    got = await fake.api(
        "POST", "/cgi-bin/material/get_material", json={"media_id": video["media_id"]}
    )
    assert (got["title"], got["description"]) == ("V", "I")
    raw = await fake.api(
        "POST", "/cgi-bin/material/get_material", json={"media_id": image["media_id"]}
    )
    assert raw == BMP
    counts = await fake.api("GET", "/cgi-bin/material/get_materialcount")
    assert counts == {"voice_count": 1, "video_count": 1, "image_count": 1, "news_count": 0}
    deleted = await fake.api(
        "POST", "/cgi-bin/material/del_material", json={"media_id": voice["media_id"]}
    )
    assert deleted["errcode"] == 0
    again = await fake.api(
        "POST", "/cgi-bin/material/del_material", json={"media_id": voice["media_id"]}
    )
    assert again["errcode"] == 40007


async def test_batchget_pages_and_count_range(fake: Any) -> None:
    for _ in range(3):
        await fake.upload("/cgi-bin/material/add_material", JPEG, type="image")
    path = "/cgi-bin/material/batchget_material"
    page = await fake.api("POST", path, json={"type": "image", "offset": 1, "count": 20})
    assert (page["total_count"], page["item_count"]) == (3, 2)
    assert {"media_id", "name", "update_time", "url"} <= set(page["item"][0])
    for count in (0, 21):
        bad = await fake.api("POST", path, json={"type": "image", "offset": 0, "count": count})
        assert bad["errcode"] == 40097
    bad_type = await fake.api("POST", path, json={"type": "thumb", "offset": 0, "count": 1})
    assert bad_type["errcode"] == 40004


async def test_uploadimg_takes_small_jpg_or_png(fake: Any) -> None:
    url = (await fake.upload("/cgi-bin/media/uploadimg", png(), type="image"))["url"]
    assert url.startswith("http://mmbiz.qpic.cn/mmbiz_png/")
    too_big = await fake.upload("/cgi-bin/media/uploadimg", png(1024 * 1024), type="image")
    assert too_big["errcode"] == 40009
    gif = await fake.upload("/cgi-bin/media/uploadimg", GIF, type="image")
    assert gif["errcode"] == 40005
    counts = await fake.api("GET", "/cgi-bin/material/get_materialcount")
    assert counts["image_count"] == 0
