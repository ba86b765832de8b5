"""Per-customer timeline: everything the customer did and saw, with long-polling."""

from __future__ import annotations

import asyncio
from typing import Any, Literal, TypedDict

Direction = Literal["in", "out"]
Via = Literal["customer", "passive", "customer_service", "mass", "system"]


class TimelineEntry(TypedDict):
    """One thing the customer did ("in") or saw ("out")."""

    seq: int
    at: float
    direction: Direction
    via: Via
    message: dict[str, Any]


class Timeline:
    """Append-only list of entries; seq starts at 1 per customer."""

    def __init__(self) -> None:
        self._entries: list[TimelineEntry] = []
        self._changed = asyncio.Event()

    @property
    def last(self) -> int:
        """Seq of the newest entry, 0 when empty."""
        return self._entries[-1]["seq"] if self._entries else 0

    def append(self, at: float, direction: Direction, via: Via, message: dict[str, Any]) -> int:
        """Add an entry, wake long-pollers and return its seq."""
        seq = self.last + 1
        self._entries.append(
            TimelineEntry(seq=seq, at=at, direction=direction, via=via, message=message)
        )
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
        return seq

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
