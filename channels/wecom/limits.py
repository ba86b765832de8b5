"""Limits of WeCom app messages (platform-facts.md §4.3, §7) and the cuts that respect them."""

from __future__ import annotations

from datetime import timedelta

TEXT_BYTES = 2048  # text content; WeCom truncates beyond
NEWS_ARTICLES = 8
NEWS_TITLE_BYTES = 128
NEWS_DESCRIPTION_BYTES = 512
IMAGE_BYTES = 10 * 1024 * 1024  # temporary image media
# Temporary media live 3 days; a media_id is reused until an hour before that.
TEMPORARY_MEDIA_REUSE = timedelta(days=3) - timedelta(hours=1)


def _boundary(data: bytes, end: int) -> int:
    """The greatest index <= ``end`` that starts a UTF-8 character (or is the end)."""
    while 0 < end < len(data) and data[end] & 0xC0 == 0x80:  # a continuation byte
        end -= 1
    return end


def split_text(text: str, limit: int = TEXT_BYTES) -> list[str]:
    """Cut ``text`` into pieces of at most ``limit`` UTF-8 bytes, never inside a character.

    A piece ends at its last newline when that newline lies in the last quarter of the piece
    (the newline itself is dropped); otherwise it is cut at the limit. Blank pieces are left out.
    """
    if limit < 4:
        raise ValueError("a piece must hold at least one character (4 bytes)")
    data = text.encode()
    pieces: list[bytes] = []
    start = 0
    while len(data) - start > limit:
        end = _boundary(data, start + limit)
        newline = data.rfind(b"\n", start + limit * 3 // 4, end)
        if newline != -1:
            pieces.append(data[start:newline])
            start = newline + 1
        else:
            pieces.append(data[start:end])
            start = end
    pieces.append(data[start:])
    return [p.decode() for p in pieces if p.strip()]


def cut(text: str, limit: int) -> str:
    """``text`` shortened to at most ``limit`` UTF-8 bytes, at a character boundary."""
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: _boundary(data, limit)].decode()
