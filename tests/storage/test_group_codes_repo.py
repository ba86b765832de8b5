"""The group-code repository on SQLite and PostgreSQL: codes found by name, slug and state, a
removed or failed code giving up its name, the pool written with a compare-and-set on version
(two writers at one version: exactly one wins), and joins counted once per event key, per day
and group."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from storage import group_codes_repo as repo
from storage import groups_repo
from storage.group_codes_repo import GroupCode
from storage.groups_repo import GroupInfo
from storage.models import utcnow

APP = "corp"
AT = datetime(2024, 5, 1, 4, 0, tzinfo=UTC)


async def new_code(
    engine: AsyncEngine, name: str = "春季引流", pool: tuple[str, ...] = ("wr1", "wr2")
) -> GroupCode:
    code = await repo.add(
        engine,
        APP,
        name,
        pool=pool,
        auto_create=False,
        base_name="",
        full_members=190,
        low_water=1,
        created_by="wecom:corp:lilei",
        chat="wecom:corp:lilei",
    )
    assert code is not None
    return code


async def test_a_code_is_pending_then_active_and_found_by_name_slug_and_state(
    engine: AsyncEngine,
) -> None:
    code = await new_code(engine)
    assert (code.status, code.pool, code.active, code.version) == ("pending", ("wr1", "wr2"), (), 0)
    assert re.fullmatch(r"[A-Za-z0-9_-]{10,}", code.slug)
    assert code.state.startswith("gc") and len(code.state) <= repo.STATE_CHARS
    other = await new_code(engine, "秋季引流")
    assert (other.slug, other.state) != (code.slug, code.state)
    assert await new_code_or_none(engine, "春季引流") is None

    await repo.activate(engine, code.id, "cfg1", "https://qr/1.png", ["wr1"], warned=True)
    active = await repo.by_name(engine, APP, "春季引流")
    assert active is not None
    assert (active.status, active.config_id, active.qr_code, active.active, active.warned) == (
        "active",
        "cfg1",
        "https://qr/1.png",
        ("wr1",),
        True,
    )
    assert active.version == 1
    assert await repo.by_slug(engine, code.slug) == active
    assert await repo.by_state(engine, APP, code.state) == active
    assert await repo.by_state(engine, "other", code.state) is None
    assert [c.name for c in await repo.codes(engine, APP)] == ["春季引流", "秋季引流"]
    assert [c.id for c in await repo.codes_with_chat(engine, APP, "wr2")] == [code.id, other.id]
    assert await repo.codes_with_chat(engine, APP, "wr9") == []


async def new_code_or_none(engine: AsyncEngine, name: str) -> GroupCode | None:
    return await repo.add(
        engine,
        APP,
        name,
        pool=["wr1"],
        auto_create=True,
        base_name="春季群",
        full_members=190,
        low_water=1,
        created_by="",
        chat="",
    )


async def test_removed_and_failed_codes_give_up_their_names(engine: AsyncEngine) -> None:
    code = await new_code(engine)
    await repo.activate(engine, code.id, "cfg1", "https://qr/1.png", ["wr1"])
    assert await repo.remove(engine, code.id)
    assert not await repo.remove(engine, code.id)
    removed = await repo.by_slug(engine, code.slug)
    assert removed is not None and removed.status == "removed" and not removed.live
    assert removed.name == f"~{code.id}~春季引流"
    assert await repo.codes(engine, APP) == []
    assert await repo.by_name(engine, APP, "春季引流") is None

    again = await new_code(engine)
    await repo.fail(engine, again.id, "创建群活码：平台拒绝")
    failed = await repo.by_id(engine, again.id)
    assert failed is not None and (failed.status, failed.detail) == (
        "failed",
        "创建群活码：平台拒绝",
    )
    assert await new_code(engine) is not None


async def test_the_pool_is_written_by_compare_and_set_on_version(engine: AsyncEngine) -> None:
    code = await new_code(engine)
    await repo.activate(engine, code.id, "cfg1", "", ["wr1", "wr2"])
    seen = await repo.by_id(engine, code.id)
    assert seen is not None
    # Two servers read version v and decide; the second write finds v+1 and loses.
    assert await repo.set_pool_active(
        engine, seen.id, seen.version, pool=["wr1", "wr2", "wr3"], active=["wr2", "wr3"]
    )
    assert not await repo.set_pool_active(
        engine, seen.id, seen.version, pool=["wr1", "wr2"], active=["wr2"], warned=True
    )
    after = await repo.by_id(engine, code.id)
    assert after is not None
    assert (after.pool, after.active, after.warned, after.version) == (
        ("wr1", "wr2", "wr3"),
        ("wr2", "wr3"),
        False,
        seen.version + 1,
    )
    assert await repo.set_pool_active(
        engine, after.id, after.version, pool=after.pool, active=["wr3"], warned=True, detail="x"
    )
    assert not await repo.set_warned(engine, after.id, after.version, False)
    latest = await repo.by_id(engine, code.id)
    assert latest is not None and (latest.active, latest.warned, latest.detail) == (
        ("wr3",),
        True,
        "x",
    )
    assert await repo.set_full_members(engine, latest.id, latest.version, 150)
    assert await repo.set_warned(engine, latest.id, latest.version + 1, False)

    # At once: exactly one of many writers at the same version wins.
    now = await repo.by_id(engine, code.id)
    assert now is not None
    results = await asyncio.gather(
        *(
            repo.set_pool_active(engine, now.id, now.version, pool=now.pool, active=[c])
            for c in ("wr1", "wr2", "wr3", "wr1")
        )
    )
    assert sorted(results) == [False, False, False, True]
    final = await repo.by_id(engine, code.id)
    assert final is not None and final.version == now.version + 1 and final.full_members == 150

    assert await repo.remove(engine, code.id)
    assert not await repo.set_pool_active(
        engine, final.id, final.version + 1, pool=final.pool, active=final.active
    )


async def test_joins_are_counted_once_per_key_by_day_and_group(engine: AsyncEngine) -> None:
    spring = await new_code(engine)
    autumn = await new_code(engine, "秋季引流", ("wr9",))
    day1, day2 = date(2024, 5, 1), date(2024, 5, 2)

    async def join(key: str, code: GroupCode, chat_id: str, count: int, day: date) -> bool:
        return await repo.record_join(
            engine, dedupe_key=key, code_id=code.id, chat_id=chat_id, count=count, day=day, at=AT
        )

    assert await join("e1", spring, "wr1", 1, day1)
    assert not await join("e1", spring, "wr1", 1, day1)  # a retried callback
    assert await join("e2", spring, "wr1", 2, day1)
    assert await join("e3", spring, "wr2", 1, day1)
    assert await join("e4", spring, "wr2", 1, day2)
    assert await join("e5", autumn, "wr9", 4, day2)
    long_key = "wecom:corp:chat:" + "x" * 400
    assert await join(long_key, spring, "wr2", 1, day2)
    assert not await join(long_key, spring, "wr2", 1, day2)

    rows = await repo.join_stats(engine, day1, day2, code_id=spring.id)
    assert [(r.day, r.chat_id, r.count) for r in rows] == [
        (day1, "wr1", 3),
        (day1, "wr2", 1),
        (day2, "wr2", 2),
    ]
    assert [r.count for r in await repo.join_stats(engine, day2, day2, code_id=spring.id)] == [2]
    every = await repo.join_stats(engine, day1, day2, app=APP)
    assert sum(r.count for r in every) == 10
    assert {r.code_id for r in every} == {spring.id, autumn.id}
    assert await repo.join_stats(engine, day1, day2, app="other") == []


async def test_pool_groups_are_read_from_the_known_customer_groups(engine: AsyncEngine) -> None:
    await groups_repo.save_synced(
        engine,
        APP,
        [
            GroupInfo("wr1", "春季1群", "zhangsan", "", 5, None),
            GroupInfo("wr2", "春季2群", "zhangsan", "", 2, None),
        ],
        started_at=utcnow(),
    )
    found = await repo.pool_groups(engine, APP, ["wr1", "wr2", "wr3"])
    assert set(found) == {"wr1", "wr2"}
    assert (found["wr1"].name, found["wr1"].member_count, found["wr1"].dismissed) == (
        "春季1群",
        5,
        False,
    )
    assert await repo.pool_groups(engine, "other", ["wr1"]) == {}
    assert await repo.pool_groups(engine, APP, []) == {}
