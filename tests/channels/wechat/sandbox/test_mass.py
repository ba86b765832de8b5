"""Mass send (§2.5): audience size, dedupe, rate, per-user quota and the finish event."""

from __future__ import annotations

from typing import Any

from channels.wechat.sandbox import Limits

from .conftest import AMR

TEXT = {"msgtype": "text", "text": {"content": "新品上线"}}


async def mass(fake: Any, path: str, body: dict[str, Any], name: str = "safe") -> Any:
    return await fake.api("POST", f"/cgi-bin/message/mass/{path}", name, json=body)


def followers(fake: Any, count: int, name: str = "safe", **kwargs: Any) -> list[str]:
    return [fake.platform.add_follower(name, f"oFan{i:024d}", **kwargs) for i in range(count)]


async def test_send_needs_2_to_10000_openids(fake: Any) -> None:
    fans = followers(fake, 2)
    assert (await mass(fake, "send", {**TEXT, "touser": fans[:1]}))["errcode"] == 40130
    too_many = [f"o{i:027d}" for i in range(10_001)]
    assert (await mass(fake, "send", {**TEXT, "touser": too_many}))["errcode"] == 40130
    ok = await mass(fake, "send", {**TEXT, "touser": fans})
    assert ok["errcode"] == 0 and ok["errmsg"] == "send job submission success"
    assert isinstance(ok["msg_id"], int) and "msg_data_id" not in ok
    for fan in fans:
        entry = fake.platform.timeline("safe", fan)[-1]
        assert entry["via"] == "mass" and entry["message"]["content"] == "新品上线"


async def test_clientmsgid_dedupes_for_24_hours(fake: Any, clock: Any) -> None:
    fans = followers(fake, 2)
    first = await mass(fake, "send", {**TEXT, "touser": fans, "clientmsgid": "c1"})
    other_content = {"msgtype": "text", "text": {"content": "x"}}
    dup = await mass(fake, "send", {**other_content, "touser": fans, "clientmsgid": "c1"})
    assert dup["errcode"] == 45065 and dup["msg_id"] == first["msg_id"]
    clock.advance(24 * 3600 + 1)
    again = await mass(fake, "send", {**other_content, "touser": fans, "clientmsgid": "c1"})
    assert again["errcode"] == 0 and again["msg_id"] != first["msg_id"]


async def test_without_clientmsgid_same_audience_and_content_is_a_duplicate(fake: Any) -> None:
    fans = followers(fake, 3)
    first = await mass(fake, "send", {**TEXT, "touser": fans[:2]})
    dup = await mass(fake, "send", {**TEXT, "touser": list(reversed(fans[:2]))})
    assert dup["errcode"] == 45065 and dup["msg_id"] == first["msg_id"]
    assert (await mass(fake, "send", {**TEXT, "touser": fans}))["errcode"] == 0


async def test_clientmsgid_longer_than_64_bytes(fake: Any) -> None:
    fans = followers(fake, 2)
    assert (await mass(fake, "send", {**TEXT, "touser": fans, "clientmsgid": "号" * 22}))[
        "errcode"
    ] == 45067
    assert (await mass(fake, "send", {**TEXT, "touser": fans, "clientmsgid": "x" * 64}))[
        "errcode"
    ] == 0


async def test_60_requests_per_minute(fake: Any, clock: Any) -> None:
    fans = followers(fake, 2)
    codes = [
        (
            await mass(
                fake, "send", {"msgtype": "text", "text": {"content": str(i)}, "touser": fans}
            )
        )["errcode"]
        for i in range(61)
    ]
    assert codes[:60] == [0] * 60 and codes[60] == 45011
    clock.advance(61)
    assert (await mass(fake, "send", {**TEXT, "touser": fans}))["errcode"] == 0


async def test_service_account_user_receives_4_per_month(fake: Any) -> None:
    fans = followers(fake, 2)
    for i in range(4):
        await mass(fake, "send", {"msgtype": "text", "text": {"content": str(i)}, "touser": fans})
    fresh = fake.platform.add_follower("safe", "oFresh")
    await mass(fake, "send", {**TEXT, "touser": [*fans, fresh]})
    await fake.platform.drain()
    finish = fake.receiver.messages("safe")[-1]
    assert (finish.event, finish.status) == ("masssendjobfinish", "send success")
    assert (finish.total_count, finish.filter_count, finish.sent_count, finish.error_count) == (
        3,
        3,
        1,
        2,
    )
    assert len([e for e in fake.platform.timeline("safe", fans[0]) if e["via"] == "mass"]) == 4


