"""MASSSENDJOBFINISH on the callback route: after the usual checks the report goes to
``on_mass_finish``, never to the inbound processor (no follower, no reply); a failing handler
answers 503 so that WeChat retries. The route runs with the bot's real processor and database."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from bot.app import ENGINE, PROCESSOR
from channels.wechat.account import WechatAccount
from channels.wechat.callback import InboundHandler, WechatCallback
from channels.wechat.decode import MassFinish, decode_mass_finish
from channels.wechat.sandbox import (
    FakeAccount,
    build_callback,
    event_xml,
    mass_finish_xml,
    text_xml,
)
from handlers.events import Inbound
from handlers.messages import Message
from storage.models import FollowerRow, InboundEventRow, OutboxRow
from tests.helpers.stack import Stack, running_stack

HELPER = "oMassHelper00000000000000001"
OPENID = "oCustomer000000000000000001"
CONFIG = {
    "keyword_rules": [{"name": "hi", "keywords": [{"exact": "你好"}], "reply": [{"text": "您好"}]}]
}


def finish_xml(account: FakeAccount, msg_id: int = 1000001) -> str:
    return mass_finish_xml(
        account,
        HELPER,
        int(time.time()),
        msg_id=msg_id,
        status="send success",
        total=10,
        filter_count=9,
        sent=8,
        errors=1,
    )


class Spy:
    """The bot's processor, with a record of what reached it."""

    def __init__(self, inner: InboundHandler) -> None:
        self.inner = inner
        self.events: list[Inbound] = []

    async def handle(self, event: Inbound, started: float | None = None) -> Message | None:
        self.events.append(event)
        return await self.inner.handle(event, started)


@dataclass
class Route:
    """A callback route with ``on_mass_finish`` beside the bot of ``stack`` (same processor)."""

    stack: Stack
    url: str
    processor: Spy
    finishes: list[MassFinish] = field(default_factory=list)

    async def post(
        self, inner_xml: str, *, timestamp: int | None = None, **replace: str
    ) -> tuple[int, str]:
        account = self.stack.account
        query, body = build_callback(
            account, inner_xml, timestamp=timestamp or int(time.time()), nonce="n1"
        )
        query.update(replace)
        async with self.stack.http.post(self.url, params=query, data=body) as resp:
            return resp.status, await resp.text()

    async def rows(self) -> dict[str, int]:
        async with self.stack.app[ENGINE].connect() as conn:
            return {
                model.__tablename__: int(
                    await conn.scalar(select(func.count()).select_from(model.__table__)) or 0
                )
                for model in (FollowerRow, InboundEventRow, OutboxRow)
            }


NO_ROWS = {"followers": 0, "inbound_events": 0, "outbox": 0}
RouteFactory = Callable[..., Awaitable[Route]]


@pytest.fixture
async def stack(tmp_path: Path, db_url: str) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path, db_url, config={"demo": CONFIG}) as stack:
        yield stack


@pytest.fixture
async def route_for(stack: Stack) -> AsyncIterator[RouteFactory]:
    servers: list[TestServer] = []

    async def make(handler: str | None = "record") -> Route:
        fake = stack.account
        account = WechatAccount(
            name=fake.name,
            app_id=fake.app_id,
            secret=fake.secret,
            token=fake.token,
            encoding_aes_key=fake.encoding_aes_key,
            mode=fake.mode,
            original_id=fake.original_id,
        )
        spy = Spy(stack.app[PROCESSOR])
        finishes: list[MassFinish] = []

        async def record(finish: MassFinish) -> None:
            finishes.append(finish)
            if handler == "raise":
                raise RuntimeError("the mass-send table is locked")

        callback = WechatCallback(
            [account],
            spy,
            timestamp_window=300,
            max_body_bytes=1 << 20,
            on_mass_finish=None if handler is None else record,
        )
        app = web.Application()
        app.add_routes(callback.routes())
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return Route(stack, f"http://127.0.0.1:{server.port}/wechat/demo", spy, finishes)

    yield make
    for server in servers:
        await server.close()


async def test_a_finish_report_reaches_the_handler_and_not_the_processor(
    route_for: RouteFactory,
) -> None:
    route = await route_for()
    assert await route.post(finish_xml(route.stack.account)) == (200, "success")
    assert route.finishes == [MassFinish("demo", "1000001", "send success", 10, 9, 8, 1)]
    assert route.processor.events == []
    assert await route.rows() == NO_ROWS
    # The same route does hand a follower's message to the processor, which records it.
    hello = text_xml(route.stack.account, OPENID, "你好", msg_id=7, create_time=int(time.time()))
    status, _ = await route.post(hello)
    assert status == 200 and len(route.processor.events) == 1
    assert (await route.rows())["inbound_events"] == 1


