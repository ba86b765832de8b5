"""Parametric QR codes (§2.4)."""

from __future__ import annotations

from typing import Any

import pytest

from channels.wechat.sandbox import Limits


def qr(action: str, scene: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"action_name": action, "action_info": {"scene": scene}, **extra}


async def create(fake: Any, body: dict[str, Any]) -> Any:
    return await fake.api("POST", "/cgi-bin/qrcode/create", json=body)


@pytest.mark.parametrize(
    ("body", "ok"),
    [
        (qr("QR_SCENE", {"scene_id": 0}), False),
        (qr("QR_SCENE", {"scene_id": 2**32}), False),
        (qr("QR_SCENE", {"scene_id": 2**32 - 1}), True),
        (qr("QR_SCENE", {"scene_id": "7"}), False),
        (qr("QR_STR_SCENE", {"scene_str": ""}), False),
        (qr("QR_STR_SCENE", {"scene_str": "码" * 64}), True),
        (qr("QR_STR_SCENE", {"scene_str": "x" * 65}), False),
        (qr("QR_LIMIT_SCENE", {"scene_id": 100_000}), True),
        (qr("QR_LIMIT_SCENE", {"scene_id": 100_001}), False),
        (qr("QR_LIMIT_SCENE", {"scene_id": 0}), False),
        (qr("QR_LIMIT_STR_SCENE", {"scene_str": "x" * 65}), False),
        (qr("QR_SCENE", {"scene_id": 1}, expire_seconds=2_592_000), True),
        (qr("QR_SCENE", {"scene_id": 1}, expire_seconds=2_592_001), False),
        (qr("QR_SCENE", {"scene_id": 1}, expire_seconds=0), False),
        (qr("QR_FOREVER", {"scene_id": 1}), False),
        ({"action_name": "QR_SCENE"}, False),
    ],
)
async def test_scene_and_expiry_ranges(fake: Any, body: dict[str, Any], ok: bool) -> None:
    answer = await create(fake, body)
    assert ("ticket" in answer) == ok, answer
    if not ok:
        assert answer["errcode"] == 40053


async def test_temporary_code_defaults_to_60_s_and_its_image_expires(fake: Any, clock: Any) -> None:
    answer = await create(fake, qr("QR_SCENE", {"scene_id": 9}))
    assert answer["expire_seconds"] == 60 and answer["url"].startswith("http://weixin.qq.com/q/")
    resp = await fake.client.get("/cgi-bin/showqrcode", params={"ticket": answer["ticket"]})
    assert resp.status == 200 and resp.content_type == "image/png"
    assert (await resp.read()).startswith(b"\x89PNG\r\n\x1a\n")
    clock.advance(61)
    resp = await fake.client.get("/cgi-bin/showqrcode", params={"ticket": answer["ticket"]})
    assert resp.status == 404


async def test_unknown_ticket_is_404_and_permanent_codes_do_not_expire(
    fake: Any, clock: Any
) -> None:
    resp = await fake.client.get("/cgi-bin/showqrcode", params={"ticket": "nope"})
    assert resp.status == 404
    answer = await create(fake, qr("QR_LIMIT_SCENE", {"scene_id": 5}))
    assert "expire_seconds" not in answer and answer["ticket"].endswith("=")
    clock.advance(400 * 86400)
    resp = await fake.client.get("/cgi-bin/showqrcode", params={"ticket": answer["ticket"]})
    assert resp.status == 200


async def test_permanent_codes_are_reused_per_scene_and_limited(fake_factory: Any) -> None:
    fake = await fake_factory(limits=Limits(permanent_qr_codes=2))
    first = await create(fake, qr("QR_LIMIT_STR_SCENE", {"scene_str": "a"}))
    again = await create(fake, qr("QR_LIMIT_STR_SCENE", {"scene_str": "a"}))
    assert first["ticket"] == again["ticket"]
    await create(fake, qr("QR_LIMIT_STR_SCENE", {"scene_str": "b"}))
    third = await create(fake, qr("QR_LIMIT_STR_SCENE", {"scene_str": "c"}))
    assert third["errcode"] == 45009
    assert "ticket" in await create(fake, qr("QR_STR_SCENE", {"scene_str": "c"}))


async def test_scan_of_a_numeric_scene_reports_qr_scene(fake: Any) -> None:
    await create(fake, qr("QR_SCENE", {"scene_id": 77}, expire_seconds=600))
    await fake.act("safe", "oScanner", "follow", scene=77)
    info = await fake.api("GET", "/cgi-bin/user/info", params={"openid": "oScanner"})
    assert (info["qr_scene"], info["qr_scene_str"]) == (77, "")
    assert fake.receiver.messages()[-1].scene_id == "77"
