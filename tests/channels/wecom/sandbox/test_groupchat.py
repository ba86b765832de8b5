"""Customer groups in the fake (§4.8): groupchat/list paging and filters, the 81017 rule,
groupchat/get, and corp isolation."""

from __future__ import annotations

from typing import Any

import pytest

from channels.wecom.sandbox import WecomLimits

LIST = "/cgi-bin/externalcontact/groupchat/list"
GET = "/cgi-bin/externalcontact/groupchat/get"


async def post(fake: Any, path: str, body: dict[str, Any], name: str = "ops") -> Any:
    return await fake.api("POST", path, name, json=body)


async def list_all(fake: Any, body: dict[str, Any], name: str = "ops") -> tuple[list[str], int]:
    """Every chat id following next_cursor, and how many pages that took."""
    ids: list[str] = []
    pages = 0
    cursor = ""
    while True:
        answer = await post(fake, LIST, {**body, "cursor": cursor}, name)
        assert answer["errcode"] == 0, answer
        pages += 1
        ids += [g["chat_id"] for g in answer["group_chat_list"]]
        cursor = answer["next_cursor"]
        if not cursor:
            return ids, pages


async def test_list_pages_oldest_first_until_an_empty_cursor(fake: Any) -> None:
    chat_ids = fake.wecom.create_groups("ops", ["zhangsan"], 5)
    assert all(c.startswith("wr") for c in chat_ids) and len(set(chat_ids)) == 5
    first = await post(fake, LIST, {"limit": 2})
    assert first["errcode"] == 0 and first["next_cursor"]
    assert first["group_chat_list"] == [{"chat_id": c, "status": 0} for c in chat_ids[:2]]
    assert await list_all(fake, {"limit": 2}) == (chat_ids, 3)
    assert await list_all(fake, {"limit": 5}) == (chat_ids, 1)
    assert await list_all(fake, {"limit": 1000}) == (chat_ids, 1)


async def test_list_filters_by_owner_case_insensitively(fake: Any) -> None:
    chat_ids = fake.wecom.create_groups("ops", ["ZhangSan", "lisi"], 5)
    mine, _ = await list_all(fake, {"limit": 10, "owner_filter": {"userid_list": ["zhangsan"]}})
    assert mine == chat_ids[0::2]
    both, _ = await list_all(
        fake, {"limit": 10, "owner_filter": {"userid_list": ["lisi", "ZHANGSAN"]}}
    )
    assert both == chat_ids
    nobody, _ = await list_all(fake, {"limit": 10, "owner_filter": {"userid_list": ["wangwu"]}})
    assert nobody == []


async def test_list_filters_by_handover_status(fake: Any) -> None:
    chat_ids = fake.wecom.create_groups("ops", ["zhangsan"], 4)
    fake.wecom.set_group_status("ops", chat_ids[1], 1)
    fake.wecom.set_group_status("ops", chat_ids[3], 3)
    every = await post(fake, LIST, {"limit": 10, "status_filter": 0})
    assert [g["status"] for g in every["group_chat_list"]] == [0, 1, 0, 3]
    for status, expected in ((1, [chat_ids[1]]), (2, []), (3, [chat_ids[3]])):
        ids, _ = await list_all(fake, {"limit": 10, "status_filter": status})
        assert ids == expected


async def test_the_cursor_survives_a_dismissal_between_pages(fake: Any) -> None:
    chat_ids = fake.wecom.create_groups("ops", ["zhangsan"], 4)
    first = await post(fake, LIST, {"limit": 2})
    await fake.wecom.dismiss_group("ops", chat_ids[0], notify=False)
    second = await post(fake, LIST, {"limit": 2, "cursor": first["next_cursor"]})
    assert [g["chat_id"] for g in second["group_chat_list"]] == chat_ids[2:]
    assert second["next_cursor"] == ""
    ids, _ = await list_all(fake, {"limit": 10})
    assert ids == chat_ids[1:]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"limit": 0},
        {"limit": 1001},
        {"limit": "10"},
        {"limit": 10, "status_filter": 4},
        {"limit": 10, "status_filter": True},
        {"limit": 10, "cursor": "not-a-cursor"},
        {"limit": 10, "cursor": 5},
        {"limit": 10, "owner_filter": ["zhangsan"]},
        {"limit": 10, "owner_filter": {"userid_list": "zhangsan"}},
    ],
)
async def test_list_refuses_bad_parameters_with_40058(fake: Any, body: dict[str, Any]) -> None:
    fake.wecom.create_groups("ops", ["zhangsan"], 1)
    assert (await post(fake, LIST, body))["errcode"] == 40058


async def test_owner_filter_size_is_a_configurable_limit(fake_factory: Any) -> None:
    fake = await fake_factory(limits=WecomLimits(groupchat_owner_filter_max=2))
    fake.wecom.create_groups("ops", ["a", "b", "c"], 3)
    over = {"limit": 10, "owner_filter": {"userid_list": ["a", "b", "c"]}}
    assert (await post(fake, LIST, over))["errcode"] == 40058
    ids, _ = await list_all(fake, {"limit": 10, "owner_filter": {"userid_list": ["a", "b"]}})
    assert len(ids) == 2


