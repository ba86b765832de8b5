"""Group mass messages in the fake (§4.11): add_msg_template with chat_type "group" (sender,
chat ids, ownership and fail_list, text and attachments), the task on the sender's timeline,
the sender confirming it, receive caps, get_groupmsg_task and get_groupmsg_send_result."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from channels.wechat.sandbox import ActionRejected
from channels.wecom.sandbox import Clock, WecomLimits
from channels.wecom.sandbox.groups import CHINA, cap_reached

from .conftest import MP4, png

TEMPLATE = "/cgi-bin/externalcontact/add_msg_template"
TASK = "/cgi-bin/externalcontact/get_groupmsg_task"
RESULT = "/cgi-bin/externalcontact/get_groupmsg_send_result"


async def post(fake: Any, path: str, body: dict[str, Any], name: str = "ops") -> Any:
    return await fake.api("POST", path, name, json=body)


def template(chat_ids: list[str], sender: str = "zhangsan", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"chat_type": "group", "sender": sender, "chat_id_list": chat_ids}
    body["text"] = {"content": "双十一 满减"}
    body.update(extra)
    return body


async def media_id(fake: Any, kind: str, data: bytes) -> str:
    answer = await fake.upload(kind, data)
    assert answer["errcode"] == 0, answer
    return str(answer["media_id"])


def to_mid_month(clock: Clock) -> None:
    """Advance the fake's clock to noon (China time) on the 15th of next month."""
    now = datetime.fromtimestamp(clock.now(), CHINA)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    target = datetime(year, month, 15, 12, tzinfo=CHINA)
    clock.advance(target.timestamp() - clock.now())


async def test_a_group_task_waits_on_the_senders_timeline(fake: Any) -> None:
    chat_ids = fake.wecom.create_groups("ops", ["zhangsan"], 2)
    answer = await post(fake, TEMPLATE, template(chat_ids))
    assert answer["errcode"] == 0 and answer["errmsg"] == "ok" and answer["fail_list"] == []
    msgid = answer["msgid"]
    assert msgid.startswith("msg") and len(msgid) > 10
    [entry] = fake.wecom.timeline("ops", "zhangsan")
    assert (entry["kind"], entry["via"], entry["msgid"]) == (
        "group_msg_task",
        "add_msg_template",
        msgid,
    )
    assert (entry["chat_ids"], entry["text"], entry["attachments"]) == (chat_ids, "双十一 满减", [])
    [task] = fake.wecom.group_tasks("ops")
    assert (task.msgid, task.sender, task.chat_ids, task.status) == (msgid, "zhangsan", chat_ids, 0)
    assert fake.wecom.group_tasks("admin") == []  # created with the ops app's token


async def test_groups_the_sender_does_not_own_go_to_the_fail_list(fake: Any) -> None:
    mine = fake.wecom.create_groups("ops", ["zhangsan"], 3)
    [theirs] = fake.wecom.create_groups("ops", ["lisi"], 1)
    [elsewhere] = fake.wecom.create_groups("other", ["zhangsan"], 1)  # another corp
    await fake.wecom.dismiss_group("ops", mine[2], notify=False)
    asked = [mine[0], theirs, "wrNoSuchGroup", mine[1], elsewhere, mine[2], mine[0]]
    answer = await post(fake, TEMPLATE, template(asked, sender="ZhangSan"))
    assert answer["errcode"] == 0
    assert answer["fail_list"] == [theirs, "wrNoSuchGroup", elsewhere, mine[2]]
    [task] = fake.wecom.group_tasks("ops")
    assert task.chat_ids == mine[:2] and task.sender == "zhangsan"


async def test_no_group_left_is_refused_with_the_fail_list(fake: Any) -> None:
    [theirs] = fake.wecom.create_groups("ops", ["lisi"], 1)
    fake.wecom.member("ops", "zhangsan")
    answer = await post(fake, TEMPLATE, template([theirs]))
    assert answer["errcode"] == 90501 and answer["fail_list"] == [theirs]
    assert fake.wecom.group_tasks("ops") == [] and fake.wecom.timeline("ops", "zhangsan") == []


