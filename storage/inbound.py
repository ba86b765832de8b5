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
import heapq
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.batch_sql import Insert, Plan, SelectIn, driver_for
from storage.models import FollowerRow, InboundEventRow, KeywordHitRow, OutboxRow, table_of, utcnow

log = logging.getLogger(__name__)

MAX_BATCH = 400
SWEEP_SECONDS = 0.05
# A follower's last interaction is rewritten at most this often per process: it only has to be
# accurate enough for what it serves (the platforms' windows for messaging a customer).
TOUCH_SECONDS = 60.0
TOUCH_MEMORY = 100_000
# How long a standby reply holds its follow-ups back at most: the settling transaction right
# after the commit removes it or makes it pending; if this process dies first, the platform's
# retries get the reply stored with the event, and the follow-ups go after this.
STANDBY_HOLD = timedelta(seconds=60)

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
    interacted: bool = False  # opens the platform's window for messaging the customer

    @property
    def touch_only(self) -> bool:
        """Only says the follower interacted (the usual case: a message, a click)."""
        return self.subscribed and not (self.channel or self.followed or self.unfollowed)


@dataclass(frozen=True, slots=True)
class Outcome:
    first: bool  # this record was new; False when a retry had been handled already
    reply: dict[str, Any] | None  # the passive reply to answer with (the stored one for a retry)
    # Not committed by the record's answer-by time: answer without a reply; once committed, the
    # reply goes out through the platform API (the outbox).
    late: bool = False


LATE = Outcome(first=False, reply=None, late=True)


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
    # time.monotonic() by which the request must answer; past it the record is marked late.
    answer_by: float | None = None
    # Set once the request answered without the passive reply: the reply must then go out
    # through the platform API like a follow-up.
    late: bool = False


