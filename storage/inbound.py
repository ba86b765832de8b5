"""The durable record of handled callbacks, written with group commit.

Each handled callback is one :class:`InboundRecord`: its dedupe key, the passive reply chosen,
the follow-up messages for the outbox, the change to the follower, and the rule that answered.
Records from concurrent requests are written together, one transaction per batch, and each request
waits until its batch is committed before it answers, so an answer is never given for work that a
crash could still lose.

Inside the transaction the dedupe key is inserted with ``ON CONFLICT DO NOTHING``. Only the records
whose key was new apply their side effects; for the others (a retry that reached another process
first) the reply stored by the first one is returned, so every retry gets the same answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.db import upsert
from storage.models import FollowerRow, InboundEventRow, KeywordHitRow, OutboxRow, table_of, utcnow

log = logging.getLogger(__name__)

MAX_BATCH = 400

_events = table_of(InboundEventRow)
_followers = table_of(FollowerRow)
_outbox = table_of(OutboxRow)
_hits = table_of(KeywordHitRow)


@dataclass(slots=True)
class FollowerChange:
    """What a callback tells us about a follower."""

    openid: str
    subscribed: bool
    channel: str | None = None  # the channel of a follow or a scan
    followed: bool = False  # a follow: sets subscribed_at (and first_channel when new)
    unfollowed: bool = False
    interacted: bool = False  # opens the customer-service window


@dataclass(frozen=True, slots=True)
class Outcome:
    first: bool  # this record was new; False when a retry had been handled already
    reply: dict[str, Any] | None  # the passive reply to answer with (the stored one for a retry)


@dataclass(slots=True, eq=False)
class InboundRecord:
    platform: str
    account: str
    dedupe_key: str
    recipient: str
    reply: dict[str, Any] | None = None
    followups: list[dict[str, Any]] = field(default_factory=list)
    follower: FollowerChange | None = None
    hit_rule: int | None = None
    # Set by the request when it stopped waiting and answered without a passive reply: the
    # reply must then go out through the platform API like a follow-up.
    late: bool = False


class InboundLog:
    """Queues records and commits them in batches; :meth:`record` returns once durable."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        followup_delay: float,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._engine = engine
        self._followup_delay = timedelta(seconds=followup_delay)
        self._clock = clock
        self._queue: deque[tuple[InboundRecord, asyncio.Future[Outcome]]] = deque()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0  # counters for the benchmark report
        self.records = 0
        # Told, after a commit that queued outbox messages, in how many seconds the first is due.
        self.on_outbox: Callable[[float], None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="inbound-log")

    async def stop(self) -> None:
        if self._task is not None:
            while self._queue:
                await self._write(self._take())
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def submit(self, record: InboundRecord) -> asyncio.Future[Outcome]:
        """Queue a record; the future resolves when its batch is committed."""
        if self._task is None:
            raise RuntimeError("InboundLog.start() was not called")
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._queue.append((record, future))
        self._wakeup.set()
        return future

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                await self._write(self._take())

    def _take(self) -> list[tuple[InboundRecord, asyncio.Future[Outcome]]]:
        n = min(len(self._queue), MAX_BATCH)
        return [self._queue.popleft() for _ in range(n)]

    async def _write(self, batch: list[tuple[InboundRecord, asyncio.Future[Outcome]]]) -> None:
        records = [r for r, _ in batch]
        try:
            async with self._engine.begin() as conn:
                outcomes = await self._apply(conn, records)
        except Exception as exc:
            if len(batch) > 1:  # find the one record that breaks the batch; keep the others
                log.warning("inbound batch of %d failed (%s); writing one by one", len(batch), exc)
                for item in batch:
                    await self._write([item])
                return
            log.exception("inbound record %s could not be stored", records[0].dedupe_key)
            if not batch[0][1].done():
                batch[0][1].set_exception(exc)
            return
        self.batches += 1
        self.records += len(batch)
        if self.on_outbox is not None and any(r.followups or r.late for r in records):
            late_now = any(r.late and r.reply is not None for r in records)
            self.on_outbox(0.0 if late_now else self._followup_delay.total_seconds())
        late: list[InboundRecord] = []
        for (record, future), outcome in zip(batch, outcomes, strict=True):
            if not future.done():
                future.set_result(outcome)
            if outcome.first and record.late and outcome.reply is not None:
                late.append(record)  # the request gave up while its batch was committing
        if late:
            await self._send_late(late)

    async def _apply(
        self, conn: AsyncConnection, records: Sequence[InboundRecord]
    ) -> list[Outcome]:
        now = self._clock()
        # The first record of each key in the batch claims it; later ones are retries.
        firsts: dict[tuple[str, str], InboundRecord] = {}
        for r in records:
            firsts.setdefault((r.account, r.dedupe_key), r)
        rows = [
            {
                "account": r.account,
                "dedupe_key": r.dedupe_key,
                "reply": None if r.late else r.reply,
                "created_at": now,
            }
            for r in firsts.values()
        ]
        insert = upsert(_events, conn).on_conflict_do_nothing(
            index_elements=["account", "dedupe_key"]
        )
        result = await conn.execute(insert.returning(_events.c.account, _events.c.dedupe_key), rows)
        fresh = {(a, k) for a, k in result}
        new = [r for key, r in firsts.items() if key in fresh]
        if new:
            await self._apply_effects(conn, new, now)
        stored = await _stored_replies(conn, [r for key, r in firsts.items() if key not in fresh])
        stored.update({(r.account, r.dedupe_key): None if r.late else r.reply for r in new})
        return [
            Outcome(firsts[key] is r and key in fresh, stored.get(key))
            for r in records
            for key in [(r.account, r.dedupe_key)]
        ]

    async def _apply_effects(
        self, conn: AsyncConnection, records: Sequence[InboundRecord], now: datetime
    ) -> None:
        followers = _merge_followers(records, now)
        if followers:
            ins = upsert(_followers, conn)
            stmt = ins.on_conflict_do_update(
                index_elements=["account", "openid"],
                set_={
                    "subscribed": ins.excluded.subscribed,
                    "last_channel": func.coalesce(
                        ins.excluded.last_channel, _followers.c.last_channel
                    ),
                    "subscribed_at": func.coalesce(
                        ins.excluded.subscribed_at, _followers.c.subscribed_at
                    ),
                    "unsubscribed_at": func.coalesce(
                        ins.excluded.unsubscribed_at, _followers.c.unsubscribed_at
                    ),
                    "last_interaction_at": func.coalesce(
                        ins.excluded.last_interaction_at, _followers.c.last_interaction_at
                    ),
                },
            )
            await conn.execute(stmt, followers)
        outbox = []
        for r in records:
            messages = ([r.reply] if r.late and r.reply is not None else []) + r.followups
            for index, message in enumerate(messages):
                delay = timedelta(0) if r.late and index == 0 else self._followup_delay
                outbox.append(_outbox_row(r, message, now + delay, now))
        if outbox:
            await conn.execute(_outbox.insert(), outbox)
        hits = _merge_hits(records, now.date())
        if hits:
            ins = upsert(_hits, conn)
            stmt = ins.on_conflict_do_update(
                index_elements=["account", "rule_id", "day"],
                set_={"hits": _hits.c.hits + ins.excluded.hits},
            )
            await conn.execute(stmt, hits)

    async def _send_late(self, records: list[InboundRecord]) -> None:
        """Move passive replies the requests gave up on into the outbox."""
        now = self._clock()
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    _outbox.insert(), [_outbox_row(r, r.reply or {}, now, now) for r in records]
                )
                for r in records:
                    await conn.execute(
                        _events.update()
                        .where(_events.c.account == r.account, _events.c.dedupe_key == r.dedupe_key)
                        .values(reply=None)
                    )
        except Exception:
            log.exception("late replies for %d callbacks could not be queued", len(records))
            return
        if self.on_outbox is not None:
            self.on_outbox(0.0)


