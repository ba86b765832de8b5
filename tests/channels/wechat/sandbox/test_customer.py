"""The customer side: callbacks in every mode, retries, replies and the timeline (§1)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from channels.wechat.sandbox import UNAVAILABLE_NOTICE, parse_xml

from .conftest import delayed, image_reply, news_reply, png, raw, text_reply

OPENID = "oCustomer0000000000000000001"


@pytest.mark.parametrize("name", ["plain", "compat", "safe"])
async def test_text_callback_reaches_the_bot_verified_in_every_mode(fake: Any, name: str) -> None:
    await fake.act(name, OPENID, "follow")
    fake.receiver.respond(text_reply("hello back"))
    result = await fake.act(name, OPENID, "text", content="你好")
    assert result["outcome"] == "reply" and result["attempts"] == 1
    assert result["reply"]["Content"] == "hello back"
    received = fake.receiver.received[-1]
    account = fake.accounts[name]
    assert received.message.type == "text" and received.message.content == "你好"
    assert received.message.source == OPENID and received.message.target == account.original_id
    assert received.query["openid"] == OPENID
    outer = parse_xml(received.body)
    assert ("Encrypt" in outer) == (name != "plain")
    assert ("Content" in outer) == (name != "safe")
    assert fake.receiver.rejected == []
    entries = fake.platform.timeline(name, OPENID)
    assert [(e["direction"], e["via"]) for e in entries[-2:]] == [
        ("in", "customer"),
        ("out", "passive"),
    ]
    assert entries[-1]["message"] == {"type": "text", "content": "hello back"}
    assert result["seq"] == entries[-1]["seq"]


async def test_message_ids_are_unique_and_increasing(fake: Any) -> None:
    await fake.act("safe", OPENID, "follow")
    for content in ("a", "b", "c"):
        await fake.act("safe", OPENID, "text", content=content)
    ids = [m.id for m in fake.receiver.messages() if m.type == "text"]
    assert len(ids) == 3 and ids == sorted(set(ids))


async def test_follow_with_scene_needs_a_live_qr_and_sends_qrscene(fake: Any) -> None:
    resp = await fake.client.post(f"/sandbox/safe/users/{OPENID}/follow", json={"scene": "ch1"})
    assert resp.status == 404
    qr = await fake.api(
        "POST",
        "/cgi-bin/qrcode/create",
        json={"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": "ch1"}}},
    )
    await fake.act("safe", OPENID, "follow", scene="ch1")
    event = fake.receiver.messages()[-1]
    assert (event.event, event.scene_id, event.ticket) == ("subscribe_scan", "ch1", qr["ticket"])
    assert "qrscene_ch1" in fake.receiver.received[-1].xml
    info = await fake.api("GET", "/cgi-bin/user/info", params={"openid": OPENID})
    assert (info["subscribe"], info["subscribe_scene"], info["qr_scene_str"]) == (
        1,
        "ADD_SCENE_QR_CODE",
        "ch1",
    )
    await fake.act("safe", OPENID, "follow", scene="ch1")
    scan = fake.receiver.received[-1]
    assert scan.message.event == "scan" and "<EventKey><![CDATA[ch1]]></EventKey>" in scan.xml
    resp = await fake.client.post(f"/sandbox/safe/users/{OPENID}/follow", json={})
    assert resp.status == 409


async def test_events_of_one_customer_never_share_a_create_time(fake: Any) -> None:
    await fake.act("safe", OPENID, "follow")
    await fake.act("safe", OPENID, "click", key="k")
    await fake.act("safe", OPENID, "click", key="k")
    times = [m.create_time for m in fake.receiver.messages()]
    assert len(set(times)) == 3


async def test_actions_send_the_documented_events(fake: Any) -> None:
    await fake.act("plain", OPENID, "follow")
    await fake.act("plain", OPENID, "click", key="MENU_1")
    await fake.act("plain", OPENID, "view", url="https://example.com/a")
    await fake.act("plain", OPENID, "location", lat=23.134521, lng=113.358803, label="广州")
    await fake.act("plain", OPENID, "link", title="T", description="D", url="https://x.y")
    await fake.act("plain", OPENID, "voice", recognition="语音")
    await fake.act("plain", OPENID, "image")
    await fake.act("plain", OPENID, "unfollow")
    messages = fake.receiver.messages()
    kinds = [(m.type, getattr(m, "event", None)) for m in messages]
    assert kinds == [
        ("event", "subscribe"),
        ("event", "click"),
        ("event", "view"),
        ("location", None),
        ("link", None),
        ("voice", None),
        ("image", None),
        ("event", "unsubscribe"),
    ]
    assert messages[1].key == "MENU_1" and messages[2].url == "https://example.com/a"
    assert tuple(map(float, messages[3].location)) == (23.134521, 113.358803)
    assert messages[3].label == "广州"
    assert messages[5].recognition == "语音" and messages[5].format == "amr"
    image = messages[6]
    data = await fake.api("GET", "/cgi-bin/media/get", "plain", params={"media_id": image.media_id})
    assert data.startswith(b"\x89PNG")


async def test_click_must_match_the_published_menu(fake: Any) -> None:
    await fake.act("safe", OPENID, "follow")
    await fake.api(
        "POST",
        "/cgi-bin/menu/create",
        json={
            "button": [
                {"type": "click", "name": "A", "key": "K_A"},
                {
                    "name": "More",
                    "sub_button": [{"type": "view", "name": "Web", "url": "https://w.x"}],
                },
            ]
        },
    )
    assert (await fake.act("safe", OPENID, "click", key="K_A"))["outcome"] == "no_reply"
    resp = await fake.client.post(f"/sandbox/safe/users/{OPENID}/click", json={"key": "K_B"})
    assert resp.status == 400 and "K_B" in (await resp.json())["error"]
    resp = await fake.client.post(f"/sandbox/safe/users/{OPENID}/view", json={"url": "https://a"})
    assert resp.status == 400
    assert (await fake.act("safe", OPENID, "view", url="https://w.x"))["outcome"] == "no_reply"
    menu = await (await fake.client.get("/sandbox/safe/menu")).json()
    assert menu["menu"]["button"][0]["key"] == "K_A"


async def test_retries_identical_payload_after_a_timeout(fake_factory: Any) -> None:
    fake = await fake_factory(callback_timeout=0.2)
    await fake.act("safe", OPENID, "follow")
    fake.receiver.respond(delayed(0.5, text_reply("late")), text_reply("on time"))
    result = await fake.act("safe", OPENID, "text", content="hi")
    assert result["outcome"] == "reply" and result["attempts"] == 2
    assert result["reply"]["Content"] == "on time"
    first, second = fake.receiver.received[-2:]
    assert first.query == second.query and first.body == second.body


async def test_three_failures_show_the_unavailable_notice(fake_factory: Any) -> None:
    fake = await fake_factory(callback_timeout=0.15)
    await fake.act("safe", OPENID, "follow")
    slow = delayed(0.4, text_reply("late"))
    fake.receiver.respond(slow, raw(b"oops", status=502), slow)
    started = time.monotonic()
    result = await fake.act("safe", OPENID, "text", content="hi")
    assert time.monotonic() - started < 2
    assert (result["outcome"], result["attempts"]) == ("unavailable", 3)
    assert "3 attempts failed" in result["detail"]
    last = fake.platform.timeline("safe", OPENID)[-1]
    assert last["via"] == "system" and last["message"]["content"] == UNAVAILABLE_NOTICE


@pytest.mark.parametrize(
    ("name", "responder", "detail"),
    [
        ("safe", text_reply("plain", encrypt=False), "requires an encrypted"),
        ("plain", raw(b'{"msgtype": "text"}'), "not well-formed"),
        ("compat", raw(b"<xml><Content>x</Content></xml>"), "lacks ToUserName"),
        ("compat", raw(b"nope", status=404), "HTTP 404"),
        ("safe", image_reply("not-uploaded"), "not a live uploaded image"),
    ],
)
async def test_invalid_replies_show_the_notice_without_retry(
    fake: Any, name: str, responder: Any, detail: str
) -> None:
    await fake.act(name, OPENID, "follow")
    fake.receiver.respond(responder)
    result = await fake.act(name, OPENID, "text", content="hi")
    assert (result["outcome"], result["attempts"]) == ("unavailable", 1)
    assert detail in result["detail"]
    assert fake.platform.timeline(name, OPENID)[-1]["message"]["content"] == UNAVAILABLE_NOTICE


@pytest.mark.parametrize("body", [b"success", b""])
async def test_success_and_empty_body_mean_no_reply(fake: Any, body: bytes) -> None:
    await fake.act("compat", OPENID, "follow")
    fake.receiver.respond(raw(body))
    result = await fake.act("compat", OPENID, "text", content="hi")
    assert (result["outcome"], result["reply"]) == ("no_reply", None)
    assert fake.platform.timeline("compat", OPENID)[-1]["direction"] == "in"


async def test_news_reply_keeps_1_article_for_messages_and_8_for_events(fake: Any) -> None:
    fake.receiver.respond(news_reply(9), news_reply(3))
    await fake.act("safe", OPENID, "follow")
    followed = fake.platform.timeline("safe", OPENID)[-1]["message"]
    assert (len(followed["articles"]), followed["dropped"]) == (8, 1)
    await fake.act("safe", OPENID, "text", content="news please")
    answered = fake.platform.timeline("safe", OPENID)[-1]["message"]
    assert (len(answered["articles"]), answered["dropped"]) == (1, 2)
    assert answered["articles"][0]["url"] == "http://x/0"


async def test_image_reply_with_uploaded_media_is_shown(fake: Any) -> None:
    uploaded = await fake.upload("/cgi-bin/media/upload", png(), type="image")
    await fake.act("safe", OPENID, "follow")
    fake.receiver.respond(image_reply(uploaded["media_id"]))
    result = await fake.act("safe", OPENID, "text", content="pic")
    assert result["outcome"] == "reply"
    assert fake.platform.timeline("safe", OPENID)[-1]["message"] == {
        "type": "image",
        "media_id": uploaded["media_id"],
    }


async def test_reply_to_unsubscribe_is_not_seen(fake: Any) -> None:
    await fake.act("safe", OPENID, "follow")
    fake.receiver.respond(text_reply("bye"))
    result = await fake.act("safe", OPENID, "unfollow")
    assert result["outcome"] == "reply"
    assert fake.platform.timeline("safe", OPENID)[-1]["message"]["event"] == "unsubscribe"
    resp = await fake.client.post(f"/sandbox/safe/users/{OPENID}/text", json={"content": "x"})
    assert resp.status == 409


async def test_the_bot_may_use_the_follow_allowance_while_answering(fake: Any) -> None:
    codes: list[int] = []

    async def answer_then_send(received: Any) -> Any:
        body = {"touser": OPENID, "msgtype": "text", "text": {"content": "second"}}
        codes.append((await fake.api("POST", "/cgi-bin/message/custom/send", json=body))["errcode"])
        return await text_reply("first")(received)

    fake.receiver.respond(answer_then_send)
    result = await fake.act("safe", OPENID, "follow")
    assert codes == [0] and result["outcome"] == "reply"
    seen = [(e["via"], e["message"].get("content")) for e in fake.platform.timeline("safe", OPENID)]
    assert seen[1:] == [("customer_service", "second"), ("passive", "first")]


async def test_transfer_to_customer_service_shows_nothing(fake: Any) -> None:
    await fake.act("plain", OPENID, "follow")
    gh = fake.accounts["plain"].original_id
    fake.receiver.respond(
        raw(
            f"<xml><ToUserName>{OPENID}</ToUserName><FromUserName>{gh}</FromUserName>"
            "<CreateTime>1</CreateTime><MsgType>transfer_customer_service</MsgType></xml>".encode()
        )
    )
    result = await fake.act("plain", OPENID, "text", content="agent please")
    assert result["outcome"] == "reply"
    assert result["reply"]["MsgType"] == "transfer_customer_service"
    assert fake.platform.timeline("plain", OPENID)[-1]["direction"] == "in"
