"""The inbound log: one durable record per callback, retries answered with the stored reply."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import create_engine
from storage.inbound import FollowerChange, InboundLog, InboundRecord
from storage.models import FollowerRow, InboundEventRow, KeywordHitRow, OutboxRow


@pytest.fixture
async def log(engine: AsyncEngine) -> AsyncIterator[InboundLog]:
    log = InboundLog(engine, followup_delay=0.0)
    await log.start()
    yield log
    await log.stop()


def record(key: str, reply: str | None = "hi", **kw: object) -> InboundRecord:
    return InboundRecord(
        "wechat",
        "demo",
        key,
        "o1",
        {"text": reply} if reply else None,
        **kw,  # type: ignore[arg-type]
    )


async def rows(engine: AsyncEngine, model: type) -> list:  # type: ignore[type-arg]
    async with engine.connect() as conn:
        return list((await conn.execute(select(model.__table__))).all())


async def test_first_record_claims_and_a_retry_gets_the_stored_reply(
    engine: AsyncEngine, log: InboundLog
) -> None:
    first = await log.submit(record("m:1", "第一次", followups=[{"text": "第二条"}]))
    retry = await log.submit(record("m:1", "a different reply that must not win"))
    assert (first.first, first.reply) == (True, {"text": "第一次"})
    assert (retry.first, retry.reply) == (False, {"text": "第一次"})
    assert len(await rows(engine, OutboxRow)) == 1  # the follow-up is queued once


async def test_retries_in_one_batch_are_handled_once(engine: AsyncEngine, log: InboundLog) -> None:
    outcomes = await asyncio.gather(
        *(log.submit(record("m:2", f"reply {i}", followups=[{"text": "x"}])) for i in range(5))
    )
    assert [o.first for o in outcomes] == [True, False, False, False, False]
    assert {o.reply["text"] for o in outcomes if o.reply} == {"reply 0"}
    assert len(await rows(engine, OutboxRow)) == 1
    assert len(await rows(engine, InboundEventRow)) == 1


async def test_two_processes_on_one_database_handle_a_callback_once(db_url: str) -> None:
    engines = [create_engine(db_url), create_engine(db_url)]
    logs = [InboundLog(e, followup_delay=0.0) for e in engines]
    try:
        for log in logs:
            await log.start()
        outcomes = await asyncio.gather(
            *(
                logs[i % 2].submit(record(f"m:{n}", f"from {i % 2}", followups=[{"text": "f"}]))
                for n in range(20)
                for i in range(2)
            )
        )
        for n in range(20):
            pair = outcomes[2 * n : 2 * n + 2]
            assert sorted(o.first for o in pair) == [False, True]
            assert pair[0].reply == pair[1].reply
        assert len(await rows(engines[0], OutboxRow)) == 20
    finally:
        for log in logs:
            await log.stop()
        for e in engines:
            await e.dispose()


async def test_followers_are_tracked(engine: AsyncEngine, log: InboundLog) -> None:
    follow = FollowerChange("o1", True, channel="spring", followed=True, interacted=True)
    await log.submit(record("e:follow", follower=follow))
    await log.submit(
        record("e:scan", follower=FollowerChange("o1", True, channel="store", interacted=True))
    )
    await log.submit(record("e:bye", None, follower=FollowerChange("o1", False, unfollowed=True)))
    (row,) = await rows(engine, FollowerRow)
    assert row.first_channel == "spring"
    assert row.last_channel == "store"
    assert row.subscribed is False or row.subscribed == 0
    assert row.subscribed_at is not None and row.unsubscribed_at is not None
    assert row.last_interaction_at is not None


async def test_follow_and_unfollow_in_one_batch_keep_the_last_state(
    engine: AsyncEngine, log: InboundLog
) -> None:
    await asyncio.gather(
        log.submit(record("e:a", follower=FollowerChange("o2", True, channel="c", followed=True))),
        log.submit(record("e:b", None, follower=FollowerChange("o2", False, unfollowed=True))),
    )
    (row,) = await rows(engine, FollowerRow)
    assert not row.subscribed
    assert row.first_channel == "c"


async def test_keyword_hits_are_counted_per_rule_and_day(
    engine: AsyncEngine, log: InboundLog
) -> None:
    await asyncio.gather(*(log.submit(record(f"m:{i}", hit_rule=7)) for i in range(3)))
    await log.submit(record("m:9", hit_rule=8))
    hits = {(r.rule_id, r.hits) for r in await rows(engine, KeywordHitRow)}
    assert hits == {(7, 3), (8, 1)}


async def test_a_late_record_sends_its_reply_through_the_outbox(
    engine: AsyncEngine, log: InboundLog
) -> None:
    late = record("m:late", "迟到的回复", followups=[{"text": "第二条"}])
    late.late = True
    outcome = await log.submit(late)
    assert outcome == outcome.__class__(True, None)
    queued = sorted(await rows(engine, OutboxRow), key=lambda r: r.id)
    assert [r.message for r in queued] == [{"text": "迟到的回复"}, {"text": "第二条"}]
    retry = await log.submit(record("m:late"))
    assert retry.reply is None  # the retry must not repeat what the outbox will send


async def test_a_record_that_breaks_its_batch_fails_alone(
    engine: AsyncEngine, log: InboundLog
) -> None:
    good = [log.submit(record(f"m:{i}")) for i in range(3)]
    bad = log.submit(record("m:" + "x" * 300))  # longer than the key column on PostgreSQL
    results = await asyncio.gather(*good, bad, return_exceptions=True)
    assert all(not isinstance(r, BaseException) and r.first for r in results[:3])
    if engine.dialect.name == "postgresql":
        assert isinstance(results[3], Exception)


async def test_two_processes_writing_the_same_rows_do_not_deadlock(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Both write hits of the same rules and changes of the same followers, in opposite orders:
    rows are locked in key order, so no batch has to be retried one record at a time."""
    engines = [create_engine(db_url), create_engine(db_url)]
    logs = [InboundLog(e, followup_delay=0.0) for e in engines]
    try:
        for log in logs:
            await log.start()
        followers = [f"o{i}" for i in range(40)]

        def batch(n: int, side: int) -> list[InboundRecord]:
            order = followers if side == 0 else followers[::-1]
            return [
                record(
                    f"m:{side}:{n}:{openid}",
                    hit_rule=hash(openid) % 7,
                    follower=FollowerChange(openid, True, channel=f"c{n}", followed=True),
                )
                for openid in order
            ]

        with caplog.at_level("WARNING", logger="storage.inbound"):
            futures = [
                logs[side].submit(r) for n in range(15) for side in (0, 1) for r in batch(n, side)
            ]
            outcomes = await asyncio.gather(*futures)
        assert all(o.first for o in outcomes)
        assert not [r for r in caplog.records if "one by one" in r.getMessage()]
        async with engines[0].connect() as conn:
            total = (await conn.execute(select(func.sum(KeywordHitRow.hits)))).scalar()
        assert total == 15 * 2 * 40
    finally:
        for log in logs:
            await log.stop()
        for e in engines:
            await e.dispose()


