"""Custom-service messages (§2.2): window, allowances and payload rules."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import JPEG, delayed, png, success

OPENID = "oCustomer0000000000000000002"


async def send(
    fake: Any,
    msgtype: str = "text",
    payload: Any = None,
    *,
    touser: str = OPENID,
    name: str = "safe",
) -> int:
    body = {
        "touser": touser,
        "msgtype": msgtype,
        msgtype: payload if payload is not None else {"content": "hi"},
    }
    return int((await fake.api("POST", "/cgi-bin/message/custom/send", name, json=body))["errcode"])


async def test_no_interaction_means_45015(fake: Any) -> None:
    fake.platform.add_follower("safe", OPENID)
    assert await send(fake) == 45015


async def test_a_message_allows_5_sends_for_48_hours(fake: Any, clock: Any) -> None:
    await fake.act("safe", OPENID, "follow")
    clock.advance(61)  # the follow allowance is over
    await fake.act("safe", OPENID, "text", content="hi")
    assert [await send(fake) for _ in range(6)] == [0, 0, 0, 0, 0, 45047]
    entries = [e for e in fake.platform.timeline("safe", OPENID) if e["via"] == "customer_service"]
    assert len(entries) == 5 and entries[0]["message"] == {"type": "text", "content": "hi"}


async def test_the_message_window_closes_after_48_hours(fake: Any, clock: Any) -> None:
    await fake.act("safe", OPENID, "follow")
    await fake.act("safe", OPENID, "text", content="hi")
    clock.advance(48 * 3600 - 5)
    assert await send(fake) == 0
    clock.advance(10)
    assert await send(fake) == 45015


async def test_follow_allows_3_sends_within_one_minute(fake: Any, clock: Any) -> None:
    await fake.act("safe", OPENID, "follow")
    assert [await send(fake) for _ in range(4)] == [0, 0, 0, 45047]
    clock.advance(61)
    assert await send(fake) == 45015


async def test_follow_allowance_expires_after_one_minute(fake: Any, clock: Any) -> None:
    await fake.act("safe", OPENID, "follow")
    clock.advance(59)
    assert await send(fake) == 0
    clock.advance(2)
    assert await send(fake) == 45015


@pytest.mark.parametrize("action", ["click", "scan"])
async def test_click_and_scan_allow_3_sends(fake: Any, clock: Any, action: str) -> None:
    await fake.api(
        "POST",
        "/cgi-bin/qrcode/create",
        json={
            "action_name": "QR_STR_SCENE",
            "action_info": {"scene": {"scene_str": "s"}},
            "expire_seconds": 3600,
        },
    )
    await fake.act("safe", OPENID, "follow")
    clock.advance(61)
    assert await send(fake) == 45015
    body = {"key": "k"} if action == "click" else {"scene": "s"}
    await fake.act("safe", OPENID, action, **body)
    assert [await send(fake) for _ in range(4)] == [0, 0, 0, 45047]


async def test_view_earns_nothing(fake: Any, clock: Any) -> None:
    await fake.act("safe", OPENID, "follow")
    clock.advance(61)
    await fake.act("safe", OPENID, "view", url="https://a.b")
    assert await send(fake) == 45015


async def test_the_allowance_expiring_first_is_used_first(fake: Any, clock: Any) -> None:
    await fake.act("safe", OPENID, "follow")
    clock.advance(61)
    await fake.act("safe", OPENID, "text", content="hi")  # 5 for 48 h
    await fake.act("safe", OPENID, "click", key="k")  # 3 for 1 min
    assert [await send(fake) for _ in range(3)] == [0, 0, 0]  # taken from the click
    clock.advance(61)
    assert [await send(fake) for _ in range(6)] == [0, 0, 0, 0, 0, 45047]


async def test_grant_is_kept_when_the_bot_is_unavailable(fake_factory: Any) -> None:
    fake = await fake_factory(callback_timeout=0.1)
    fake.receiver.respond(*[delayed(0.3, success())] * 3)
    result = await fake.act("safe", OPENID, "follow")
    assert result["outcome"] == "unavailable"
    assert await send(fake) == 0


async def test_unfollowing_ends_the_window(fake: Any) -> None:
    await fake.act("safe", OPENID, "follow")
    await fake.act("safe", OPENID, "unfollow")
    assert await send(fake) == 45015


async def test_unknown_openid_and_other_accounts_openid(fake: Any) -> None:
    await fake.act("plain", OPENID, "follow")
    assert await send(fake, touser="oNobody") == 40003
    assert await send(fake, name="safe") == 40003
    assert await send(fake, name="plain") == 0


@pytest.mark.parametrize(
    ("msgtype", "payload", "errcode"),
    [
        ("sticker", {"media_id": "x"}, 40008),
        ("text", {"content": ""}, 44004),
        ("text", {"content": 5}, 47001),
        ("image", {"media_id": "never-issued"}, 40007),
        ("voice", {"media_id": "IMAGE"}, 40007),
        ("news", {"articles": []}, 45008),
        ("news", {"articles": [{"title": "a"}, {"title": "b"}]}, 45008),
        ("mpnews", {"media_id": "IMAGE"}, 40007),
        ("msgmenu", {"head_content": "h", "list": []}, 47001),
        ("miniprogrampage", {"title": "t", "appid": "wx1", "pagepath": "p"}, 40007),
        ("music", {"musicurl": "u", "hqmusicurl": "u", "thumb_media_id": "THUMB"}, 0),
        ("news", {"articles": [{"title": "a", "url": "https://a"}]}, 0),
        ("image", {"media_id": "IMAGE"}, 0),
        ("mpnewsarticle", {"article_id": "A1"}, 0),
        ("wxcard", {"card_id": "c"}, 0),
        ("msgmenu", {"head_content": "h", "list": [{"id": "1", "content": "yes"}]}, 0),
    ],
)
async def test_payload_rules(
    fake: Any, msgtype: str, payload: dict[str, Any], errcode: int
) -> None:
    image = await fake.upload("/cgi-bin/media/upload", png(), type="image")
    thumb = await fake.upload("/cgi-bin/media/upload", JPEG, type="thumb")
    ids = {"IMAGE": image["media_id"], "THUMB": thumb["thumb_media_id"]}
    payload = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in payload.items()}
    await fake.act("safe", OPENID, "follow")
    assert await send(fake, msgtype, payload) == errcode


async def test_invalid_payload_does_not_use_the_allowance(fake: Any) -> None:
    await fake.act("safe", OPENID, "follow")
    assert await send(fake, "image", {"media_id": "nope"}) == 40007
    assert [await send(fake) for _ in range(4)] == [0, 0, 0, 45047]


async def test_typing_needs_an_open_window(fake: Any) -> None:
    fake.platform.add_follower("safe", OPENID)
    path = "/cgi-bin/message/custom/typing"
    body = {"touser": OPENID, "command": "Typing"}
    assert (await fake.api("POST", path, json=body))["errcode"] == 45015
    await fake.act("safe", OPENID, "text", content="hi")
    assert (await fake.api("POST", path, json=body))["errcode"] == 0
    bad = await fake.api("POST", path, json={**body, "command": "Dance"})
    assert bad["errcode"] == 40097


async def test_malformed_bodies(fake: Any) -> None:
    path = "/cgi-bin/message/custom/send"
    assert (await fake.api("POST", path, data=b""))["errcode"] == 44002
    assert (await fake.api("POST", path, data=b"[1]"))["errcode"] == 47001
    assert (await fake.api("POST", path, data=b"{oops"))["errcode"] == 47001