@pytest.mark.parametrize(
    ("change", "errcode"),
    [
        ({"chat_type": "single"}, 40058),
        ({"chat_type": "broadcast"}, 40058),
        ({"sender": None}, 40058),
        ({"sender": ""}, 40058),
        ({"sender": "nobody"}, 40003),
        ({"sender": "bad id"}, 40003),
        ({"chat_id_list": []}, 40058),
        ({"chat_id_list": "wrX"}, 40058),
        ({"chat_id_list": [1]}, 40058),
        ({"text": None}, 44004),
        ({"text": {"content": ""}}, 44004),
        ({"text": "hi"}, 40058),
        ({"attachments": {}}, 40058),
        ({"attachments": ["x"]}, 40058),
        ({"attachments": [{"msgtype": "voice", "voice": {"media_id": "m"}}]}, 40008),
        ({"attachments": [{"msgtype": "link", "link": "x"}]}, 40058),
        ({"attachments": [{"msgtype": "image", "image": {}}]}, 41006),
        ({"attachments": [{"msgtype": "image", "image": {"media_id": "3nope"}}]}, 40007),
        ({"attachments": [{"msgtype": "link", "link": {"url": "https://x.cn"}}]}, 41016),
        ({"attachments": [{"msgtype": "link", "link": {"title": "t"}}]}, 41010),
        ({"attachments": [{"msgtype": "link", "link": {"title": "t", "url": "ftp://x"}}]}, 40058),
        (
            {
                "attachments": [
                    {"msgtype": "link", "link": {"title": "t" * 129, "url": "https://x"}}
                ]
            },
            40058,
        ),
        (
            {
                "attachments": [
                    {
                        "msgtype": "link",
                        "link": {"title": "t", "url": "https://x", "desc": "中" * 171},
                    }
                ]
            },
            40058,
        ),
        ({"attachments": [{"msgtype": "video", "video": {"media_id": "3nope"}}]}, 40007),
    ],
)
async def test_add_msg_template_validation(fake: Any, change: dict[str, Any], errcode: int) -> None:
    chat_ids = fake.wecom.create_groups("ops", ["zhangsan"], 1)
    body = template(chat_ids)
    for key, value in change.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    answer = await post(fake, TEMPLATE, body)
    assert answer["errcode"] == errcode, answer
    assert fake.wecom.group_tasks("ops") == []


async def test_every_attachment_kind_is_accepted_and_shown(fake: Any) -> None:
    chat_ids = fake.wecom.create_groups("ops", ["zhangsan"], 1)
    image, video = await media_id(fake, "image", png()), await media_id(fake, "video", MP4)
    attachments = [
        {"msgtype": "image", "image": {"media_id": image}},
        {"msgtype": "image", "image": {"pic_url": "https://wework.qpic.cn/p.png"}},
        {
            "msgtype": "link",
            "link": {"title": "新品", "picurl": "https://p", "desc": "d", "url": "https://x"},
        },
        {
            "msgtype": "miniprogram",
            "miniprogram": {
                "title": "小程序",
                "pic_media_id": image,
                "appid": "wx8bd80126147dfAAA",
                "page": "/path/index.html",
            },
        },
        {"msgtype": "video", "video": {"media_id": video}},
        {"msgtype": "file", "file": {"media_id": image}},
    ]
    answer = await post(fake, TEMPLATE, template(chat_ids, text=None, attachments=attachments))
    assert answer["errcode"] == 0, answer
    [entry] = fake.wecom.timeline("ops", "zhangsan")
    assert entry["text"] == ""
    seen = entry["attachments"]
    assert [a["msgtype"] for a in seen] == [a["msgtype"] for a in attachments]
    assert seen[0]["media_id"] == image and seen[0]["content_type"] == "image/png"
    assert seen[1]["pic_url"] == "https://wework.qpic.cn/p.png"
    assert (seen[2]["title"], seen[2]["url"], seen[2]["desc"]) == ("新品", "https://x", "d")
    assert (seen[3]["appid"], seen[3]["page"], seen[3]["pic"]["media_id"]) == (
        "wx8bd80126147dfAAA",
        "/path/index.html",
        image,
    )
    assert seen[4]["content_type"] == "video/mp4"


