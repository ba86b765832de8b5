"""Long polling: the webhook goes first, updates reach the handler in order, the offset confirms
only handled updates, a failing handler loses nothing, and cancellation ends the loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import pytest
from aiohttp.test_utils import unused_port

from channels.telegram.client import TelegramClient
from channels.telegram.poller import TelegramPoller
from tests.channels.telegram.conftest import RecordingHandler
from tests.channels.telegram.standin import StandIn
from tests.channels.telegram.updates import (
    ALICE,
    OUR_BOT,
    command,
    message,
    telegram_bot,
    update,
)

StandInFixture = tuple[StandIn, str]
BOT = telegram_bot(mode="polling")


async def eventually(condition: Callable[[], object], what: str) -> None:
    """Wait (bounded) until ``condition()`` holds; fails the test, never asserts on time."""
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"timed out waiting for {what}")


async def test_a_users_message_is_handled_and_its_offset_confirmed(
    client: TelegramClient, standin: StandInFixture, handler: RecordingHandler
) -> None:
    fake = standin[0]
    fake.webhook = "https://old.example.com/hook"  # getUpdates refuses while a webhook is set
    poller = TelegramPoller(client, BOT, handler, timeout=1)
    task = asyncio.create_task(poller.run())
    try:
        fake.push(update(41, message=message("帮助")))
        await eventually(lambda: handler.messages, "the message")
        await eventually(lambda: fake.called("getUpdates")[-1].params.get("offset") == "42", "ack")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert fake.webhook == ""
    assert [c.method for c in fake.calls][:3] == ["getMe", "deleteWebhook", "getUpdates"]
    assert [(m.text, m.dedupe_key) for m in handler.messages] == [("帮助", "telegram:demo:41")]
    assert poller.offset == 42


async def test_cancellation_ends_the_loop(
    client: TelegramClient, handler: RecordingHandler
) -> None:
    task = asyncio.create_task(TelegramPoller(client, BOT, handler, timeout=1).run())
    await asyncio.sleep(0.05)
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_updates_are_handled_in_order_and_confirmed_together(
    client: TelegramClient, standin: StandInFixture, handler: RecordingHandler
) -> None:
    fake = standin[0]
    for number, text in ((7, "一"), (8, "二"), (9, "三")):
        fake.push(update(number, message=message(text, message_id=number)))
    poller = TelegramPoller(client, BOT, handler, timeout=0)
    assert await poller.poll_once()
    assert [m.text for m in handler.messages] == ["一", "二", "三"]
    assert poller.offset == 10
    assert await poller.poll_once()
    assert fake.called("getUpdates")[-1].params["offset"] == "10"
    assert len(handler.messages) == 3  # nothing handled twice


async def test_an_update_whose_handler_failed_comes_again(
    client: TelegramClient, standin: StandInFixture
) -> None:
    fake = standin[0]
    handler = RecordingHandler(failures=1)
    fake.push(update(20, message=message("先到", message_id=1)))
    fake.push(update(21, message=message("后到", message_id=2)))
    poller = TelegramPoller(client, BOT, handler, timeout=0)
    assert await poller.poll_once() is False
    assert handler.messages == []
    assert poller.offset is None  # update 20 is not confirmed
    assert await poller.poll_once() is True
    assert [(m.text, m.dedupe_key) for m in handler.messages] == [
        ("先到", "telegram:demo:20"),
        ("后到", "telegram:demo:21"),
    ]
    assert poller.offset == 22


async def test_a_failed_handler_is_retried_by_the_running_loop(
    client: TelegramClient, standin: StandInFixture
) -> None:
    fake = standin[0]
    handler = RecordingHandler(failures=1)
    task = asyncio.create_task(TelegramPoller(client, BOT, handler, timeout=1).run())
    try:
        fake.push(update(30, message=message("别丢")))
        await eventually(lambda: handler.messages, "the retried message")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert [m.dedupe_key for m in handler.messages] == ["telegram:demo:30"]


async def test_a_button_press_is_answered_and_handled(
    client: TelegramClient, standin: StandInFixture, handler: RecordingHandler
) -> None:
    fake = standin[0]
    shown = message("确认？", sender=OUR_BOT, message_id=3)
    query = {"id": "cbq-9", "from": ALICE, "message": shown, "chat_instance": "c", "data": "是"}
    fake.push(update(50, callback_query=query))
    fake.push(update(51, message=command("/help")))
    assert await TelegramPoller(client, BOT, handler, timeout=0).poll_once()
    assert [c.params["callback_query_id"] for c in fake.called("answerCallbackQuery")] == ["cbq-9"]
    assert [m.text for m in handler.messages] == ["是", "/help"]


async def test_network_errors_do_not_end_the_loop(handler: RecordingHandler) -> None:
    client = TelegramClient(telegram_bot(f"http://127.0.0.1:{unused_port()}"), timeout=1.0)
    poller = TelegramPoller(client, BOT, handler, timeout=0)
    try:
        assert await poller.poll_once() is False
        task = asyncio.create_task(poller.run())
        await asyncio.sleep(0.1)
        assert not task.done()  # still trying (deleteWebhook, backing off)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        await client.close()


async def test_a_conflict_is_survived(
    client: TelegramClient, standin: StandInFixture, handler: RecordingHandler
) -> None:
    standin[0].fail_next("getUpdates", 409, "Conflict: terminated by other getUpdates request")
    poller = TelegramPoller(client, BOT, handler, timeout=0)
    assert await poller.poll_once() is False
    standin[0].push(update(60, message=message("还在")))
    assert await poller.poll_once() is True
    assert [m.text for m in handler.messages] == ["还在"]
