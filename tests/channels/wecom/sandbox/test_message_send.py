"""POST /cgi-bin/message/send (§4.3): envelope, payload limits, recipients, rate, duplicates."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from channels.wecom.sandbox import WecomLimits

from .conftest import AMR, JPEG, MP4, png

AGENT = 1000002


def text(content: str = "hi", **envelope: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"touser": "lisi", "msgtype": "text", "agentid": AGENT}
    body.update(envelope)
    body["text"] = {"content": content}
    return body


def members(fake: Any, *userids: str) -> None:
    for userid in userids:
        fake.wecom.member("ops", userid)


def seen(fake: Any, userid: str) -> list[dict[str, Any]]:
    return list(fake.wecom.timeline("ops", userid))


async def test_text_is_delivered_with_a_msgid(fake: Any) -> None:
    members(fake, "lisi")
    answer = await fake.send(text("你好"))
    assert answer["errcode"] == 0 and answer["errmsg"] == "ok" and answer["msgid"]
    assert "invaliduser" not in answer
    [entry] = seen(fake, "lisi")
    assert (entry["kind"], entry["via"], entry["content"], entry["truncated"]) == (
        "text",
        "message/send",
        "你好",
        False,
    )
    assert entry["msgid"] == answer["msgid"] and entry["seq"] == 1


@pytest.mark.parametrize("msgtype", ["text", "markdown"])
async def test_content_beyond_2048_bytes_is_truncated_on_a_character(
    fake: Any, msgtype: str
) -> None:
    members(fake, "lisi")
    content = "a" + "中" * 700  # 2101 bytes; byte 2048 falls inside the 683rd 中
    body = {"touser": "lisi", "agentid": AGENT, "msgtype": msgtype, msgtype: {"content": content}}
    assert (await fake.send(body))["errcode"] == 0
    [entry] = seen(fake, "lisi")
    assert entry["content"] == "a" + "中" * 682 and entry["truncated"] is True
    assert len(entry["content"].encode()) == 2047
    assert fake.wecom.state("ops").sends[0]["truncated"] is True


async def test_exactly_2048_bytes_is_kept_whole(fake: Any) -> None:
    members(fake, "lisi")
    await fake.send(text("b" * 2048))
    [entry] = seen(fake, "lisi")
    assert len(entry["content"]) == 2048 and entry["truncated"] is False


async def test_unknown_users_are_listed_lower_cased(fake: Any) -> None:
    members(fake, "LiSi", "wangwu")
    answer = await fake.send(text(touser="lisi|Ghost|NoBody|WANGWU"))
    assert answer["errcode"] == 0 and answer["invaliduser"] == "ghost|nobody"
    assert len(seen(fake, "lisi")) == 1 and len(seen(fake, "wangwu")) == 1


async def test_all_recipients_invalid_is_81013(fake: Any) -> None:
    members(fake, "lisi")
    answer = await fake.send(text(touser="Ghost", toparty="7", totag="3"))
    assert answer["errcode"] == 81013
    assert (answer["invaliduser"], answer["invalidparty"], answer["invalidtag"]) == (
        "ghost",
        "7",
        "3",
    )
    assert fake.wecom.state("ops").sends == []


async def test_members_of_another_corp_are_invalid(fake: Any) -> None:
    fake.wecom.member("other", "lisi")
    assert (await fake.send(text()))["errcode"] == 81013


async def test_at_all_and_the_root_department_reach_everyone(fake: Any) -> None:
    members(fake, "lisi", "wangwu")
    assert (await fake.send(text("one", touser="@all")))["errcode"] == 0
    answer = await fake.send(text("two", touser="", toparty="1|8"))
    assert answer["invalidparty"] == "8"
    assert [e["content"] for e in seen(fake, "wangwu")] == ["one", "two"]
    assert [e["content"] for e in seen(fake, "lisi")] == ["one", "two"]


@pytest.mark.parametrize(
    ("change", "errcode"),
    [
        ({"touser": "", "toparty": "", "totag": ""}, 81012),
        ({"touser": "|".join(f"u{i}" for i in range(1001))}, 40032),
        ({"toparty": "|".join(str(i) for i in range(101))}, 40058),
        ({"totag": "|".join(str(i) for i in range(101))}, 40058),
        ({"touser": ["lisi"]}, 40058),
        ({"agentid": None}, 41011),
        ({"agentid": 1000003}, 40056),
        ({"agentid": "1000002"}, 40056),
        ({"msgtype": "mpnews"}, 40008),
        ({"msgtype": "template_card"}, 40008),
        ({"msgtype": "bogus"}, 40008),
        ({"safe": 2}, 40058),
        ({"enable_duplicate_check": True}, 40058),
        ({"enable_duplicate_check": 1, "duplicate_check_interval": 14401}, 40058),
        ({"text": {"content": ""}}, 44004),
        ({"text": {}}, 44004),
        ({"text": {"content": 5}}, 40058),
        ({"text": "hi"}, 40058),
    ],
)
async def test_envelope_rules(fake: Any, change: dict[str, Any], errcode: int) -> None:
    members(fake, "lisi")
    body = {**text(), **change}
    if change.get("agentid", 0) is None:
        del body["agentid"]
    answer = await fake.send(body)
    assert answer["errcode"] == errcode, answer
    assert seen(fake, "lisi") == []


async def test_1000_users_are_accepted(fake: Any) -> None:
    members(fake, "lisi")
    answer = await fake.send(text(touser="|".join(["lisi"] + [f"u{i}" for i in range(999)])))
    assert answer["errcode"] == 0 and answer["invaliduser"].count("|") == 998


async def test_malformed_json_is_40058_with_the_warning(fake: Any) -> None:
    answer = await fake.api(
        "POST",
        "/cgi-bin/message/send",
        data=b'{"touser": "lisi",',
        headers={"Content-Type": "application/json"},
    )
    assert answer["errcode"] == 40058
    assert answer["errmsg"].startswith("Warning: wrong json format.")
    array = await fake.api("POST", "/cgi-bin/message/send", json=[1])
    assert array["errcode"] == 40058


async def test_the_token_decides_the_agentid(fake: Any) -> None:
    fake.wecom.member("admin", "lisi")
    assert (await fake.send(text(agentid=1000003), name="admin"))["errcode"] == 0
    assert (await fake.send(text(), name="admin"))["errcode"] == 40056
    assert fake.wecom.timeline("admin", "lisi")[0]["content"] == "hi"
    assert fake.wecom.timeline("ops", "lisi") == []


def textcard(**fields: Any) -> dict[str, Any]:
    card = {"title": "t", "description": "d", "url": "https://x/1", **fields}
    card = {k: v for k, v in card.items() if v is not None}
    return {"touser": "lisi", "agentid": AGENT, "msgtype": "textcard", "textcard": card}


async def test_textcard_is_truncated_like_the_platform(fake: Any) -> None:
    members(fake, "lisi")
    await fake.send(textcard(title="标" * 50, description="d" * 600, btntxt="更多详情信息"))
    [entry] = seen(fake, "lisi")
    assert entry["kind"] == "textcard" and entry["truncated"] is True
    assert entry["title"] == "标" * 42 and entry["description"] == "d" * 512
    assert entry["btntxt"] == "更多详情" and entry["url"] == "https://x/1"
    await fake.send(textcard())
    assert seen(fake, "lisi")[1]["btntxt"] == "详情" and seen(fake, "lisi")[1]["truncated"] is False


@pytest.mark.parametrize(
    ("change", "errcode"),
    [({"url": None}, 41010), ({"title": None}, 41016), ({"description": None}, 41033)],
)
async def test_textcard_required_fields(fake: Any, change: dict[str, Any], errcode: int) -> None:
    members(fake, "lisi")
    assert (await fake.send(textcard(**change)))["errcode"] == errcode


def news(*articles: dict[str, Any], **envelope: Any) -> dict[str, Any]:
    body = {"touser": "lisi", "agentid": AGENT, "msgtype": "news", **envelope}
    body["news"] = {"articles": list(articles)}
    return body


ARTICLE = {"title": "标题", "description": "d", "url": "https://x/a", "picurl": "https://x/p.png"}


async def test_news_takes_one_to_eight_articles(fake: Any) -> None:
    members(fake, "lisi")
    assert (await fake.send(news()))["errcode"] == 45008
    assert (await fake.send(news(*[ARTICLE] * 9)))["errcode"] == 45008
    assert (await fake.send(news(*[ARTICLE] * 8)))["errcode"] == 0
    [entry] = seen(fake, "lisi")
    assert entry["kind"] == "news" and len(entry["articles"]) == 8
    assert entry["articles"][0] == ARTICLE


async def test_news_article_rules(fake: Any) -> None:
    members(fake, "lisi")
    assert (await fake.send(news({"title": "no link"})))["errcode"] == 41010
    assert (await fake.send(news({"url": "https://x"})))["errcode"] == 41016
    assert (await fake.send(news(ARTICLE, safe=1)))["errcode"] == 40074
    mini = {"title": "t" * 130, "appid": "wx123", "pagepath": "pages/index"}
    assert (await fake.send(news(mini)))["errcode"] == 0
    [entry] = seen(fake, "lisi")
    assert entry["articles"][0]["title"] == "t" * 128 and entry["truncated"] is True
    assert entry["articles"][0]["pagepath"] == "pages/index"


def media_send(msgtype: str, media_id: Any, **extra: Any) -> dict[str, Any]:
    payload = {"media_id": media_id, **extra}
    return {"touser": "lisi", "agentid": AGENT, "msgtype": msgtype, msgtype: payload}


async def test_media_messages_show_size_hash_and_type(fake: Any) -> None:
    members(fake, "lisi")
    image = png(500)
    uploaded = await fake.upload("image", image, filename="a.png")
    assert (await fake.send(media_send("image", uploaded["media_id"])))["errcode"] == 0
    [entry] = seen(fake, "lisi")
    assert entry["kind"] == "image" and entry["size"] == 500
    assert entry["sha256"] == hashlib.sha256(image).hexdigest()
    assert entry["content_type"] == "image/png"


async def test_media_ids_must_be_live_and_of_the_right_kind(fake: Any, clock: Any) -> None:
    members(fake, "lisi")
    voice = (await fake.upload("voice", AMR))["media_id"]
    video = (await fake.upload("video", MP4))["media_id"]
    image = (await fake.upload("image", JPEG))["media_id"]
    assert (await fake.send(media_send("image", "nope")))["errcode"] == 40007
    assert (await fake.send(media_send("image", None)))["errcode"] == 41006
    assert (await fake.send(media_send("image", voice)))["errcode"] == 40007
    assert (await fake.send(media_send("voice", voice)))["errcode"] == 0
    assert (await fake.send(media_send("video", video, title="v" * 200)))["errcode"] == 0
    assert (await fake.send(media_send("file", image)))["errcode"] == 0
    assert [e["kind"] for e in seen(fake, "lisi")] == ["voice", "video", "file"]
    assert seen(fake, "lisi")[1]["title"] == "v" * 128
    clock.advance(3 * 86400)
    assert (await fake.send(media_send("voice", voice)))["errcode"] == 40007


async def test_media_of_another_corp_is_unknown(fake: Any) -> None:
    members(fake, "lisi")
    foreign = (await fake.upload("image", JPEG, name="other"))["media_id"]
    assert (await fake.send(media_send("image", foreign)))["errcode"] == 40007


async def test_more_than_30_a_minute_are_silently_dropped(fake: Any, clock: Any) -> None:
    members(fake, "lisi", "wangwu")
    answers = [await fake.send(text(f"m{i}")) for i in range(31)]
    assert all(a["errcode"] == 0 for a in answers)
    assert len(seen(fake, "lisi")) == 30
    assert seen(fake, "lisi")[-1]["content"] == "m29"
    last = fake.wecom.state("ops").sends[-1]
    assert (last["dropped"], last["delivered"], last["msgid"]) == (
        ["lisi"],
        [],
        answers[-1]["msgid"],
    )
    await fake.send(text("other", touser="wangwu"))
    assert len(seen(fake, "wangwu")) == 1
    clock.advance(60)
    await fake.send(text("later"))
    assert seen(fake, "lisi")[-1]["content"] == "later"


async def test_hourly_limit(fake_factory: Any, clock: Any) -> None:
    fake = await fake_factory(limits=WecomLimits(member_per_hour=3))
    members(fake, "lisi")
    for i in range(4):
        await fake.send(text(f"m{i}"))
        clock.advance(61)
    assert [e["content"] for e in seen(fake, "lisi")] == ["m0", "m1", "m2"]
    clock.advance(3600)
    await fake.send(text("next hour"))
    assert seen(fake, "lisi")[-1]["content"] == "next hour"


async def test_duplicate_check_delivers_identical_json_once(fake: Any, clock: Any) -> None:
    members(fake, "lisi")
    body = text("same", enable_duplicate_check=1)
    first, second = await fake.send(body), await fake.send(body)
    assert first["errcode"] == second["errcode"] == 0 and first["msgid"] == second["msgid"]
    assert len(seen(fake, "lisi")) == 1
    assert fake.wecom.state("ops").sends[1]["duplicate"] is True
    await fake.send(text("different", enable_duplicate_check=1))
    assert len(seen(fake, "lisi")) == 2
    clock.advance(1800)
    assert (await fake.send(body))["msgid"] != first["msgid"]
    assert len(seen(fake, "lisi")) == 3


async def test_duplicate_interval_and_no_check(fake: Any, clock: Any) -> None:
    members(fake, "lisi")
    body = text("x", enable_duplicate_check=1, duplicate_check_interval=60)
    await fake.send(body)
    clock.advance(59)
    await fake.send(body)
    assert len(seen(fake, "lisi")) == 1
    clock.advance(1)
    await fake.send(body)
    plain = text("y")
    await fake.send(plain)
    await fake.send(plain)
    assert [e["content"] for e in seen(fake, "lisi")] == ["x", "x", "y", "y"]
