"""Sandbox fake of the Telegram Bot API.

A local stand-in for api.telegram.org that a bot talks to over real HTTP (python-telegram-bot:
`Bot(token, base_url=f"{base}/bot", base_file_url=f"{base}/file/bot")`). It plays Telegram
both ways:

* the Bot API (`/bot<token>/<method>`: getMe, webhooks, getUpdates long polling, sendMessage
  with HTML / MarkdownV2 / Markdown parsing, sendPhoto, sendVideo, editMessageText/ReplyMarkup,
  deleteMessage, sendChatAction, answerCallbackQuery, getFile and `/file/bot<token>/...`
  downloads, set/get/deleteMyCommands) with Telegram's envelopes, error descriptions and
  limits: text and caption lengths, callback_data bytes, photo and video sizes and magic
  bytes, flood control per chat, per group and overall (429 with retry_after), 409 conflicts;
* the users: `FakeUser` (or the `/sandbox/bots/{bot}/users/{id}/...` routes) sends messages,
  photos and button presses as Updates, POSTed to the webhook (secret header, retries) or
  queued for getUpdates, and every chat keeps a timeline of what the bot sent into it.

All platform time reads `Clock` (shared with the WeChat fake), which tests advance. The fake
imports nothing of the bot.
"""

from channels.wechat.sandbox import Clock

from .app import METHODS, TELEGRAM_FAKE_STATE, create_telegram_fake_app
from .bots import FakeBot
from .chats import CallbackQueryRecord, Chat, StoredMessage, UserRecord
from .entities import user_entities, utf16_len
from .errors import ActionRejected, BotApiError
from .formatting import Formatted
from .limits import TelegramLimits
from .parse_modes import parse_text
from .state import ApiCall, BotState, FakeTelegram
from .timeline import PhotoInfo, TimelineEntry, VideoInfo
from .users import FakeUser
from .webhook import SECRET_HEADER, Attempt, Delivery

__all__ = [
    "METHODS",
    "SECRET_HEADER",
    "TELEGRAM_FAKE_STATE",
    "ActionRejected",
    "ApiCall",
    "Attempt",
    "BotApiError",
    "BotState",
    "CallbackQueryRecord",
    "Chat",
    "Clock",
    "Delivery",
    "FakeBot",
    "FakeTelegram",
    "FakeUser",
    "Formatted",
    "PhotoInfo",
    "StoredMessage",
    "TelegramLimits",
    "TimelineEntry",
    "UserRecord",
    "VideoInfo",
    "create_telegram_fake_app",
    "parse_text",
    "user_entities",
    "utf16_len",
]