class InboundLog:
    """Queues records and commits them in batches; the future of each resolves once durable."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        followup_delay: float,
        synchronous: str = "NORMAL",
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._engine = engine
        self._driver = driver_for(engine, synchronous)
        self._followup_delay = timedelta(seconds=followup_delay)
        self._clock = clock
        self._queue: deque[tuple[InboundRecord, asyncio.Future[Outcome]]] = deque()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.commits = 0  # reported at shutdown: how well group commit is batching
        self.records = 0
        # Told, after a commit that queued outbox messages, in how many seconds the first is due.
        self.on_outbox: Callable[[float], None] | None = None
        self._touched: dict[tuple[str, str], float] = {}  # follower -> monotonic time written
        # Records waiting for their commit, by answer-by time (a heap).
        self._waiting: list[tuple[float, int, InboundRecord, asyncio.Future[Outcome]]] = []
        self._order = itertools.count()
        self._sweeper: asyncio.Task[None] | None = None
        self._late_work: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="inbound-log")
        self._sweeper = asyncio.create_task(self._sweep(), name="inbound-deadlines")

    async def stop(self) -> None:
        """Write everything queued, finish the late replies, then close."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
            self._sweeper = None
        if self._task is not None:
            self._stopping = True
            self._wakeup.set()
            await self._task
            self._task = None
        if self._late_work:
            await asyncio.gather(*self._late_work, return_exceptions=True)
        await self._driver.close()
        if self.commits:
            log.info(
                "inbound log: %d records in %d commits (%.1f per commit)",
                self.records,
                self.commits,
                self.records / self.commits,
            )

    def submit(self, record: InboundRecord) -> asyncio.Future[Outcome]:
        """Queue a record; the future resolves when its batch is committed (or, past the record's
        answer-by time, with :data:`LATE`)."""
        if self._task is None or self._stopping:
            raise RuntimeError("the inbound log is not running")
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._queue.append((record, future))
        if record.answer_by is not None:
            heapq.heappush(self._waiting, (record.answer_by, next(self._order), record, future))
        self._wakeup.set()
        return future

    async def _sweep(self) -> None:
        """Resolve the futures of records still uncommitted at their answer-by time as late.

        One periodic pass for all requests instead of a timer each."""
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            now = time.monotonic()
            while self._waiting and self._waiting[0][0] <= now:
                _, _, record, future = heapq.heappop(self._waiting)
                if not future.done():
                    record.late = True
                    future.set_result(LATE)

    async def _run(self) -> None:
        while True:
            while self._queue:
                await self._write(self._take())
            if self._stopping:
                return
            await self._wakeup.wait()
            self._wakeup.clear()

    def _take(self) -> list[tuple[InboundRecord, asyncio.Future[Outcome]]]:
        n = min(len(self._queue), MAX_BATCH)
        return [self._queue.popleft() for _ in range(n)]

    async def _write(self, batch: list[tuple[InboundRecord, asyncio.Future[Outcome]]]) -> None:
        records = [r for r, _ in batch]
        # Decided here, on the event loop, and fixed for the batch: the writer's plan may run in
        # another thread while the sweeper marks records late.
        touch = {id(r) for r in records if self._needs_write(r)}
        late = {id(r) for r in records if r.late}
        try:
            outcomes = await self._driver.run(lambda: self._plan(records, touch, late))
        except Exception as exc:
            for r in records:
                if r.follower is not None:
                    self._touched.pop((r.account, r.follower.openid), None)
            if len(batch) > 1:  # find the one record that breaks the batch; keep the others
                log.warning("inbound batch of %d failed (%s); writing one by one", len(batch), exc)
                for item in batch:
                    await self._write([item])
                return
            log.exception("inbound record %s could not be stored", records[0].dedupe_key)
            if not batch[0][1].done():
                batch[0][1].set_exception(exc)
            return
        self.commits += 1
        self.records += len(batch)
        if self.on_outbox is not None and any(r.followups or id(r) in late for r in records):
            late_reply = any(id(r) in late and r.reply is not None for r in records)
            self.on_outbox(0.0 if late_reply else self._followup_delay.total_seconds())
        became_late, in_time = [], []
        for (record, future), outcome in zip(batch, outcomes, strict=True):
            if not future.done():
                future.set_result(outcome)
            if not outcome.first or id(record) in late or not record.reply:
                continue
            if record.late:
                became_late.append(record)  # the request gave up while its batch was committing
            elif _stands_by(record):
                in_time.append(record)  # answered in the request: its standby row goes
        if became_late or in_time:
            task = asyncio.create_task(
                self._settle(became_late, in_time), name="inbound-late-replies"
            )
            self._late_work.add(task)
            task.add_done_callback(self._late_work.discard)

    def _plan(
        self, records: Sequence[InboundRecord], touch: set[int], late: set[int]
    ) -> Plan[list[Outcome]]:
        now = self._clock()
        # The first record of each key in the batch claims it; later ones are retries.
        firsts: dict[tuple[str, str], InboundRecord] = {}
        for r in records:
            firsts.setdefault((r.account, r.dedupe_key), r)
        # Every multi-row statement goes in key order, so that two processes writing the same
        # rows lock them in the same order (PostgreSQL would otherwise deadlock them).
        returned = yield Insert(
            _events,
            ("account", "dedupe_key", "reply", "created_at"),
            [
                (r.account, r.dedupe_key, None if id(r) in late else r.reply, now)
                for _, r in sorted(firsts.items())
            ],
            on_conflict="(account, dedupe_key) DO NOTHING",
            returning=("account", "dedupe_key"),
        )
        fresh = {(account, key) for account, key in returned}
        stored: dict[tuple[str, str], dict[str, Any] | None] = {}
        retried: dict[str, list[str]] = {}
        for account, key in firsts:
            if (account, key) not in fresh:
                retried.setdefault(account, []).append(key)
        for account, keys in retried.items():
            rows = yield SelectIn(
                _events, ("dedupe_key", "reply"), {"account": account}, "dedupe_key", keys
            )
            stored.update({(account, key): reply for key, reply in rows})
        new = [r for key, r in firsts.items() if key in fresh]
        if new:
            yield from self._effects(new, touch, late, now)
        stored.update({(r.account, r.dedupe_key): None if id(r) in late else r.reply for r in new})
        return [
            Outcome(firsts[key] is r and key in fresh, stored.get(key))
            for r in records
            for key in [(r.account, r.dedupe_key)]
        ]

    def _effects(
        self, records: Sequence[InboundRecord], touch: set[int], late: set[int], now: datetime
    ) -> Plan[None]:
        followers = _merge_followers([r for r in records if id(r) in touch], now)
        if followers:
            yield Insert(_followers, FOLLOWER_COLUMNS, followers, on_conflict=FOLLOWER_UPSERT)
        outbox: list[tuple[Any, ...]] = []
        for r in records:
            if id(r) in late and r.reply is not None:
                outbox.append(_outbox_row(r, r.reply, now, now))
            elif _stands_by(r) and r.reply is not None:
                # Holds the follow-ups back in case the request gives up before this commits.
                outbox.append(_outbox_row(r, r.reply, now + STANDBY_HOLD, now, "standby"))
            outbox.extend(_outbox_row(r, m, now + self._followup_delay, now) for m in r.followups)
        if outbox:
            yield Insert(_outbox, OUTBOX_COLUMNS, outbox)
        hits = _merge_hits(records, now.date())
        if hits:
            yield Insert(
                _hits, ("account", "rule_id", "day", "hits"), hits, on_conflict=HITS_UPSERT
            )

    def _needs_write(self, record: InboundRecord) -> bool:
        change = record.follower
        if change is None:
            return False
        key = (record.account, change.openid)
        now = time.monotonic()
        if change.touch_only and now - self._touched.get(key, -TOUCH_SECONDS) < TOUCH_SECONDS:
            return False
        self._touched.pop(key, None)  # re-insert at the end: the dict is kept in touch order
        self._touched[key] = now
        if len(self._touched) > TOUCH_MEMORY:
            del self._touched[next(iter(self._touched))]
        return True

    async def _settle(self, late: list[InboundRecord], in_time: list[InboundRecord]) -> None:
        """After a commit: queue the passive replies whose requests stopped waiting while it
        ran (in front of their follow-ups; the stored reply is cleared so a retry does not repeat
        it) and drop the standby rows of those answered in time. The requests already answered,
        so this is retried until it is stored."""
        pause = 0.2
        while True:
            try:
                async with self._engine.begin() as conn:
                    for r in late:
                        await _put_reply_first(conn, r, self._clock())
                    await _drop_standby(conn, in_time)
                break
            except Exception:
                log.exception("late replies of %d callbacks not queued yet", len(late))
                await asyncio.sleep(pause)
                pause = min(pause * 2, 30.0)
        if self.on_outbox is not None:
            self.on_outbox(0.0 if late else self._followup_delay.total_seconds())


