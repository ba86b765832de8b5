"""Flood control: per chat (burst, then ~1/s), per group (20/min), overall (30/s)."""

from __future__ import annotations

import datetime as dtm

import pytest
from telegram.error import RetryAfter

from channels.telegram.sandbox import TelegramLimits

from .conftest import ALICE, BOB, Sandbox, SandboxFactory


@pytest.fixture(autouse=True)
def _timedelta_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # RetryAfter.retry_after as a timedelta


async def test_chat_burst_then_retry_after(sandbox: Sandbox) -> None:
    await sandbox.user().send("/start")
    bot = await sandbox.bot()
    for number in range(10):
        await bot.send_message(ALICE, f"burst {number}")
    with pytest.raises(RetryAfter) as refused:
        await bot.send_message(ALICE, "one too many")
    assert refused.value.retry_after == dtm.timedelta(seconds=1)
    call = sandbox.fake.calls_to("sendMessage")[-1]
    assert call["status"] == 429
    assert call["response"]["description"] == "Too Many Requests: retry after 1"
    sandbox.fake.clock.advance(1)
    assert (await bot.send_message(ALICE, "after waiting")).text == "after waiting"
    with pytest.raises(RetryAfter):
        await bot.send_message(ALICE, "again too soon")


async def test_chats_have_separate_buckets(sandbox: Sandbox) -> None:
    await sandbox.user(ALICE, "Alice").send("/start")
    await sandbox.user(BOB, "Bob").send("/start")
    bot = await sandbox.bot()
    for number in range(10):
        await bot.send_message(ALICE, f"to alice {number}")
    with pytest.raises(RetryAfter):
        await bot.send_message(ALICE, "alice is full")
    assert (await bot.send_message(BOB, "bob is not")).text == "bob is not"


async def test_group_allows_20_messages_a_minute(sandbox: Sandbox) -> None:
    sandbox.fake.group("ops", -4001, "Ops team", [ALICE])
    bot = await sandbox.bot()
    for number in range(10):
        await bot.send_message(-4001, f"burst {number}")
    for number in range(10):  # one per second: the chat bucket allows it
        sandbox.fake.clock.advance(1)
        await bot.send_message(-4001, f"paced {number}")
    sandbox.fake.clock.advance(1)
    with pytest.raises(RetryAfter) as refused:
        await bot.send_message(-4001, "21st within the minute")
    # the oldest of the 20 leaves the window 60 s after it was sent, 11 s ago
    assert refused.value.retry_after == dtm.timedelta(seconds=49)


async def test_overall_rate_is_30_messages_a_second(sandbox_factory: SandboxFactory) -> None:
    sandbox = await sandbox_factory(limits=TelegramLimits(chat_burst=1))
    users = [2000 + number for number in range(31)]
    for user_id in users:
        await sandbox.user(user_id, f"U{user_id}").send("/start")
    bot = await sandbox.bot()
    for user_id in users[:30]:
        await bot.send_message(user_id, "broadcast")
    with pytest.raises(RetryAfter) as refused:
        await bot.send_message(users[30], "broadcast")
    assert refused.value.retry_after == dtm.timedelta(seconds=1)


async def test_injected_429_carries_retry_after(sandbox: Sandbox) -> None:
    await sandbox.user().send("/start")
    bot = await sandbox.bot()
    sandbox.fake.inject_fault("sendMessage", error_code=429, retry_after=7)
    with pytest.raises(RetryAfter) as refused:
        await bot.send_message(ALICE, "hi")
    assert refused.value.retry_after == dtm.timedelta(seconds=7)
    assert (await bot.send_message(ALICE, "hi")).text == "hi"  # the fault was used up
