"""Decrypted callback fields -> neutral event (platform-facts.md §1.5, §1.6).

The fields are read straight from the parsed document. wechatpy's message classes wrap the same
dict, but their attribute access (a descriptor per field, a deep copy per absent field) cost 8% of
the callback throughput in ``make bench``, so the hot path does without them; the classification
follows wechatpy's ``parse_message`` (a ``subscribe`` with ``qrscene_`` is a follow through a
channel code).

Dedupe keys follow the platform: ``MsgId`` for messages; for events (which have none) the
sender, ``CreateTime``, ``Event`` and ``EventKey``, hashed to a fixed length.

The MASSSENDJOBFINISH event is no customer's action: :func:`decode_mass_finish` turns it into a
:class:`MassFinish` for the mass-send feature instead.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class MassFinish:
    """The platform's report on a mass send (MASSSENDJOBFINISH, §1.6). ``status`` is the text
    WeChat sends: ``send success``, ``send fail`` or ``err(<code>)``. The counts are taken near
    completion and may be slightly off."""

    account: str
    msg_id: str
    status: str
    total: int
    filter_count: int
    sent_count: int
    error_count: int


MASS_FINISH = "MASSSENDJOBFINISH"
_MASS_COUNTS = ("TotalCount", "FilterCount", "SentCount", "ErrorCount")


def decode_mass_finish(account: str, fields: dict[str, Any]) -> MassFinish | None:
    """The report in a MASSSENDJOBFINISH event, None for any other message; raise
    :class:`CallbackRejected` (400) when the event has no numeric ``MsgID`` or a count that is
    not a number (an absent count is 0)."""
    event = _text(fields, "Event").upper() if _text(fields, "MsgType").lower() == "event" else ""
    if event != MASS_FINISH:
        return None
    msg_id = _text(fields, "MsgID") or _text(fields, "MsgId")  # "MsgID" (capital D) is right
    if not _digits(msg_id):
        raise CallbackRejected(400, f"{MASS_FINISH} without a numeric MsgID")
    counts = []
    for name in _MASS_COUNTS:
        value = _text(fields, name).strip() or "0"
        if not _digits(value):
            raise CallbackRejected(400, f"{MASS_FINISH}: {name} is not a number")
        counts.append(int(value))
    total, filtered, sent, errors = counts
    return MassFinish(account, msg_id, _text(fields, "Status"), total, filtered, sent, errors)


def _digits(value: str) -> bool:
    return value.isascii() and value.isdigit()


def _text(fields: dict[str, Any], name: str) -> str:
    value = fields.get(name)
    return value if isinstance(value, str) else ""


def replies_to_message(event: Inbound) -> bool:
    """Whether a passive reply to ``event`` answers a customer message (not an event)."""
    return event.dedupe_key.startswith("m:")
