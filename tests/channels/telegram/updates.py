"""Update JSON as the Bot API sends it, for the decode, webhook and poller tests."""

from __future__ import annotations

import time
from typing import Any

from channels.telegram.bot import TelegramBot

BOT_ID = 700000001
USERNAME = "OurBot"
TOKEN = f"{BOT_ID}:test-token-aaaaaaaaaaaaaaaaaaaa"
SECRET = "webhook-secret_0123"
ALICE = {"id": 10001, "is_bot": False, "first_name": "Li", "last_name": "Lei"}
BOB = {"id": 10002, "is_bot": False, "first_name": "韩梅梅"}
OTHER_BOT = {"id": 700000002, "is_bot": True, "first_name": "Other", "username": "OtherBot"}
OUR_BOT = {"id": BOT_ID, "is_bot": True, "first_name": "Ops", "username": USERNAME}
PRIVATE = {"id": 10001, "type": "private", "first_name": "Li"}
GROUP = {"id": -1001234567890, "type": "supergroup", "title": "运营群"}


def telegram_bot(
    api_base: str = "https://api.telegram.org", *, mode: str = "webhook"
) -> TelegramBot:
    return TelegramBot(
        name="demo",
        token=TOKEN,
        mode=mode,
        webhook_secret=SECRET,
        api_base=api_base,
        username=USERNAME,
    )


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def entity(kind: str, text: str, part: str) -> dict[str, Any]:
    """The entity of type ``kind`` covering the first ``part`` in ``text``, in UTF-16 units."""
    start = text.index(part)
    return {"type": kind, "offset": utf16(text[:start]), "length": utf16(part)}


def message(
    text: str | None = None,
    *,
    chat: dict[str, Any] = PRIVATE,
    sender: dict[str, Any] = ALICE,
    entities: list[dict[str, Any]] | None = None,
    date: int | None = None,
    message_id: int = 1,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "message_id": message_id,
        "from": sender,
        "chat": chat,
        "date": int(time.time()) if date is None else date,
        **extra,
    }
    if text is not None:
        body["text"] = text
    if entities:
        body["entities"] = entities
    return body


def command(text: str, *, chat: dict[str, Any] = PRIVATE, **extra: Any) -> dict[str, Any]:
    """A message starting with a command; the entity covers the first word."""
    word = text.split(" ", 1)[0]
    return message(text, chat=chat, entities=[entity("bot_command", text, word)], **extra)


def update(update_id: int, **kinds: Any) -> dict[str, Any]:
    return {"update_id": update_id, **kinds}
