"""Webhook delivery: the secret header, retries, recorded errors, order, settings."""

from __future__ import annotations

import pytest
from telegram.error import BadRequest

from channels.telegram.sandbox import TelegramLimits

from .conftest import ALICE, Receiver, Sandbox, SandboxFactory


async def test_update_is_posted_with_the_secret_header(
    sandbox: Sandbox, hook_url: str, receiver: Receiver
) -> None:
    bot = await sandbox.bot()
    await bot.set_webhook(hook_url, secret_token="s3cret_token-1")
    delivery = await sandbox.user().send("/start")
    assert delivery.route == "webhook" and delivery.delivered and delivery.statuses == [200]
    (received,) = receiver.received
    assert received.secret == "s3cret_token-1"
    assert received.update == delivery.update
    assert received.update["message"]["text"] == "/start"
    info = await bot.get_webhook_info()
    assert info.url == hook_url and info.pending_update_count == 0
    assert info.last_error_date is None


async def test_no_secret_header_without_a_secret(
    sandbox: Sandbox, hook_url: str, receiver: Receiver
) -> None:
    bot = await sandbox.bot()
    await bot.set_webhook(hook_url)
    await sandbox.user().send("hi")
    assert [r.secret for r in receiver.received] == [None]


async def test_webhook_500_is_retried_with_the_same_update(
    sandbox: Sandbox, hook_url: str, receiver: Receiver
) -> None:
    bot = await sandbox.bot()
    await bot.set_webhook(hook_url, secret_token="abc")
    receiver.statuses = [500]
    delivery = await sandbox.user().send("retry me")
    assert delivery.delivered and delivery.statuses == [500, 200]
    assert [r.update for r in receiver.received] == [delivery.update, delivery.update]
    info = await bot.get_webhook_info()
    assert info.last_error_message is not None and "500" in info.last_error_message
    assert info.last_error_date is not None and info.pending_update_count == 0


async def test_failed_update_stays_pending_and_goes_first_next_time(
    sandbox: Sandbox, hook_url: str, receiver: Receiver
) -> None:
    bot = await sandbox.bot()
    await bot.set_webhook(hook_url)
    receiver.statuses = [503, 503, 503]
    failed = await sandbox.user().send("first")
    assert not failed.delivered and failed.statuses == [503, 503, 503]
    assert (await bot.get_webhook_info()).pending_update_count == 1
    later = await sandbox.user().send("second")
    assert later.delivered
    texts = [r.update["message"]["text"] for r in receiver.received if r.update]
    assert texts == ["first"] * 4 + ["second"]
    assert (await bot.get_webhook_info()).pending_update_count == 0


async def test_webhook_timeout_counts_as_a_failed_attempt(
    sandbox_factory: SandboxFactory, hook_url: str, receiver: Receiver
) -> None:
    sandbox = await sandbox_factory(webhook_timeout=0.2, limits=TelegramLimits(webhook_attempts=2))
    receiver.delay = 1.0
    bot = await sandbox.bot()
    await bot.set_webhook(hook_url)
    delivery = await sandbox.user().send("slow")
    assert not delivery.delivered and delivery.statuses == [None, None]
    info = await bot.get_webhook_info()
    assert info.last_error_message == "Read timeout expired"


async def test_pending_updates_go_to_a_new_webhook_and_can_be_dropped(
    sandbox: Sandbox, hook_url: str, receiver: Receiver
) -> None:
    alice = sandbox.user()
    await alice.send("queued while polling")
    bot = await sandbox.bot()
    await bot.set_webhook(hook_url)
    await sandbox.fake.drain()
    assert [r.update["message"]["text"] for r in receiver.received] == ["queued while polling"]
    await bot.delete_webhook()
    await alice.send("dropped")
    await bot.set_webhook(hook_url, drop_pending_updates=True)
    await sandbox.fake.drain()
    assert len(receiver.received) == 1


async def test_a_method_in_the_webhook_answer_is_carried_out(
    sandbox: Sandbox, hook_url: str, receiver: Receiver
) -> None:
    bot = await sandbox.bot()
    await bot.set_webhook(hook_url)
    receiver.reply = {"method": "sendMessage", "chat_id": ALICE, "text": "pong"}
    await sandbox.user().send("ping")
    line = sandbox.fake.timeline("ops", ALICE)
    assert [(e["sender"], e["text"]) for e in line] == [("user", "ping"), ("bot", "pong")]
    assert sandbox.fake.calls_to("sendMessage")[0]["via"] == "webhook-reply"


async def test_webhook_settings_are_checked(sandbox_factory: SandboxFactory) -> None:
    sandbox = await sandbox_factory(limits=TelegramLimits(require_https_webhook=True))
    bot = await sandbox.bot()
    with pytest.raises(BadRequest, match=r"(?i)https url must be provided"):
        await bot.set_webhook("http://bot.example.com/hook")
    with pytest.raises(BadRequest, match=r"(?i)ports 80, 88, 443 or 8443"):
        await bot.set_webhook("https://bot.example.com:9000/hook")
    with pytest.raises(BadRequest, match=r"(?i)secret token"):
        await bot.set_webhook("https://bot.example.com/hook", secret_token="no spaces")
    with pytest.raises(BadRequest, match=r"(?i)max_connections"):
        await bot.set_webhook("https://bot.example.com/hook", max_connections=101)
    assert await bot.set_webhook(
        "https://bot.example.com:8443/hook", max_connections=5, allowed_updates=["message"]
    )
    info = await bot.get_webhook_info()
    assert info.url == "https://bot.example.com:8443/hook" and info.max_connections == 5
    assert info.allowed_updates == ("message",)


async def test_plain_http_webhook_is_allowed_by_default(sandbox: Sandbox, hook_url: str) -> None:
    assert hook_url.startswith("http://")
    bot = await sandbox.bot()
    assert await bot.set_webhook(hook_url)
    assert await bot.set_webhook("") and (await bot.get_webhook_info()).url == ""
