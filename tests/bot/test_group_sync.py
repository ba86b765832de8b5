"""GroupSync against the WeCom fake: full syncs (owners, member counts, creation times, paging
over groupchat/list, dismissed groups), change events (re-read, joins and quits counted once,
platform errors raised for a retry), the periodic loop, and its setting."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from pytest_aiohttp import AiohttpServer
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.group_sync import GroupSync, changed_members, group_info
from bot.settings import SettingsError, load_settings
from channels.errors import RateLimited
from channels.wecom.decode import GroupChange
from handlers.commands.base import PlatformFailure
from storage import groups_repo as repo
from storage.groups_repo import Group
from tests.channels.wecom.fake import Fake, start_fake
from tests.channels.wecom.wire import APP

TZ = "Asia/Shanghai"
LIST = "/cgi-bin/externalcontact/groupchat/list"
GET = "/cgi-bin/externalcontact/groupchat/get"
CUSTOMERS = [f"wmCustomer{i:022d}" for i in range(6)]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def fake(aiohttp_server: AiohttpServer, http: aiohttp.ClientSession) -> Fake:
    return await start_fake(aiohttp_server, http)


def syncer(fake: Fake, engine: AsyncEngine, **kwargs: int) -> GroupSync:
    return GroupSync(engine, {APP.name: fake.client(engine)}, TZ, **kwargs)


async def groups(engine: AsyncEngine, *, include_dismissed: bool = False) -> dict[str, Group]:
    page = await repo.list_groups(
        engine, APP.name, timezone=TZ, limit=5000, include_dismissed=include_dismissed
    )
    return {g.chat_id: g for g in page.groups}


def change(
    chat_id: str,
    change_type: str,
    detail: str = "",
    *,
    count: int = 0,
    members: tuple[str, ...] = (),
    at: int | None = None,
    version: str = "",
) -> GroupChange:
    return GroupChange(
        corp=APP.corp_id,
        chat_id=chat_id,
        change_type=change_type,
        detail=detail,
        join_scene=0 if detail == "add_member" else None,
        quit_scene=0 if detail == "del_member" else None,
        count=count,
        at=at if at is not None else int(time.time()),
        account=APP.name,
        members=members,
        member_version=version,
    )


async def until(check: Callable[[], Awaitable[bool]], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


async def test_a_sync_reads_every_group_across_pages_with_owners_and_counts(
    fake: Fake, engine: AsyncEngine
) -> None:
    created = time.time() - 3 * 86400
    chat_ids = fake.wecom.create_groups(
        APP.name, ["zhangsan", "lisi"], 7, members_per_group=2, created_at=created
    )
    fake.wecom.set_group_status(APP.name, chat_ids[3], 1)  # owner left: still a group
    assert await syncer(fake, engine, page_size=3).sync(APP.name) == 7
    assert fake.count(LIST) == 3 and fake.count(GET) == 7
    known = await groups(engine)
    assert sorted(known) == sorted(chat_ids)
    assert [known[c].owner for c in chat_ids] == ["zhangsan", "lisi"] * 3 + ["zhangsan"]
    assert {known[c].member_count for c in chat_ids} == {3}  # the owner and two customers
    assert {known[c].name for c in chat_ids} == {f"客户群{i}" for i in range(1, 8)}
    assert {known[c].created_at for c in chat_ids} == {datetime.fromtimestamp(int(created), UTC)}
    assert all(g.active and g.synced_at is not None for g in known.values())


async def test_more_groups_than_one_page_of_a_thousand(fake: Fake, engine: AsyncEngine) -> None:
    chat_ids = fake.wecom.create_groups(APP.name, ["zhangsan"], 1003)
    assert await syncer(fake, engine, reads_at_once=16).sync(APP.name) == 1003
    assert fake.count(LIST) == 2 and fake.count(GET) == 1003
    assert sorted(await groups(engine)) == sorted(chat_ids)


async def test_a_group_dismissed_in_the_fake_is_dismissed_after_the_next_sync(
    fake: Fake, engine: AsyncEngine
) -> None:
    chat_ids = fake.wecom.create_groups(APP.name, ["zhangsan"], 3)
    sync = syncer(fake, engine)
    assert await sync.sync(APP.name) == 3
    await repo.set_tags(engine, APP.name, chat_ids[1], ["华东"])
    await fake.wecom.dismiss_group(APP.name, chat_ids[0], notify=False)
    await fake.wecom.add_group_members(APP.name, chat_ids[1], CUSTOMERS[:2], notify=False)
    assert await sync.sync(APP.name) == 2
    everything = await groups(engine, include_dismissed=True)
    assert everything[chat_ids[0]].status == "dismissed"
    assert everything[chat_ids[1]].member_count == 3 and everything[chat_ids[1]].tags == ("华东",)
    assert sorted(await groups(engine)) == sorted(chat_ids[1:])


async def test_a_failed_sync_dismisses_nothing_and_says_why(
    fake: Fake, engine: AsyncEngine
) -> None:
    chat_ids = fake.wecom.create_groups(APP.name, ["zhangsan"], 3)
    sync = syncer(fake, engine)
    await sync.sync(APP.name)
    await fake.wecom.dismiss_group(APP.name, chat_ids[0], notify=False)
    fake.wecom.inject_fault(GET, errcode=48002)
    with pytest.raises(PlatformFailure, match="同步客户群：平台拒绝，错误码 48002"):
        await sync.sync(APP.name)
    assert sorted(await groups(engine)) == sorted(chat_ids)
    fake.wecom.inject_fault(LIST, http_status=500, times=5)
    with pytest.raises(PlatformFailure) as unavailable:
        await sync.sync(APP.name)
    assert unavailable.value.transient
    assert sorted(await groups(engine)) == sorted(chat_ids)
    with pytest.raises(PlatformFailure, match="还没有连接好"):
        await sync.sync("nosuchapp")


async def test_events_re_read_the_group_and_count_joins_and_quits_once(
    fake: Fake, engine: AsyncEngine
) -> None:
    sync = syncer(fake, engine)
    outcome = await fake.wecom.create_group(
        APP.name, "zhangsan", "春季活动群", CUSTOMERS[:2], notify=False
    )
    chat_id = outcome.chat_id
    await sync.on_change(APP.name, change(chat_id, "create"))
    [group] = (await groups(engine)).values()
    assert (group.name, group.owner, group.member_count, group.joins) == (
        "春季活动群",
        "zhangsan",
        3,
        0,
    )

    await fake.wecom.add_group_members(APP.name, chat_id, CUSTOMERS[2:5], notify=False)
    joined = change(chat_id, "update", "add_member", count=3, version="v2")
    await sync.on_change(APP.name, joined)
    await sync.on_change(APP.name, joined)  # WeCom delivers it again: counted once
    await fake.wecom.remove_group_members(APP.name, chat_id, [CUSTOMERS[0]], notify=False)
    # An older payload without MemChangeCnt: the named members, else one.
    await sync.on_change(
        APP.name, change(chat_id, "update", "del_member", members=(CUSTOMERS[0],), version="v3")
    )
    await sync.on_change(APP.name, change(chat_id, "update", "del_member", version="v4"))
    group = (await groups(engine))[chat_id]
    assert (group.member_count, group.joins, group.quits) == (5, 3, 2)

    await fake.wecom.rename_group(APP.name, chat_id, "春季老客群", notify=False)
    await fake.wecom.change_group_owner(APP.name, chat_id, "lisi", notify=False)
    await sync.on_change(APP.name, change(chat_id, "update", "change_name"))
    group = (await groups(engine))[chat_id]
    assert (group.name, group.owner, group.joins, group.quits) == ("春季老客群", "lisi", 3, 2)

    await fake.wecom.dismiss_group(APP.name, chat_id, notify=False)
    await sync.on_change(APP.name, change(chat_id, "dismiss", at=int(time.time()) + 1))
    assert await groups(engine) == {}
    assert (await groups(engine, include_dismissed=True))[chat_id].status == "dismissed"


async def test_events_for_gone_or_unknown_groups_and_platform_errors(
    fake: Fake, engine: AsyncEngine
) -> None:
    sync = syncer(fake, engine)
    [chat_id] = fake.wecom.create_groups(APP.name, ["zhangsan"], 1)
    await sync.sync(APP.name)
    # A group unknown to the platform (90501) adds nothing.
    await sync.on_change(APP.name, change("wrNoSuchGroup", "create"))
    assert list(await groups(engine, include_dismissed=True)) == [chat_id]
    # A platform error is raised (the callback answers 503 and WeCom retries); nothing counted.
    fake.wecom.inject_fault(GET, errcode=45009)
    with pytest.raises(RateLimited):
        await sync.on_change(APP.name, change(chat_id, "update", "add_member", count=2))
    assert (await groups(engine))[chat_id].joins == 0
    # The retry works and counts.
    await sync.on_change(APP.name, change(chat_id, "update", "add_member", count=2))
    assert (await groups(engine))[chat_id].joins == 2
    # A group dismissed before its update is read (90501) is marked dismissed.
    await fake.wecom.dismiss_group(APP.name, chat_id, notify=False)
    await sync.on_change(APP.name, change(chat_id, "update", "change_notice", at=1))
    assert (await groups(engine, include_dismissed=True))[chat_id].status == "dismissed"
    # An unknown change type is ignored.
    await sync.on_change(APP.name, change("wrOther", "merge"))
    assert list(await groups(engine, include_dismissed=True)) == [chat_id]


def test_member_counts_and_group_info_from_the_platform() -> None:
    assert changed_members(change("wr1", "update", "add_member", count=4)) == 4
    assert changed_members(change("wr1", "update", "add_member", members=("a", "b"))) == 2
    assert changed_members(change("wr1", "update", "add_member")) == 1
    info = group_info(
        {
            "chat_id": "wr1",
            "name": "群",
            "owner": "zhangsan",
            "create_time": 1700000000,
            "member_list": [{"userid": "zhangsan"}, {"userid": "wm1"}],
        }
    )
    assert (info.notice, info.member_count) == ("", 2)
    assert info.created_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert group_info({"chat_id": "wr2", "create_time": 0}).created_at is None


async def test_the_periodic_loop_syncs_again_and_survives_failures(
    fake: Fake, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    sync = syncer(fake, engine)
    assert await asyncio.wait_for(sync.run_periodically([APP.name], 0), 1) is None  # off
    fake.wecom.inject_fault(LIST, errcode=48002)  # the first round fails
    first = fake.wecom.create_groups(APP.name, ["zhangsan"], 2)
    caplog.set_level(logging.ERROR, logger="bot.group_sync")
    task = asyncio.create_task(sync.run_periodically([APP.name, "nosuchapp"], 0.05))
    try:

        async def synced(count: int) -> bool:
            return len(await groups(engine)) == count

        await until(lambda: synced(2))
        failures = [str(r.exc_info[1]) for r in caplog.records if r.exc_info]
        assert any("错误码 48002" in f for f in failures), failures
        more = fake.wecom.create_groups(APP.name, ["lisi"], 3)
        await until(lambda: synced(5))
        assert sorted(await groups(engine)) == sorted(first + more)
        assert any("nosuchapp" in r.getMessage() for r in caplog.records)
        assert fake.count(LIST) >= 3  # failed, then synced, then synced again
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def test_group_sync_seconds_setting(tmp_path: Path) -> None:
    path = tmp_path / "opsbot.toml"
    path.write_text("[scheduler]\ngroup_sync_seconds = 0\n", encoding="utf-8")
    assert load_settings(path, environ={}).scheduler.group_sync_seconds == 0
    assert load_settings(environ={}).scheduler.group_sync_seconds == 3600
    env = {"OPSBOT_SCHEDULER__GROUP_SYNC_SECONDS": "-1"}
    with pytest.raises(SettingsError, match="group_sync_seconds"):
        load_settings(path, environ=env)
