"""The /sandbox control routes, faults, and serving the fake on its own."""

from __future__ import annotations

import asyncio

import pytest
from telegram.error import NetworkError, TimedOut

from .conftest import ALICE, OPS, Sandbox, SandboxFactory, png

USER = f"/sandbox/bots/ops/users/{ALICE}"


async def test_user_routes_send_photo_and_press(sandbox: Sandbox) -> None:
    status, sent = await sandbox.control(
        "POST", f"{USER}/send", json={"text": "/start", "first_name": "Alice"}
    )
    assert status == 200 and sent["route"] == "polling" and sent["seq"] == 1
    assert sent["update"]["message"]["from"]["first_name"] == "Alice"
    status, photo = await sandbox.control(
        "POST", f"{USER}/photo", params={"caption": "receipt"}, data=png()
    )
    assert status == 200 and photo["update"]["message"]["caption"] == "receipt"
    keyboard = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
    status, sent = await sandbox.control(
        "POST",
        f"/bot{OPS.token}/sendMessage",
        json={"chat_id": ALICE, "text": "?", "reply_markup": keyboard},
    )
    message = sent["result"]
    status, pressed = await sandbox.control(
        "POST", f"{USER}/press", json={"message_id": message["message_id"], "data": "go"}
    )
    assert status == 200 and pressed["update"]["callback_query"]["data"] == "go"


async def test_user_routes_refuse_bad_input(sandbox: Sandbox) -> None:
    cases = [
        ("POST", f"{USER}/send", {"json": {}}, 400),
        ("POST", f"{USER}/send", {"json": {"text": "hi", "chat_id": "x"}}, 400),
        ("POST", f"{USER}/send", {"data": b"not json"}, 400),
        ("POST", "/sandbox/bots/ops/users/0/send", {"json": {"text": "hi"}}, 400),
        ("POST", "/sandbox/bots/nobody/users/1/send", {"json": {"text": "hi"}}, 404),
        ("POST", f"{USER}/photo", {"data": b"plain text"}, 400),
        ("POST", f"{USER}/press", {"json": {"message_id": 5, "data": "go"}}, 404),
        ("POST", "/sandbox/bots/ops/groups", {"json": {"chat_id": 5, "title": "t"}}, 400),
        ("POST", "/sandbox/clock", {"json": {"advance": -1}}, 400),
        ("POST", "/sandbox/faults", {"json": {"error_code": 500}}, 400),
        ("POST", "/sandbox/faults", {"json": {"method": "sendMessage"}}, 400),
        ("GET", "/sandbox/bots/ops/chats/777/timeline", {}, 404),
    ]
    for method, path, kwargs, expected in cases:
        status, body = await sandbox.control(method, path, **kwargs)
        assert status == expected and body["error"], (path, kwargs, body)


async def test_group_route_and_timeline_long_poll(sandbox: Sandbox) -> None:
    status, body = await sandbox.control(
        "POST",
        "/sandbox/bots/ops/groups",
        json={"chat_id": -4003, "title": "Ops", "members": [ALICE]},
    )
    assert status == 200 and body == {
        "chat": {"id": -4003, "type": "group", "title": "Ops"},
        "members": [ALICE],
    }
    url = "/sandbox/bots/ops/chats/-4003/timeline"
    status, empty = await sandbox.control("GET", url, params={"after": 0})
    assert (status, empty) == (200, {"entries": [], "last": 0})
    poll = asyncio.create_task(sandbox.control("GET", url, params={"after": 0, "wait": 10}))
    bot = await sandbox.bot()
    await bot.send_message(-4003, "<i>hello</i>", parse_mode="HTML")
    status, body = await poll
    (entry,) = body["entries"]
    assert entry["text"] == "hello" and entry["parse_mode"] == "HTML" and body["last"] == 1
    status, body = await sandbox.control("GET", url, params={"wait": 31})
    assert status == 400


async def test_calls_clock_and_webhook_routes(sandbox: Sandbox, hook_url: str) -> None:
    bot = await sandbox.bot()
    await bot.set_webhook(hook_url, secret_token="topsecret")
    status, calls = await sandbox.control("GET", "/sandbox/calls", params={"method": "setwebhook"})
    (call,) = calls["calls"]
    assert status == 200 and call["bot"] == "ops" and call["status"] == 200
    assert call["params"]["secret_token"] == "***"
    status, hook = await sandbox.control("GET", "/sandbox/bots/ops/webhook")
    assert hook["info"]["url"] == hook_url and hook["secret_token_set"] is True
    before = sandbox.fake.clock.now()
    status, body = await sandbox.control("POST", "/sandbox/clock", json={"advance": 90})
    assert status == 200 and body["now"] == before + 90


async def test_fault_route_makes_the_next_call_fail(sandbox: Sandbox) -> None:
    await sandbox.user().send("/start")
    bot = await sandbox.bot()
    status, _ = await sandbox.control(
        "POST", "/sandbox/faults", json={"method": "sendMessage", "error_code": 502, "times": 2}
    )
    assert status == 200
    for _ in range(2):
        with pytest.raises(NetworkError):
            await bot.send_message(ALICE, "x")
    assert (await bot.send_message(ALICE, "x")).text == "x"


async def test_hanging_call_times_out_but_still_sends(sandbox: Sandbox) -> None:
    await sandbox.user().send("/start")
    bot = await sandbox.bot(read_timeout=0.2)
    sandbox.fake.inject_fault("sendMessage", delay=1.0)
    with pytest.raises(TimedOut):
        await bot.send_message(ALICE, "maybe sent")
    line = sandbox.fake.chat("ops", ALICE).timeline
    entries = await line.wait_after(1, 10)
    assert [e["text"] for e in entries] == ["maybe sent"]


async def test_the_fake_also_serves_at_the_root(sandbox_factory: SandboxFactory) -> None:
    sandbox = await sandbox_factory(mounted=False)
    assert sandbox.prefix == "" and not sandbox.base.endswith("/telegram")
    bot = await sandbox.bot()
    assert bot.username == OPS.username
    status, body = await sandbox.control("GET", "/sandbox/bots")
    assert status == 200 and [b["name"] for b in body["bots"]] == ["ops", "other"]
