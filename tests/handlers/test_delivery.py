"""The outbox worker through the real sender and the fake platform: retry what the platform asks
to retry, give up on what cannot be delivered, never resend what may have been delivered."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bot.app import ENGINE
from storage.outbox import Outbox
from tests.helpers.stack import Stack, running_stack

OPENID = "oCustomer000000000000000001"
SEND = "/cgi-bin/message/custom/send"


@pytest.fixture
async def stack(tmp_path: Path, db_url: str) -> Any:
    env = {"OPSBOT_DELIVERY__API_TIMEOUT_SECONDS": "1.0"}
    async with running_stack(tmp_path, db_url, env=env) as stack:
        stack.platform.add_follower("demo", OPENID)  # already following, no allowance yet
        await stack.customer(OPENID).text("你好")  # opens the window: 5 messages in 48 hours
        yield stack


async def queue(stack: Stack, *texts: str) -> None:
    box = Outbox(stack.app[ENGINE], owner="test", lease_seconds=30)
    await box.add("wechat", "demo", OPENID, [{"text": t} for t in texts])


async def final_states(stack: Stack) -> list[str]:
    return [r.status for r in await stack.outbox_rows()]


async def test_messages_reach_the_customer_in_order(stack: Stack) -> None:
    await queue(stack, "一", "二", "三")
    await stack.until(lambda: len(stack.seen(OPENID)) == 3)
    assert [s["content"] for s in stack.seen(OPENID)] == ["一", "二", "三"]
    assert await final_states(stack) == ["sent"] * 3


async def test_system_busy_is_retried_then_sent(stack: Stack) -> None:
    stack.platform.inject_fault(SEND, errcode=-1, times=1)
    await queue(stack, "稍后到达")
    await stack.until(lambda: len(stack.seen(OPENID)) == 1, within=8)
    assert len(stack.calls(SEND)) == 2
    (row,) = await stack.outbox_rows()
    assert row.status == "sent" and row.attempts == 2


async def test_an_unanswered_send_is_in_doubt_and_never_resent(stack: Stack) -> None:
    stack.platform.inject_fault(SEND, delay=2.5, times=1)
    await queue(stack, "也许到了")
    await stack.until(lambda: _status_is(stack, "in_doubt"), within=8)
    box = Outbox(stack.app[ENGINE], owner="another process", lease_seconds=30)
    assert await box.claim_due(10) == []  # no process will ever pick it up again
    await asyncio.sleep(2.0)  # and the slow first call is the only one the platform saw
    assert len(stack.calls(SEND)) == 1
    assert (await final_states(stack)) == ["in_doubt"]


async def test_over_quota_is_given_up_and_recorded(stack: Stack) -> None:
    await queue(stack, *(str(i) for i in range(6)))  # a message allows 5 in 48 hours
    await stack.until(lambda: _status_is(stack, "failed"), within=8)
    rows = await stack.outbox_rows()
    assert [r.status for r in rows] == ["sent"] * 5 + ["failed"]
    assert "45047" in (rows[-1].last_error or "")


async def _status_is(stack: Stack, status: str) -> bool:
    rows = await stack.outbox_rows()
    return bool(rows) and rows[-1].status == status
