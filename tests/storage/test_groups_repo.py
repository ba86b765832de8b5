"""The customer-group repository on SQLite and PostgreSQL: full syncs (upsert, dismissing what is
no longer listed, never losing what an event told meanwhile, keeping our tags), events counted
once per day, today's counts in the configured time zone, search, sorting and lookups."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import groups_repo as repo
from storage.groups_repo import GroupEvent, GroupInfo
from storage.models import CustomerGroupRow, GroupDailyRow, utcnow

TZ = "Asia/Shanghai"
APP = "corp"
CREATED = datetime(2024, 3, 1, 2, 0, tzinfo=UTC)


def info(chat_id: str, name: str = "", *, owner: str = "zhangsan", members: int = 3) -> GroupInfo:
    return GroupInfo(chat_id, name or chat_id, owner, "", members, CREATED)


def today() -> date:
    return repo.local_day(utcnow(), TZ)


async def statuses(engine: AsyncEngine) -> dict[str, str]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(CustomerGroupRow.chat_id, CustomerGroupRow.status))
        return {r.chat_id: r.status for r in rows}


async def names(engine: AsyncEngine, **kwargs: object) -> list[str]:
    page = await repo.list_groups(engine, APP, timezone=TZ, **kwargs)
    return [g.name for g in page.groups]


async def test_a_full_sync_upserts_dismisses_the_unlisted_and_keeps_our_tags(
    engine: AsyncEngine,
) -> None:
    first = await repo.save_synced(
        engine,
        APP,
        [info("wr1", "一群", members=5), info("wr2", "二群"), info("wr3", "三群")],
        started_at=utcnow(),
    )
    assert first == repo.SyncResult(saved=3, dismissed=0, active=3)
    assert await repo.set_tags(engine, APP, "wr1", ["华东", "高意向", "华东"]) == (
        (),
        ("华东", "高意向"),
    )
    await repo.save_synced(engine, "other", [info("wr9")], started_at=utcnow())

    renamed = GroupInfo("wr1", "一群（新）", "lisi", "公告", 7, CREATED)
    second = await repo.save_synced(
        engine, APP, [renamed, info("wr3", "三群")], started_at=utcnow()
    )
    assert second == repo.SyncResult(saved=2, dismissed=1, active=2)
    assert await statuses(engine) == {
        "wr1": "active",
        "wr2": "dismissed",
        "wr3": "active",
        "wr9": "active",  # another app's groups are not touched
    }
    [group] = await repo.find_groups(engine, APP, "wr1", timezone=TZ)
    assert (group.name, group.owner, group.notice, group.member_count) == (
        "一群（新）",
        "lisi",
        "公告",
        7,
    )
    assert group.tags == ("华东", "高意向") and group.created_at == CREATED
    # A group listed again comes back as active.
    third = await repo.save_synced(engine, APP, [info("wr2", "二群")], started_at=utcnow())
    assert third.active == 1 and (await statuses(engine))["wr2"] == "active"


async def test_what_an_event_told_during_a_sync_is_neither_overwritten_nor_dismissed(
    engine: AsyncEngine,
) -> None:
    started = utcnow() - timedelta(seconds=30)  # the sync began listing before the events
    await repo.save_synced(engine, APP, [info("wr1", "旧名")], started_at=started - timedelta(1))
    renamed = GroupEvent(APP, "wr1", "k1", today(), group=info("wr1", "新名", members=9))
    created = GroupEvent(APP, "wr2", "k2", today(), group=info("wr2", "刚建的群"))
    assert await repo.apply_event(engine, renamed) and await repo.apply_event(engine, created)

    result = await repo.save_synced(engine, APP, [info("wr1", "旧名")], started_at=started)
    assert result.dismissed == 0 and result.active == 2
    [group] = await repo.find_groups(engine, APP, "wr1", timezone=TZ)
    assert (group.name, group.member_count) == ("新名", 9)
    assert await statuses(engine) == {"wr1": "active", "wr2": "active"}
    # The next sync that does not list wr2 dismisses it.
    later = await repo.save_synced(engine, APP, [info("wr1", "新名")], started_at=utcnow())
    assert later.dismissed == 1 and (await statuses(engine))["wr2"] == "dismissed"


async def test_events_count_joins_and_quits_per_day_once(engine: AsyncEngine) -> None:
    day = today()
    await repo.save_synced(engine, APP, [info("wr1", "一群")], started_at=utcnow())
    joined = GroupEvent(APP, "wr1", "wecom:corp:chat:wr1:update:add_member:1", day, joins=2)
    assert await repo.apply_event(engine, joined) is True
    assert await repo.apply_event(engine, joined) is False  # a platform retry
    await repo.apply_event(engine, GroupEvent(APP, "wr1", "quit-1", day, quits=1))
    await repo.apply_event(engine, GroupEvent(APP, "wr1", "join-2", day, joins=3))
    yesterday = day - timedelta(days=1)
    await repo.apply_event(engine, GroupEvent(APP, "wr1", "old", yesterday, joins=4, quits=4))
    # A key longer than the dedupe column is shortened, and still dedupes.
    long_key = "wecom:corp:chat:" + "x" * 200
    assert await repo.apply_event(engine, GroupEvent(APP, "wr1", long_key, day, quits=1))
    assert not await repo.apply_event(engine, GroupEvent(APP, "wr1", long_key, day, quits=1))

    page = await repo.list_groups(engine, APP, timezone=TZ)
    assert [(g.joins, g.quits) for g in page.groups] == [(5, 2)]
    counts = await repo.daily(engine, APP, "wr1", yesterday)
    assert counts == [repo.DayCount(yesterday, 4, 4), repo.DayCount(day, 5, 2)]
    assert await repo.daily(engine, APP, "wr1", day) == [repo.DayCount(day, 5, 2)]


async def test_dismiss_events_and_groups_never_seen(engine: AsyncEngine) -> None:
    await repo.save_synced(engine, APP, [info("wr1", "一群")], started_at=utcnow())
    await repo.apply_event(engine, GroupEvent(APP, "wr1", "d1", today(), dismissed=True))
    await repo.apply_event(engine, GroupEvent(APP, "wrX", "d2", today(), dismissed=True))
    assert await statuses(engine) == {"wr1": "dismissed"}  # nothing made up for wrX
    assert await names(engine) == []
    assert await names(engine, include_dismissed=True) == ["一群"]


async def test_today_is_the_day_in_the_configured_time_zone(engine: AsyncEngine) -> None:
    # 17:30 UTC on May 1st is already May 2nd in Shanghai.
    at = datetime(2024, 5, 1, 17, 30, tzinfo=UTC)
    assert repo.local_day(at, TZ) == date(2024, 5, 2)
    assert repo.local_day(at, "UTC") == date(2024, 5, 1)
    await repo.save_synced(engine, APP, [info("wr1")], started_at=utcnow())
    await repo.apply_event(engine, GroupEvent(APP, "wr1", "k", date(2024, 5, 2), joins=1))
    shanghai = await repo.list_groups(engine, APP, timezone=TZ, now=at)
    utc = await repo.list_groups(engine, APP, timezone="UTC", now=at)
    assert shanghai.groups[0].joins == 1 and utc.groups[0].joins == 0


async def test_search_by_words_owner_and_chat_id(engine: AsyncEngine) -> None:
    await repo.save_synced(
        engine,
        APP,
        [
            info("wrA", "Spring 春季活动群", owner="ZhangSan"),
            info("wrB", "春季 VIP", owner="lisi"),
            info("wrC", "秋季活动群", owner="lisi"),
            info("wrD", "100% 满意", owner="wangwu"),
        ],
        started_at=utcnow(),
    )
    assert sorted(await names(engine, words=["春季"])) == ["Spring 春季活动群", "春季 VIP"]
    assert await names(engine, words=["spring"]) == ["Spring 春季活动群"]  # any case
    assert await names(engine, words=["春季", "活动"]) == ["Spring 春季活动群"]  # every word
    assert await names(engine, words=["wrC"]) == ["秋季活动群"]
    assert await names(engine, words=["%"]) == ["100% 满意"]  # no LIKE wildcards
    assert await names(engine, words=["_"]) == []
    assert await names(engine, owner="zhangsan") == ["Spring 春季活动群"]
    assert sorted(await names(engine, owner="LISI")) == ["春季 VIP", "秋季活动群"]
    assert await names(engine, owner="lisi", words=["秋季"]) == ["秋季活动群"]
    assert await names(engine, owner="nobody") == []


async def test_sorting_and_paging(engine: AsyncEngine) -> None:
    created = [CREATED + timedelta(days=d) for d in (3, 1, 2)]
    groups = [
        GroupInfo("wr1", "B small", "zhangsan", "", 2, created[0]),
        GroupInfo("wr2", "A large", "zhangsan", "", 9, created[1]),
        GroupInfo("wr3", "C middle", "zhangsan", "", 5, created[2]),
        GroupInfo("wr4", "D unknown", "zhangsan", "", 1, None),
    ]
    await repo.save_synced(engine, APP, groups, started_at=utcnow())
    for chat_id, joins, quits in (("wr1", 7, 0), ("wr3", 2, 6), ("wr4", 0, 1)):
        event = GroupEvent(APP, chat_id, f"k-{chat_id}", today(), joins=joins, quits=quits)
        await repo.apply_event(engine, event)

    assert await names(engine) == ["A large", "C middle", "B small", "D unknown"]
    assert await names(engine, sort="joins") == ["B small", "C middle", "A large", "D unknown"]
    assert await names(engine, sort="quits") == ["C middle", "D unknown", "A large", "B small"]
    assert await names(engine, sort="name") == ["A large", "B small", "C middle", "D unknown"]
    assert await names(engine, sort="created") == ["B small", "C middle", "A large", "D unknown"]
    page = await repo.list_groups(engine, APP, timezone=TZ, limit=2)
    assert [g.chat_id for g in page.groups] == ["wr2", "wr3"] and page.total == 4
    with pytest.raises(ValueError, match="sort must be one of"):
        await repo.list_groups(engine, APP, timezone=TZ, sort="size")


async def test_find_by_chat_id_or_exact_name_and_tags_of_unknown_groups(
    engine: AsyncEngine,
) -> None:
    await repo.save_synced(
        engine,
        APP,
        [info("wr1", "同名群", members=2), info("wr2", "同名群", members=8), info("wr3", "独一群")],
        started_at=utcnow(),
    )
    assert [g.chat_id for g in await repo.find_groups(engine, APP, "wr3", timezone=TZ)] == ["wr3"]
    assert [g.chat_id for g in await repo.find_groups(engine, APP, "独一群", timezone=TZ)] == [
        "wr3"
    ]
    both = await repo.find_groups(engine, APP, "同名群", timezone=TZ)
    assert [g.chat_id for g in both] == ["wr2", "wr1"]  # the bigger first
    assert await repo.find_groups(engine, APP, "独一", timezone=TZ) == []  # exact names only
    assert await repo.find_groups(engine, "other", "wr3", timezone=TZ) == []
    assert await repo.set_tags(engine, APP, "wrX", ["a"]) is None
    assert await repo.set_tags(engine, APP, "wr3", ["a", "b"]) == ((), ("a", "b"))
    assert await repo.set_tags(engine, APP, "wr3", []) == (("a", "b"), ())


async def test_daily_rows_use_the_composite_key(engine: AsyncEngine) -> None:
    day = today()
    for app in (APP, "other"):
        await repo.apply_event(engine, GroupEvent(app, "wr1", f"{app}-k", day, joins=1))
    async with engine.connect() as conn:
        rows = (await conn.execute(select(GroupDailyRow.app, GroupDailyRow.joins))).all()
    assert sorted(rows) == [(APP, 1), ("other", 1)]
