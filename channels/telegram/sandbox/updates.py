"""The update queue of one bot: ids, confirmation by offset, 24 h retention, long-poll wake-ups."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Final

FIRST_UPDATE_ID: Final = 100_000_001


@dataclass(frozen=True)
class PendingUpdate:
    """An update not yet confirmed (getUpdates) or acknowledged (webhook)."""

    update_id: int
    created_at: float
    body: dict[str, Any]


class UpdateQueue:
    """Pending updates in id order; update_id grows by one per update."""

    def __init__(self, first_id: int = FIRST_UPDATE_ID) -> None:
        self._pending: list[PendingUpdate] = []
        self._next_id = first_id
        self._changed = asyncio.Event()
        self._poll_generation = 0

    def add(self, kind: str, payload: dict[str, Any], now: float) -> dict[str, Any]:
        """Queue a new update carrying `payload` under `kind` (e.g. "message")."""
        body = {"update_id": self._next_id, kind: payload}
        self._pending.append(PendingUpdate(self._next_id, now, body))
        self._next_id += 1
        self.wake()
        return body

    @property
    def pending(self) -> list[PendingUpdate]:
        """A copy of the pending updates."""
        return list(self._pending)

    def first(self) -> PendingUpdate | None:
        """The oldest pending update."""
        return self._pending[0] if self._pending else None

    def is_pending(self, update_id: int) -> bool:
        """Whether the update is still waiting to be confirmed or acknowledged."""
        return any(u.update_id == update_id for u in self._pending)

    def confirm(self, offset: int) -> None:
        """getUpdates offset: forget ids below a positive offset; keep the last -offset if < 0."""
        if offset > 0:
            self._pending = [u for u in self._pending if u.update_id >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]

    def remove(self, update_id: int) -> None:
        """Forget one update (a webhook acknowledged it)."""
        self._pending = [u for u in self._pending if u.update_id != update_id]

    def expire(self, now: float, retention: float) -> None:
        """Drop updates older than the retention (24 hours on Telegram)."""
        self._pending = [u for u in self._pending if u.created_at > now - retention]

    def drop_all(self) -> int:
        """drop_pending_updates: forget everything; returns how many were dropped."""
        dropped = len(self._pending)
        self._pending.clear()
        return dropped

    def take(self, limit: int) -> list[dict[str, Any]]:
        """Up to `limit` oldest pending updates (they stay pending until confirmed)."""
        return [u.body for u in self._pending[:limit]]

    def begin_poll(self) -> int:
        """Register a new getUpdates request; older ones still waiting are terminated."""
        self._poll_generation += 1
        self.wake()
        return self._poll_generation

    def is_current_poll(self, generation: int) -> bool:
        """Whether no newer getUpdates request has arrived since `generation`."""
        return generation == self._poll_generation

    def wake(self) -> None:
        """Wake every waiting getUpdates request so it looks again."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def wait_change(self, seconds: float) -> None:
        """Wait until wake() or `seconds` real seconds pass."""
        changed = self._changed
        try:
            async with asyncio.timeout(seconds):
                await changed.wait()
        except TimeoutError:
            return
