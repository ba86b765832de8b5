"""Media the fake stores: upload rules (size, type by magic bytes) and lookups."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from .errors import ApiError
from .limits import MB, TEMP_MEDIA_TTL, Limits

MediaKind = Literal["image", "voice", "video", "thumb", "news"]
UPLOAD_KINDS: Final = ("image", "voice", "video", "thumb")

CONTENT_TYPES: Final = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "bmp": "image/bmp",
    "amr": "audio/amr",
    "mp3": "audio/mpeg",
    "wma": "audio/x-ms-wma",
    "wav": "audio/wav",
    "mp4": "video/mp4",
}
_TEMP_FORMATS: Final[dict[str, frozenset[str]]] = {
    "image": frozenset({"png", "jpeg", "gif"}),
    "voice": frozenset({"amr", "mp3"}),
    "video": frozenset({"mp4"}),
    "thumb": frozenset({"jpeg"}),
}
_PERMANENT_FORMATS: Final[dict[str, frozenset[str]]] = {
    "image": frozenset({"bmp", "png", "jpeg", "gif"}),
    "voice": frozenset({"mp3", "wma", "wav", "amr"}),
    "video": frozenset({"mp4"}),
    "thumb": frozenset({"jpeg"}),
}
_SIZE_ERRCODE: Final = {"image": 40009, "voice": 40010, "video": 40011, "thumb": 40012}
_ASF_GUID: Final = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")


def sniff(data: bytes) -> str | None:
    """File format by magic bytes: png, jpeg, gif, bmp, amr, mp3, wma, wav, mp4 or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if data.startswith(b"BM") and len(data) >= 26:
        return "bmp"
    if data.startswith(b"#!AMR"):
        return "amr"
    if data.startswith(b"ID3") or (len(data) >= 2 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "mp3"
    if data.startswith(_ASF_GUID):
        return "wma"
    if data.startswith(b"RIFF") and data[8:12] == b"WAVE":
        return "wav"
    if data[4:8] == b"ftyp":
        return "mp4"
    return None


def size_limit(kind: str, *, permanent: bool, limits: Limits) -> int:
    """Maximum upload size in bytes for a media type."""
    if kind == "image":
        return 10 * MB if permanent else limits.temp_image_bytes
    return {"voice": 2 * MB, "video": 10 * MB, "thumb": 64 * 1024}[kind]


def upload_kind(value: str | None) -> MediaKind:
    """The `type` of an upload (40004 unless image, voice, video or thumb)."""
    kinds: dict[str | None, MediaKind] = {
        "image": "image",
        "voice": "voice",
        "video": "video",
        "thumb": "thumb",
    }
    if value not in kinds:
        raise ApiError(40004, "type must be image, voice, video or thumb")
    return kinds[value]


def check_upload(kind: str, data: bytes, *, permanent: bool, limits: Limits) -> str:
    """Validate an upload of `kind`; return its format or raise the platform's errcode."""
    if kind not in UPLOAD_KINDS:
        raise ApiError(40004, f"type must be one of {', '.join(UPLOAD_KINDS)}")
    if not data:
        raise ApiError(40006, "the media file is empty")
    limit = size_limit(kind, permanent=permanent, limits=limits)
    if len(data) > limit:
        raise ApiError(_SIZE_ERRCODE[kind], f"{kind} is {len(data)} bytes, limit {limit}")
    fmt = sniff(data)
    allowed = (_PERMANENT_FORMATS if permanent else _TEMP_FORMATS)[kind]
    if fmt not in allowed:
        names = ", ".join(sorted(allowed))
        raise ApiError(40005, f"{kind} content is {fmt or 'unrecognised'}, allowed: {names}")
    return fmt


@dataclass
class Media:
    """One stored medium (temporary or permanent material, or a news/draft item)."""

    media_id: str
    kind: MediaKind
    data: bytes
    fmt: str
    filename: str
    created_at: float
    permanent: bool
    url: str | None = None
    description: dict[str, str] | None = None
    articles: list[dict[str, Any]] = field(default_factory=list)

    def alive(self, now: float) -> bool:
        """Temporary media live 3 days; permanent ones until deleted."""
        return self.permanent or now < self.created_at + TEMP_MEDIA_TTL

    @property
    def content_type(self) -> str:
        """MIME type of the stored bytes."""
        return CONTENT_TYPES.get(self.fmt, "application/octet-stream")


class MediaStore:
    """Media of one account by media_id."""

    def __init__(self) -> None:
        self.items: dict[str, Media] = {}

    def add(self, media: Media) -> Media:
        """Store a medium."""
        self.items[media.media_id] = media
        return media

    def get(self, media_id: object, kinds: Collection[str], now: float, field_name: str) -> Media:
        """A live medium of one of `kinds`, else 40007 naming the field."""
        media = self.items.get(media_id) if isinstance(media_id, str) else None
        if media is None or not media.alive(now):
            raise ApiError(40007, f"{field_name} {media_id!r} is not a live media_id here")
        if media.kind not in kinds:
            raise ApiError(40007, f"{field_name} is a {media.kind}, expected {'/'.join(kinds)}")
        return media

    def permanent(self, kind: str | None = None) -> list[Media]:
        """Permanent materials, optionally of one kind, oldest first."""
        return [m for m in self.items.values() if m.permanent and kind in (None, m.kind)]
