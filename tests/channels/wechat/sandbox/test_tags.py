"""User tags (§2.8): create with the name and count limits, batch tagging with its limits, the
follower counts of tags/get and the members of user/tag/get."""

from __future__ import annotations

from typing import Any

TAG_LIMIT = 100


async def create(fake: Any, name: str) -> Any:
    return await fake.api("POST", "/cgi-bin/tags/create", json={"tag": {"name": name}})


async def tag(fake: Any, tag_id: int, openids: list[Any]) -> Any:
    body = {"openid_list": openids, "tagid": tag_id}
    return await fake.api("POST", "/cgi-bin/tags/members/batchtagging", json=body)


async def members(fake: Any, tag_id: int, next_openid: str = "") -> Any:
    body = {"tagid": tag_id, "next_openid": next_openid}
    return await fake.api("POST", "/cgi-bin/user/tag/get", json=body)


def fans(fake: Any, count: int) -> list[str]:
    return [fake.platform.add_follower("safe", f"oFan{i:024d}") for i in range(count)]


async def test_created_tags_get_ids_from_100_and_count_following_members(fake: Any) -> None:
    vip = await create(fake, "VIP客户")
    new = await create(fake, "新客")
    assert vip == {"tag": {"id": 100, "name": "VIP客户"}}
    assert new["tag"]["id"] == 101
    people = fans(fake, 3)
    assert (await tag(fake, 100, people))["errcode"] == 0
    assert (await tag(fake, 101, people[:1]))["errcode"] == 0
    fake.platform.state("safe").customers[people[2]].following = False
    listed = await fake.api("GET", "/cgi-bin/tags/get")
    assert listed == {
        "tags": [
            {"id": 100, "name": "VIP客户", "count": 2},
            {"id": 101, "name": "新客", "count": 1},
        ]
    }
    info = await fake.api("GET", "/cgi-bin/user/info", params={"openid": people[0]})
    assert info["tagid_list"] == [100, 101]


async def test_a_tag_name_is_at_most_30_bytes(fake: Any) -> None:
    too_long = await create(fake, "标" * 11)  # 33 bytes
    assert too_long["errcode"] == 45158
    assert (await create(fake, "标" * 10))["tag"]["name"] == "标" * 10  # 30 bytes
    assert (await fake.api("GET", "/cgi-bin/tags/get"))["tags"][0]["id"] == 100


async def test_a_tag_name_must_be_new_and_not_empty(fake: Any) -> None:
    await create(fake, "老客")
    assert (await create(fake, "老客"))["errcode"] == 45157
    assert (await create(fake, ""))["errcode"] == 45157
    assert len((await fake.api("GET", "/cgi-bin/tags/get"))["tags"]) == 1


async def test_an_account_has_at_most_100_tags(fake: Any) -> None:
    for i in range(TAG_LIMIT):
        assert "tag" in await create(fake, f"t{i}")
    assert (await create(fake, "one more"))["errcode"] == 45056
    assert len((await fake.api("GET", "/cgi-bin/tags/get"))["tags"]) == TAG_LIMIT


async def test_batch_tagging_takes_1_to_50_known_openids(fake: Any) -> None:
    tag_id = (await create(fake, "批量"))["tag"]["id"]
    people = fans(fake, 51)
    assert (await tag(fake, tag_id, []))["errcode"] == 40032
    assert (await tag(fake, tag_id, people))["errcode"] == 40032
    assert (await tag(fake, tag_id, [people[0], "oNobody"]))["errcode"] == 40003
    assert (await tag(fake, tag_id + 1, people[:2]))["errcode"] == 45159
    assert (await members(fake, tag_id))["count"] == 0  # a refused batch tags nobody
    assert (await tag(fake, tag_id, people[:50]))["errcode"] == 0
    assert (await members(fake, tag_id))["count"] == 50


async def test_a_customer_carries_at_most_20_tags(fake: Any) -> None:
    ids = [(await create(fake, f"t{i}"))["tag"]["id"] for i in range(21)]
    busy, free = fans(fake, 2)
    for tag_id in ids[:20]:
        assert (await tag(fake, tag_id, [busy]))["errcode"] == 0
    assert (await tag(fake, ids[0], [busy]))["errcode"] == 0  # carrying it already: no change
    assert (await tag(fake, ids[20], [free, busy]))["errcode"] == 45059
    customers = fake.platform.state("safe").customers
    assert len(customers[busy].tagid_list) == 20
    assert customers[free].tagid_list == []  # all or nothing


async def test_user_tag_get_lists_following_members_after_next_openid(fake: Any) -> None:
    tag_id = (await create(fake, "名单"))["tag"]["id"]
    people = fans(fake, 4)
    await tag(fake, tag_id, people[:3])
    fake.platform.state("safe").customers[people[1]].following = False
    first = await members(fake, tag_id)
    assert first == {"count": 2, "data": {"openid": [people[0], people[2]]}, "next_openid": ""}
    rest = await members(fake, tag_id, people[0])
    assert rest["data"]["openid"] == [people[2]]
    assert (await members(fake, tag_id + 1))["errcode"] == 45159
    assert (await members(fake, tag_id, "oNobody"))["errcode"] == 40003


async def test_sendall_by_tag_reaches_the_members_of_a_created_tag(fake: Any) -> None:
    tag_id = (await create(fake, "群发"))["tag"]["id"]
    member, other = fans(fake, 2)
    await tag(fake, tag_id, [member])
    body = {
        "msgtype": "text",
        "text": {"content": "会员专享"},
        "filter": {"is_to_all": False, "tag_id": tag_id},
    }
    sent = await fake.api("POST", "/cgi-bin/message/mass/sendall", json=body)
    assert sent["errcode"] == 0
    assert [e["via"] for e in fake.platform.timeline("safe", member)] == ["mass"]
    assert fake.platform.timeline("safe", other) == []
