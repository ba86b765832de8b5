"""Photos: format by magic bytes, pixel size from the headers, and a generated thumbnail."""

from __future__ import annotations

import struct
import zlib
from typing import Final

PHOTO_FORMATS: Final = ("jpeg", "png", "gif", "webp")
EXTENSIONS: Final = {"jpeg": "jpg", "png": "png", "gif": "gif", "webp": "webp"}
CONTENT_TYPES: Final = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
}
THUMBNAIL_SIDE: Final = 90
_JPEG_SIZE_MARKERS: Final = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def sniff_photo(data: bytes) -> str | None:
    """jpeg, png, gif or webp by magic bytes; None for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "webp"
    return None


def photo_size(data: bytes, fmt: str) -> tuple[int, int] | None:
    """(width, height) read from the image header, None when the header is unreadable."""
    try:
        if fmt == "png" and data[12:16] == b"IHDR":
            width, height = struct.unpack(">II", data[16:24])
            return _positive(width, height)
        if fmt == "gif":
            width, height = struct.unpack("<HH", data[6:10])
            return _positive(width, height)
        if fmt == "jpeg":
            return _jpeg_size(data)
        if fmt == "webp":
            return _webp_size(data)
    except (struct.error, IndexError):
        return None
    return None


def _positive(width: int, height: int) -> tuple[int, int] | None:
    return (width, height) if width > 0 and height > 0 else None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    index = 2
    while index + 9 < len(data):
        if data[index] != 0xFF:
            return None
        marker = data[index + 1]
        if marker == 0xFF:  # fill byte
            index += 1
            continue
        if marker in _JPEG_SIZE_MARKERS:
            height, width = struct.unpack(">HH", data[index + 5 : index + 9])
            return _positive(width, height)
        (length,) = struct.unpack(">H", data[index + 2 : index + 4])
        index += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return _positive(width & 0x3FFF, height & 0x3FFF)
    if chunk == b"VP8L" and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return _positive((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return _positive(width, height)
    return None


def thumbnail_size(width: int, height: int) -> tuple[int, int]:
    """The size Telegram's smallest preview gets: the longer side scaled down to 90 px."""
    scale = min(1.0, THUMBNAIL_SIDE / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def grey_png(width: int, height: int) -> bytes:
    """A plain grey PNG of the given size, standing in for the scaled-down preview."""
    row = b"\x00" + b"\x80\x80\x80" * width
    raw = zlib.compress(row * height)

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")