def _outbox_row(
    r: InboundRecord, message: dict[str, Any], available_at: datetime, now: datetime
) -> dict[str, Any]:
    return {
        "platform": r.platform,
        "account": r.account,
        "recipient": r.recipient,
        "message": message,
        "origin": r.dedupe_key,
        "status": "pending",
        "available_at": available_at,
        "attempts": 0,
        "created_at": now,
    }


async def _stored_replies(
    conn: AsyncConnection, records: Sequence[InboundRecord]
) -> dict[tuple[str, str], dict[str, Any] | None]:
    found: dict[tuple[str, str], dict[str, Any] | None] = {}
    by_account: dict[str, list[str]] = {}
    for r in records:
        by_account.setdefault(r.account, []).append(r.dedupe_key)
    for account, keys in by_account.items():
        rows = await conn.execute(
            select(_events.c.dedupe_key, _events.c.reply).where(
                _events.c.account == account, _events.c.dedupe_key.in_(keys)
            )
        )
        for key, reply in rows:
            found[(account, key)] = reply
    return found


def _merge_followers(records: Sequence[InboundRecord], now: datetime) -> list[dict[str, Any]]:
    """One row per follower (PostgreSQL refuses to upsert the same row twice in a statement)."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for r in records:
        change = r.follower
        if change is None:
            continue
        row = merged.setdefault(
            (r.account, change.openid),
            {
                "account": r.account,
                "openid": change.openid,
                "first_channel": None,
                "last_channel": None,
                "subscribed": change.subscribed,
                "subscribed_at": None,
                "unsubscribed_at": None,
                "last_interaction_at": None,
                "created_at": now,
            },
        )
        row["subscribed"] = change.subscribed
        if change.channel is not None:
            row["last_channel"] = change.channel
            if change.followed and row["first_channel"] is None:
                row["first_channel"] = change.channel
        if change.followed:
            row["subscribed_at"] = now
        if change.unfollowed:
            row["unsubscribed_at"] = now
        if change.interacted:
            row["last_interaction_at"] = now
    return list(merged.values())


def _merge_hits(records: Sequence[InboundRecord], day: date) -> list[dict[str, Any]]:
    counts: dict[tuple[str, int], int] = {}
    for r in records:
        if r.hit_rule is not None:
            counts[(r.account, r.hit_rule)] = counts.get((r.account, r.hit_rule), 0) + 1
    return [
        {"account": a, "rule_id": rule, "day": day, "hits": n} for (a, rule), n in counts.items()
    ]


async def prune(engine: AsyncEngine, older_than: datetime) -> int:
    """Forget dedupe keys older than ``older_than``; returns how many were removed."""
    async with engine.begin() as conn:
        result = await conn.execute(delete(_events).where(_events.c.created_at < older_than))
        return int(result.rowcount or 0)
