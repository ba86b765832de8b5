"""Files one bot can see: photos (with their preview sizes), file ids and download paths."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from .errors import bad_request
from .images import EXTENSIONS, grey_png, photo_size, sniff_photo, thumbnail_size
from .limits import TelegramLimits


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

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the bytes."""
        return hashlib.sha256(self.data).hexdigest()

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

    def get(self, file_id: str) -> StoredFile | None:
        """A file by id."""
        return self._files.get(file_id)

    def photo_sizes(self, file_id: str) -> list[StoredFile] | None:
        """All sizes of the photo a file id belongs to."""
        return self._photos.get(file_id)

    def by_path(self, file_path: str) -> StoredFile | None:
        """A file by its download path."""
        return self._paths.get(file_path)

    def _add(self, data: bytes, fmt: str, width: int, height: int) -> StoredFile:
        self._count += 1
        stored = StoredFile(
            file_id="AgACAgIAAxkBAAI" + secrets.token_urlsafe(48),
            file_unique_id="AQAD" + secrets.token_urlsafe(9),
            data=data,
            fmt=fmt,
            width=width,
            height=height,
            file_path=f"photos/file_{self._count}.{EXTENSIONS[fmt]}",
        )
        self._files[stored.file_id] = stored
        self._paths[stored.file_path] = stored
        return stored
