"""Telegram updates -> neutral :class:`handlers.staff.StaffMessage` (platform-facts.md §6.2).

Entity offsets and lengths count UTF-16 code units, so text is cut in UTF-16 here and entity text
comes from PTB's ``parse_entities`` (which slices the same way).
"""

from __future__ import annotations

from collections.abc import Mapping

from telegram import CallbackQuery, Message, MessageEntity, Update

from channels.telegram.bot import TELEGRAM, TelegramBot
from handlers.staff import StaffMessage

PRIVATE = "private"
_UNIT = 2  # bytes per UTF-16 code unit
_SPACE = " ".encode("utf-16-le")


def decode_update(bot: TelegramBot, username: str, update: Update) -> StaffMessage | None:
    """The staff message an update carries, or None for anything else (edits, channel posts,
    member changes, bots' messages, stickers)."""
    dedupe_key = f"{TELEGRAM}:{bot.name}:{update.update_id}"
    if update.callback_query is not None:
        return _button(bot, update.callback_query, dedupe_key)
    message = update.message
    if message is None:
        return None
    sender = message.from_user
    if sender is None or sender.is_bot:
        return None
    if message.text is not None:
        raw, entities = message.text, message.parse_entities()
    else:
        raw, entities = message.caption or "", message.parse_caption_entities()
    image = _largest_photo(message)
    if not raw and not image:
        return None
    direct = message.chat.type == PRIVATE
    mine = username.lstrip("@").lower()
    addressed = direct or _addressed(bot, message, entities, mine)
    return StaffMessage(
        platform=TELEGRAM,
        account=bot.name,
        user=str(sender.id),
        chat=str(message.chat.id),
        direct=direct,
        addressed=addressed,
        text=_cleaned(raw, entities, mine),
        image=image,
        dedupe_key=dedupe_key,
        name=_full_name(sender.first_name, sender.last_name),
    )


def _button(bot: TelegramBot, query: CallbackQuery, dedupe_key: str) -> StaffMessage | None:
    """A pressed inline-keyboard button: its ``callback_data`` is what the person "typed"."""
    if query.message is None or query.data is None or query.from_user.is_bot:
        return None  # a button under an inline-mode message (no chat) or a game button
    chat = query.message.chat
    return StaffMessage(
        platform=TELEGRAM,
        account=bot.name,
        user=str(query.from_user.id),
        chat=str(chat.id),
        direct=chat.type == PRIVATE,
        addressed=True,
        text=query.data,
        image="",
        dedupe_key=dedupe_key,
        name=_full_name(query.from_user.first_name, query.from_user.last_name),
    )


def _addressed(
    bot: TelegramBot, message: Message, entities: Mapping[MessageEntity, str], mine: str
) -> bool:
    """In a group: a command for us (or for no bot in particular), a mention, or a reply."""
    for entity, text in entities.items():
        if entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0:
            _, at, target = text.partition("@")
            # A command addressed to another bot is that bot's, whatever else the text says.
            return not at or target.lower() == mine
    if mine and any(
        entity.type == MessageEntity.MENTION and text[1:].lower() == mine
        for entity, text in entities.items()
    ):
        return True
    replied = message.reply_to_message
    author = replied.from_user if replied is not None else None
    return author is not None and (
        author.id == bot.user_id
        or (author.is_bot and bool(mine) and (author.username or "").lower() == mine)
    )


def _cleaned(raw: str, entities: Mapping[MessageEntity, str], mine: str) -> str:
    """The text without our ``@username``: cut from a leading command and from mentions."""
    cuts: list[tuple[int, int, bool]] = []  # (start, end, also a following space)
    if mine:
        for entity, text in entities.items():
            if entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0:
                command, at, target = text.partition("@")
                if at and target.lower() == mine:
                    start = entity.offset + _utf16_len(command)
                    cuts.append((start, entity.offset + entity.length, False))
            elif entity.type == MessageEntity.MENTION and text[1:].lower() == mine:
                cuts.append((entity.offset, entity.offset + entity.length, True))
    if not cuts:
        return raw.strip()
    units = raw.encode("utf-16-le")
    pieces: list[bytes] = []
    position = 0
    for start, end, space in sorted(cuts):
        if start < position:
            continue  # overlapping entities: the first cut already took it
        pieces.append(units[position * _UNIT : start * _UNIT])
        position = end
        if space and units[end * _UNIT : (end + 1) * _UNIT] == _SPACE:
            position += 1  # "请 @bot 帮忙" -> "请 帮忙", not two spaces
    pieces.append(units[position * _UNIT :])
    return b"".join(pieces).decode("utf-16-le", errors="replace").strip()


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // _UNIT


def _largest_photo(message: Message) -> str:
    if not message.photo:
        return ""
    largest = max(message.photo, key=lambda size: (size.width * size.height, size.file_size or 0))
    return largest.file_id


def _full_name(first: str, last: str | None) -> str:
    return f"{first} {last}".strip() if last else first
