"""Customer-group change events (Event=change_external_chat, platform-facts.md §4.10): decoding
the XML into GroupChange, the callback route handing it to the optional handler (or only
acknowledging it), the staff path untouched, and end to end from the fake."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, unused_port
from pytest_aiohttp import AiohttpClient, AiohttpServer

from channels.wechat.verify import CallbackRejected, parse_xml
from channels.wecom.callback import WecomCallback
from channels.wecom.decode import GroupChange, decode_group_change
from tests.channels.wecom.fake import start_fake
from tests.channels.wecom.wire import APP, Recorder, callback, event_xml, text_xml, web_app

CHAT = "wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA"


def group_xml(change: str, extra: str = "", *, create_time: int = 1403610513) -> str:
    """A change_external_chat event as the official docs show it (no AgentID)."""
    return (
        f"<xml><ToUserName><![CDATA[{APP.corp_id}]]></ToUserName>"
        "<FromUserName><![CDATA[sys]]></FromUserName>"
        f"<CreateTime>{create_time}</CreateTime>"
        "<MsgType><![CDATA[event]]></MsgType>"
        "<Event><![CDATA[change_external_chat]]></Event>"
        f"<ChatId><![CDATA[{CHAT}]]></ChatId>"
        f"<ChangeType><![CDATA[{change}]]></ChangeType>{extra}</xml>"
    )


def decode(xml: str) -> GroupChange | None:
    return decode_group_change(APP, parse_xml(xml))


def test_create() -> None:
    assert decode(group_xml("create")) == GroupChange(
        corp=APP.corp_id,
        chat_id=CHAT,
        change_type="create",
        detail="",
        join_scene=None,
        quit_scene=None,
        count=0,
        at=1403610513,
        account=APP.name,
    )


def test_update_add_member_with_the_newer_fields() -> None:
    extra = (
        "<UpdateDetail><![CDATA[add_member]]></UpdateDetail>"
        "<JoinScene>3</JoinScene><MemChangeCnt>2</MemChangeCnt>"
        "<MemChangeList><Item><![CDATA[wmJack]]></Item><Item><![CDATA[rose]]></Item>"
        "</MemChangeList>"
        "<LastMemVer><![CDATA[9c3f97c2ada667dfb5f6d03308d963e1]]></LastMemVer>"
        "<CurMemVer><![CDATA[71217227bbd112ecfe3a49c482195cb4]]></CurMemVer>"
    )
    change = decode(group_xml("update", extra))
    assert change is not None
    assert (change.change_type, change.detail, change.join_scene, change.quit_scene) == (
        "update",
        "add_member",
        3,
        None,
    )
    assert (change.count, change.members) == (2, ("wmJack", "rose"))
    assert change.last_member_version == "9c3f97c2ada667dfb5f6d03308d963e1"
    assert change.member_version == "71217227bbd112ecfe3a49c482195cb4"


def test_update_add_member_invited_with_a_single_item() -> None:
    extra = (
        "<UpdateDetail><![CDATA[add_member]]></UpdateDetail><JoinScene>0</JoinScene>"
        "<MemChangeCnt>1</MemChangeCnt><MemChangeList><Item>wmOnly</Item></MemChangeList>"
    )
    change = decode(group_xml("update", extra))
    assert change is not None
    assert (change.join_scene, change.count, change.members) == (0, 1, ("wmOnly",))


def test_update_del_member_in_an_older_payload() -> None:
    extra = (
        "<UpdateDetail><![CDATA[del_member]]></UpdateDetail>"
        "<QuitScene>1</QuitScene><MemChangeCnt>1</MemChangeCnt>"
    )
    change = decode(group_xml("update", extra))
    assert change is not None
    assert (change.detail, change.quit_scene, change.join_scene, change.count) == (
        "del_member",
        1,
        None,
        1,
    )
    assert (change.members, change.last_member_version, change.member_version) == ((), "", "")


@pytest.mark.parametrize("detail", ["change_owner", "change_name", "change_notice"])
def test_update_details_without_member_fields(detail: str) -> None:
    change = decode(group_xml("update", f"<UpdateDetail><![CDATA[{detail}]]></UpdateDetail>"))
    assert change is not None and change.detail == detail and change.count == 0


def test_dismiss() -> None:
    change = decode(group_xml("dismiss"))
    assert change is not None and (change.change_type, change.detail) == ("dismiss", "")


def test_other_messages_and_events_are_not_group_changes() -> None:
    assert decode(text_xml(APP, "hi")) is None
    assert decode(event_xml(APP, "change_external_contact", agent=False)) is None
    assert decode(event_xml(APP, "enter_agent")) is None


@pytest.mark.parametrize(
    "xml",
    [
        group_xml("update", "<JoinScene>x</JoinScene>"),
        group_xml("update", "<MemChangeCnt>-1</MemChangeCnt>"),
        group_xml("create").replace(f"<ChatId><![CDATA[{CHAT}]]></ChatId>", ""),
        group_xml("create").replace("<ChangeType><![CDATA[create]]></ChangeType>", ""),
        group_xml("create").replace("<CreateTime>1403610513</CreateTime>", ""),
        group_xml("update", "<MemChangeList>wmJack</MemChangeList>"),
    ],
)
def test_malformed_group_events_are_refused(xml: str) -> None:
    with pytest.raises(CallbackRejected) as refused:
        decode(xml)
    assert refused.value.status == 400


def test_the_dedupe_key_names_the_change_not_only_the_time() -> None:
    add = decode(group_xml("update", "<UpdateDetail>add_member</UpdateDetail>"))
    rename = decode(group_xml("update", "<UpdateDetail>change_name</UpdateDetail>"))
    assert add is not None and rename is not None
    assert add.dedupe_key != rename.dedupe_key
    retry = decode(group_xml("update", "<UpdateDetail>add_member</UpdateDetail>"))
    assert retry is not None and retry.dedupe_key == add.dedupe_key
    assert add.dedupe_key.startswith(f"wecom:{APP.name}:chat:{CHAT}:update:add_member:")


class GroupRecorder:
    def __init__(self) -> None:
        self.changes: list[GroupChange] = []
        self.failures = 0

    async def __call__(self, change: GroupChange) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the database is down")
        self.changes.append(change)


@dataclass
class Route:
    client: TestClient[web.Request, web.Application]
    staff: Recorder
    groups: GroupRecorder

    async def post(self, inner: str) -> tuple[int, str]:
        cb = callback(APP, inner)
        resp = await self.client.post("/wecom/staff", params=cb.query, data=cb.body)
        return resp.status, await resp.text()


async def route(aiohttp_client: AiohttpClient, *, with_handler: bool) -> Route:
    staff, groups = Recorder(), GroupRecorder()
    callback_route = WecomCallback(
        [APP],
        staff,
        timestamp_window=300,
        max_body_bytes=65536,
        on_group_change=groups if with_handler else None,
    )
    return Route(await aiohttp_client(web_app(callback_route)), staff, groups)


async def test_the_route_hands_group_changes_to_the_handler(aiohttp_client: AiohttpClient) -> None:
    bot = await route(aiohttp_client, with_handler=True)
    now = int(time.time())
    assert await bot.post(group_xml("create", create_time=now)) == (200, "")
    assert await bot.post(text_xml(APP, "hi", msg_id=9)) == (200, "")
    [change] = bot.groups.changes
    assert (change.chat_id, change.change_type, change.at) == (CHAT, "create", now)
    assert [m.dedupe_key for m in bot.staff.messages] == ["wecom:staff:msg:9"]


async def test_a_failing_group_handler_answers_503_so_that_wecom_retries(
    aiohttp_client: AiohttpClient,
) -> None:
    bot = await route(aiohttp_client, with_handler=True)
    bot.groups.failures = 1
    xml = group_xml("dismiss", create_time=int(time.time()))
    assert (await bot.post(xml))[0] == 503
    assert (await bot.post(xml))[0] == 200
    assert [c.change_type for c in bot.groups.changes] == ["dismiss"]


async def test_without_a_handler_group_changes_are_acknowledged_and_logged(
    aiohttp_client: AiohttpClient, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await route(aiohttp_client, with_handler=False)
    with caplog.at_level(logging.INFO, logger="channels.wecom.callback"):
        assert await bot.post(group_xml("create", create_time=int(time.time()))) == (200, "")
    assert bot.staff.messages == [] and bot.groups.changes == []
    assert any("acknowledged" in r.getMessage() and CHAT in r.getMessage() for r in caplog.records)


async def test_a_malformed_group_event_is_refused_by_the_route(
    aiohttp_client: AiohttpClient,
) -> None:
    bot = await route(aiohttp_client, with_handler=True)
    xml = group_xml("update", "<JoinScene>x</JoinScene>", create_time=int(time.time()))
    assert (await bot.post(xml))[0] == 400
    assert bot.groups.changes == []


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_the_fakes_group_events_reach_the_handler_decoded(
    aiohttp_server: AiohttpServer, http: aiohttp.ClientSession
) -> None:
    groups = GroupRecorder()
    callback_route = WecomCallback(
        [APP], Recorder(), timestamp_window=300, max_body_bytes=65536, on_group_change=groups
    )
    port = unused_port()
    await aiohttp_server(web_app(callback_route), port=port)
    fake = await start_fake(aiohttp_server, http, bot_port=port)
    created = await fake.wecom.create_group(APP.name, "zhangsan", "g")
    added = await fake.wecom.add_group_members(
        APP.name, created.chat_id, ["wmNewCustomer01", "lisi"], scene=3
    )
    removed = await fake.wecom.remove_group_members(
        APP.name, created.chat_id, ["lisi"], quit_scene=1
    )
    await fake.wecom.dismiss_group(APP.name, created.chat_id)
    assert all(o.statuses == (200,) for o in (created, added, removed))
    create, add, remove, dismiss = groups.changes
    group = fake.wecom.group(APP.name, created.chat_id)
    assert (create.change_type, create.chat_id, create.at) == (
        "create",
        created.chat_id,
        group.create_time,
    )
    assert (add.detail, add.join_scene, add.count, add.members) == (
        "add_member",
        3,
        2,
        ("wmNewCustomer01", "lisi"),
    )
    assert (remove.detail, remove.quit_scene, remove.members) == ("del_member", 1, ("lisi",))
    assert remove.last_member_version == add.member_version
    assert remove.member_version == group.member_version
    assert dismiss.change_type == "dismiss"
    assert len({c.dedupe_key for c in groups.changes}) == 4
