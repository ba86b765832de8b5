"""The WeCom client's join-way, corp-tag and member-name calls against the WeCom fake: join ways
created (remark cut, auto_create_room always sent), read with a QR picture the bot can fetch,
updated and removed; limits checked before calling; corp tags created, listed and marked on a
customer; user/get names."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from pytest_aiohttp import AiohttpServer
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.errors import PlatformRejected, RecipientUnreachable
from channels.wecom.client import (
    INVALID_TAG,
    NOT_A_CUSTOMER,
    NOT_A_CUSTOMER_GROUP,
    TAG_NAME_EXISTS,
    USER_NOT_FOUND,
)
from channels.wecom.sandbox import WecomLimits
from tests.channels.wecom.fake import Fake, start_fake
from tests.channels.wecom.wire import APP

ADD = "/cgi-bin/externalcontact/groupchat/add_join_way"
UPDATE = "/cgi-bin/externalcontact/groupchat/update_join_way"
ADD_TAG = "/cgi-bin/externalcontact/add_corp_tag"
MARK = "/cgi-bin/externalcontact/mark_tag"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def fake(aiohttp_server: AiohttpServer, http: aiohttp.ClientSession) -> Fake:
    fake = await start_fake(aiohttp_server, http, limits=WecomLimits(group_qr_join_below=3))
    fake.wecom.member(APP.name, "zhangsan", "张三")
    return fake


async def groups(fake: Fake, count: int) -> list[str]:
    return [
        (await fake.wecom.create_group(APP.name, "zhangsan", f"群{i}", notify=False)).chat_id
        for i in range(count)
    ]


def bodies(fake: Fake, path: str) -> list[object]:
    return [c["body"] for c in fake.wecom.calls_to(path)]


async def test_a_join_way_is_created_read_updated_and_removed(
    fake: Fake, engine: AsyncEngine, http: aiohttp.ClientSession
) -> None:
    client = fake.client(engine)
    first, second = await groups(fake, 2)
    config_id = await client.add_join_way([first], state="poster", remark="备" * 35)
    assert bodies(fake, ADD) == [
        {
            "scene": 2,
            "chat_id_list": [first],
            "state": "poster",
            "remark": "备" * 30,
            "auto_create_room": 0,
        }
    ]
    way = await client.get_join_way(config_id)
    assert (way["chat_id_list"], way["state"], way["auto_create_room"]) == ([first], "poster", 0)
    assert way["qr_code"] == f"{fake.url}/sandbox/wwpic/{config_id}.png"
    async with http.get(way["qr_code"]) as resp:
        assert (resp.status, resp.content_type) == (200, "image/png")
        assert (await resp.read()).startswith(PNG_MAGIC)

    await client.update_join_way(config_id, [second, first], remark="")
    assert bodies(fake, UPDATE) == [
        {"config_id": config_id, "scene": 2, "chat_id_list": [second, first], "remark": ""}
    ]
    way = await client.get_join_way(config_id)
    assert (way["chat_id_list"], way["state"], way["remark"]) == ([second, first], "poster", "")

    await client.del_join_way(config_id)
    with pytest.raises(PlatformRejected) as removed:
        await client.get_join_way(config_id)
    assert removed.value.code == 40058
    async with http.get(way["qr_code"]) as resp:
        assert resp.status == 404


async def test_an_auto_creating_way_names_its_new_groups(fake: Fake, engine: AsyncEngine) -> None:
    client = fake.client(engine)
    [chat_id] = await groups(fake, 1)
    config_id = await client.add_join_way(
        [chat_id], auto_create=True, base_name="福利群", base_id=7
    )
    [sent] = bodies(fake, ADD)
    assert sent == {
        "scene": 2,
        "chat_id_list": [chat_id],
        "auto_create_room": 1,
        "room_base_name": "福利群",
        "room_base_id": 7,
    }
    await fake.wecom.add_group_members(
        APP.name,
        chat_id,
        ["wmA000000000000000000000000000001", "wmA000000000000000000000000000002"],
        notify=False,
    )
    outcome = await fake.wecom.scan_join_way(APP.name, config_id, notify=False)
    assert outcome.created_group
    assert fake.wecom.group(APP.name, outcome.chat_id).name == "福利群7"
    assert (await client.get_join_way(config_id))["chat_id_list"] == [chat_id, outcome.chat_id]


async def test_join_way_limits_are_checked_before_calling(fake: Fake, engine: AsyncEngine) -> None:
    client = fake.client(engine)
    six = await groups(fake, 6)
    with pytest.raises(ValueError, match="1-5"):
        await client.add_join_way([])
    with pytest.raises(ValueError, match="1-5"):
        await client.add_join_way(six)
    with pytest.raises(ValueError, match="twice"):
        await client.add_join_way([six[0], six[0]])
    with pytest.raises(ValueError, match="state"):
        await client.add_join_way(six[:1], state="s" * 31)
    with pytest.raises(ValueError, match="base_name"):
        await client.add_join_way(six[:1], auto_create=True, base_name="n" * 41)
    with pytest.raises(ValueError, match="1-5"):
        await client.update_join_way("any", six)
    with pytest.raises(ValueError, match="state"):
        await client.update_join_way("any", six[:1], state="s" * 31)
    assert fake.count(ADD) == 0 and fake.count(UPDATE) == 0
    assert await client.add_join_way(six[:5], state="s" * 30)


async def test_platform_refusals_of_join_ways(fake: Fake, engine: AsyncEngine) -> None:
    client = fake.client(engine)
    [chat_id] = await groups(fake, 1)
    with pytest.raises(PlatformRejected) as unknown:
        await client.add_join_way(["wrUnknown0000000000000000000000"])
    assert unknown.value.code == NOT_A_CUSTOMER_GROUP
    with pytest.raises(PlatformRejected) as missing:
        await client.update_join_way("0" * 32, [chat_id])
    assert missing.value.code == 40058


async def test_corp_tags_are_created_listed_and_marked(fake: Fake, engine: AsyncEngine) -> None:
    client = fake.client(engine)
    created = await client.add_corp_tags("等级", ["VIP", "普通"])
    assert sorted(created) == ["VIP", "普通"]
    assert bodies(fake, ADD_TAG) == [
        {"group_name": "等级", "tag": [{"name": "VIP"}, {"name": "普通"}]}
    ]
    more = await client.add_corp_tags("等级", ["潜在"])
    [group] = await client.corp_tags()
    assert group["group_name"] == "等级"
    assert {t["name"]: t["id"] for t in group["tag"]} == {**created, **more}
    with pytest.raises(PlatformRejected) as exists:
        await client.add_corp_tags("等级", ["VIP"])
    assert exists.value.code == TAG_NAME_EXISTS

    way, _ = await client.add_contact_way(["zhangsan"])
    customer = (await fake.wecom.scan_contact_way(APP.name, way, notify=False)).external_userid
    await client.mark_tag("zhangsan", customer, [created["VIP"], created["普通"]])
    await client.mark_tag("zhangsan", customer, [], [created["普通"]])
    [follow] = (await client.get_external_contact(customer))["follow_user"]
    assert [(t["tag_name"], t["tag_id"]) for t in follow["tags"]] == [("VIP", created["VIP"])]

    with pytest.raises(PlatformRejected) as invalid:
        await client.mark_tag("zhangsan", customer, ["etUnknown"])
    assert invalid.value.code == INVALID_TAG
    fake.wecom.member(APP.name, "lisi")
    with pytest.raises(RecipientUnreachable) as stranger:
        await client.mark_tag("lisi", customer, [created["VIP"]])
    assert stranger.value.code == NOT_A_CUSTOMER


async def test_tag_limits_are_checked_before_calling(fake: Fake, engine: AsyncEngine) -> None:
    client = fake.client(engine)
    with pytest.raises(ValueError, match="at least one"):
        await client.add_corp_tags("等级", [])
    with pytest.raises(ValueError, match="twice"):
        await client.add_corp_tags("等级", ["a", "a"])
    with pytest.raises(ValueError, match="30"):
        await client.add_corp_tags("等级", ["t" * 31])
    with pytest.raises(ValueError, match="remove"):
        await client.mark_tag("zhangsan", "wmX", [])
    assert fake.count(ADD_TAG) == 0 and fake.count(MARK) == 0


async def test_user_name(fake: Fake, engine: AsyncEngine) -> None:
    client = fake.client(engine)
    assert await client.user_name("ZHANGSAN") == "张三"
    with pytest.raises(PlatformRejected) as missing:
        await client.user_name("nobody")
    assert missing.value.code == USER_NOT_FOUND
