"""Video in the WeCom fake: media/upload type=video (MP4, 10 MB) and message/send msgtype video
(a live video media_id; title and description cut at 128 / 512 bytes), as the member sees it."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from channels.wecom.sandbox import WecomLimits

from .conftest import MP4, Fake, png

AGENT = 1000002
MB = 1024 * 1024


def video(media_id: Any, **extra: Any) -> dict[str, Any]:
    payload = {"media_id": media_id, **extra}
    return {"touser": "lisi", "agentid": AGENT, "msgtype": "video", "video": payload}


def seen(fake: Fake) -> list[dict[str, Any]]:
    return list(fake.wecom.timeline("ops", "lisi"))


async def test_a_video_message_shows_title_description_and_the_file(fake: Fake) -> None:
    fake.wecom.member("ops", "lisi")
    uploaded = await fake.upload("video", MP4, filename="intro.mp4")
    assert uploaded["errcode"] == 0 and uploaded["type"] == "video"
    answer = await fake.send(video(uploaded["media_id"], title="产品介绍", description="请转发"))
    assert answer["errcode"] == 0
    [entry] = seen(fake)
    assert (entry["kind"], entry["via"]) == ("video", "message/send")
    assert (entry["title"], entry["description"]) == ("产品介绍", "请转发")
    assert entry["size"] == len(MP4)
    assert entry["sha256"] == hashlib.sha256(MP4).hexdigest()
    assert (entry["content_type"], entry["filename"]) == ("video/mp4", "intro.mp4")
    assert entry["truncated"] is False and entry["msgid"] == answer["msgid"]


async def test_title_and_description_beyond_the_limits_are_cut_on_a_character(
    fake: Fake,
) -> None:
    fake.wecom.member("ops", "lisi")
    media_id = (await fake.upload("video", MP4))["media_id"]
    title = "a" + "视" * 50  # 151 bytes; byte 128 falls inside a character
    description = "说" * 200  # 600 bytes
    assert (await fake.send(video(media_id, title=title, description=description)))["errcode"] == 0
    [entry] = seen(fake)
    assert entry["title"] == "a" + "视" * 42 and len(entry["title"].encode()) == 127
    assert entry["description"] == "说" * 170 and entry["truncated"] is True


@pytest.mark.parametrize(
    ("data", "errcode"),
    [
        (MP4, 0),
        (png(), 40004),  # invalid media file type
        (b"RIFF\x00\x00\x00\x00AVI LIST" + bytes(40), 40004),
        (b"12345", 40006),  # invalid file size: 5 bytes or fewer
        (b"", 44001),  # empty media data
    ],
)
async def test_a_video_upload_must_be_mp4(fake: Fake, data: bytes, errcode: int) -> None:
    assert (await fake.upload("video", data))["errcode"] == errcode


async def test_a_video_upload_is_at_most_the_video_limit(fake_factory: Any) -> None:
    small = await fake_factory(limits=WecomLimits(video_bytes=1000))
    assert (await small.upload("video", MP4 + bytes(1000 - len(MP4))))["errcode"] == 0
    assert (await small.upload("video", MP4 + bytes(1001 - len(MP4))))["errcode"] == 40011
    assert WecomLimits().video_bytes == 10 * MB


async def test_a_video_message_needs_a_live_video_media_id(fake: Fake, clock: Any) -> None:
    fake.wecom.member("ops", "lisi")
    image = (await fake.upload("image", png()))["media_id"]
    clip = (await fake.upload("video", MP4))["media_id"]
    assert (await fake.send(video("3not-a-media-id")))["errcode"] == 40007
    assert (await fake.send(video(image)))["errcode"] == 40007  # an image is not a video
    assert (await fake.send(video(None)))["errcode"] == 41006
    assert (await fake.send(video("")))["errcode"] == 41006
    assert (await fake.send(video(clip, title=7)))["errcode"] == 40058
    assert seen(fake) == []
    clock.advance(3 * 86400)  # temporary media live three days
    assert (await fake.send(video(clip)))["errcode"] == 40007
    assert seen(fake) == []
