"""Per-member timeline: what a member saw from one app, with long-polling.

An entry is a flat dict: `seq` (from 1 per member and app), `time` (platform time), `kind`
(text, markdown, image, voice, video, file, textcard, news), `via` ("message/send" or
"passive_reply") and the message's fields (content, media size/sha256/content type, ...).

A group mass-message task waiting for its sender shows as kind "group_msg_task", via
"add_msg_template", with msgid, chat_ids, fail_list, text and attachments.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

Via = Literal["message/send", "passive_reply", "add_msg_template"]
TimelineEntry = dict[str, Any]


class MemberTimeline:
    """Append-only list of what one member saw from one app."""

    def __init__(self) -> None:
        self._entries: list[TimelineEntry] = []
        self._changed = asyncio.Event()

    @property
    def last(self) -> int:
        """Seq of the newest entry, 0 when empty."""
        return int(self._entries[-1]["seq"]) if self._entries else 0

    def append(self, at: float, kind: str, via: Via, fields: dict[str, Any]) -> int:
        """Add an entry, wake long-pollers and return its seq."""
        seq = self.last + 1
        self._entries.append({"seq": seq, "time": at, "kind": kind, "via": via, **fields})
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
        return seq

    def after(self, seq: int) -> list[TimelineEntry]:
        """Copies of the entries newer than `seq`."""
        return [dict(e) for e in self._entries if e["seq"] > seq]

    async def wait_after(self, seq: int, wait: float) -> list[TimelineEntry]:
        """Entries newer than `seq`, waiting up to `wait` real seconds for one to appear."""
        try:
            async with asyncio.timeout(wait):
                while not (entries := self.after(seq)):
                    await self._changed.wait()
                return entries
        except TimeoutError:
            return self.after(seq)
