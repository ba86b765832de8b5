"""Corp tags in the fake: tag groups created and extended with add_corp_tag (duplicate names
refused with 40071), get_corp_tag_list and its filters, mark_tag and its refusals, the tags in
externalcontact/get; and user/get for members' names."""

from __future__ import annotations

from typing import Any

import pytest

from channels.wecom.sandbox import WecomLimits

LIST = "/cgi-bin/externalcontact/get_corp_tag_list"
ADD = "/cgi-bin/externalcontact/add_corp_tag"
MARK = "/cgi-bin/externalcontact/mark_tag"
DETAILS = "/cgi-bin/externalcontact/get"
ADD_CONTACT_WAY = "/cgi-bin/externalcontact/add_contact_way"
USER = "/cgi-bin/user/get"


async def post(fake: Any, path: str, body: dict[str, Any], name: str = "ops") -> Any:
    return await fake.api("POST", path, name, json=body)


async def add_tags(fake: Any, group_name: str, *names: str, **extra: Any) -> dict[str, Any]:
    body = {"group_name": group_name, "tag": [{"name": n} for n in names], **extra}
    answer = await post(fake, ADD, body)
    assert answer["errcode"] == 0, answer
    return dict(answer["tag_group"])


async def customer_of(fake: Any, userid: str = "zhangsan") -> str:
    """A new customer of `userid`, added through a contact way."""
    fake.wecom.member("ops", userid)
    way = await post(fake, ADD_CONTACT_WAY, {"type": 1, "scene": 2, "user": [userid]})
    outcome = await fake.wecom.scan_contact_way("ops", way["config_id"], notify=False)
    return str(outcome.external_userid)


async def test_tags_are_added_to_a_new_group_then_to_the_same_group_by_name_or_id(
    fake: Any,
) -> None:
    created = await add_tags(fake, "客户等级", "VIP", "普通", order=5)
    group_id = created["group_id"]
    assert group_id.startswith("et") and created["group_name"] == "客户等级"
    assert created["order"] == 5 and isinstance(created["create_time"], int)
    assert [t["name"] for t in created["tag"]] == ["VIP", "普通"]
    assert all(t["id"].startswith("et") and t["id"] != group_id for t in created["tag"])
    by_name = await add_tags(fake, "客户等级", "潜在")
    assert by_name["group_id"] == group_id and [t["name"] for t in by_name["tag"]] == ["潜在"]
    by_id = await post(fake, ADD, {"group_id": group_id, "tag": [{"name": "流失"}]})
    assert by_id["tag_group"]["group_id"] == group_id
    [listed] = (await post(fake, LIST, {}))["tag_group"]
    assert [t["name"] for t in listed["tag"]] == ["VIP", "普通", "潜在", "流失"]


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({"group_name": "客户等级", "tag": [{"name": "VIP"}]}, 40071),
        ({"group_name": "新组", "tag": [{"name": "a"}, {"name": "a"}]}, 40071),
        ({"group_name": "新组", "tag": [{"name": "t" * 31}]}, 40058),
        ({"group_name": "g" * 31, "tag": [{"name": "a"}]}, 40058),
        ({"group_name": "新组", "tag": []}, 40058),
        ({"group_name": "新组", "tag": [{"name": ""}]}, 40058),
        ({"tag": [{"name": "a"}]}, 40058),
        ({"group_id": "etUnknown", "tag": [{"name": "a"}]}, 40068),
        ({"group_name": "新组", "tag": [{"name": "a", "order": "1"}]}, 40058),
    ],
)
async def test_add_corp_tag_refuses_bad_requests_and_adds_nothing(
    fake: Any, body: dict[str, Any], errcode: int
) -> None:
    await add_tags(fake, "客户等级", "VIP")
    answer = await post(fake, ADD, body)
    assert answer["errcode"] == errcode, answer
    [group] = (await post(fake, LIST, {}))["tag_group"]
    assert [t["name"] for t in group["tag"]] == ["VIP"]


async def test_the_name_limit_is_configurable(
    fake_factory: Any,
) -> None:
    fake = await fake_factory(limits=WecomLimits(tag_name_chars=2))
    assert (await post(fake, ADD, {"group_name": "组", "tag": [{"name": "abc"}]}))[
        "errcode"
    ] == 40058
    assert (await add_tags(fake, "组", "ab"))["tag"][0]["name"] == "ab"


