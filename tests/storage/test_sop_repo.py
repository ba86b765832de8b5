"""Group SOP storage: which customer groups a rule reaches, rules by name, and executions that a
retried firing finds again instead of writing twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from storage import sop_repo as repo

T0 = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)


async def _seed(engine: AsyncEngine) -> None:
    groups = [
        ("wr1", "VIP 一群", "zhangsan", T0 - timedelta(days=3), ("高价值",)),
        ("wr2", "vip 二群", "ZhangSan", T0 - timedelta(days=2), ()),
        ("wr3", "普通群", "zhangsan", T0 - timedelta(days=3), ("高价值", "新客")),
        ("wr4", "VIP 三群", "lisi", T0 - timedelta(days=4), ()),
        ("wr5", "VIP 已解散", "lisi", T0, ()),
    ]
    for chat_id, name, owner, created, tags in groups:
        await repo.save_group(
            engine,
            app="corp",
            chat_id=chat_id,
            name=name,
            owner=owner,
            created_at=created,
            tags=tags,
            status="dismissed" if "解散" in name else "active",
        )
    await repo.save_group(
        engine, app="other", chat_id="wr9", name="VIP 别的应用", owner="lisi", created_at=T0
    )


def _ids(by_owner: dict[str, list[repo.Group]]) -> dict[str, list[str]]:
    return {owner: [g.chat_id for g in groups] for owner, groups in by_owner.items()}


async def test_targets_pick_active_groups_of_the_app_by_owner(engine: AsyncEngine) -> None:
    await _seed(engine)
    everyone = _ids(await repo.targets(engine, "corp", {"type": "all"}))
    assert sorted(c for ids in everyone.values() for c in ids) == ["wr1", "wr2", "wr3", "wr4"]
    assert everyone["lisi"] == ["wr4"]

    by_name = _ids(await repo.targets(engine, "corp", {"type": "name", "value": "vip"}))
    assert sorted(c for ids in by_name.values() for c in ids) == ["wr1", "wr2", "wr4"]
    pattern = _ids(await repo.targets(engine, "corp", {"type": "name", "value": "VIP ?群"}))
    assert sorted(c for ids in pattern.values() for c in ids) == ["wr1", "wr2", "wr4"]
    assert await repo.targets(engine, "corp", {"type": "name", "value": "VIP"}) != {}
    assert await repo.targets(engine, "corp", {"type": "name", "value": "群*VIP"}) == {}

    owned = _ids(await repo.targets(engine, "corp", {"type": "owner", "value": "zhangsan"}))
    # WeCom userids are case-insensitive: both spellings are the same owner's groups.
    assert sorted(c for ids in owned.values() for c in ids) == ["wr1", "wr2", "wr3"]

    tagged = _ids(await repo.targets(engine, "corp", {"type": "tag", "value": "高价值"}))
    assert tagged == {"zhangsan": ["wr1", "wr3"]}


async def test_targets_within_a_creation_span(engine: AsyncEngine) -> None:
    await _seed(engine)
    day = T0 - timedelta(days=3)
    span = (day - timedelta(hours=1), day + timedelta(hours=1))
    found = _ids(await repo.targets(engine, "corp", {"type": "name", "value": "VIP"}, span))
    assert found == {"zhangsan": ["wr1"]}
    # The end of the span is not included.
    found = _ids(await repo.targets(engine, "corp", {"type": "all"}, (span[0], day)))
    assert found == {}


async def test_rule_names_are_unique_until_a_rule_is_removed(engine: AsyncEngine) -> None:
    fields = {
        "targets": {"type": "all"},
        "schedule": {"type": "daily", "time": "09:00"},
        "content": {"text": "hi", "attachments": []},
        "timezone": "Asia/Shanghai",
        "created_by": "wecom:corp:lilei",
        "chat": "wecom:corp:lilei",
    }
    first = await repo.add_rule(engine, app="corp", name="周报", **fields)
    assert first is not None
    assert await repo.add_rule(engine, app="corp", name="周报", **fields) is None
    assert await repo.add_rule(engine, app="other", name="周报", **fields) is not None
    await repo.set_job(engine, first, 42)
    found = await repo.rule(engine, "corp", "周报")
    assert found is not None and (found.id, found.job_id, found.status) == (first, 42, "active")

    assert await repo.set_status(engine, first, "paused", allowed=("active",))
    assert not await repo.set_status(engine, first, "paused", allowed=("active",))
    assert [r.name for r in await repo.rules(engine, "corp")] == ["周报"]
    assert await repo.set_status(engine, first, "removed", allowed=repo.LIVE)
    assert await repo.rules(engine, "corp") == []
    assert await repo.rule(engine, "corp", "周报") is None
    second = await repo.add_rule(engine, app="corp", name="周报", **fields)
    assert second is not None and second != first
    removed = await repo.rule_by_id(engine, first)
    assert removed is not None and removed.status == "removed"


async def test_an_execution_is_written_once_per_owner_and_firing(engine: AsyncEngine) -> None:
    fired = T0
    first = await repo.start_execution(engine, 7, fired, "zhangsan", ["wr1", "wr2"])
    assert (first.status, first.msgids, first.chat_ids) == ("pending", [], ["wr1", "wr2"])
    await repo.add_call(engine, first.id, "msgA", ["wr2"])
    # A retry of the firing finds the execution as it was left, whatever groups it now sees.
    again = await repo.start_execution(engine, 7, fired, "zhangsan", ["wr1", "wr2", "wr3"])
    assert again.id == first.id
    assert (again.chat_ids, again.msgids, again.fail_list) == (["wr1", "wr2"], ["msgA"], ["wr2"])
    assert again.results == {}  # the msgids are not mistaken for a group's result

    await repo.add_call(engine, first.id, "msgB", [])
    await repo.finish_execution(engine, first.id, "created", more_failed=["wr9"])
    later = await repo.start_execution(engine, 7, fired + timedelta(days=1), "zhangsan", ["wr1"])
    other = await repo.start_execution(engine, 7, fired, "lisi", ["wr4"])
    await repo.finish_execution(engine, other.id, "failed", "企业微信拒绝")

    await repo.save_results(
        engine, first.id, {"wr1": "sent", "wr2": "failed"}, done=True, checked_at=T0
    )
    history = await repo.executions(engine, 7)
    assert [(e.fire_at, e.owner) for e in history] == [
        (later.fire_at, "zhangsan"),
        (fired, "lisi"),
        (fired, "zhangsan"),
    ]
    done = history[2]
    assert done.status == "done" and done.msgid == "msgA" and done.msgids == ["msgA", "msgB"]
    assert done.results == {"wr1": "sent", "wr2": "failed"}
    assert done.fail_list == ["wr2", "wr9"]
    assert history[1].detail == "企业微信拒绝"
    waiting = await repo.executions(engine, 7, statuses=("created",))
    assert waiting == []
