"""The outbox: per-recipient order, leases across processes, and at-most-once sending."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.models import OutboxRow
from storage.outbox import Outbox


def outbox(engine: AsyncEngine, owner: str = "p1", clock: datetime | None = None) -> Outbox:
    return Outbox(engine, owner=owner, lease_seconds=30, clock=(lambda: clock) if clock else _now)


def _now() -> datetime:
    return datetime.now(UTC)


async def statuses(engine: AsyncEngine) -> dict[int, str]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(OutboxRow.id, OutboxRow.status))
        return dict(rows.all())


async def test_one_recipient_gets_messages_one_at_a_time_in_order(engine: AsyncEngine) -> None:
    box = outbox(engine)
    await box.add("wechat", "demo", "alice", [{"text": "1"}, {"text": "2"}, {"text": "3"}])
    await box.add("wechat", "demo", "bob", [{"text": "b1"}])
    first = await box.claim_due(10)
    assert [(i.recipient, i.message["text"]) for i in first] == [("alice", "1"), ("bob", "b1")]
    assert await box.claim_due(10) == []  # alice's next waits for her first
    for item in first:
        assert await box.mark_sending(item)
        await box.sent(item)
    second = await box.claim_due(10)
    assert [i.message["text"] for i in second] == ["2"]


async def test_a_message_due_later_holds_back_the_ones_after_it(engine: AsyncEngine) -> None:
    box = outbox(engine)
    await box.add("wechat", "demo", "alice", [{"text": "1"}], delay=60)
    await box.add("wechat", "demo", "alice", [{"text": "2"}])
    assert await box.claim_due(10) == []


async def test_two_processes_never_claim_the_same_message(db_url: str) -> None:
    from storage.db import create_engine

    engines = [create_engine(db_url), create_engine(db_url)]
    try:
        a, b = outbox(engines[0], "a"), outbox(engines[1], "b")
        for n in range(30):
            await a.add("wechat", "demo", f"user{n}", [{"text": str(n)}])
        import asyncio

        claims = await asyncio.gather(a.claim_due(20), b.claim_due(20))
        ids = [i.id for batch in claims for i in batch]
        assert len(ids) == len(set(ids)) == 30
    finally:
        for e in engines:
            await e.dispose()


async def test_a_dead_process_claim_is_released_but_its_send_is_in_doubt(
    engine: AsyncEngine,
) -> None:
    box = outbox(engine, "dead")
    await box.add("wechat", "demo", "alice", [{"text": "claimed only"}])
    await box.add("wechat", "demo", "bob", [{"text": "was being sent"}])
    claimed = await box.claim_due(10)
    assert await box.mark_sending(claimed[1])  # bob's call was under way when it died
    later = outbox(engine, "heir", clock=_now() + timedelta(minutes=5))
    await later.recover_expired()
    assert sorted((await statuses(engine)).values()) == ["in_doubt", "pending"]
    again = await later.claim_due(10)
    assert [i.recipient for i in again] == ["alice"]


async def test_a_lost_lease_stops_the_send(engine: AsyncEngine) -> None:
    box = outbox(engine, "slow")
    await box.add("wechat", "demo", "alice", [{"text": "x"}])
    (item,) = await box.claim_due(1)
    later = outbox(engine, "other", clock=_now() + timedelta(minutes=5))
    await later.recover_expired()
    (taken,) = await later.claim_due(1)
    assert not await box.mark_sending(item)
    assert await later.mark_sending(taken)


async def test_retry_puts_it_back_with_a_delay(engine: AsyncEngine) -> None:
    box = outbox(engine)
    await box.add("wechat", "demo", "alice", [{"text": "x"}])
    (item,) = await box.claim_due(1)
    await box.mark_sending(item)
    await box.retry(item, "busy", delay=30)
    assert await box.claim_due(1) == []
    later = outbox(engine, clock=_now() + timedelta(seconds=31))
    (again,) = await later.claim_due(1)
    assert again.attempts == 1
    assert (await box.counts()) == {"claimed": 1}


async def test_sent_messages_are_forgotten_after_retention_in_chunks(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("storage.outbox.PRUNE_CHUNK", 3)
    box = outbox(engine)
    for n in range(7):
        await box.add("wechat", "demo", f"user{n}", [{"text": str(n)}])
    items = await box.claim_due(10)
    for item in items[:5]:
        await box.mark_sending(item)
        await box.sent(item)
    await box.mark_sending(items[5])
    await box.fail(items[5], "refused")
    assert await box.prune_sent(_now() - timedelta(minutes=1)) == 0  # too recent
    assert await box.prune_sent(_now() + timedelta(minutes=1)) == 5
    assert sorted((await statuses(engine)).values()) == ["claimed", "failed"]


async def test_a_standby_reply_holds_back_its_follow_ups_until_it_expires(
    engine: AsyncEngine,
) -> None:
    now = _now()
    async with engine.begin() as conn:
        for status, text, due in (
            ("standby", "reply", now + timedelta(seconds=60)),
            ("pending", "follow-up", now),
        ):
            await conn.execute(
                OutboxRow.__table__.insert().values(
                    platform="wechat",
                    account="demo",
                    recipient="alice",
                    message={"text": text},
                    origin="m:1",
                    status=status,
                    available_at=due,
                    attempts=0,
                    created_at=now,
                )
            )
    assert await outbox(engine).claim_due(10) == []  # the request may still give up
    later = outbox(engine, clock=now + timedelta(seconds=61))
    assert [i.message["text"] for i in await later.claim_due(10)] == ["follow-up"]
    assert await later.prune_sent(older_than=now + timedelta(seconds=61)) == 1
    assert sorted((await statuses(engine)).values()) == ["claimed"]
