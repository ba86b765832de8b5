"""What sending methods share: target chat, reply target, markup, the message and its record."""

from __future__ import annotations

from typing import Any

from .api import MethodCall
from .chats import Chat, StoredMessage, reply_copy
from .errors import bad_request
from .formatting import Formatted
from .markup import check_reply_markup, inline_keyboard
from .parse_modes import parse_text
from .timeline import TimelineEntry


def target_chat(call: MethodCall) -> Chat:
    """The chat named by chat_id, with Telegram's refusals."""
    return call.bot.chat_for_bot(call.params.chat_id())


def reply_target(call: MethodCall, chat: Chat) -> StoredMessage | None:
    """The message named by reply_parameters (or the older reply_to_message_id)."""
    params = call.params
    reply = params.json("reply_parameters")
    if reply is not None:
        if not isinstance(reply, dict) or not isinstance(reply.get("message_id"), int):
            raise bad_request("can't parse reply parameters JSON object")
        message_id: int | None = reply["message_id"]
        allow_missing = reply.get("allow_sending_without_reply") is True
        other_chat = reply.get("chat_id")
        if other_chat not in (None, chat.id):
            raise bad_request("replies to messages in other chats are not supported")
    else:
        message_id = params.integer("reply_to_message_id")
        allow_missing = params.boolean("allow_sending_without_reply")
    if message_id is None:
        return None
    stored = chat.live(message_id)
    if stored is None and not allow_missing:
        raise bad_request("message to be replied not found")
    return stored


def formatted(call: MethodCall, text_name: str, entities_name: str) -> Formatted:
    """A text or caption with parse_mode (or explicit entities) applied."""
    params = call.params
    return parse_text(
        params.string(text_name) or "",
        params.string("parse_mode"),
        params.json(entities_name),
    )


def markup(call: MethodCall) -> dict[str, Any] | None:
    """The validated reply_markup."""
    return check_reply_markup(call.params.json("reply_markup"), call.limits)


def bot_message(
    call: MethodCall,
    chat: Chat,
    reply_markup: dict[str, Any] | None,
    replied: StoredMessage | None,
    content: dict[str, Any],
) -> dict[str, Any]:
    """A new `Message` from the bot; counts against flood control first (429 when over)."""
    call.bot.flood.admit(chat.id, group=chat.is_group, now=call.now)
    message: dict[str, Any] = {
        "message_id": chat.next_message_id(),
        "from": call.bot.bot.as_user(),
        "chat": chat.as_chat(),
        "date": int(call.now),
        **content,
    }
    if replied is not None:
        message["reply_to_message"] = reply_copy(replied)
    keyboard = inline_keyboard(reply_markup)
    if keyboard is not None:
        message["reply_markup"] = keyboard
    if call.params.boolean("protect_content"):
        message["has_protected_content"] = True
    chat.store(message["message_id"], True, call.now, message)
    return message


def record(chat: Chat, entry: TimelineEntry) -> None:
    """Put an entry on the chat's timeline."""
    chat.timeline.append(entry)


def text_content(text: Formatted, *, caption: bool = False) -> dict[str, Any]:
    """The text (or caption) fields of a Message."""
    key, entities_key = ("caption", "caption_entities") if caption else ("text", "entities")
    content: dict[str, Any] = {}
    if text.text or not caption:
        content[key] = text.text
    if text.entities:
        content[entities_key] = text.entities
    return content
