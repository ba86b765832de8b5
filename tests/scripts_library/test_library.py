"""The library over a real database: saving, visibility, all-or-nothing imports, and the search
index of another process catching up with a change."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from scripts_library.library import ScriptLibrary, as_draft
from scripts_library.model import Draft, ScriptError
from storage.models import ScriptRow, ScriptUseRow

ADMIN = "wecom:corp:lilei"
STAFF = "wecom:corp:hanmeimei"


async def _count(engine: AsyncEngine, model: type[ScriptRow] | type[ScriptUseRow]) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(model)) or 0)


async def test_personal_scripts_are_seen_only_by_their_owner(engine: AsyncEngine) -> None:
    library = ScriptLibrary(engine)
    shared = await library.add("demo", Draft("退款流程", "text", {"text": "退款 3 天到账"}), ADMIN)
    mine = await library.add(
        "demo", Draft("我的退款话术", "text", {"text": "退款我来跟进"}, owner=STAFF), STAFF
    )
    assert [f.script.id for f in await library.search("demo", "退款", STAFF)] == [
        shared.id,
        mine.id,
    ]
    assert [f.script.id for f in await library.search("demo", "退款", ADMIN)] == [shared.id]
    assert await library.get("demo", mine.id, ADMIN) is None
    assert await library.get("demo", mine.id, STAFF) == mine
    assert [s.id for s in await library.all("demo")] == [shared.id]


async def test_another_process_sees_changes(engine: AsyncEngine) -> None:
    here, there = ScriptLibrary(engine), ScriptLibrary(engine)
    assert await there.search("demo", "发货", ADMIN) == []
    added = await here.add("demo", Draft("发货时间", "text", {"text": "48 小时内发货"}), ADMIN)
    assert [f.script.id for f in await there.search("demo", "发货", ADMIN)] == [added.id]
    await here.update("demo", added, as_draft(added, title="物流时间"), ADMIN)
    assert [f.why for f in await there.search("demo", "物流", ADMIN)] == ["标题"]
    await here.remove("demo", added)
    assert await there.search("demo", "发货", ADMIN) == []


async def test_shortcode_is_unique_and_usage_is_counted(engine: AsyncEngine) -> None:
    library = ScriptLibrary(engine)
    first = await library.add("demo", Draft("a", "text", {"text": "x"}, "tk01"), ADMIN)
    with pytest.raises(ScriptError, match="tk01"):
        await library.add("demo", Draft("b", "text", {"text": "y"}, "tk01"), ADMIN)
    await library.record_use("demo", first, STAFF, "chat")
    await library.record_use("demo", first, STAFF, "sidebar")
    again = await library.get("demo", first.id, STAFF)
    assert again is not None and again.usage == 2
    assert [s.id for s in await library.recent("demo", STAFF)] == [first.id]
    assert await _count(engine, ScriptUseRow) == 2


async def test_an_import_that_fails_in_the_database_saves_nothing(engine: AsyncEngine) -> None:
    library = ScriptLibrary(engine)
    await library.add("demo", Draft("旧", "text", {"text": "old"}, "old"), ADMIN)
    drafts = [
        Draft("新一", "text", {"text": "1"}, "n1", category="新分类"),
        Draft("新二", "text", {"text": "2"}, "n2"),
    ]
    ids = await library.import_all("demo", drafts, ADMIN)
    assert len(ids) == 2 and await _count(engine, ScriptRow) == 3
    with pytest.raises(ScriptError):
        # One transaction: the second script's shortcode is taken, so the first is not kept.
        await library._save(
            "demo",
            [
                {"title": "x", "shortcode": "n3", "kind": "text", "body": {"text": "x"},
                 "tags": [], "owner": "", "category": "另一个分类"},
                {"title": "y", "shortcode": "n1", "kind": "text", "body": {"text": "y"},
                 "tags": [], "owner": "", "category": ""},
            ],
            ADMIN,
        )  # fmt: skip
    assert await _count(engine, ScriptRow) == 3
    assert "另一个分类" not in (await library.categories("demo")).values()
    assert await library.by_shortcode("demo", "n3", ADMIN) is None


async def test_removed_ids_are_not_reused_and_categories_with_wildcards(
    engine: AsyncEngine,
) -> None:
    library = ScriptLibrary(engine)
    await library.add("demo", Draft("a", "text", {"text": "x"}), ADMIN)
    second = await library.add(
        "demo", Draft("b", "text", {"text": "y"}, category="vip_客户/退款"), ADMIN
    )
    await library.remove("demo", second)
    third = await library.add("demo", Draft("c", "text", {"text": "z"}), ADMIN)
    assert third.id > second.id  # uses and numbered lists never point at a newer script
    # "_" is a LIKE wildcard: the child of "vip_客户" is still found, so the parent stays.
    with pytest.raises(ScriptError, match="子分类"):
        await library.remove_category("demo", "vip_客户")
    await library.remove_category("demo", "vip_客户/退款")
    await library.remove_category("demo", "vip_客户")
    assert await library.categories("demo") == {}


async def test_an_import_never_takes_over_a_personal_script(engine: AsyncEngine) -> None:
    library = ScriptLibrary(engine)
    mine = await library.add(
        "demo", Draft("我的", "text", {"text": "秘密"}, "tk09", owner=STAFF), STAFF
    )
    with pytest.raises(ScriptError, match="tk09"):
        await library.import_all("demo", [Draft("共享", "text", {"text": "公开"}, "tk09")], ADMIN)
    assert await library.get("demo", mine.id, STAFF) == mine


async def test_a_category_of_only_personal_scripts_is_shown_to_its_owner_only(
    engine: AsyncEngine,
) -> None:
    library = ScriptLibrary(engine)
    await library.add(
        "demo", Draft("私", "text", {"text": "x"}, owner=STAFF, category="我的/跟进"), STAFF
    )
    await library.add("demo", Draft("公", "text", {"text": "y"}, category="售后"), ADMIN)
    await library.add_category("demo", "活动")  # empty: shown to everyone
    assert sorted((await library.categories("demo", STAFF)).values()) == sorted(
        ["我的", "我的/跟进", "售后", "活动"]
    )
    assert sorted((await library.categories("demo", ADMIN)).values()) == ["售后", "活动"]
