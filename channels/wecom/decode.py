"""Decrypted WeCom app-chat fields -> neutral :class:`StaffMessage` (platform-facts.md §4.2).

Only what a staff member types or sends as a picture becomes a message for the command layer;
events (entering the app, menu clicks, customer-contact changes, ...) and other message types
(voice, video, location, link, file) decode to None. The dedupe key is the platform's ``MsgId``,
equal for every retry of one delivery.
"""

from __future__ import annotations

from typing import Any

from channels.wechat.verify import CallbackRejected
from channels.wecom.app import WecomApp
from handlers.staff import StaffMessage

PLATFORM = "wecom"
MAX_TEXT = 4096  # characters; WeCom itself caps a text message at 2048 bytes


def decode_staff_message(app: WecomApp, fields: dict[str, Any]) -> StaffMessage | None:
    """The staff message in ``fields``, None when there is none; raise
    :class:`CallbackRejected` (400) when a text or image message is malformed."""
    msg_type = _field(fields, "MsgType").lower()
    if msg_type not in ("text", "image"):
        return None
    user = _field(fields, "FromUserName")
    msg_id = _field(fields, "MsgId")
    if not msg_id.isdigit():
        raise CallbackRejected(400, "MsgId is not a number")
    text = image = ""
    if msg_type == "text":
        text = _field(fields, "Content")
        if len(text) > MAX_TEXT:
            raise CallbackRejected(400, f"Content is longer than {MAX_TEXT} characters")
    else:
        image = _field(fields, "MediaId")
    return StaffMessage(
        platform=PLATFORM,
        account=app.name,
        user=user,
        chat=user,  # the app chat is one to one: answers go to the sender
        direct=True,
        addressed=True,
        text=text,
        image=image,
        dedupe_key=f"{PLATFORM}:{app.name}:msg:{msg_id}",
    )


def _field(fields: dict[str, Any], name: str) -> str:
    value = fields.get(name)
    if not isinstance(value, str) or not value:
        raise CallbackRejected(400, f"the message has no {name}")
    return value
