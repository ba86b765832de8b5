"""The Bot API client: what each call sends, and PTB's errors mapped to ``channels.errors``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import unused_port

from channels.errors import (
    OutcomeUnknown,
    PlatformRejected,
    PlatformUnavailable,
    RateLimited,
    RecipientUnreachable,
)
from channels.telegram.bot import TelegramBot
from channels.telegram.client import TelegramClient
from tests.channels.telegram.standin import StandIn
from tests.channels.telegram.updates import TOKEN, message, telegram_bot, update

StandInFixture = tuple[StandIn, str]


@pytest.fixture
async def unnamed(standin: StandInFixture) -> AsyncIterator[TelegramClient]:
    bot = TelegramBot("demo", TOKEN, "polling", "", api_base=standin[1])
    client = TelegramClient(bot)
    yield client
    await client.close()


async def test_start_learns_the_username_when_none_is_configured(
    unnamed: TelegramClient, standin: StandInFixture
) -> None:
    assert unnamed.username == ""
    await unnamed.start()
    assert unnamed.username == "OurBot"
    assert len(standin[0].called("getMe")) == 1


async def test_a_configured_username_is_kept(client: TelegramClient) -> None:
    assert client.username == "OurBot"
    other = TelegramClient(telegram_bot())
    assert other.username == "OurBot"
    assert other.bot.base_url == f"https://api.telegram.org/bot{TOKEN}"
    assert other.bot.base_file_url == f"https://api.telegram.org/file/bot{TOKEN}"


async def test_send_text_is_plain_text(client: TelegramClient, standin: StandInFixture) -> None:
    await client.send_text("-1001234", "规则 *列表* <b>")
    (call,) = standin[0].called("sendMessage")
    assert call.params["chat_id"] == "-1001234"
    assert call.params["text"] == "规则 *列表* <b>"
    assert "parse_mode" not in call.params


async def test_send_photo_uploads_the_bytes_with_the_caption(
    client: TelegramClient, standin: StandInFixture
) -> None:
    await client.send_photo("10001", b"\x89PNG fake", "渠道二维码")
    (call,) = standin[0].called("sendPhoto")
    assert call.files["photo"] == b"\x89PNG fake"
    assert (call.params["chat_id"], call.params["caption"]) == ("10001", "渠道二维码")


async def test_answer_callback_and_webhook_calls(
    client: TelegramClient, standin: StandInFixture
) -> None:
    await client.answer_callback("cbq-1", "好的")
    await client.set_webhook("https://ops.example.com/telegram/demo", "s3cret")
    fake = standin[0]
    (answer,) = fake.called("answerCallbackQuery")
    assert (answer.params["callback_query_id"], answer.params["text"]) == ("cbq-1", "好的")
    (hook,) = fake.called("setWebhook")
    assert hook.params["url"] == "https://ops.example.com/telegram/demo"
    assert hook.params["secret_token"] == "s3cret"
    assert hook.params["allowed_updates"] == ["message", "callback_query"]
    await client.delete_webhook()
    assert fake.webhook == ""


async def test_get_updates_returns_updates(client: TelegramClient, standin: StandInFixture) -> None:
    standin[0].push(update(5, message=message("帮助")))
    standin[0].push(update(6, message=message("规则")))
    got = await client.get_updates(None, 0)
    assert [(u.update_id, u.message.text if u.message else None) for u in got] == [
        (5, "帮助"),
        (6, "规则"),
    ]
    assert await client.get_updates(7, 0) == []
    assert standin[0].called("getUpdates")[-1].params["offset"] == "7"


async def test_download_fetches_the_file(client: TelegramClient, standin: StandInFixture) -> None:
    standin[0].files["file-a"] = b"\xff\xd8 jpeg bytes"
    assert await client.download("file-a") == b"\xff\xd8 jpeg bytes"


async def test_download_refuses_files_over_20_mb(
    client: TelegramClient, standin: StandInFixture
) -> None:
    standin[0].files["big"] = b"x"
    standin[0].reported_sizes["big"] = 20 * 1024 * 1024 + 1
    with pytest.raises(PlatformRejected, match="larger than"):
        await client.download("big")


async def test_flood_control_is_rate_limited_with_retry_after(
    client: TelegramClient, standin: StandInFixture
) -> None:
    standin[0].fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    with pytest.raises(RateLimited) as caught:
        await client.send_text("10001", "hi")
    assert caught.value.retry_after == 7.0


@pytest.mark.parametrize(
    ("status", "description", "expected", "code"),
    [
        (403, "Forbidden: bot was blocked by the user", RecipientUnreachable, 403),
        (400, "Bad Request: chat not found", RecipientUnreachable, 400),
        (400, "Bad Request: message text is empty", PlatformRejected, 400),
        (409, "Conflict: terminated by other getUpdates request", PlatformRejected, 409),
    ],
)
async def test_refusals_are_mapped(
    client: TelegramClient,
    standin: StandInFixture,
    status: int,
    description: str,
    expected: type[PlatformRejected],
    code: int,
) -> None:
    standin[0].fail_next("sendMessage", status, description)
    with pytest.raises(PlatformRejected) as caught:
        await client.send_text("10001", "hi")
    assert type(caught.value) is expected
    assert caught.value.code == code


async def test_a_migrated_group_names_the_new_chat_id(
    client: TelegramClient, standin: StandInFixture
) -> None:
    standin[0].fail_next(
        "sendMessage",
        400,
        "Bad Request: group chat was upgraded to a supergroup chat",
        migrate_to_chat_id=-1009876,
    )
    with pytest.raises(PlatformRejected) as caught:
        await client.send_text("-4242", "hi")
    assert type(caught.value) is PlatformRejected
    assert "-1009876" in str(caught.value)


async def test_a_wrong_token_is_rejected_without_showing_the_token(standin: StandInFixture) -> None:
    bot = TelegramBot("demo", "999:wrong-token-bbbbbbbbbbbbbbbbbb", "webhook", "s", standin[1])
    client = TelegramClient(bot)
    try:
        with pytest.raises(PlatformRejected) as caught:
            await client.start()
    finally:
        await client.close()
    assert caught.value.code == 401
    assert "wrong-token" not in str(caught.value)


async def test_a_server_error_is_unavailable(
    client: TelegramClient, standin: StandInFixture
) -> None:
    standin[0].fail_next("sendMessage", 502, "Bad Gateway")
    with pytest.raises(PlatformUnavailable) as caught:
        await client.send_text("10001", "hi")
    assert not isinstance(caught.value, OutcomeUnknown)


async def test_no_connection_is_unavailable_not_in_doubt() -> None:
    client = TelegramClient(telegram_bot(f"http://127.0.0.1:{unused_port()}"), timeout=2.0)
    try:
        with pytest.raises(PlatformUnavailable) as caught:
            await client.send_text("10001", "hi")
    finally:
        await client.close()
    assert not isinstance(caught.value, OutcomeUnknown)


async def test_no_answer_after_sending_is_an_unknown_outcome(standin: StandInFixture) -> None:
    standin[0].hang.add("sendMessage")
    client = TelegramClient(telegram_bot(standin[1]), timeout=0.3)
    try:
        with pytest.raises(OutcomeUnknown):
            await client.send_text("10001", "hi")
    finally:
        await client.close()
    assert len(standin[0].called("sendMessage")) == 1


async def test_get_me_corrects_a_wrongly_configured_username(standin: StandInFixture) -> None:
    bot = TelegramBot("demo", TOKEN, "webhook", "s", standin[1], username="NotOurBot")
    client = TelegramClient(bot)
    try:
        assert client.username == "NotOurBot"
        await client.start()
    finally:
        await client.close()
    assert client.username == "OurBot"
