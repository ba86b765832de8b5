"""Files one bot can see: photos (with their preview sizes), videos, file ids and download
paths."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from .errors import BotApiError, bad_request
from .images import CONTENT_TYPES, EXTENSIONS, grey_png, photo_size, sniff_photo, thumbnail_size
from .limits import TelegramLimits

VIDEO_FORMAT = "mp4"
_CONTENT_TYPES = {**CONTENT_TYPES, VIDEO_FORMAT: "video/mp4"}
_EXTENSIONS = {**EXTENSIONS, VIDEO_FORMAT: "mp4"}


@dataclass(frozen=True)
class StoredFile:
    """One stored file; `file_path` is what getFile returns and downloads use."""

    file_id: str
    file_unique_id: str
    data: bytes
    fmt: str
    width: int
    height: int
    file_path: str
    duration: int = 0
    """Seconds, for videos."""

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the bytes."""
        return hashlib.sha256(self.data).hexdigest()

    @property
    def content_type(self) -> str:
        """MIME type of the bytes."""
        return _CONTENT_TYPES[self.fmt]

    @property
    def is_video(self) -> bool:
        """Whether the file is a video (else a photo size)."""
        return self.fmt == VIDEO_FORMAT

    def as_video(self) -> dict[str, Any]:
        """The `Video` object."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "width": self.width,
            "height": self.height,
            "duration": self.duration,
            "mime_type": self.content_type,
            "file_size": len(self.data),
        }

    def as_photo_size(self) -> dict[str, Any]:
        """The `PhotoSize` object."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "width": self.width,
            "height": self.height,
            "file_size": len(self.data),
        }

    def as_file(self) -> dict[str, Any]:
        """The `File` object getFile answers."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }


@dataclass(frozen=True)
class Photo:
    """A checked image ready to store."""

    data: bytes
    fmt: str
    width: int
    height: int


def check_photo(data: bytes, limits: TelegramLimits, max_bytes: int) -> Photo:
    """Telegram's photo rules: size, JPEG/PNG/GIF/WebP magic bytes, readable dimensions."""
    if not data:
        raise bad_request("file must be non-empty")
    if len(data) > max_bytes:
        raise bad_request(f"photo is too big: {len(data)} bytes, the limit is {max_bytes}")
    fmt = sniff_photo(data)
    if fmt is None:
        raise bad_request("IMAGE_PROCESS_FAILED")
    size = photo_size(data, fmt)
    if size is None:
        raise bad_request("IMAGE_PROCESS_FAILED")
    width, height = size
    ratio = max(width, height) / min(width, height)
    if width + height > limits.photo_side_sum or ratio > limits.photo_aspect_ratio:
        raise bad_request("PHOTO_INVALID_DIMENSIONS")
    return Photo(data, fmt, width, height)


def check_video(data: bytes, max_bytes: int) -> bytes:
    """The fake's video rules: non-empty, at most `max_bytes` (413 beyond), MP4 by its `ftyp`
    box. (Telegram would deliver another format as a document; the fake refuses it.)"""
    if not data:
        raise bad_request("file must be non-empty")
    if len(data) > max_bytes:
        raise BotApiError(413, "Request Entity Too Large")
    if data[4:8] != b"ftyp":
        raise bad_request("VIDEO_CONTENT_TYPE_INVALID")
    return data


class FileStore:
    """Files of one bot (file ids are valid only for the bot that saw them)."""

    def __init__(self) -> None:
        self._files: dict[str, StoredFile] = {}
        self._paths: dict[str, StoredFile] = {}
        self._photos: dict[str, list[StoredFile]] = {}
        self._count = 0

    def add_photo(self, photo: Photo) -> list[StoredFile]:
        """Store a photo; returns its sizes, smallest first, the last being the original."""
        thumb_width, thumb_height = thumbnail_size(photo.width, photo.height)
        sizes = [
            self._add(grey_png(thumb_width, thumb_height), "png", thumb_width, thumb_height),
            self._add(photo.data, photo.fmt, photo.width, photo.height),
        ]
        for stored in sizes:
            self._photos[stored.file_id] = sizes
        return sizes

    def add_video(self, data: bytes, width: int, height: int, duration: int) -> StoredFile:
        """Store a checked MP4 video."""
        return self._add(data, VIDEO_FORMAT, width, height, folder="videos", duration=duration)

    def get(self, file_id: str) -> StoredFile | None:
        """A file by id."""
        return self._files.get(file_id)

    def photo_sizes(self, file_id: str) -> list[StoredFile] | None:
        """All sizes of the photo a file id belongs to."""
        return self._photos.get(file_id)

    def by_path(self, file_path: str) -> StoredFile | None:
        """A file by its download path."""
        return self._paths.get(file_path)

    def _add(
        self,
        data: bytes,
        fmt: str,
        width: int,
        height: int,
        *,
        folder: str = "photos",
        duration: int = 0,
    ) -> StoredFile:
        self._count += 1
        prefix = "BAACAgIAAxkBAAI" if fmt == VIDEO_FORMAT else "AgACAgIAAxkBAAI"
        stored = StoredFile(
            file_id=prefix + secrets.token_urlsafe(48),
            file_unique_id="AQAD" + secrets.token_urlsafe(9),
            data=data,
            fmt=fmt,
            width=width,
            height=height,
            file_path=f"{folder}/file_{self._count}.{_EXTENSIONS[fmt]}",
            duration=duration,
        )
        self._files[stored.file_id] = stored
        self._paths[stored.file_path] = stored
        return stored