async def test_media_rules_for_attachments(fake: Any, clock: Any) -> None:
    chat_ids = fake.wecom.create_groups("ops", ["zhangsan"], 1)
    image, video = await media_id(fake, "image", png()), await media_id(fake, "video", MP4)

    async def errcode(*attachments: dict[str, Any]) -> int:
        answer = await post(fake, TEMPLATE, template(chat_ids, attachments=list(attachments)))
        return int(answer["errcode"])

    assert await errcode({"msgtype": "image", "image": {"media_id": video}}) == 40007
    assert await errcode({"msgtype": "video", "video": {"media_id": image}}) == 40007
    mini = {"title": "t", "pic_media_id": video, "appid": "wx1", "page": "/p"}
    assert await errcode({"msgtype": "miniprogram", "miniprogram": mini}) == 40007
    mini = {**mini, "pic_media_id": image, "title": "标" * 22}  # 66 bytes
    assert await errcode({"msgtype": "miniprogram", "miniprogram": mini}) == 40058
    mini = {**mini, "title": "标" * 21}  # 63 bytes
    assert await errcode({"msgtype": "miniprogram", "miniprogram": mini}) == 0
    assert await errcode({"msgtype": "miniprogram", "miniprogram": {**mini, "appid": ""}}) == 40058
    assert await errcode(*[{"msgtype": "image", "image": {"media_id": image}}] * 9) == 0
    assert await errcode(*[{"msgtype": "image", "image": {"media_id": image}}] * 10) == 40058
    clock.advance(3 * 86400)  # temporary media live 3 days
    assert await errcode({"msgtype": "image", "image": {"media_id": image}}) == 40007


async def test_chat_list_and_text_sizes_are_configurable_limits(fake_factory: Any) -> None:
    fake = await fake_factory(limits=WecomLimits(msg_template_chats=3, msg_template_text_bytes=9))
    chat_ids = fake.wecom.create_groups("ops", ["zhangsan"], 4)
    over = template(chat_ids, text={"content": "abc"})
    assert (await post(fake, TEMPLATE, over))["errcode"] == 40058
    fits = template(chat_ids[:3], text={"content": "中文字"})  # 9 bytes
    assert (await post(fake, TEMPLATE, fits))["errcode"] == 0
    too_long = template(chat_ids[:3], text={"content": "中文字a"})
    assert (await post(fake, TEMPLATE, too_long))["errcode"] == 40058


async def test_task_and_results_before_and_after_the_sender_confirms(fake: Any) -> None:
    chat_ids = fake.wecom.create_groups("ops", ["zhangsan"], 3)
    msgid = (await post(fake, TEMPLATE, template(chat_ids)))["msgid"]
    task = await post(fake, TASK, {"msgid": msgid})
    assert task["errcode"] == 0 and task["next_cursor"] == ""
    assert task["task_list"] == [{"userid": "zhangsan", "status": 0}]
    result = await post(fake, RESULT, {"msgid": msgid, "userid": "zhangsan"})
    assert result["send_list"] == [
        {"chat_id": c, "userid": "zhangsan", "status": 0} for c in chat_ids
    ]

    sent = fake.wecom.confirm_group_task("ops", "ZHANGSAN", msgid)
    now = int(fake.wecom.clock.now())
    assert sent.status == 2 and abs(sent.send_time - now) <= 1
    task = await post(fake, TASK, {"msgid": msgid})
    assert task["task_list"] == [{"userid": "zhangsan", "status": 2, "send_time": sent.send_time}]
    result = await post(fake, RESULT, {"msgid": msgid, "userid": "zhangsan"})
    assert result["send_list"] == [
        {"chat_id": c, "userid": "zhangsan", "status": 1, "send_time": sent.send_time}
        for c in chat_ids
    ]
    assert all(len(fake.wecom.group("ops", c).receipts) == 1 for c in chat_ids)
    other = await post(fake, RESULT, {"msgid": msgid, "userid": "lisi"})
    assert other["errcode"] == 0 and other["send_list"] == []


