"""Temporary media of a corp: upload rules (type, size, magic bytes), lifetime and lookups."""

from __future__ import annotations

import hashlib
import mimetypes
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Final, Literal

from channels.wechat.sandbox.media import CONTENT_TYPES, sniff

from .errors import WecomApiError
from .limits import MIN_MEDIA_BYTES, WecomLimits

MediaKind = Literal["image", "voice", "video", "file"]
UPLOAD_KINDS: Final[tuple[MediaKind, ...]] = ("image", "voice", "video", "file")
_FORMATS: Final[dict[str, frozenset[str]]] = {
    "image": frozenset({"jpeg", "png"}),
    "voice": frozenset({"amr"}),
    "video": frozenset({"mp4"}),
}
_SIZE_ERRCODE: Final = {"image": 40009, "video": 40011, "voice": 40006, "file": 40006}


def upload_kind(value: str | None) -> MediaKind:
    """The `type` of an upload (40005 unless image, voice, video or file)."""
    for kind in UPLOAD_KINDS:
        if value == kind:
            return kind
    raise WecomApiError(40005, "type must be image, voice, video or file")


def size_limit(kind: str, limits: WecomLimits) -> int:
    """Largest accepted upload of a type, in bytes."""
    return {
        "image": limits.image_bytes,
        "voice": limits.voice_bytes,
        "video": limits.video_bytes,
        "file": limits.file_bytes,
    }[kind]


def check_upload(kind: MediaKind, data: bytes, limits: WecomLimits) -> str:
    """Validate an upload; return its format ("" for files of unknown format) or raise."""
    if not data:
        raise WecomApiError(44001, "the media file is empty")
    if len(data) < MIN_MEDIA_BYTES:
        raise WecomApiError(40006, f"{len(data)} bytes; every file must be larger than 5 bytes")
    limit = size_limit(kind, limits)
    if len(data) > limit:
        raise WecomApiError(_SIZE_ERRCODE[kind], f"{kind} is {len(data)} bytes, limit {limit}")
    fmt = sniff(data)
    allowed = _FORMATS.get(kind)
    if allowed is not None and fmt not in allowed:
        names = "/".join(sorted(allowed))
        raise WecomApiError(40004, f"{kind} content is {fmt or 'unrecognised'}, allowed: {names}")
    return fmt or ""


@dataclass
class WecomMedia:
    """One temporary medium (uploaded by the bot, or sent by a member)."""

    media_id: str
    kind: MediaKind
    data: bytes
    fmt: str
    filename: str
    created_at: float

    @property
    def content_type(self) -> str:
        """MIME type of the stored bytes."""
        if self.fmt in CONTENT_TYPES:
            return CONTENT_TYPES[self.fmt]
        guessed, _ = mimetypes.guess_type(self.filename)
        return guessed or "application/octet-stream"

    def describe(self) -> dict[str, Any]:
        """What a timeline shows of the medium."""
        return {
            "media_id": self.media_id,
            "size": len(self.data),
            "sha256": hashlib.sha256(self.data).hexdigest(),
            "content_type": self.content_type,
            "filename": self.filename,
        }


class WecomMediaStore:
    """Media of one corp by media_id; temporary media live `ttl` seconds."""

    def __init__(self, ttl: int) -> None:
        self.ttl = ttl
        self.items: dict[str, WecomMedia] = {}

    def add(self, kind: MediaKind, data: bytes, fmt: str, filename: str, now: float) -> WecomMedia:
        """Store a medium under a new media_id."""
        media_id = "3" + secrets.token_urlsafe(45)
        media = WecomMedia(media_id, kind, data, fmt, filename or f"{media_id[:16]}.bin", now)
        self.items[media_id] = media
        return media

    def get(
        self, media_id: object, kinds: Collection[str], now: float, field_name: str = "media_id"
    ) -> WecomMedia:
        """A live medium of one of `kinds`: 41006 when missing, 40007 unknown/expired/wrong kind."""
        if media_id is None or media_id == "":
            raise WecomApiError(41006, f"{field_name} is required")
        media = self.items.get(media_id) if isinstance(media_id, str) else None
        if media is None or now >= media.created_at + self.ttl:
            raise WecomApiError(40007, f"{field_name} {media_id!r} is not a live media_id here")
        if media.kind not in kinds:
            wanted = "/".join(kinds)
            raise WecomApiError(40007, f"{field_name} is a {media.kind}, expected {wanted}")
        return media
