"""create_telegram_fake_app: the fake Telegram Bot API as an aiohttp application."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Final

import aiohttp
from aiohttp import web

from channels.wechat.sandbox import Clock

from . import api_interaction, api_messages, api_photos, api_updates, api_videos
from .api import Handler, bot_api_handler
from .bots import FakeBot
from .control import add_control_routes
from .limits import TelegramLimits
from .params import MAX_FORM_BODY
from .state import FakeTelegram

TELEGRAM_FAKE_STATE: Final = web.AppKey("TELEGRAM_FAKE_STATE", FakeTelegram)
"""`app[TELEGRAM_FAKE_STATE]` is the in-process FakeTelegram of a fake app."""

METHODS: Final[dict[str, Handler]] = {
    "getMe": api_updates.get_me,
    "setWebhook": api_updates.set_webhook,
    "deleteWebhook": api_updates.delete_webhook,
    "getWebhookInfo": api_updates.get_webhook_info,
    "getUpdates": api_updates.get_updates,
    "sendMessage": api_messages.send_message,
    "editMessageText": api_messages.edit_message_text,
    "editMessageReplyMarkup": api_messages.edit_message_reply_markup,
    "deleteMessage": api_messages.delete_message,
    "sendChatAction": api_messages.send_chat_action,
    "sendPhoto": api_photos.send_photo,
    "sendVideo": api_videos.send_video,
    "answerCallbackQuery": api_interaction.answer_callback_query,
    "getFile": api_interaction.get_file,
    "setMyCommands": api_interaction.set_my_commands,
    "getMyCommands": api_interaction.get_my_commands,
    "deleteMyCommands": api_interaction.delete_my_commands,
}
"""Every Bot API method the fake serves (names are matched case-insensitively)."""


def create_telegram_fake_app(
    bots: Sequence[FakeBot],
    *,
    clock: Clock | None = None,
    webhook_timeout: float = 10.0,
    limits: TelegramLimits | None = None,
) -> web.Application:
    """The fake Bot API for `bots`: /bot<token>/<method>, /file/bot<token>/..., /sandbox/...

    Mount it with `parent.add_subapp("/telegram", app)` (clients then use the base URL
    `http://host:port/telegram`) or serve it on its own at the root.
    """
    if webhook_timeout <= 0:
        raise ValueError("webhook_timeout must be positive")
    fake = FakeTelegram(
        bots,
        clock=clock or Clock(),
        webhook_timeout=webhook_timeout,
        limits=limits or TelegramLimits(),
    )
    fake.methods = {name.lower(): handler for name, handler in METHODS.items()}
    app = web.Application(client_max_size=MAX_FORM_BODY)
    app[TELEGRAM_FAKE_STATE] = fake
    api = bot_api_handler(fake)
    app.router.add_get("/bot{token}/{method}", api, allow_head=False)
    app.router.add_post("/bot{token}/{method}", api)
    download = api_interaction.file_download_handler(fake)
    app.router.add_get("/file/bot{token}/{file_path:.+}", download)
    add_control_routes(app.router, fake)
    app.on_shutdown.append(_release_waiters)
    app.cleanup_ctx.append(_http_session)
    return app


async def _release_waiters(app: web.Application) -> None:
    app[TELEGRAM_FAKE_STATE].shut_down()


async def _http_session(app: web.Application) -> AsyncIterator[None]:
    fake = app[TELEGRAM_FAKE_STATE]
    async with aiohttp.ClientSession() as session:
        fake.start(session)
        yield
        await fake.close()