async def test_stopping_writes_everything_queued(engine: AsyncEngine) -> None:
    log = InboundLog(engine, followup_delay=0.0)
    await log.start()
    futures = [log.submit(record(f"m:{i}")) for i in range(50)]
    await log.stop()
    assert all(f.done() and f.result().first for f in futures)
    assert len(await rows(engine, InboundEventRow)) == 50


async def test_old_dedupe_keys_are_forgotten_in_chunks(
    engine: AsyncEngine, log: InboundLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime, timedelta

    from storage.inbound import prune

    monkeypatch.setattr("storage.inbound.PRUNE_CHUNK", 4)
    await asyncio.gather(*(log.submit(record(f"m:{i}")) for i in range(10)))
    assert await prune(engine, datetime.now(UTC) - timedelta(hours=1)) == 0
    assert await prune(engine, datetime.now(UTC) + timedelta(seconds=1)) == 10
    assert await rows(engine, InboundEventRow) == []


async def test_a_reply_answered_in_time_drops_its_standby_row(engine: AsyncEngine) -> None:
    log = InboundLog(engine, followup_delay=0.0)
    await log.start()
    waiting = record("m:standby", "及时的回复", followups=[{"text": "第二条"}])
    waiting.answer_by = time.monotonic() + 60
    outcome = await log.submit(waiting)
    await log.stop()  # waits for the settling transaction
    assert (outcome.first, outcome.reply, outcome.late) == (True, {"text": "及时的回复"}, False)
    queued = await rows(engine, OutboxRow)
    assert [(r.message, r.status) for r in queued] == [({"text": "第二条"}, "pending")]


async def test_a_request_giving_up_while_its_record_commits_gets_the_reply_first(
    engine: AsyncEngine,
) -> None:
    log = InboundLog(engine, followup_delay=0.0)
    await log.start()
    blocker = await engine.connect()
    await blocker.begin()  # SQLite: BEGIN IMMEDIATE takes the write lock
    if engine.dialect.name == "postgresql":
        await blocker.execute(text("LOCK TABLE inbound_events IN EXCLUSIVE MODE"))
    slow = record("m:slow", "迟到的回复", followups=[{"text": "第二条"}, {"text": "第三条"}])
    slow.answer_by = time.monotonic() + 0.2
    pending = log.submit(slow)
    outcome = await pending  # the sweeper gives up on it while the write waits for the lock
    assert outcome.late
    await blocker.rollback()
    await blocker.close()
    await log.stop()
    queued = sorted(await rows(engine, OutboxRow), key=lambda r: r.id)
    assert [(r.message["text"], r.status) for r in queued] == [
        ("迟到的回复", "pending"),
        ("第二条", "pending"),
        ("第三条", "pending"),
    ]
    events = await rows(engine, InboundEventRow)
    assert [(e.dedupe_key, e.reply) for e in events] == [("m:slow", None)]  # a retry says nothing
