"""Per-chat timeline: what the bot sent into a chat, and what users did there, with long-polling."""

from __future__ import annotations

import asyncio
from typing import Any, Literal, TypedDict

Sender = Literal["bot", "user"]
Kind = Literal["text", "photo", "video", "press", "answer", "edit", "delete"]


class PhotoInfo(TypedDict):
    """The photo of a timeline entry: the bytes as sent, by size and digest."""

    size: int
    sha256: str
    width: int
    height: int
    file_id: str


class VideoInfo(TypedDict):
    """The video of a timeline entry: the bytes as sent, by size and digest, and what the
    sender declared (width, height and duration are 0 when not given)."""

    size: int
    sha256: str
    mime_type: str
    width: int
    height: int
    duration: int
    file_id: str


class TimelineEntry(TypedDict):
    """One thing that happened in a chat.

    kind: text / photo / video (a message), press (a user pressed an inline button, `data`),
    answer (the bot answered a callback query: `text`, `show_alert`), edit (the bot edited
    message `message_id`), delete (the bot deleted message `message_id`).
    `text` is what the recipient sees (markup parsed away); `source` is the text as sent.
    """

    seq: int
    at: float
    sender: Sender
    user_id: int | None
    kind: Kind
    message_id: int | None
    text: str | None
    source: str | None
    parse_mode: str | None
    entities: list[dict[str, Any]]
    reply_markup: dict[str, Any] | None
    photo: PhotoInfo | None
    video: VideoInfo | None
    caption: str | None
    data: str | None
    show_alert: bool | None


def new_entry(
    at: float,
    sender: Sender,
    kind: Kind,
    *,
    user_id: int | None = None,
    message_id: int | None = None,
    text: str | None = None,
    source: str | None = None,
    parse_mode: str | None = None,
    entities: list[dict[str, Any]] | None = None,
    reply_markup: dict[str, Any] | None = None,
    photo: PhotoInfo | None = None,
    video: VideoInfo | None = None,
    caption: str | None = None,
    data: str | None = None,
    show_alert: bool | None = None,
) -> TimelineEntry:
    """An entry with seq 0 (Timeline.append numbers it)."""
    return TimelineEntry(
        seq=0,
        at=at,
        sender=sender,
        user_id=user_id,
        kind=kind,
        message_id=message_id,
        text=text,
        source=source,
        parse_mode=parse_mode,
        entities=entities or [],
        reply_markup=reply_markup,
        photo=photo,
        video=video,
        caption=caption,
        data=data,
        show_alert=show_alert,
    )


class Timeline:
    """Append-only entries of one chat; seq starts at 1."""

    def __init__(self) -> None:
        self._entries: list[TimelineEntry] = []
        self._changed = asyncio.Event()

    @property
    def last(self) -> int:
        """Seq of the newest entry, 0 when empty."""
        return self._entries[-1]["seq"] if self._entries else 0

    def append(self, entry: TimelineEntry) -> int:
        """Number and add an entry, wake long-pollers, return its seq."""
        entry["seq"] = self.last + 1
        self._entries.append(entry)
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
        return entry["seq"]

    def after(self, seq: int) -> list[TimelineEntry]:
        """Entries newer than `seq`."""
        return [e for e in self._entries if e["seq"] > seq]

    async def wait_after(self, seq: int, wait: float) -> list[TimelineEntry]:
        """Entries newer than `seq`, waiting up to `wait` real seconds for one to appear."""
        try:
            async with asyncio.timeout(wait):
                while not (entries := self.after(seq)):
                    await self._changed.wait()
                return entries
        except TimeoutError:
            return self.after(seq)