async def test_subscription_account_user_receives_1_per_day(fake: Any, clock: Any) -> None:
    fans = followers(fake, 2, "sub")
    await mass(fake, "send", {**TEXT, "touser": fans}, "sub")
    second = await mass(
        fake, "send", {"msgtype": "text", "text": {"content": "2"}, "touser": fans}, "sub"
    )
    await fake.platform.drain()
    finish = fake.receiver.messages("sub")[-1]
    assert (finish.sent_count, finish.error_count, finish.status) == (0, 2, "send fail")
    status = await mass(fake, "get", {"msg_id": second["msg_id"]}, "sub")
    assert status["msg_status"] == "SEND_FAIL"
    clock.advance(86400)
    await mass(fake, "send", {"msgtype": "text", "text": {"content": "3"}, "touser": fans}, "sub")
    await fake.platform.drain()
    assert fake.receiver.messages("sub")[-1].sent_count == 2


async def test_finish_event_reaches_the_bot_signed_with_mass_fields(fake: Any) -> None:
    followers(fake, 2, "compat")
    sent = await mass(fake, "sendall", {**TEXT, "filter": {"is_to_all": True}}, "compat")
    assert (await mass(fake, "get", {"msg_id": sent["msg_id"]}, "compat"))["msg_status"] in (
        "SENDING",
        "SEND_SUCCESS",
    )
    await fake.platform.drain()
    received = fake.receiver.received[-1]
    assert f"<MsgID>{sent['msg_id']}</MsgID>" in received.xml
    assert received.message.event == "masssendjobfinish" and received.message.sent_count == 2
    assert fake.receiver.rejected == [] and fake.platform.background_errors == []
    status = await mass(fake, "get", {"msg_id": str(sent["msg_id"])}, "compat")
    assert status["msg_status"] == "SEND_SUCCESS"


async def test_sendall_by_tag(fake: Any) -> None:
    tagged = followers(fake, 2, tags=[101])
    plain = fake.platform.add_follower("safe", "oUntagged")
    await mass(fake, "sendall", {**TEXT, "filter": {"is_to_all": False, "tag_id": 101}})
    assert fake.platform.timeline("safe", tagged[0])[-1]["via"] == "mass"
    assert fake.platform.timeline("safe", plain) == []
    bad = await mass(fake, "sendall", {**TEXT, "filter": {"is_to_all": False}})
    assert bad["errcode"] == 47001


async def test_payload_rules_and_mpnews(fake: Any) -> None:
    fans = followers(fake, 2)
    bad = await mass(fake, "send", {"msgtype": "news", "news": {}, "touser": fans})
    assert bad["errcode"] == 40008
    unknown = await mass(
        fake, "send", {"msgtype": "mpnews", "mpnews": {"media_id": "x"}, "touser": fans}
    )
    assert unknown["errcode"] == 40007
    draft = fake.platform.add_draft("safe", [{"title": "A"}])
    ok = await mass(
        fake,
        "send",
        {
            "msgtype": "mpnews",
            "mpnews": {"media_id": draft},
            "touser": fans,
            "send_ignore_reprint": 0,
        },
    )
    assert ok["errcode"] == 0 and isinstance(ok["msg_data_id"], int)
    assert (await mass(fake, "delete", {"msg_id": ok["msg_id"]}))["errcode"] == 0
    assert (await mass(fake, "get", {"msg_id": ok["msg_id"]}))["msg_status"] == "DELETE"


async def test_delete_only_mpnews_and_video_and_unknown_ids(fake: Any) -> None:
    fans = followers(fake, 2)
    text = await mass(fake, "send", {**TEXT, "touser": fans})
    assert (await mass(fake, "delete", {"msg_id": text["msg_id"]}))["errcode"] == 40008
    assert (await mass(fake, "get", {"msg_id": 1}))["errcode"] == 40059
    assert (await mass(fake, "get", {"msg_id": True}))["errcode"] == 40059


async def test_preview_by_openid_and_wxname(fake_factory: Any) -> None:
    fake = await fake_factory(limits=Limits(previews_by_wxname_per_day=1))
    openid = fake.platform.add_follower("safe", "oPreviewer", wxname="boss")
    voice = await fake.upload("/cgi-bin/media/upload", AMR, type="voice")
    body = {"msgtype": "voice", "voice": {"media_id": voice["media_id"]}}
    ok = await mass(fake, "preview", {**body, "touser": openid})
    assert ok["errcode"] == 0 and ok["errmsg"] == "preview success"
    assert fake.platform.timeline("safe", openid)[-1]["message"]["preview"] is True
    assert (await mass(fake, "preview", {**body, "towxname": "boss"}))["errcode"] == 0
    assert (await mass(fake, "preview", {**body, "towxname": "boss"}))["errcode"] == 45009
    assert (await mass(fake, "preview", {**body, "touser": "oNobody"}))["errcode"] == 40003
    assert (await mass(fake, "preview", {**body, "touser": openid}))["errcode"] == 0
