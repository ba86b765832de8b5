"""Customer change events (Event=change_external_contact, platform-facts.md §4.5): decoding the
XML into ContactChange, the callback route handing it to the optional handler (503 when the
handler fails), and end to end from the fake: a scan's event reaches the handler with its
state and a welcome code the client can use."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, unused_port
from pytest_aiohttp import AiohttpClient, AiohttpServer
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.errors import PlatformRejected
from channels.wechat.verify import CallbackRejected, parse_xml
from channels.wecom.callback import WecomCallback
from channels.wecom.client import WELCOME_CODE_USED
from channels.wecom.decode import ContactChange, decode_contact_change
from tests.channels.wecom.fake import start_fake
from tests.channels.wecom.wire import APP, Recorder, callback, web_app

CUSTOMER = "woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA"


def contact_xml(change: str, extra: str = "", *, create_time: int = 1403610513) -> str:
    """A change_external_contact event as the official docs show it (no AgentID)."""
    return (
        f"<xml><ToUserName><![CDATA[{APP.corp_id}]]></ToUserName>"
        "<FromUserName><![CDATA[sys]]></FromUserName>"
        f"<CreateTime>{create_time}</CreateTime>"
        "<MsgType><![CDATA[event]]></MsgType>"
        "<Event><![CDATA[change_external_contact]]></Event>"
        f"<ChangeType><![CDATA[{change}]]></ChangeType>"
        "<UserID><![CDATA[zhangsan]]></UserID>"
        f"<ExternalUserID><![CDATA[{CUSTOMER}]]></ExternalUserID>{extra}</xml>"
    )


def decode(xml: str) -> ContactChange | None:
    return decode_contact_change(APP, parse_xml(xml))


def test_add_external_contact() -> None:
    extra = "<State><![CDATA[fair]]></State><WelcomeCode><![CDATA[WELCOMECODE]]></WelcomeCode>"
    assert decode(contact_xml("add_external_contact", extra)) == ContactChange(
        corp=APP.corp_id,
        change_type="add_external_contact",
        userid="zhangsan",
        external_userid=CUSTOMER,
        state="fair",
        welcome_code="WELCOMECODE",
        at=1403610513,
        account=APP.name,
    )


def test_delete_events_carry_no_welcome_code() -> None:
    change = decode(contact_xml("del_external_contact", "<Source>DELETE_BY_TRANSFER</Source>"))
    assert change is not None
    assert (change.change_type, change.source, change.welcome_code, change.state) == (
        "del_external_contact",
        "DELETE_BY_TRANSFER",
        "",
        "",
    )
    failed = decode(contact_xml("transfer_fail", "<FailReason>customer_refused</FailReason>"))
    assert failed is not None and failed.fail_reason == "customer_refused"


def test_other_events_are_not_contact_changes() -> None:
    group = contact_xml("create").replace("change_external_contact", "change_external_chat")
    assert decode(group) is None
    assert decode(contact_xml("x").replace("[event]", "[text]")) is None


@pytest.mark.parametrize("missing", ["ChangeType", "UserID", "ExternalUserID", "CreateTime"])
def test_malformed_contact_events_are_refused(missing: str) -> None:
    fields = parse_xml(contact_xml("add_external_contact"))
    del fields[missing]
    with pytest.raises(CallbackRejected):
        decode_contact_change(APP, fields)


def test_the_dedupe_key_names_the_change_and_the_ids() -> None:
    add = decode(contact_xml("add_external_contact"))
    drop = decode(contact_xml("del_follow_user"))
    retry = decode(contact_xml("add_external_contact"))
    assert add is not None and drop is not None and retry is not None
    assert add.dedupe_key != drop.dedupe_key and retry.dedupe_key == add.dedupe_key
    assert CUSTOMER in add.dedupe_key and "zhangsan" in add.dedupe_key


class ContactRecorder:
    def __init__(self) -> None:
        self.changes: list[ContactChange] = []
        self.failures = 0

    async def __call__(self, change: ContactChange) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the database is down")
        self.changes.append(change)


@dataclass
class Route:
    client: TestClient[web.Request, web.Application]
    staff: Recorder
    contacts: ContactRecorder

    async def post(self, inner: str) -> tuple[int, str]:
        cb = callback(APP, inner)
        resp = await self.client.post("/wecom/staff", params=cb.query, data=cb.body)
        return resp.status, await resp.text()


async def route(aiohttp_client: AiohttpClient, *, with_handler: bool) -> Route:
    staff, contacts = Recorder(), ContactRecorder()
    callback_route = WecomCallback(
        [APP],
        staff,
        timestamp_window=300,
        max_body_bytes=65536,
        on_contact_change=contacts if with_handler else None,
    )
    return Route(await aiohttp_client(web_app(callback_route)), staff, contacts)


async def test_the_route_hands_contact_changes_to_the_handler(
    aiohttp_client: AiohttpClient,
) -> None:
    bot = await route(aiohttp_client, with_handler=True)
    now = int(time.time())
    extra = "<State>fair</State><WelcomeCode>CODE</WelcomeCode>"
    assert await bot.post(contact_xml("add_external_contact", extra, create_time=now)) == (200, "")
    [change] = bot.contacts.changes
    assert (change.external_userid, change.state, change.welcome_code, change.at) == (
        CUSTOMER,
        "fair",
        "CODE",
        now,
    )
    assert bot.staff.messages == []


async def test_a_failing_contact_handler_answers_503_so_that_wecom_retries(
    aiohttp_client: AiohttpClient,
) -> None:
    bot = await route(aiohttp_client, with_handler=True)
    bot.contacts.failures = 1
    xml = contact_xml("del_follow_user", create_time=int(time.time()))
    assert (await bot.post(xml))[0] == 503
    assert (await bot.post(xml))[0] == 200
    assert [c.change_type for c in bot.contacts.changes] == ["del_follow_user"]


async def test_without_a_handler_contact_changes_are_acknowledged(
    aiohttp_client: AiohttpClient,
) -> None:
    bot = await route(aiohttp_client, with_handler=False)
    assert await bot.post(contact_xml("del_follow_user", create_time=int(time.time()))) == (
        200,
        "",
    )
    assert bot.contacts.changes == [] and bot.staff.messages == []


async def test_a_malformed_contact_event_is_refused_by_the_route(
    aiohttp_client: AiohttpClient,
) -> None:
    bot = await route(aiohttp_client, with_handler=True)
    xml = contact_xml("add_external_contact", create_time=int(time.time()))
    assert (await bot.post(xml.replace("<UserID><![CDATA[zhangsan]]></UserID>", "")))[0] == 400
    assert bot.contacts.changes == []


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_a_scan_reaches_the_handler_with_a_welcome_code_usable_once(
    aiohttp_server: AiohttpServer, http: aiohttp.ClientSession, engine: AsyncEngine
) -> None:
    port = unused_port()
    contacts = ContactRecorder()
    callback_route = WecomCallback(
        [APP],
        Recorder(),
        timestamp_window=300,
        max_body_bytes=65536,
        on_contact_change=contacts,
    )
    await aiohttp_server(web_app(callback_route), port=port)
    fake = await start_fake(aiohttp_server, http, bot_port=port)
    fake.wecom.member(APP.name, "zhangsan")
    client = fake.client(engine)
    config_id, _ = await client.add_contact_way(["zhangsan"], state="spring-fair")
    outcome = await fake.wecom.scan_contact_way(APP.name, config_id, name="王小明")
    assert outcome.statuses == (200,)
    [change] = contacts.changes
    assert (change.change_type, change.userid, change.external_userid, change.state) == (
        "add_external_contact",
        "zhangsan",
        outcome.external_userid,
        "spring-fair",
    )
    assert change.welcome_code == outcome.welcome_code != ""
    await client.send_welcome_msg(change.welcome_code, "欢迎!")
    with pytest.raises(PlatformRejected) as again:
        await client.send_welcome_msg(change.welcome_code, "欢迎!")
    assert again.value.code == WELCOME_CODE_USED
