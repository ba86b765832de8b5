"""Neutral outbound messages: what the bot says, before any platform encodes it.

Each message has one stored form, a mapping with exactly one key naming its type; the same form is
used in configuration files (``opsbot import``), in the database and in the outbox::

    {"text": "欢迎关注"}
    {"image": {"media_id": "..."}}
    {"voice": {"media_id": "..."}}
    {"video": {"media_id": "...", "title": "...", "description": "...", "thumb_media_id": "..."}}
    {"music": {"title": "...", "description": "...", "music_url": "...",
               "hq_music_url": "...", "thumb_media_id": "..."}}
    {"news": [{"title": "...", "description": "...", "url": "...", "picurl": "..."}]}
    {"transfer_to_agent": {"agent": ""}}
    {"picture": {"url": "...", "caption": "..."}}
    {"clip": {"url": "...", "title": "...", "caption": "..."}}

``picture`` and ``clip`` are for staff chats: an image (a channel's QR code sent back to the
admin who created it) or a video (for a staff member to forward to a customer) that the sender
fetches from ``url`` and uploads itself. Official Accounts cannot send them: they send media as
materials (``image`` / ``video`` by media_id).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from typing import Any


class MessageFormatError(ValueError):
    """A stored or configured message does not have the documented shape."""


@dataclass(frozen=True, slots=True)
class Text:
    content: str


@dataclass(frozen=True, slots=True)
class Image:
    media_id: str


@dataclass(frozen=True, slots=True)
class Voice:
    media_id: str


@dataclass(frozen=True, slots=True)
class Video:
    media_id: str
    title: str = ""
    description: str = ""
    thumb_media_id: str = ""


@dataclass(frozen=True, slots=True)
class Music:
    title: str = ""
    description: str = ""
    music_url: str = ""
    hq_music_url: str = ""
    thumb_media_id: str = ""


@dataclass(frozen=True, slots=True)
class Article:
    title: str
    description: str = ""
    url: str = ""
    picurl: str = ""


@dataclass(frozen=True, slots=True)
class News:
    articles: tuple[Article, ...]


@dataclass(frozen=True, slots=True)
class TransferToAgent:
    """Hand the conversation to the human customer-service desk (an agent account, or any)."""

    agent: str = ""


@dataclass(frozen=True, slots=True)
class Picture:
    """An image fetched from ``url`` and uploaded by the sender, with an optional caption."""

    url: str
    caption: str = ""


@dataclass(frozen=True, slots=True)
class Clip:
    """A video fetched from ``url`` and uploaded by the sender, with an optional title and
    caption (literal text, not templates)."""

    url: str
    title: str = ""
    caption: str = ""


Message = Text | Image | Voice | Video | Music | News | TransferToAgent | Picture | Clip

# Which fields of each type are Jinja2 templates (rendered per follower); the rest are literal.
TEMPLATED_FIELDS: dict[type[Any], tuple[str, ...]] = {
    Text: ("content",),
    Video: ("title", "description"),
    Music: ("title", "description"),
    Article: ("title", "description", "url"),
}

_SIMPLE: dict[str, type[Any]] = {
    "image": Image,
    "voice": Voice,
    "video": Video,
    "music": Music,
    "transfer_to_agent": TransferToAgent,
    "picture": Picture,
    "clip": Clip,
}
_TYPE_NAMES: dict[type[Any], str] = {cls: name for name, cls in _SIMPLE.items()}
TYPE_NAMES = ("text", *_SIMPLE, "news")


def message_from_dict(data: Any) -> Message:
    """Build a message from its stored form; raise :class:`MessageFormatError` with the reason."""
    if not isinstance(data, Mapping) or len(data) != 1:
        raise MessageFormatError(
            f"a message is a mapping with exactly one key, one of {', '.join(TYPE_NAMES)}"
        )
    ((kind, body),) = data.items()
    if kind == "text":
        if not isinstance(body, str) or not body.strip():
            raise MessageFormatError("text: the content must be a non-empty string")
        return Text(body)
    if kind == "news":
        if not isinstance(body, list) or not body:
            raise MessageFormatError("news: give a list of one or more articles")
        return News(tuple(_build(Article, item, "news article") for item in body))
    cls = _SIMPLE.get(kind)
    if cls is None:
        raise MessageFormatError(f"unknown message type {kind!r}; known: {', '.join(TYPE_NAMES)}")
    message: Message = _build(cls, body if body is not None else {}, kind)
    return message


def message_to_dict(message: Message) -> dict[str, Any]:
    """The stored form of a message (the inverse of :func:`message_from_dict`)."""
    if isinstance(message, Text):
        return {"text": message.content}
    if isinstance(message, News):
        return {"news": [_fields(a) for a in message.articles]}
    return {_TYPE_NAMES[type(message)]: _fields(message)}


def _fields(obj: Any) -> dict[str, str]:
    return {name: getattr(obj, name) for name in obj.__slots__}


def _build(cls: type[Any], body: Any, what: str) -> Any:
    if not isinstance(body, Mapping):
        raise MessageFormatError(f"{what}: expected a mapping of fields")
    allowed = set(cls.__slots__)
    unknown = set(body) - allowed
    if unknown:
        raise MessageFormatError(
            f"{what}: unknown field(s) {', '.join(sorted(map(str, unknown)))}; "
            f"allowed: {', '.join(cls.__slots__)}"
        )
    for key, value in body.items():
        if not isinstance(value, str):
            raise MessageFormatError(f"{what}: {key} must be a string")
    missing = [f.name for f in fields(cls) if f.default is MISSING and f.name not in body]
    if missing:
        raise MessageFormatError(f"{what}: missing required field(s) {', '.join(missing)}")
    return cls(**body)
