"""The WeCom client's customer-group and group mass-message calls against the WeCom fake:
groupchat/list across cursors and owner batches, groupchat/get, add_msg_template (group) and
its limits, task and per-group results across cursors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from pytest_aiohttp import AiohttpServer
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.errors import PlatformRejected
from channels.wecom.client import NOT_A_CUSTOMER_GROUP, OWNERS_NEED_FILTER, WecomClient
from channels.wecom.sandbox import WecomLimits
from tests.channels.wecom.fake import PNG, Fake, start_fake
from tests.channels.wecom.wire import APP

LIST = "/cgi-bin/externalcontact/groupchat/list"
TEMPLATE = "/cgi-bin/externalcontact/add_msg_template"
RESULT = "/cgi-bin/externalcontact/get_groupmsg_send_result"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def fake(aiohttp_server: AiohttpServer, http: aiohttp.ClientSession) -> Fake:
    return await start_fake(aiohttp_server, http)


def bodies(fake: Fake, path: str) -> list[Any]:
    return [c["body"] for c in fake.wecom.calls_to(path)]


async def test_groupchat_list_follows_the_cursor_to_the_end(
    fake: Fake, engine: AsyncEngine
) -> None:
    chat_ids = fake.wecom.create_groups(APP.name, ["zhangsan", "lisi"], 7)
    client = fake.client(engine)
    assert await client.groupchat_list(limit=3) == chat_ids
    sent = bodies(fake, LIST)
    assert len(sent) == 3
    assert sent[0] == {"status_filter": 0, "limit": 3}
    assert all(body["cursor"] for body in sent[1:])
    assert await client.groupchat_list() == chat_ids  # one page of up to 1000


async def test_groupchat_list_filters_by_status_and_owner(fake: Fake, engine: AsyncEngine) -> None:
    chat_ids = fake.wecom.create_groups(APP.name, ["zhangsan", "lisi"], 4)
    fake.wecom.set_group_status(APP.name, chat_ids[1], 1)
    client = fake.client(engine)
    assert await client.groupchat_list(owners=["zhangsan"], limit=1) == chat_ids[0::2]
    assert await client.groupchat_list(status_filter=1) == [chat_ids[1]]
    assert await client.groupchat_list(owners=[]) == []
    assert len(bodies(fake, LIST)) == 3  # no call for an empty owner list


async def test_more_than_100_owners_are_asked_in_batches(fake: Fake, engine: AsyncEngine) -> None:
    owners = [f"staff{i:03d}" for i in range(150)]
    chat_ids = fake.wecom.create_groups(APP.name, owners, 150)
    found = await fake.client(engine).groupchat_list(owners=[*owners, owners[0]])
    assert sorted(found) == sorted(chat_ids) and len(found) == 150
    batches = [len(body["owner_filter"]["userid_list"]) for body in bodies(fake, LIST)]
    assert batches == [100, 50]


async def test_a_large_corp_must_filter_by_owner(
    aiohttp_server: AiohttpServer, http: aiohttp.ClientSession, engine: AsyncEngine
) -> None:
    fake = await start_fake(
        aiohttp_server, http, limits=WecomLimits(groupchat_unfiltered_members=1)
    )
    fake.wecom.create_groups(APP.name, ["zhangsan", "lisi"], 2)
    client = fake.client(engine)
    with pytest.raises(PlatformRejected) as refused:
        await client.groupchat_list()
    assert refused.value.code == OWNERS_NEED_FILTER
    assert len(await client.groupchat_list(owners=["lisi"])) == 1


async def test_groupchat_list_checks_its_arguments(fake: Fake, engine: AsyncEngine) -> None:
    client = fake.client(engine)
    for kwargs in ({"limit": 0}, {"limit": 1001}, {"status_filter": 4}):
        with pytest.raises(ValueError):
            await client.groupchat_list(**kwargs)
    assert fake.count(LIST) == 0


async def test_groupchat_get_returns_the_group_with_names(fake: Fake, engine: AsyncEngine) -> None:
    fake.wecom.member(APP.name, "lisi", name="李四")
    outcome = await fake.wecom.create_group(
        APP.name, "zhangsan", "老客群", ["lisi", "wmCustomer0001"], notify=False
    )
    client = fake.client(engine)
    group = await client.groupchat_get(outcome.chat_id)
    assert (group["chat_id"], group["name"], group["owner"]) == (
        outcome.chat_id,
        "老客群",
        "zhangsan",
    )
    assert [(m["userid"], m["type"], m["name"]) for m in group["member_list"]][1:] == [
        ("lisi", 1, "李四"),
        ("wmCustomer0001", 2, "客户0001"),
    ]
    assert group["member_version"] == fake.wecom.group(APP.name, outcome.chat_id).member_version
    with pytest.raises(PlatformRejected) as unknown:
        await client.groupchat_get("wrNoSuchGroup")
    assert unknown.value.code == NOT_A_CUSTOMER_GROUP


async def test_add_group_msg_template_returns_msgid_and_fail_list(
    fake: Fake, engine: AsyncEngine
) -> None:
    mine = fake.wecom.create_groups(APP.name, ["zhangsan"], 2)
    [theirs] = fake.wecom.create_groups(APP.name, ["lisi"], 1)
    client = fake.client(engine)
    media_id = await client.upload_media("image", "p.png", PNG)
    link = {"title": "新品", "url": "https://example.com/new", "picurl": "", "desc": "看看"}
    attachments = [
        {"msgtype": "image", "image": {"media_id": media_id}},
        {"msgtype": "link", "link": link},
    ]
    msgid, failed = await client.add_group_msg_template(
        "zhangsan", [*mine, theirs], "周末活动", attachments
    )
    assert msgid.startswith("msg") and failed == [theirs]
    [body] = bodies(fake, TEMPLATE)
    assert body == {
        "chat_type": "group",
        "sender": "zhangsan",
        "chat_id_list": [*mine, theirs],
        "text": {"content": "周末活动"},
        "attachments": attachments,
    }
    [entry] = fake.seen("zhangsan")
    assert (entry["kind"], entry["msgid"], entry["chat_ids"]) == ("group_msg_task", msgid, mine)

    await client.add_group_msg_template("zhangsan", mine, "", attachments[:1])
    assert "text" not in bodies(fake, TEMPLATE)[1]
    with pytest.raises(PlatformRejected) as nothing_left:
        await client.add_group_msg_template("zhangsan", [theirs], "hi", [])
    assert nothing_left.value.code == NOT_A_CUSTOMER_GROUP


@pytest.mark.parametrize(
    ("chats", "text", "attachments"),
    [
        (0, "hi", 0),
        (2001, "hi", 0),
        (1, "hi", 10),
        (1, "", 0),
    ],
)
async def test_add_group_msg_template_refuses_what_one_call_cannot_carry(
    fake: Fake, engine: AsyncEngine, chats: int, text: str, attachments: int
) -> None:
    chat_ids = [f"wr{i:05d}" for i in range(chats)]
    items = [{"msgtype": "link", "link": {"title": "t", "url": "https://x"}}] * attachments
    with pytest.raises(ValueError):
        await fake.client(engine).add_group_msg_template("zhangsan", chat_ids, text, items)
    assert fake.count(TEMPLATE) == 0


async def test_task_and_results_after_the_owner_sends(fake: Fake, engine: AsyncEngine) -> None:
    chat_ids = fake.wecom.create_groups(APP.name, ["zhangsan"], 2)
    client = fake.client(engine)
    msgid, _ = await client.add_group_msg_template("zhangsan", chat_ids, "hi", [])
    assert await client.groupmsg_task(msgid) == [{"userid": "zhangsan", "status": 0}]
    assert [r["status"] for r in await client.groupmsg_send_result(msgid, "zhangsan")] == [0, 0]
    task = fake.wecom.confirm_group_task(APP.name, "zhangsan", msgid)
    [row] = await client.groupmsg_task(msgid)
    assert (row["status"], row["send_time"]) == (2, task.send_time)
    results = await client.groupmsg_send_result(msgid, "zhangsan")
    assert [(r["chat_id"], r["status"]) for r in results] == [(c, 1) for c in chat_ids]
    assert await client.groupmsg_send_result(msgid, "lisi") == []
    with pytest.raises(PlatformRejected):
        await client.groupmsg_task("msgUnknown")


async def test_send_results_follow_the_cursor_across_pages(fake: Fake, engine: AsyncEngine) -> None:
    chat_ids = fake.wecom.create_groups(APP.name, ["zhangsan"], 1500)
    client: WecomClient = fake.client(engine)
    msgid, failed = await client.add_group_msg_template("zhangsan", chat_ids, "hi", [])
    assert failed == []
    fake.wecom.confirm_group_task(APP.name, "zhangsan", msgid)
    results = await client.groupmsg_send_result(msgid, "zhangsan")
    assert [r["chat_id"] for r in results] == chat_ids
    assert all(r["status"] == 1 for r in results)
    sent = bodies(fake, RESULT)
    assert len(sent) == 2 and "cursor" not in sent[0] and sent[1]["cursor"]
