"""Customer journeys through the whole system: the fake WeChat sends signed, encrypted callbacks
to the bot's real route, and records every reply the customer sees and every API call made."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from bot.app import ENGINE, create_app
from channels.wechat.sandbox import build_callback, decode_reply, text_xml
from storage.models import FollowerRow, KeywordHitRow
from tests.helpers.stack import Stack, running_stack

CONFIG: dict[str, Any] = {
    "default_follow_reply": [{"text": "欢迎关注"}],
    "channels": [
        {
            "name": "spring_campaign",
            "title": "春季活动",
            "follow_reply": [
                {"text": "欢迎来自{{ channel.title }}的朋友"},
                {
                    "news": [
                        {
                            "title": "活动详情",
                            "description": "规则与奖品",
                            "url": "https://example.com/spring",
                            "picurl": "https://example.com/a.jpg",
                        }
                    ]
                },
                {"text": "第三条：回复「报名」参加"},
            ],
        },
        {"name": "no_reply_channel", "title": "安静渠道"},
    ],
    "keyword_rules": [
        {"name": "any-price", "keywords": [{"contains": "价"}], "reply": [{"text": "泛泛的价格"}]},
        {
            "name": "price",
            "priority": 10,
            "keywords": [{"contains": "价格"}],
            "reply": [{"text": "基础版 ¥99"}],
        },
        {
            "name": "order",
            "priority": 5,
            "keywords": [{"regex": r"^订单\s*\d{6,}$"}],
            "reply": [{"text": "正在查询订单"}, {"text": "稍后客服联系您"}],
        },
        {"name": "human", "keywords": [{"contains": "人工"}], "reply": [{"transfer_to_agent": {}}]},
    ],
    "menu_replies": {"MENU_ABOUT": [{"text": "关于我们"}]},
}

OPENID = "oCustomer000000000000000001"


@pytest.fixture
async def stack(tmp_path: Path, db_url: str) -> Any:
    async with running_stack(tmp_path, db_url, config={"demo": CONFIG}) as stack:
        # The bot creates each channel's QR code through the API soon after start-up.
        await stack.until(lambda: len(stack.calls("/cgi-bin/qrcode/create")) == 2)
        yield stack


async def test_follow_through_a_channel_gets_three_replies_in_order(stack: Stack) -> None:
    outcome = await stack.customer(OPENID).follow("spring_campaign")
    assert outcome.outcome == "reply"
    assert outcome.reply is not None and outcome.reply["Content"] == "欢迎来自春季活动的朋友"
    await stack.until(lambda: len(stack.seen(OPENID)) == 3)
    seen = stack.seen(OPENID)
    assert [s["via"] for s in seen] == ["passive", "customer_service", "customer_service"]
    assert seen[1]["type"] == "news" and seen[1]["articles"][0]["title"] == "活动详情"
    assert seen[2]["content"] == "第三条：回复「报名」参加"
    sends = stack.calls("/cgi-bin/message/custom/send")
    assert [c["body"]["msgtype"] for c in sends] == ["news", "text"]
    assert all(c["response"]["errcode"] == 0 for c in sends)


async def test_the_follower_is_recorded_with_the_channel(stack: Stack) -> None:
    await stack.customer(OPENID).follow("spring_campaign")
    await stack.customer(OPENID).text("你好")
    async with stack.app[ENGINE].connect() as conn:
        row = (await conn.execute(select(FollowerRow.__table__))).one()
    assert (row.openid, row.first_channel, bool(row.subscribed)) == (
        OPENID,
        "spring_campaign",
        True,
    )
    assert row.last_interaction_at is not None


async def test_a_follower_scanning_a_channel_code_gets_its_replies(stack: Stack) -> None:
    customer = stack.customer(OPENID)
    await customer.follow()
    assert stack.seen(OPENID)[0]["content"] == "欢迎关注"
    outcome = await customer.scan("spring_campaign")
    assert outcome.reply is not None and outcome.reply["Content"] == "欢迎来自春季活动的朋友"
    await stack.until(lambda: len(stack.seen(OPENID)) == 4)


@pytest.mark.parametrize("scene", [None, "no_reply_channel"])
async def test_default_follow_reply(stack: Stack, scene: str | None) -> None:
    outcome = await stack.customer(OPENID).follow(scene)
    assert outcome.reply is not None and outcome.reply["Content"] == "欢迎关注"


async def test_keyword_priority_regex_and_the_hits(stack: Stack) -> None:
    customer = stack.customer(OPENID)
    await customer.follow()
    replies = {}
    for message in ("价格是多少", "怎么定价", "订单 1234567", "订单 12", "随便聊聊"):
        outcome = await customer.text(message)
        replies[message] = outcome.reply["Content"] if outcome.reply else None
    assert replies == {
        "价格是多少": "基础版 ¥99",  # priority 10 beats the earlier, broader rule
        "怎么定价": "泛泛的价格",
        "订单 1234567": "正在查询订单",
        "订单 12": None,  # the regex needs 6 digits, and nothing else fits
        "随便聊聊": None,  # no default reply unless configured
    }
    await stack.until(lambda: any(s.get("content") == "稍后客服联系您" for s in stack.seen(OPENID)))
    async with stack.app[ENGINE].connect() as conn:
        hits = (await conn.execute(select(KeywordHitRow.__table__))).all()
    assert sum(h.hits for h in hits) == 3


async def test_menu_click_and_hand_over_to_agents(stack: Stack) -> None:
    customer = stack.customer(OPENID)
    await customer.follow()
    clicked = await customer.click("MENU_ABOUT")
    assert clicked.reply is not None and clicked.reply["Content"] == "关于我们"
    handed = await customer.text("转人工")
    assert handed.reply is not None and handed.reply["MsgType"] == "transfer_customer_service"


async def test_retries_of_a_callback_are_handled_once_and_answered_alike(stack: Stack) -> None:
    await stack.customer(OPENID).follow()
    xml = text_xml(stack.account, OPENID, "订单 1234567", msg_id=987654321, create_time=1)
    first = await stack.post_callback(xml, nonce="n1")
    retries = await asyncio.gather(*(stack.post_callback(xml, nonce=f"n{i}") for i in (2, 3)))
    assert first[0] == 200
    contents = {
        decode_reply(stack.account, body, openid=OPENID)["Content"] for _, body in [first, *retries]
    }
    assert contents == {"正在查询订单"}
    queued = [r for r in await stack.outbox_rows() if r.message == {"text": "稍后客服联系您"}]
    assert len(queued) == 1  # queued once, so it can only be sent once
    await asyncio.sleep(0.6)  # and it went out once
    follow_ups = [
        c
        for c in stack.calls("/cgi-bin/message/custom/send")
        if c["body"]["text"]["content"] == "稍后客服联系您"
    ]
    assert len(follow_ups) == 1


async def test_two_bot_processes_handle_a_callback_once(stack: Stack, tmp_path: Path) -> None:
    from aiohttp.test_utils import TestServer

    await stack.customer(OPENID).follow()
    second = create_app(stack.settings)
    server = TestServer(second, host="127.0.0.1")
    await server.start_server()
    try:
        xml = text_xml(stack.account, OPENID, "订单 7654321", msg_id=55, create_time=1)
        other = f"http://127.0.0.1:{server.port}"
        answers = await asyncio.gather(
            stack.post_callback(xml), _post_to(stack, other, xml), _post_to(stack, other, xml)
        )
        assert {status for status, _ in answers} == {200}
        assert {decode_reply(stack.account, b, openid=OPENID)["Content"] for _, b in answers} == {
            "正在查询订单"
        }
        queued = [r for r in await stack.outbox_rows() if r.message == {"text": "稍后客服联系您"}]
        assert len(queued) == 1
        await asyncio.sleep(0.6)
        follow_ups = [
            c
            for c in stack.calls("/cgi-bin/message/custom/send")
            if c["body"].get("text", {}).get("content") == "稍后客服联系您"
        ]
        assert len(follow_ups) == 1
    finally:
        await server.close()


async def _post_to(stack: Stack, base: str, xml: str) -> tuple[int, bytes]:
    query, body = build_callback(stack.account, xml, timestamp=int(time.time()), nonce="other")
    async with stack.http.post(
        f"{base}/wechat/{stack.account.name}", params=query, data=body
    ) as resp:
        return resp.status, await resp.read()


async def test_a_reply_not_ready_in_time_is_sent_through_the_api(
    tmp_path: Path, db_url: str
) -> None:
    env = {"OPSBOT_SERVER__REPLY_DEADLINE_SECONDS": "0.3"}
    async with running_stack(tmp_path, db_url, config={"demo": CONFIG}, env=env) as stack:
        customer = stack.customer(OPENID)
        await customer.follow()
        async with _writes_blocked(stack, seconds=1.0):
            outcome = await customer.text("订单 1234567")  # a reply and a follow-up
        assert outcome.outcome == "no_reply"  # the bot answered "success" within the deadline
        await stack.until(lambda: len(stack.seen(OPENID)) == 3)
        seen = stack.seen(OPENID)[1:]  # after the follow reply
        # The reply the request could not wait for still comes first, then its follow-up.
        assert [(s["via"], s["content"]) for s in seen] == [
            ("customer_service", "正在查询订单"),
            ("customer_service", "稍后客服联系您"),
        ]
        sent_id = stack.platform.next_msg_id() - 1  # the id the fake gave that message
        retry = await stack.post_callback(
            text_xml(stack.account, OPENID, "订单 1234567", msg_id=sent_id, create_time=1)
        )
        assert retry == (200, b"success")  # a retry of a late callback repeats nothing


class _writes_blocked:
    """Hold the database's write lock (another busy process), then let go."""

    def __init__(self, stack: Stack, seconds: float) -> None:
        self.stack, self.seconds = stack, seconds

    async def __aenter__(self) -> None:
        engine = self.stack.app[ENGINE]
        self.conn = await engine.connect()
        await self.conn.begin()  # SQLite: BEGIN IMMEDIATE takes the write lock
        if engine.dialect.name == "postgresql":
            await self.conn.execute(text("LOCK TABLE inbound_events IN EXCLUSIVE MODE"))
        self.release = asyncio.get_running_loop().call_later(
            self.seconds, lambda: asyncio.ensure_future(self._release())
        )

    async def _release(self) -> None:
        await self.conn.rollback()
        await self.conn.close()

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.sleep(0)


async def test_the_customer_service_window_is_respected(stack: Stack) -> None:
    """A follow-up to a customer who never interacted is refused by the platform and recorded."""
    from storage.outbox import Outbox

    stack.platform.add_follower(stack.account.name, "oSilent0000000000000000001")
    box = Outbox(stack.app[ENGINE], owner="test", lease_seconds=30)
    await box.add("wechat", "demo", "oSilent0000000000000000001", [{"text": "hello"}])
    await stack.until(lambda: _failed(stack))
    rows = await stack.outbox_rows()
    assert rows[-1].status == "failed" and "45015" in rows[-1].last_error


async def _failed(stack: Stack) -> bool:
    rows = await stack.outbox_rows()
    return bool(rows) and rows[-1].status == "failed"