def _stands_by(r: InboundRecord) -> bool:
    """Whether the record's reply is also queued on standby: it has follow-ups that must not
    overtake the reply if the request gives up while the record is committing."""
    return r.reply is not None and bool(r.followups) and r.answer_by is not None


async def _put_reply_first(conn: AsyncConnection, r: InboundRecord, now: datetime) -> None:
    mine = (_outbox.c.account == r.account, _outbox.c.origin == r.dedupe_key)
    woken = await conn.execute(
        _outbox.update()
        .where(*mine, _outbox.c.status == "standby")
        .values(status="pending", available_at=now)
    )
    if not woken.rowcount:  # no follow-ups: nothing waits behind the reply
        row = _outbox_row(r, r.reply or {}, now, now)
        await conn.execute(_outbox.insert(), [dict(zip(OUTBOX_COLUMNS, row, strict=True))])
    await conn.execute(
        _events.update()
        .where(_events.c.account == r.account, _events.c.dedupe_key == r.dedupe_key)
        .values(reply=None)
    )


async def _drop_standby(conn: AsyncConnection, records: list[InboundRecord]) -> None:
    by_account: dict[str, list[str]] = {}
    for r in records:
        by_account.setdefault(r.account, []).append(r.dedupe_key)
    for account, keys in sorted(by_account.items()):
        await conn.execute(
            delete(_outbox).where(
                _outbox.c.account == account,
                _outbox.c.origin.in_(sorted(keys)),
                _outbox.c.status == "standby",
            )
        )


