"""The durable outbox: messages waiting to go out through a platform API.

Row states::

    pending --claim--> claimed --mark_sending--> sending --> sent | failed | in_doubt
       ^                  |                         |
       +---- lease runs out (never attempted) ------+---- retry later (the platform said so)

A ``sending`` row whose lease runs out was being sent when its process died; it becomes
``in_doubt`` and is not sent again. A ``standby`` row is a passive reply kept in case its request
gives up before the reply is committed (storage/inbound.py): it is never sent as it is, and it
holds back the rows queued after it for its recipient until its ``available_at``.

A recipient's rows are claimed one at a time in id order, so messages reach each customer in the
order they were queued, even with several processes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import aliased

from storage.db import read_connection
from storage.models import OutboxRow, table_of, utcnow

_outbox = table_of(OutboxRow)
UNFINISHED = ("pending", "claimed", "sending")
PRUNE_CHUNK = 5000


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    platform: str
    account: str
    recipient: str
    message: dict[str, Any]
    attempts: int


class Outbox:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        owner: str,
        lease_seconds: float,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._engine = engine
        self._owner = owner
        self._lease = timedelta(seconds=lease_seconds)
        self._clock = clock

    async def add(
        self,
        platform: str,
        account: str,
        recipient: str,
        messages: list[dict[str, Any]],
        *,
        origin: str = "",
        delay: float = 0.0,
    ) -> None:
        """Queue messages for one recipient, in order."""
        now = self._clock()
        rows = [
            {
                "platform": platform,
                "account": account,
                "recipient": recipient,
                "message": message,
                "origin": origin,
                "status": "pending",
                "available_at": now + timedelta(seconds=delay),
                "attempts": 0,
                "created_at": now,
            }
            for message in messages
        ]
        if rows:
            async with self._engine.begin() as conn:
                await conn.execute(_outbox.insert(), rows)

    async def claim_due(self, limit: int) -> list[OutboxItem]:
        """Lease up to ``limit`` due messages, at most one per recipient (its oldest unsent)."""
        now = self._clock()
        earlier = aliased(OutboxRow)
        due = (
            select(OutboxRow.id)
            .where(
                OutboxRow.status == "pending",
                OutboxRow.available_at <= now,
                ~exists().where(
                    and_(
                        earlier.account == OutboxRow.account,
                        earlier.recipient == OutboxRow.recipient,
                        earlier.id < OutboxRow.id,
                        or_(
                            earlier.status.in_(UNFINISHED),
                            and_(earlier.status == "standby", earlier.available_at > now),
                        ),
                    )
                ),
            )
            .order_by(OutboxRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        async with self._engine.begin() as conn:
            rows = await conn.execute(
                _outbox.update()
                .where(_outbox.c.id.in_(due.scalar_subquery()), _outbox.c.status == "pending")
                .values(status="claimed", lease_owner=self._owner, lease_until=now + self._lease)
                .returning(
                    _outbox.c.id,
                    _outbox.c.platform,
                    _outbox.c.account,
                    _outbox.c.recipient,
                    _outbox.c.message,
                    _outbox.c.attempts,
                )
            )
            items = [OutboxItem(*row) for row in rows]
        return sorted(items, key=lambda item: item.id)

    async def mark_sending(self, item: OutboxItem) -> bool:
        """Record that the call is about to be made; False if the lease was lost."""
        now = self._clock()
        async with self._engine.begin() as conn:
            result = await conn.execute(
                _outbox.update()
                .where(
                    _outbox.c.id == item.id,
                    _outbox.c.status == "claimed",
                    _outbox.c.lease_owner == self._owner,
                )
                .values(
                    status="sending", attempts=_outbox.c.attempts + 1, lease_until=now + self._lease
                )
            )
            return bool(result.rowcount)

    async def sent(self, item: OutboxItem) -> None:
        await self._finish(item, "sent", None, sent_at=self._clock())

    async def fail(self, item: OutboxItem, error: str) -> None:
        await self._finish(item, "failed", error)

    async def in_doubt(self, item: OutboxItem, error: str) -> None:
        await self._finish(item, "in_doubt", error)

    async def retry(self, item: OutboxItem, error: str, delay: float) -> None:
        await self._finish(
            item, "pending", error, available_at=self._clock() + timedelta(seconds=delay)
        )

    async def _finish(self, item: OutboxItem, status: str, error: str | None, **extra: Any) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                _outbox.update()
                .where(_outbox.c.id == item.id)
                .values(
                    status=status, last_error=error, lease_owner=None, lease_until=None, **extra
                )
            )

    async def recover_expired(self) -> None:
        """Release claims of dead processes; mark their interrupted sends ``in_doubt``."""
        now = self._clock()
        expired = and_(_outbox.c.lease_until.is_not(None), _outbox.c.lease_until < now)
        async with self._engine.begin() as conn:
            await conn.execute(
                _outbox.update()
                .where(_outbox.c.status == "claimed", expired)
                .values(status="pending", lease_owner=None, lease_until=None)
            )
            await conn.execute(
                _outbox.update()
                .where(_outbox.c.status == "sending", expired)
                .values(
                    status="in_doubt",
                    last_error="the sending process stopped before it knew the result",
                    lease_owner=None,
                    lease_until=None,
                )
            )

    async def prune_sent(self, older_than: datetime) -> int:
        """Forget messages sent before ``older_than`` and expired standby rows, a chunk per
        transaction; failed and in-doubt ones stay for people to look at."""
        removed = 0
        gone = or_(
            and_(_outbox.c.status == "sent", _outbox.c.sent_at < older_than),
            and_(_outbox.c.status == "standby", _outbox.c.available_at < older_than),
        )
        while True:
            async with self._engine.begin() as conn:
                ids = (
                    (await conn.execute(select(_outbox.c.id).where(gone).limit(PRUNE_CHUNK)))
                    .scalars()
                    .all()
                )
                if ids:
                    await conn.execute(delete(_outbox).where(_outbox.c.id.in_(ids)))
            removed += len(ids)
            if len(ids) < PRUNE_CHUNK:
                return removed

    async def counts(self) -> dict[str, int]:
        """How many rows are in each state (for status reports and tests)."""
        async with read_connection(self._engine) as conn:
            rows = await conn.execute(
                select(_outbox.c.status, func.count()).group_by(_outbox.c.status)
            )
            return {status: int(n) for status, n in rows}