async def test_without_owner_filter_a_large_corp_gets_81017(fake_factory: Any) -> None:
    fake = await fake_factory(limits=WecomLimits(groupchat_unfiltered_members=2))
    fake.wecom.create_groups("ops", ["zhangsan", "lisi"], 2)
    assert (await post(fake, LIST, {"limit": 10}))["errcode"] == 0  # 2 members: not more
    fake.wecom.member("ops", "wangwu")
    assert (await post(fake, LIST, {"limit": 10}))["errcode"] == 81017
    empty = {"limit": 10, "owner_filter": {"userid_list": []}}
    assert (await post(fake, LIST, empty))["errcode"] == 81017
    ids, _ = await list_all(fake, {"limit": 10, "owner_filter": {"userid_list": ["lisi"]}})
    assert len(ids) == 1


async def test_groups_belong_to_the_corp_not_the_app(fake: Any) -> None:
    [chat_id] = fake.wecom.create_groups("ops", ["zhangsan"], 1)
    ids, _ = await list_all(fake, {"limit": 10}, "admin")  # another app of the same corp
    assert ids == [chat_id]
    assert await list_all(fake, {"limit": 10}, "other") == ([], 1)
    assert (await post(fake, GET, {"chat_id": chat_id}, "other"))["errcode"] == 90501


async def test_get_shows_the_group_with_members_admins_and_version(fake: Any, clock: Any) -> None:
    fake.wecom.member("ops", "lisi", name="李四")
    three_days_ago = clock.now() - 3 * 86400
    outcome = await fake.wecom.create_group(
        "ops",
        "zhangsan",
        "VIP 群",
        ["lisi", "wmCustomerA0001"],
        admins=["lisi"],
        created_at=three_days_ago,
        notify=False,
    )
    chat_id = outcome.chat_id
    await fake.wecom.change_group_notice("ops", chat_id, "每周五上新", notify=False)
    answer = await post(fake, GET, {"chat_id": chat_id, "need_name": 1})
    assert answer["errcode"] == 0
    group = answer["group_chat"]
    assert (group["chat_id"], group["name"], group["owner"]) == (chat_id, "VIP 群", "zhangsan")
    assert group["create_time"] == int(three_days_ago) and group["notice"] == "每周五上新"
    assert group["admin_list"] == [{"userid": "lisi"}]
    assert len(group["member_version"]) == 32
    owner, staff, customer = group["member_list"]
    assert owner == {
        "userid": "zhangsan",
        "type": 1,
        "join_time": int(three_days_ago),
        "join_scene": 1,
        "group_nickname": "",
        "name": "zhangsan",
    }
    assert (staff["userid"], staff["type"], staff["name"]) == ("lisi", 1, "李四")
    assert staff["invitor"] == {"userid": "zhangsan"}
    assert (customer["userid"], customer["type"], customer["join_scene"]) == (
        "wmCustomerA0001",
        2,
        1,
    )
    unnamed = await post(fake, GET, {"chat_id": chat_id})
    assert all("name" not in m for m in unnamed["group_chat"]["member_list"])


async def test_get_sees_membership_changes_and_a_new_version(fake: Any) -> None:
    outcome = await fake.wecom.create_group("ops", "zhangsan", "g", notify=False)
    before = (await post(fake, GET, {"chat_id": outcome.chat_id}))["group_chat"]
    await fake.wecom.add_group_members(
        "ops", outcome.chat_id, ["wmJoinedByQr001"], scene=3, state="spring", notify=False
    )
    after = (await post(fake, GET, {"chat_id": outcome.chat_id}))["group_chat"]
    assert after["member_version"] != before["member_version"]
    joined = after["member_list"][-1]
    assert (joined["userid"], joined["join_scene"], joined["state"]) == (
        "wmJoinedByQr001",
        3,
        "spring",
    )
    assert "invitor" not in joined  # scanned the group QR: nobody invited them


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({}, 40058),
        ({"chat_id": ""}, 40058),
        ({"chat_id": 5}, 40058),
        ({"chat_id": "wrUnknownChat"}, 90501),
        ({"chat_id": "KNOWN", "need_name": 2}, 40058),
    ],
)
async def test_get_refuses_bad_or_unknown_chat_ids(
    fake: Any, body: dict[str, Any], errcode: int
) -> None:
    [chat_id] = fake.wecom.create_groups("ops", ["zhangsan"], 1)
    if body.get("chat_id") == "KNOWN":
        body = {**body, "chat_id": chat_id}
    assert (await post(fake, GET, body))["errcode"] == errcode


async def test_a_dismissed_group_is_gone_for_the_api(fake: Any) -> None:
    [chat_id] = fake.wecom.create_groups("ops", ["zhangsan"], 1)
    await fake.wecom.dismiss_group("ops", chat_id, notify=False)
    assert (await post(fake, GET, {"chat_id": chat_id}))["errcode"] == 90501
    assert (await post(fake, LIST, {"limit": 10}))["group_chat_list"] == []
    assert fake.wecom.group("ops", chat_id).dismissed  # control still sees it


async def test_the_api_needs_a_token(fake: Any) -> None:
    resp = await fake.client.post(LIST, json={"limit": 10})
    assert (await resp.json())["errcode"] == 41001