async def test_a_tag_name_of_30_characters_is_accepted(fake: Any) -> None:
    created = await add_tags(fake, "组" * 30, "名" * 30)
    assert (created["group_name"], created["tag"][0]["name"]) == ("组" * 30, "名" * 30)


async def test_the_list_filters_by_group_or_by_tag_and_puts_a_larger_order_first(
    fake: Any,
) -> None:
    level = await add_tags(fake, "等级", "VIP", "普通")
    source = await add_tags(fake, "来源", "展会", "广告", order=9)
    every = (await post(fake, LIST, {"tag_id": [], "group_id": []}))["tag_group"]
    assert [g["group_name"] for g in every] == ["来源", "等级"]
    vip = level["tag"][0]["id"]
    only_vip = (await post(fake, LIST, {"tag_id": [vip]}))["tag_group"]
    assert [(g["group_name"], [t["name"] for t in g["tag"]]) for g in only_vip] == [
        ("等级", ["VIP"])
    ]
    by_group = (await post(fake, LIST, {"group_id": [source["group_id"]], "tag_id": [vip]}))[
        "tag_group"
    ]
    assert [(g["group_name"], len(g["tag"])) for g in by_group] == [("来源", 2)]
    assert (await post(fake, LIST, {"tag_id": ["etUnknown"]}))["tag_group"] == []


async def test_marked_tags_show_in_the_customer_details(fake: Any) -> None:
    created = await add_tags(fake, "等级", "VIP", "普通")
    vip, plain = (t["id"] for t in created["tag"])
    external = await customer_of(fake)
    base = {"userid": "zhangsan", "external_userid": external}
    assert (await post(fake, MARK, {**base, "add_tag": [vip, plain]}))["errcode"] == 0
    assert (await post(fake, MARK, {**base, "add_tag": [vip], "remove_tag": [plain]}))[
        "errcode"
    ] == 0
    details = await fake.api("GET", DETAILS, params={"external_userid": external})
    [follow] = details["follow_user"]
    assert follow["tags"] == [{"group_name": "等级", "tag_name": "VIP", "type": 1, "tag_id": vip}]
    assert fake.receiver.received == []  # API operations send no callback


@pytest.mark.parametrize(
    ("change", "errcode"),
    [
        ({}, 40058),
        ({"add_tag": [], "remove_tag": []}, 40058),
        ({"add_tag": ["etUnknown"]}, 40068),
        ({"remove_tag": ["etUnknown"]}, 40068),
        ({"add_tag": "VIP", "remove_tag": "VIP"}, 40058),
        ({"add_tag": "VIP", "userid": "lisi"}, 84061),
        ({"add_tag": "VIP", "external_userid": "wmUnknown"}, 40096),
    ],
)
async def test_mark_tag_refuses_bad_requests(
    fake: Any, change: dict[str, Any], errcode: int
) -> None:
    vip = (await add_tags(fake, "等级", "VIP"))["tag"][0]["id"]
    fake.wecom.member("ops", "lisi")
    external = await customer_of(fake)
    body = {"userid": "zhangsan", "external_userid": external, **change}
    for key in ("add_tag", "remove_tag"):
        if body.get(key) == "VIP":
            body[key] = [vip]
    answer = await post(fake, MARK, body)
    assert answer["errcode"] == errcode, answer
    assert fake.wecom.external_contact("ops", external).follow["zhangsan"].tag_ids == []


async def test_user_get_answers_a_members_name(fake: Any) -> None:
    fake.wecom.member("ops", "ZhangSan", "张三")
    answer = await fake.api("GET", USER, params={"userid": "zhangsan"})
    assert (answer["errcode"], answer["userid"], answer["name"]) == (0, "ZhangSan", "张三")
    assert (answer["department"], answer["status"]) == ([1], 1)
    missing = await fake.api("GET", USER, params={"userid": "nobody"})
    assert missing["errcode"] == 60111 and "name" not in missing
    other_corp = await fake.api("GET", USER, "other", params={"userid": "zhangsan"})
    assert other_corp["errcode"] == 60111
    assert (await fake.api("GET", USER))["errcode"] == 40003