async def test_results_page_with_cursors(fake: Any) -> None:
    chat_ids = fake.wecom.create_groups("ops", ["zhangsan"], 5)
    msgid = (await post(fake, TEMPLATE, template(chat_ids)))["msgid"]
    seen: list[str] = []
    cursor = ""
    pages = 0
    while True:
        body = {"msgid": msgid, "userid": "zhangsan", "limit": 2, "cursor": cursor}
        answer = await post(fake, RESULT, body)
        assert answer["errcode"] == 0, answer
        pages += 1
        seen += [row["chat_id"] for row in answer["send_list"]]
        cursor = answer["next_cursor"]
        if not cursor:
            break
    assert (seen, pages) == (chat_ids, 3)


@pytest.mark.parametrize(
    ("path", "body", "errcode"),
    [
        (TASK, {}, 40058),
        (TASK, {"msgid": "msgUnknown"}, 40058),
        (TASK, {"msgid": "MSGID", "limit": 0}, 40058),
        (TASK, {"msgid": "MSGID", "limit": 1001}, 40058),
        (TASK, {"msgid": "MSGID", "cursor": "bogus"}, 40058),
        (RESULT, {"msgid": "MSGID"}, 40058),
        (RESULT, {"msgid": "msgUnknown", "userid": "zhangsan"}, 40058),
    ],
)
async def test_task_queries_refuse_bad_parameters(
    fake: Any, path: str, body: dict[str, Any], errcode: int
) -> None:
    chat_ids = fake.wecom.create_groups("ops", ["zhangsan"], 1)
    msgid = (await post(fake, TEMPLATE, template(chat_ids)))["msgid"]
    body = {k: msgid if v == "MSGID" else v for k, v in body.items()}
    assert (await post(fake, path, body))["errcode"] == errcode


async def test_tasks_are_readable_within_the_corp_only(fake: Any) -> None:
    chat_ids = fake.wecom.create_groups("ops", ["zhangsan"], 1)
    msgid = (await post(fake, TEMPLATE, template(chat_ids)))["msgid"]
    assert (await post(fake, TASK, {"msgid": msgid}, "admin"))["errcode"] == 0
    assert (await post(fake, TASK, {"msgid": msgid}, "other"))["errcode"] == 40058
    with pytest.raises(ActionRejected) as refused:
        fake.wecom.confirm_group_task("other", "zhangsan", msgid)
    assert refused.value.status == 404


async def test_only_the_sender_confirms_and_only_once(fake: Any) -> None:
    chat_ids = fake.wecom.create_groups("ops", ["zhangsan"], 1)
    msgid = (await post(fake, TEMPLATE, template(chat_ids)))["msgid"]
    with pytest.raises(ActionRejected) as refused:
        fake.wecom.confirm_group_task("ops", "lisi", msgid)
    assert refused.value.status == 403
    fake.wecom.confirm_group_task("ops", "zhangsan", msgid)
    with pytest.raises(ActionRejected) as again:
        fake.wecom.confirm_group_task("ops", "zhangsan", msgid)
    assert again.value.status == 409
    with pytest.raises(ActionRejected) as unknown:
        fake.wecom.confirm_group_task("ops", "zhangsan", "msgNope")
    assert unknown.value.status == 404


async def test_groups_gone_or_handed_over_before_sending_stay_unsent(fake: Any) -> None:
    chat_ids = fake.wecom.create_groups("ops", ["zhangsan"], 3)
    msgid = (await post(fake, TEMPLATE, template(chat_ids)))["msgid"]
    await fake.wecom.dismiss_group("ops", chat_ids[0], notify=False)
    await fake.wecom.change_group_owner("ops", chat_ids[1], "lisi", notify=False)
    task = fake.wecom.confirm_group_task("ops", "zhangsan", msgid)
    assert [task.results[c].status for c in chat_ids] == [0, 0, 1]