OUTBOX_COLUMNS = (
    "platform",
    "account",
    "recipient",
    "message",
    "origin",
    "status",
    "available_at",
    "attempts",
    "created_at",
)
FOLLOWER_COLUMNS = (
    "account",
    "openid",
    "first_channel",
    "last_channel",
    "subscribed",
    "subscribed_at",
    "unsubscribed_at",
    "last_interaction_at",
    "created_at",
)
# A follower keeps its first channel; each later event updates what it says something about.
FOLLOWER_UPSERT = "(account, openid) DO UPDATE SET subscribed = excluded.subscribed, " + ", ".join(
    f"{c} = COALESCE(excluded.{c}, followers.{c})"
    for c in ("last_channel", "subscribed_at", "unsubscribed_at", "last_interaction_at")
)
HITS_UPSERT = "(account, rule_id, day) DO UPDATE SET hits = keyword_hits.hits + excluded.hits"


def _outbox_row(
    r: InboundRecord,
    message: dict[str, Any],
    available_at: datetime,
    now: datetime,
    status: str = "pending",
) -> tuple[Any, ...]:
    return (
        r.platform,
        r.account,
        r.recipient,
        message,
        r.dedupe_key,
        status,
        available_at,
        0,
        now,
    )


def _merge_followers(records: Sequence[InboundRecord], now: datetime) -> list[tuple[Any, ...]]:
    """One row per follower, in FOLLOWER_COLUMNS order (PostgreSQL refuses to upsert the same row
    twice in one statement); later events of the batch override earlier ones."""
    merged: dict[tuple[str, str], list[Any]] = {}
    for r in records:
        change = r.follower
        if change is None:
            continue
        row = merged.setdefault(
            (r.account, change.openid),
            [r.account, change.openid, None, None, change.subscribed, None, None, None, now],
        )
        row[4] = change.subscribed
        if change.channel is not None:
            row[3] = change.channel
            if change.followed and row[2] is None:
                row[2] = change.channel
        if change.followed:
            row[5] = now
        if change.unfollowed:
            row[6] = now
        if change.interacted:
            row[7] = now
    return [tuple(merged[key]) for key in sorted(merged)]


def _merge_hits(records: Sequence[InboundRecord], day: date) -> list[tuple[Any, ...]]:
    counts: dict[tuple[str, int], int] = {}
    for r in records:
        if r.hit_rule is not None:
            counts[(r.account, r.hit_rule)] = counts.get((r.account, r.hit_rule), 0) + 1
    return [(account, rule, day, n) for (account, rule), n in sorted(counts.items())]


PRUNE_CHUNK = 5000


async def prune(engine: AsyncEngine, older_than: datetime) -> int:
    """Forget dedupe keys older than ``older_than``, a chunk per transaction (so no write lock is
    held for long); returns how many were removed."""
    removed = 0
    while True:
        async with engine.begin() as conn:
            oldest = (
                select(_events.c.account, _events.c.dedupe_key)
                .where(_events.c.created_at < older_than)
                .limit(PRUNE_CHUNK)
            )
            keys = (await conn.execute(oldest)).all()
            for account in {a for a, _ in keys}:
                await conn.execute(
                    delete(_events).where(
                        _events.c.account == account,
                        _events.c.dedupe_key.in_([k for a, k in keys if a == account]),
                    )
                )
        removed += len(keys)
        if len(keys) < PRUNE_CHUNK:
            return removed
