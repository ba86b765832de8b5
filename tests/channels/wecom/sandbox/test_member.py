"""Member callbacks over real HTTP: signed and encrypted right, retried, replies recorded."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import pytest

from channels.wechat.sandbox import ActionRejected, parse_xml

from .conftest import (
    delayed,
    empty,
    encrypted_text_reply,
    png,
    raw,
    status,
)


async def test_say_reaches_the_bot_signed_and_encrypted(fake: Any) -> None:
    member = fake.wecom.member("ops", "ZhangSan", name="张三")
    outcome = await member.say("查询 订单")
    assert (outcome.attempts, outcome.statuses, outcome.errors) == (1, (200,), ())
    assert outcome.delivered and outcome.reply is None
    assert fake.receiver.rejected == []
    [received] = fake.receiver.received
    message = received.message
    assert (message.type, message.source, message.content) == ("text", "ZhangSan", "查询 订单")
    assert message.id == outcome.msg_id and message.id > 2**62
    assert (message.agent, message.target) == (1000002, "ww0000000000000001")
    outer = parse_xml(received.body)
    assert (outer["ToUserName"], outer["AgentID"]) == ("ww0000000000000001", "1000002")
    assert abs(int(received.query["timestamp"]) - fake.wecom.clock.now()) < 5


async def test_callbacks_follow_the_fake_clock(fake: Any, clock: Any) -> None:
    clock.advance(86400)
    await fake.wecom.member("ops", "lisi").say("hi")
    message = fake.receiver.received[0].message
    assert message.create_time.timestamp() > clock.now() - 5
    assert int(fake.receiver.received[0].query["timestamp"]) > clock.now() - 5


async def test_500_is_retried_three_times_with_the_same_body(fake: Any) -> None:
    fake.receiver.respond(status(500), status(500), status(500))
    outcome = await fake.wecom.member("ops", "lisi").say("again")
    assert (outcome.attempts, outcome.statuses) == (3, (500, 500, 500))
    assert not outcome.delivered and len(outcome.errors) == 3
    bodies = {r.body for r in fake.receiver.received}
    ids = {r.message.id for r in fake.receiver.received}
    assert len(fake.receiver.received) == 3 and len(bodies) == 1 and ids == {outcome.msg_id}


async def test_a_retry_that_succeeds_stops_the_attempts(fake: Any) -> None:
    fake.receiver.respond(status(503), empty())
    outcome = await fake.wecom.member("ops", "lisi").say("x")
    assert (outcome.attempts, outcome.statuses, outcome.delivered) == (2, (503, 200), True)
    assert len(fake.receiver.received) == 2


async def test_timeouts_are_retried(fake_factory: Any) -> None:
    fake = await fake_factory(callback_timeout=0.2)
    fake.receiver.respond(delayed(1.0, empty()), empty())
    outcome = await fake.wecom.member("ops", "lisi").say("slow")
    assert outcome.statuses == (None, 200) and "no answer within 0.2 s" in outcome.errors[0]


async def test_unreachable_bot_gives_three_failed_attempts(fake_factory: Any) -> None:
    fake = await fake_factory()
    state = fake.wecom.state("ops")
    state.app = dataclasses.replace(state.app, callback_url="http://127.0.0.1:1/wecom/ops")
    outcome = await fake.wecom.member("ops", "lisi").say("x")
    assert outcome.statuses == (None, None, None) and "connection failed" in outcome.errors[0]


async def test_encrypted_passive_reply_goes_on_the_timeline(fake: Any) -> None:
    fake.receiver.respond(encrypted_text_reply("收到"))
    member = fake.wecom.member("ops", "lisi")
    outcome = await member.say("hello")
    assert outcome.reply is not None and outcome.reply["Content"] == "收到"
    [entry] = member.timeline
    assert (entry["kind"], entry["via"], entry["content"], entry["seq"]) == (
        "text",
        "passive_reply",
        "收到",
        outcome.seq,
    )


async def test_plaintext_or_success_reply_is_reported_not_shown(fake: Any) -> None:
    fake.receiver.respond(raw(b"success"), raw(b"<xml><Content>hi</Content></xml>"))
    member = fake.wecom.member("ops", "lisi")
    first = await member.say("a")
    second = await member.say("b")
    assert first.delivered and "reply ignored" in first.errors[0]
    assert "Encrypt" in second.errors[0]
    assert member.timeline == [] and (first.attempts, second.attempts) == (1, 1)


async def test_send_image_stores_media_the_bot_can_fetch(fake: Any) -> None:
    photo = png(300)
    outcome = await fake.wecom.member("ops", "lisi").send_image(photo)
    assert outcome.delivered
    message = fake.receiver.received[0].message
    assert message.type == "image" and message.image.startswith("https://")
    fetched = await fake.api("GET", "/cgi-bin/media/get", params={"media_id": message.media_id})
    assert fetched == photo
    assert hashlib.sha256(fetched).hexdigest() == hashlib.sha256(photo).hexdigest()


async def test_send_image_refuses_non_images(fake: Any) -> None:
    with pytest.raises(ActionRejected, match="PNG or JPEG"):
        await fake.wecom.member("ops", "lisi").send_image(b"GIF89a" + bytes(40))


async def test_events_carry_key_and_distinct_create_times(fake: Any) -> None:
    member = fake.wecom.member("ops", "lisi")
    await member.event("enter_agent")
    await member.event("click", "REPORT")
    first, second = (r.message for r in fake.receiver.received)
    assert (first.type, first.event) == ("event", "enter_agent")
    assert (second.event, second.key) == ("click", "REPORT")
    assert first.create_time != second.create_time
    outcome = await member.event("click", "X")
    assert outcome.msg_id is None and outcome.delivered


async def test_verify_url_matches_wecom_and_catches_a_wrong_echo(fake: Any) -> None:
    member = fake.wecom.member("ops", "lisi")
    assert await member.verify_url() is True
    query = fake.receiver.verifications[0]
    assert set(query) == {"msg_signature", "timestamp", "nonce", "echostr"}
    fake.receiver.echo_override = "wrong"
    assert await member.verify_url() is False


async def test_members_join_the_corp_directory(fake: Any) -> None:
    member = fake.wecom.member("ops", "WangWu", name="王五")
    corp = fake.wecom.state("admin").corp
    assert corp.find("wangwu") is not None and corp.find("wangwu").name == "王五"
    assert fake.wecom.state("other").corp.find("wangwu") is None
    assert fake.wecom.member("ops", "wangwu") is member
    with pytest.raises(ActionRejected, match="userid"):
        fake.wecom.member("ops", "bad id")
