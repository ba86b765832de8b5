"""Decrypted callback XML -> neutral event, through wechatpy's message and event classes.

Dedupe keys follow the platform: ``MsgId`` for messages; for events (which have none) the
sender, ``CreateTime``, ``Event`` and ``EventKey``, hashed to a fixed length.
"""

from __future__ import annotations

import hashlib
from typing import Any

from wechatpy.events import EVENT_TYPES
from wechatpy.messages import MESSAGE_TYPES, UnknownMessage

from channels.wechat.verify import CallbackRejected
from handlers.events import (
    Followed,
    Inbound,
    MediaReceived,
    MenuClicked,
    OtherEvent,
    Scanned,
    TextReceived,
    Unfollowed,
)

PLATFORM = "wechat"
QR_PREFIX = "qrscene_"
# Customer actions after which the customer-service API may message them (§2.2 of the facts).
WINDOW_EVENTS = frozenset({"subscribe", "subscribe_scan", "scan", "click", "scancode_push",
                           "scancode_waitmsg"})  # fmt: skip
MEDIA_TYPES = frozenset({"image", "voice", "video", "shortvideo", "location", "link"})
MAX_FIELD = 4096


def wechatpy_message(fields: dict[str, Any]) -> Any:
    """The wechatpy message or event object for parsed callback fields (as wechatpy's own
    ``parse_message`` classifies them: a follow through a QR code becomes ``subscribe_scan``)."""
    msg_type = str(fields.get("MsgType", "")).lower()
    if msg_type != "event":
        return MESSAGE_TYPES.get(msg_type, UnknownMessage)(fields)
    event = str(fields.get("Event", "")).lower()
    key = fields.get("EventKey")
    if event == "subscribe" and isinstance(key, str) and key.startswith(QR_PREFIX):
        event = "subscribe_scan"
        fields = {**fields, "Event": event, "EventKey": key[len(QR_PREFIX) :]}
    return EVENT_TYPES.get(event, UnknownMessage)(fields)


def decode_event(account: str, fields: dict[str, Any]) -> Inbound:
    """Build the neutral event; raise :class:`CallbackRejected` (400) on a malformed message."""
    for name in ("ToUserName", "FromUserName", "CreateTime", "MsgType"):
        value = fields.get(name)
        if not isinstance(value, str) or not value:
            raise CallbackRejected(400, f"the message has no {name}")
    for name, value in fields.items():
        if isinstance(value, str) and len(value) > MAX_FIELD:
            raise CallbackRejected(400, f"{name} is longer than {MAX_FIELD} characters")
    message = wechatpy_message(fields)
    try:
        user: str = message.source
        created = int(message.time)
    except (TypeError, ValueError):
        raise CallbackRejected(400, "CreateTime is not a number") from None
    msg_type = message.type
    if msg_type == "event":
        event = message.event or str(fields.get("Event", "")).lower()
        raw_key = fields.get("EventKey")
        event_key = raw_key if isinstance(raw_key, str) else ""
        digest = hashlib.sha1(
            f"{user}\n{created}\n{fields.get('Event', '')}\n{event_key}".encode(),
            usedforsecurity=False,
        ).hexdigest()
        base = (PLATFORM, account, user, f"e:{digest}", event in WINDOW_EVENTS)
        if event == "subscribe":
            return Followed(*base, channel=None)
        if event == "subscribe_scan":
            return Followed(*base, channel=message.scene_id or None)
        if event == "scan":
            return Scanned(*base, channel=message.scene_id or "")
        if event == "unsubscribe":
            return Unfollowed(*base)
        if event == "click":
            return MenuClicked(*base, key=message.key or "")
        return OtherEvent(*base, name=event or "unknown")
    msg_id = fields.get("MsgId")
    if not isinstance(msg_id, str) or not msg_id.isdigit():
        raise CallbackRejected(400, "the message has no numeric MsgId")
    base = (PLATFORM, account, user, f"m:{msg_id}", True)
    if msg_type == "text":
        return TextReceived(*base, text=message.content or "")
    if msg_type == "voice" and message.recognition:
        return TextReceived(*base, text=message.recognition)
    if msg_type in MEDIA_TYPES:
        return MediaReceived(*base, kind=msg_type)
    return OtherEvent(*base, name=str(fields.get("MsgType")))


def replies_to_message(event: Inbound) -> bool:
    """Whether a passive reply to ``event`` answers a customer message (not an event)."""
    return event.dedupe_key.startswith("m:")