async def test_a_failing_handler_answers_503_and_is_logged(
    route_for: RouteFactory, caplog: pytest.LogCaptureFixture
) -> None:
    route = await route_for("raise")
    with caplog.at_level(logging.INFO, logger="channels.wechat.callback"):
        status, _ = await route.post(finish_xml(route.stack.account, msg_id=555))
    assert status == 503
    assert len(route.finishes) == 1
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "mass send 555" in errors[0].getMessage()
    assert errors[0].exc_info is not None
    assert route.processor.events == []
    assert await route.rows() == NO_ROWS


async def test_without_a_handler_the_report_is_answered_and_logged(
    route_for: RouteFactory, caplog: pytest.LogCaptureFixture
) -> None:
    route = await route_for(None)
    with caplog.at_level(logging.INFO, logger="channels.wechat.callback"):
        assert await route.post(finish_xml(route.stack.account, msg_id=777)) == (200, "success")
    assert any(
        r.levelno == logging.INFO and "mass send 777" in r.getMessage() for r in caplog.records
    )
    assert route.processor.events == []
    assert await route.rows() == NO_ROWS


@pytest.mark.parametrize(
    ("case", "answer"),
    [
        ("wrong msg_signature", (403, "signature does not match")),
        ("stale timestamp", (403, "timestamp outside the accepted window (replay?)")),
        ("no MsgID", (400, "MASSSENDJOBFINISH without a numeric MsgID")),
    ],
)
async def test_a_finish_report_is_checked_like_any_callback(
    route_for: RouteFactory, case: str, answer: tuple[int, str]
) -> None:
    route = await route_for()
    xml = finish_xml(route.stack.account)
    if case == "wrong msg_signature":
        got = await route.post(xml, msg_signature="0" * 40)
    elif case == "stale timestamp":
        got = await route.post(xml, timestamp=int(time.time()) - 3600)
    else:
        xml = xml.replace("<MsgID>1000001</MsgID>", "")
        assert "MsgID" not in xml
        got = await route.post(xml)
    assert got == answer
    assert route.finishes == [] and route.processor.events == []


async def test_results_with_items_are_decoded(route_for: RouteFactory) -> None:
    route = await route_for()
    article = {"ArticleIdx": 1, "ArticleUrl": "https://mp.weixin.qq.com/s/x"}
    check = {"ArticleIdx": 1, "UserDeclareState": 0, "AuditState": 2, "OriginalArticleUrl": ""}
    xml = event_xml(
        route.stack.account,
        HELPER,
        "MASSSENDJOBFINISH",
        int(time.time()),
        extra={
            "MsgID": 2000002,
            "Status": "err(30003)",
            "TotalCount": 5,
            "FilterCount": 4,
            "SentCount": 0,
            "ErrorCount": 4,
            "CopyrightCheckResult": {"Count": 1, "ResultList": [check], "CheckState": 2},
            "ArticleUrlResult": {"Count": 1, "ResultList": [article]},
        },
    )
    assert await route.post(xml) == (200, "success")
    assert route.finishes == [MassFinish("demo", "2000002", "err(30003)", 5, 4, 0, 4)]


async def test_the_bot_answers_a_finish_report_without_a_follower_or_a_reply(
    stack: Stack,
) -> None:
    status, body = await stack.post_callback(finish_xml(stack.account))
    assert (status, body) == (200, b"success")
    async with stack.app[ENGINE].connect() as conn:
        for model in (FollowerRow, InboundEventRow, OutboxRow):
            count = await conn.scalar(select(func.count()).select_from(model.__table__))
            assert count == 0, model.__tablename__


def test_decode_mass_finish_takes_only_the_finish_event() -> None:
    head = {"ToUserName": "gh", "FromUserName": HELPER, "CreateTime": "1"}
    other = {**head, "MsgType": "event", "Event": "TEMPLATESENDJOBFINISH", "MsgID": "1"}
    assert decode_mass_finish("demo", other) is None
    assert decode_mass_finish("demo", {**head, "MsgType": "text", "Content": "x"}) is None
    sparse = {**head, "MsgType": "event", "Event": "MASSSENDJOBFINISH", "MsgID": "9"}
    assert decode_mass_finish("demo", {**sparse, "Status": "send fail", "ErrorCount": "3"}) == (
        MassFinish("demo", "9", "send fail", 0, 0, 0, 3)
    )