async def test_a_daily_cap_turns_later_tasks_into_status_3(fake_factory: Any, clock: Clock) -> None:
    fake = await fake_factory(limits=WecomLimits(group_msg_per_day=1))
    to_mid_month(clock)
    capped, free = fake.wecom.create_groups("ops", ["zhangsan"], 2)
    first = (await post(fake, TEMPLATE, template([capped])))["msgid"]
    second = (await post(fake, TEMPLATE, template([capped, free])))["msgid"]
    third = (await post(fake, TEMPLATE, template([capped])))["msgid"]  # created the same day
    fake.wecom.confirm_group_task("ops", "zhangsan", first)
    clock.advance(3600)
    fake.wecom.confirm_group_task("ops", "zhangsan", second)
    result = await post(fake, RESULT, {"msgid": second, "userid": "zhangsan"})
    assert [(r["chat_id"], r["status"]) for r in result["send_list"]] == [(capped, 3), (free, 1)]
    assert "send_time" not in result["send_list"][0]
    clock.advance(86400)  # the cap is counted when sending, per calendar day
    assert fake.wecom.confirm_group_task("ops", "zhangsan", third).results[capped].status == 1
    assert len(fake.wecom.group("ops", capped).receipts) == 2


async def test_a_monthly_cap_is_enforced_at_confirmation(fake_factory: Any, clock: Clock) -> None:
    fake = await fake_factory(limits=WecomLimits(group_msg_per_month=2))
    to_mid_month(clock)
    [chat_id] = fake.wecom.create_groups("ops", ["zhangsan"], 1)
    statuses = []
    for _ in range(3):
        msgid = (await post(fake, TEMPLATE, template([chat_id])))["msgid"]
        statuses.append(fake.wecom.confirm_group_task("ops", "zhangsan", msgid).results[chat_id])
        clock.advance(86400)
    assert [r.status for r in statuses] == [1, 1, 3]


def at(year: int, month: int, day: int, hour: int = 12) -> float:
    return datetime(year, month, day, hour, tzinfo=CHINA).timestamp()


def test_the_default_cap_is_as_many_per_month_as_the_month_has_days() -> None:
    limits = WecomLimits()
    february = [at(2025, 2, 1) + i * 3600 for i in range(28)]  # 28 on the first day
    assert cap_reached(february[:27], at(2025, 2, 20), limits) is False
    assert cap_reached(february, at(2025, 2, 20), limits) is True
    assert cap_reached(february, at(2025, 3, 1, 0), limits) is False  # a new month
    march = [at(2025, 3, 1) + i * 3600 for i in range(30)]
    assert cap_reached(march, at(2025, 3, 31), limits) is False  # March has 31 days
    assert cap_reached([*march, at(2025, 3, 31)], at(2025, 3, 31), limits) is True


def test_month_and_day_boundaries_are_china_time() -> None:
    daily = WecomLimits(group_msg_per_day=1)
    late = at(2025, 5, 6, 23)  # 15:00 UTC
    assert cap_reached([late], late + 1800, daily) is True
    assert cap_reached([late], late + 3600, daily) is False  # 00:00 in China, 16:00 UTC
    monthly = WecomLimits(group_msg_per_month=1)
    last = at(2025, 5, 31, 23)
    assert cap_reached([last], last + 3600, monthly) is False


def test_a_weekly_cap_counts_monday_to_sunday() -> None:
    weekly = WecomLimits(group_msg_per_week=2)
    monday = at(2025, 6, 2)
    week = [monday, monday + 86400]
    assert cap_reached(week, monday + 6 * 86400, weekly) is True  # Sunday
    assert cap_reached(week, monday + 7 * 86400, weekly) is False  # next Monday
    assert cap_reached(week[:1], monday + timedelta(days=3).total_seconds(), weekly) is False
