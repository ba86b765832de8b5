"""Decrypted callback fields -> neutral event (platform-facts.md §1.5, §1.6).

The fields are read straight from the parsed document. wechatpy's message classes wrap the same
dict, but their attribute access (a descriptor per field, a deep copy per absent field) cost 8% of
the callback throughput in ``make bench``, so the hot path does without them; the classification
follows wechatpy's ``parse_message`` (a ``subscribe`` with ``qrscene_`` is a follow through a
channel code).

Dedupe keys follow the platform: ``MsgId`` for messages; for events (which have none) the
sender, ``CreateTime``, ``Event`` and ``EventKey``, hashed to a fixed length.
"""

from __future__ import annotations

import hashlib
from typing import Any

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
WINDOW_EVENTS = frozenset({"subscribe", "scan", "click", "scancode_push", "scancode_waitmsg"})
MEDIA_TYPES = frozenset({"image", "voice", "video", "shortvideo", "location", "link"})
REQUIRED = ("ToUserName", "FromUserName", "CreateTime", "MsgType")
MAX_FIELD = 4096
# Fields that carry what a customer typed or chose; their length is checked (the rest are ids).
FREE_TEXT = ("Content", "Recognition", "EventKey", "Title", "Description", "Url", "Label")


def decode_event(account: str, fields: dict[str, Any]) -> Inbound:
    """Build the neutral event; raise :class:`CallbackRejected` (400) on a malformed message."""
    for name in REQUIRED:
        value = fields.get(name)
        if not isinstance(value, str) or not value:
            raise CallbackRejected(400, f"the message has no {name}")
    for name in FREE_TEXT:
        value = fields.get(name)
        if isinstance(value, str) and len(value) > MAX_FIELD:
            raise CallbackRejected(400, f"{name} is longer than {MAX_FIELD} characters")
    user: str = fields["FromUserName"]
    created = fields["CreateTime"]
    if not created.isdigit():
        raise CallbackRejected(400, "CreateTime is not a number")
    msg_type = fields["MsgType"].lower()
    if msg_type == "event":
        return _event(account, user, created, fields)
    msg_id = fields.get("MsgId")
    if not isinstance(msg_id, str) or not msg_id.isdigit():
        raise CallbackRejected(400, "the message has no numeric MsgId")
    base = (PLATFORM, account, user, f"m:{msg_id}", True)
    if msg_type == "text":
        return TextReceived(*base, text=_text(fields, "Content"))
    if msg_type == "voice" and _text(fields, "Recognition"):
        return TextReceived(*base, text=_text(fields, "Recognition"))
    if msg_type in MEDIA_TYPES:
        return MediaReceived(*base, kind=msg_type)
    return OtherEvent(*base, name=msg_type)


def _event(account: str, user: str, created: str, fields: dict[str, Any]) -> Inbound:
    raw_event = _text(fields, "Event")
    event = raw_event.lower()
    key = _text(fields, "EventKey")
    digest = hashlib.sha1(
        f"{user}\n{created}\n{raw_event}\n{key}".encode(), usedforsecurity=False
    ).hexdigest()
    base = (PLATFORM, account, user, f"e:{digest}", event in WINDOW_EVENTS)
    if event == "subscribe":
        channel = key[len(QR_PREFIX) :] if key.startswith(QR_PREFIX) else ""
        return Followed(*base, channel=channel or None)
    if event == "scan":
        return Scanned(*base, channel=key)
    if event == "unsubscribe":
        return Unfollowed(*base)
    if event == "click":
        return MenuClicked(*base, key=key)
    return OtherEvent(*base, name=event or "unknown")


def _text(fields: dict[str, Any], name: str) -> str:
    value = fields.get(name)
    return value if isinstance(value, str) else ""


def replies_to_message(event: Inbound) -> bool:
    """Whether a passive reply to ``event`` answers a customer message (not an event)."""
    return event.dedupe_key.startswith("m:")
