"""Bot API: sendMessage, editMessageText, editMessageReplyMarkup, deleteMessage, sendChatAction."""

from __future__ import annotations

from typing import Any, Final

from .api import MethodCall
from .chats import Chat, StoredMessage
from .errors import bad_request
from .formatting import Formatted
from .markup import inline_keyboard
from .outgoing import (
    bot_message,
    formatted,
    markup,
    record,
    reply_target,
    target_chat,
    text_content,
)
from .timeline import new_entry

CHAT_ACTIONS: Final = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
NOT_MODIFIED: Final = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)


def _checked_text(call: MethodCall) -> Formatted:
    call.params.string("text", required="message text is empty")
    text = formatted(call, "text", "entities")
    if not text.text.strip():
        raise bad_request("message text is empty")
    if len(text.text) > call.limits.message_chars:
        raise bad_request("message is too long")
    return text


async def send_message(call: MethodCall) -> dict[str, Any]:
    """Send a text message (1-4096 characters after entity parsing)."""
    chat = target_chat(call)
    text = _checked_text(call)
    reply_markup = markup(call)
    replied = reply_target(call, chat)
    message = bot_message(call, chat, reply_markup, replied, text_content(text))
    record(
        chat,
        new_entry(
            call.now,
            "bot",
            "text",
            message_id=message["message_id"],
            text=text.text,
            source=call.params.string("text"),
            parse_mode=call.params.string("parse_mode"),
            entities=text.entities,
            reply_markup=reply_markup,
        ),
    )
    return message


def _editable(call: MethodCall) -> tuple[Chat, StoredMessage]:
    if call.params.present("inline_message_id"):
        raise bad_request("inline messages are not supported by the sandbox")
    chat = target_chat(call)
    message_id = call.params.required_integer("message_id", "message identifier is not specified")
    stored = chat.live(message_id)
    if stored is None or not stored.from_bot:
        raise bad_request("message to edit not found")
    return chat, stored


async def edit_message_text(call: MethodCall) -> dict[str, Any]:
    """Replace the text (and keyboard) of one of the bot's text messages."""
    chat, stored = _editable(call)
    if "text" not in stored.body:
        raise bad_request("there is no text in the message to edit")
    text = _checked_text(call)
    reply_markup = markup(call)
    keyboard = inline_keyboard(reply_markup)
    body = stored.body
    unchanged = (
        body["text"] == text.text
        and body.get("entities", []) == text.entities
        and body.get("reply_markup") == keyboard
    )
    if unchanged:
        raise bad_request(NOT_MODIFIED)
    call.bot.flood.admit(chat.id, group=chat.is_group, now=call.now)
    body.pop("entities", None)
    body.pop("reply_markup", None)
    body.update(text_content(text))
    if keyboard is not None:
        body["reply_markup"] = keyboard
    body["edit_date"] = int(call.now)
    record(
        chat,
        new_entry(
            call.now,
            "bot",
            "edit",
            message_id=stored.message_id,
            text=text.text,
            source=call.params.string("text"),
            parse_mode=call.params.string("parse_mode"),
            entities=text.entities,
            reply_markup=reply_markup,
        ),
    )
    return dict(body)


async def edit_message_reply_markup(call: MethodCall) -> dict[str, Any]:
    """Replace (or with none given, remove) the inline keyboard of one of the bot's messages."""
    chat, stored = _editable(call)
    reply_markup = markup(call)
    keyboard = inline_keyboard(reply_markup)
    if reply_markup is not None and keyboard is None:
        raise bad_request("only inline keyboards can be edited")
    if stored.body.get("reply_markup") == keyboard:
        raise bad_request(NOT_MODIFIED)
    call.bot.flood.admit(chat.id, group=chat.is_group, now=call.now)
    stored.body.pop("reply_markup", None)
    if keyboard is not None:
        stored.body["reply_markup"] = keyboard
    stored.body["edit_date"] = int(call.now)
    record(
        chat,
        new_entry(call.now, "bot", "edit", message_id=stored.message_id, reply_markup=reply_markup),
    )
    return dict(stored.body)


async def delete_message(call: MethodCall) -> bool:
    """Delete a message: the bot's own within 48 h, or a user's in a private chat."""
    chat = target_chat(call)
    message_id = call.params.required_integer("message_id", "message identifier is not specified")
    stored = chat.live(message_id)
    if stored is None:
        raise bad_request("message to delete not found")
    too_old = call.now - stored.sent_at > call.limits.delete_window_seconds
    if too_old or (chat.is_group and not stored.from_bot):
        raise bad_request("message can't be deleted")
    stored.deleted = True
    record(chat, new_entry(call.now, "bot", "delete", message_id=message_id))
    return True


async def send_chat_action(call: MethodCall) -> bool:
    """Show "typing..." or a similar status (not put on the timeline)."""
    target_chat(call)
    action = call.params.required_string("action", "action is empty")
    if action not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    return True
