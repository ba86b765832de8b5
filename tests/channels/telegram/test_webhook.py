"""``POST /telegram/{bot}``: the secret token, size, JSON and age checks refuse before any handler
runs; a good update reaches the handler once and is answered ``{}``; a failure answers 503."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from channels.telegram.client import TelegramClient
from channels.telegram.webhook import SECRET_HEADER, TelegramWebhook
from tests.channels.telegram.conftest import RecordingHandler
from tests.channels.telegram.standin import StandIn
from tests.channels.telegram.updates import (
    ALICE,
    GROUP,
    OUR_BOT,
    SECRET,
    command,
    message,
    telegram_bot,
    update,
)

MAX_BODY = 64 * 1024
ClientFactory = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]


@pytest.fixture
async def web_client(
    aiohttp_client: ClientFactory,
    handler: RecordingHandler,
    client: TelegramClient,
) -> TestClient[Any, Any]:
    hook = TelegramWebhook(
        [telegram_bot(client.config.api_base)],
        handler,
        {"demo": client},
        max_body_bytes=MAX_BODY,
    )
    app = web.Application()
    app.add_routes(hook.routes())
    return await aiohttp_client(app)


async def post(
    web_client: TestClient[Any, Any],
    body: Any,
    *,
    secret: str | None = SECRET,
    bot: str = "demo",
) -> tuple[int, str]:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with web_client.post(f"/telegram/{bot}", data=data, headers=headers) as resp:
        return resp.status, await resp.text()


async def test_a_good_update_reaches_the_handler_and_gets_an_empty_object(
    web_client: TestClient[Any, Any], handler: RecordingHandler
) -> None:
    async with web_client.post(
        "/telegram/demo",
        json=update(100, message=message("帮助")),
        headers={SECRET_HEADER: SECRET},
    ) as resp:
        assert resp.status == 200
        assert resp.content_type == "application/json"
        assert await resp.json() == {}
    assert [(m.text, m.dedupe_key, m.chat) for m in handler.messages] == [
        ("帮助", "telegram:demo:100", "10001")
    ]


async def test_a_group_message_is_handed_over_with_its_addressing(
    web_client: TestClient[Any, Any], handler: RecordingHandler
) -> None:
    status, _ = await post(
        web_client, update(101, message=command("/help@OurBot 规则", chat=GROUP))
    )
    assert status == 200
    assert [(m.text, m.addressed, m.direct) for m in handler.messages] == [
        ("/help 规则", True, False)
    ]


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", SECRET + "x", SECRET[:-1], "密钥"])
async def test_a_missing_or_wrong_secret_is_forbidden(
    web_client: TestClient[Any, Any],
    handler: RecordingHandler,
    secret: str | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    if secret == "密钥":
        # A non-ASCII header value must be refused, not crash the comparison.
        async with web_client.post(
            "/telegram/demo",
            data=json.dumps(update(102, message=message("帮助"))).encode(),
            headers={SECRET_HEADER: secret.encode().decode("latin-1")},
        ) as resp:
            status = resp.status
    else:
        status, _ = await post(web_client, update(102, message=message("帮助")), secret=secret)
    assert status == 403
    assert handler.messages == []
    assert "refused POST /telegram/demo" in caplog.text


async def test_an_unknown_bot_is_not_found(
    web_client: TestClient[Any, Any], handler: RecordingHandler
) -> None:
    status, _ = await post(web_client, update(103, message=message("帮助")), bot="other")
    assert status == 404
    assert handler.messages == []


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b"[1, 2]",
        b'{"message": {}}',
        b'{"update_id": "7"}',
        json.dumps({"update_id": 7, "message": {"text": "no chat"}}).encode(),
    ],
)
async def test_a_body_that_is_not_an_update_is_a_bad_request(
    web_client: TestClient[Any, Any], handler: RecordingHandler, body: bytes
) -> None:
    status, _ = await post(web_client, body)
    assert status == 400
    assert handler.messages == []


async def test_an_oversize_body_is_refused(
    web_client: TestClient[Any, Any], handler: RecordingHandler
) -> None:
    big = update(104, message=message("帮" * MAX_BODY))
    status, _ = await post(web_client, big)
    assert status == 413
    assert handler.messages == []


async def test_an_oversize_body_without_content_length_is_refused(
    web_client: TestClient[Any, Any], handler: RecordingHandler
) -> None:
    async def chunks() -> Any:
        data = json.dumps(update(105, message=message("x" * (2 * MAX_BODY)))).encode()
        for start in range(0, len(data), 4096):
            yield data[start : start + 4096]

    async with web_client.post(
        "/telegram/demo", data=chunks(), headers={SECRET_HEADER: SECRET}
    ) as resp:
        assert resp.status == 413
    assert handler.messages == []


async def test_an_update_older_than_telegram_keeps_them_is_ignored(
    web_client: TestClient[Any, Any],
    handler: RecordingHandler,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    old = int(time.time()) - 27 * 3600
    status, body = await post(web_client, update(106, message=message("帮助", date=old)))
    assert (status, json.loads(body)) == (200, {})
    assert handler.messages == []
    assert "replay" in caplog.text
    # A day-old message is still within the window.
    recent = int(time.time()) - 24 * 3600
    status, _ = await post(web_client, update(107, message=message("帮助", date=recent)))
    assert status == 200
    assert [m.dedupe_key for m in handler.messages] == ["telegram:demo:107"]


async def test_a_failing_handler_answers_503_so_that_telegram_retries(
    web_client: TestClient[Any, Any], handler: RecordingHandler
) -> None:
    handler.failures = 1
    body = update(108, message=message("帮助"))
    status, _ = await post(web_client, body)
    assert status == 503
    status, _ = await post(web_client, body)  # Telegram's retry
    assert status == 200
    assert [m.dedupe_key for m in handler.messages] == ["telegram:demo:108"]


async def test_a_button_press_is_answered_and_handled(
    web_client: TestClient[Any, Any],
    handler: RecordingHandler,
    standin: tuple[StandIn, str],
) -> None:
    shown = message("确认？", sender=OUR_BOT, message_id=9, date=int(time.time()) - 30 * 3600)
    query = {"id": "cbq-77", "from": ALICE, "message": shown, "chat_instance": "c", "data": "是"}
    status, _ = await post(web_client, update(109, callback_query=query))
    assert status == 200
    assert [c.params["callback_query_id"] for c in standin[0].called("answerCallbackQuery")] == [
        "cbq-77"
    ]
    assert [(m.text, m.addressed) for m in handler.messages] == [("是", True)]


async def test_a_failed_callback_answer_does_not_stop_the_message(
    web_client: TestClient[Any, Any],
    handler: RecordingHandler,
    standin: tuple[StandIn, str],
) -> None:
    standin[0].fail_next("answerCallbackQuery", 400, "Bad Request: query is too old")
    shown = message("确认？", sender=OUR_BOT, message_id=9)
    query = {"id": "cbq-78", "from": ALICE, "message": shown, "chat_instance": "c", "data": "否"}
    status, _ = await post(web_client, update(110, callback_query=query))
    assert status == 200
    assert [m.text for m in handler.messages] == ["否"]


async def test_an_update_of_another_kind_is_acknowledged_without_a_message(
    web_client: TestClient[Any, Any], handler: RecordingHandler
) -> None:
    member = {
        "chat": GROUP,
        "from": ALICE,
        "date": int(time.time()),
        "old_chat_member": {"status": "left", "user": OUR_BOT},
        "new_chat_member": {"status": "member", "user": OUR_BOT},
    }
    status, body = await post(web_client, update(111, my_chat_member=member))
    assert (status, json.loads(body)) == (200, {})
    assert handler.messages == []


async def test_a_bot_whose_client_is_not_started_yet_answers_503(
    aiohttp_client: ClientFactory, handler: RecordingHandler
) -> None:
    clients: dict[str, TelegramClient] = {}  # filled in at start-up, after the routes exist
    hook = TelegramWebhook([telegram_bot()], handler, clients, max_body_bytes=MAX_BODY)
    app = web.Application()
    app.add_routes(hook.routes())
    web_client = await aiohttp_client(app)
    status, _ = await post(web_client, update(112, message=message("帮助")))
    assert status == 503
    clients["demo"] = TelegramClient(telegram_bot())
    try:
        status, _ = await post(web_client, update(112, message=message("帮助")))
    finally:
        await clients["demo"].close()
    assert status == 200
    assert [m.dedupe_key for m in handler.messages] == ["telegram:demo:112"]
