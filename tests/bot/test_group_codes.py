"""Unlimited group codes end to end: an admin makes a code in the WeCom app chat, customers scan
its join way in the WeCom fake (which enforces group sizes and sends the signed, encrypted
change_external_chat callbacks to the bot's real route), full groups are rotated out of the join
way, the landing page follows, admins are warned once when the pool runs low and once when it
is full, WeCom's auto-created groups join the pool, and joins are counted once per event."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from bot.app import ENGINE
from channels.wecom.sandbox import FakeWecom, build_wecom_callback
from storage import group_codes_repo as repo
from storage import groups_repo
from storage.group_codes_repo import GroupCode
from storage.models import utcnow
from tests.helpers.stack import Stack, running_stack
from tests.helpers.staff import WecomPerson

TZ = "Asia/Shanghai"
FULL_MEMBERS = 4  # the bot's full mark; the fake's QR joins stop at 5 members
ENV = {
    "OPSBOT_SCHEDULER__GROUP_SYNC_SECONDS": "0",
    "OPSBOT_CUSTOMERS__GROUP_FULL_MEMBERS": str(FULL_MEMBERS),
    "OPSBOT_CUSTOMERS__GROUP_LOW_WATER": "1",
}
CUSTOMER = "wmCustomer" + "0" * 22
GET_WAY = "/cgi-bin/externalcontact/groupchat/get_join_way"


def shrink(wecom: FakeWecom) -> None:
    """Small groups: QR joins while a group has fewer than 5 members, at most 10 members."""
    limits = replace(wecom.limits, group_qr_join_below=5, group_members_max=10)
    wecom.limits = limits
    for app in wecom.apps:
        wecom.state(app.name).limits = limits


async def groups_known(stack: Stack, *chat_ids: str) -> None:
    async def known() -> bool:
        found = await repo.pool_groups(stack.app[ENGINE], "corp", chat_ids)
        return set(found) == set(chat_ids)

    await stack.until(known)


async def make_groups(stack: Stack, *names: str) -> list[str]:
    """Customer groups with only their owner, known to the bot from their create events."""
    wecom = stack.wecom
    assert wecom is not None
    chat_ids = [(await wecom.create_group("corp", "zhangsan", n)).chat_id for n in names]
    await groups_known(stack, *chat_ids)
    return chat_ids


async def code_named(stack: Stack, name: str) -> GroupCode:
    code = await repo.by_name(stack.app[ENGINE], "corp", name)
    assert code is not None
    return code


async def landing(stack: Stack, path: str) -> tuple[int, str]:
    async with stack.http.get(stack.bot_url + path) as resp:
        return resp.status, await resp.text()


async def scan(stack: Stack, code: GroupCode) -> str:
    """A new customer scans the code; the group joined."""
    wecom = stack.wecom
    assert wecom is not None and code.config_id
    outcome = await wecom.scan_join_way("corp", code.config_id)
    assert outcome.delivered, outcome
    return outcome.chat_id


async def total_joins(stack: Stack, code: GroupCode) -> int:
    day = groups_repo.local_day(utcnow(), TZ)
    rows = await repo.join_stats(stack.app[ENGINE], day, day, code_id=code.id)
    return sum(r.count for r in rows)


async def test_full_groups_rotate_out_the_landing_page_follows_and_admins_are_warned_once(
    tmp_path: Path, db_url: str
) -> None:
    async with running_stack(tmp_path, db_url, staff=True, env=ENV) as stack:
        wecom = stack.wecom
        assert wecom is not None
        shrink(wecom)
        one, two, three = await make_groups(stack, "春季1群", "春季2群", "春季3群")
        admin = WecomPerson(stack, "lilei")

        made = await admin.say("群活码 新建 春季引流 春季1群 春季2群 春季3群", count=3)
        code = await code_named(stack, "春季引流")
        url = f"{stack.bot_url}/groupcode/{code.slug}"
        assert "已创建群活码「春季引流」" in made and f"落地页：{url}" in made
        assert "1. 春季1群（1 人）｜使用中" in made and "3. 春季3群（1 人）｜使用中" in made
        assert f"满 {FULL_MEMBERS} 人算满员" in made
        assert [e.get("kind") for e in admin.entries[-3:]] == ["text", "image", "text"]
        way = wecom.join_way("corp", code.config_id or "")
        assert (way.chat_ids, way.state, way.auto_create_room) == ([one, two, three], code.state, 0)
        assert re.fullmatch(r"[A-Za-z0-9_-]{10,}", code.slug)

        status, page = await landing(stack, f"/groupcode/{code.slug}")
        assert status == 200 and "春季1群（1 人）" in page and "长按识别二维码加入群聊" in page
        assert f'<img class="qr" src="{code.qr_code}"' in page

        # Three customers fill group 1 (owner + 3 = the full mark): it leaves the join way.
        assert [await scan(stack, code) for _ in range(3)] == [one, one, one]
        await stack.until(
            lambda: wecom.join_way("corp", code.config_id or "").chat_ids == [two, three]
        )
        status, page = await landing(stack, f"/groupcode/{code.slug}")
        assert status == 200 and "春季2群（1 人）" in page and "春季1群" not in page
        assert f'src="{code.qr_code}"' in page
        async with stack.http.get(code.qr_code) as resp:  # the QR picture is the way's
            assert resp.status == 200 and resp.content_type == "image/png"

        # Group 2 fills: one group with room is left (the low-water mark): one warning.
        assert [await scan(stack, code) for _ in range(3)] == [two, two, two]
        warning = "\n".join(e["content"] for e in await admin.answers())
        assert "群活码「春季引流」只剩 1 个有空位的群" in warning
        assert "群活码 添加群 春季引流" in warning
        assert wecom.join_way("corp", code.config_id or "").chat_ids == [three]
        assert await scan(stack, code) == three  # a change, but no second warning
        # A retried callback (the bot answers 503 while WeCom is busy) counts its join once.
        wecom.inject_fault(GET_WAY, errcode=-1, times=2)
        joined = await wecom.scan_join_way("corp", code.config_id or "")
        assert (joined.chat_id, joined.statuses) == (three, (503, 503, 200)), joined
        # And the same event posted again is not counted again.
        [app] = wecom.apps
        for _ in range(2):
            query, body = build_wecom_callback(app, joined.joined.xml)
            async with stack.http.post(
                f"{stack.bot_url}/wecom/corp", params=query, data=body
            ) as resp:
                assert resp.status == 200

        # Group 3 is full too, and nothing creates groups: told once, the way is kept.
        assert await scan(stack, code) == three
        full = "\n".join(e["content"] for e in await admin.answers())
        assert "群活码「春季引流」的群都满了" in full and "群活码 满员 春季引流" in full
        assert wecom.join_way("corp", code.config_id or "").chat_ids == [three]
        status, page = await landing(stack, f"/groupcode/{code.slug}")
        assert status == 200 and "群已满，请稍后再试" in page and "<img" not in page
        assert await admin.say("群活码 查看 春季引流") == "\n".join(
            [
                "群活码「春季引流」｜使用中（群都已满员）",
                f"落地页：{url}",
                f"满 {FULL_MEMBERS} 人算满员，满了自动换下一个群。",
                "群（3 个，按顺序使用）：",
                "1. 春季1群（4 人）｜已满",
                "2. 春季2群（4 人）｜已满",
                "3. 春季3群（4 人）｜已满",
                "入群：今日 9 人，最近 7 天 9 人",
            ]
        )

        # Every scan was counted once, per group.
        assert await total_joins(stack, code) == 9
        stats = await admin.say("群活码 统计 春季引流")
        assert "最近 7 天扫码入群 9 人" in stats
        assert "按群：春季1群 3，春季2群 3，春季3群 3" in stats

        # A new group brings room back: it enters the join way and the warning may come again.
        [four] = await make_groups(stack, "春季4群")
        added = await admin.say("群活码 添加群 春季引流 春季4群")
        assert "已把 1 个群加入群活码「春季引流」（共 4 个群）" in added
        assert "已换上：春季4群" in added and "已换下：春季3群" in added
        assert wecom.join_way("corp", code.config_id or "").chat_ids == [four]
        assert (await code_named(stack, "春季引流")).detail == ""
        assert len(admin.entries) == admin.read  # nothing else was said
        assert await scan(stack, code) == four


async def test_wecom_auto_creates_the_next_group_and_the_bot_adds_it_to_the_pool(
    tmp_path: Path, db_url: str
) -> None:
    async with running_stack(tmp_path, db_url, staff=True, env=ENV) as stack:
        wecom = stack.wecom
        assert wecom is not None
        shrink(wecom)
        [first] = await make_groups(stack, "夏季1群")
        admin = WecomPerson(stack, "lilei")
        made = await admin.say("群活码 新建 夏季引流 夏季1群 自动建群 夏季新群", count=3)
        assert "自动建群：开启" in made and "「夏季新群」+编号" in made
        assert "注意：有空位的群不多了" in made  # one group with room from the start
        code = await code_named(stack, "夏季引流")
        way = wecom.join_way("corp", code.config_id or "")
        assert (way.auto_create_room, way.room_base_name) == (1, "夏季新群")

        assert [await scan(stack, code) for _ in range(3)] == [first] * 3
        # Group 1 is full by the bot's mark; it stays listed (nothing else has room) until
        # WeCom's own cap: the 4th customer still joins it, the 5th makes WeCom create a group.
        assert wecom.join_way("corp", code.config_id or "").chat_ids == [first]
        assert await scan(stack, code) == first
        created = await wecom.scan_join_way("corp", code.config_id or "")
        assert created.created_group and created.delivered
        new = created.chat_id
        assert wecom.group("corp", new).name == "夏季新群1"

        after = await code_named(stack, "夏季引流")
        assert after.pool == (first, new) and after.active == (new,)
        assert wecom.join_way("corp", code.config_id or "").chat_ids == [new]
        status, page = await landing(stack, f"/groupcode/{code.slug}")
        assert status == 200 and "夏季新群1（2 人）" in page
        assert await total_joins(stack, code) == 5
        shown = await admin.say("群活码 查看 夏季引流")
        assert "1. 夏季1群（5 人）｜已满" in shown and "2. 夏季新群1（2 人）｜使用中" in shown
        assert len(admin.entries) == admin.read  # warned once, at creation

        # Customers joining another group by its own QR code do not make the code ask WeCom.
        [other] = await make_groups(stack, "门店群")
        asked = len([c for c in wecom.calls if c["path"].endswith(GET_WAY)])
        outcome = await wecom.add_group_members("corp", other, [CUSTOMER], scene=3)
        assert outcome.delivered
        assert len([c for c in wecom.calls if c["path"].endswith(GET_WAY)]) == asked
        assert await total_joins(stack, code) == 5


async def test_codes_are_listed_fetched_changed_and_removed_by_chat(
    tmp_path: Path, db_url: str
) -> None:
    async with running_stack(tmp_path, db_url, staff=True, env=ENV) as stack:
        wecom = stack.wecom
        assert wecom is not None
        shrink(wecom)
        one, two = await make_groups(stack, "秋季1群", "秋季2群")
        admin = WecomPerson(stack, "lilei")
        staff = WecomPerson(stack, "hanmeimei")
        assert "还没有群活码" in await staff.say("群活码 列表")
        assert "没有找到客户群「冬季群」" in await admin.say("群活码 新建 秋季引流 冬季群")
        assert "缺少「群名或chat_id」" in await admin.say("群活码 新建 秋季引流")
        refused = await staff.say("群活码 新建 秋季引流 秋季1群")
        assert "需要管理员身份" in refused
        await admin.say(f"群活码 新建 秋季引流 {one} 秋季2群", count=3)
        code = await code_named(stack, "秋季引流")
        assert code.pool == (one, two)
        assert "已有名为「秋季引流」的群活码" in await admin.say("群活码 新建 秋季引流 秋季1群")

        listed = await staff.say("群活码 列表")
        assert "1. 秋季引流｜使用中｜使用中 2 个群，共 2 个｜今日入群 0" in listed
        qr = await staff.say("群活码 二维码 秋季引流", count=3)
        assert f"/groupcode/{code.slug}" in qr and "群活码「秋季引流」：扫码进入有空位的群" in qr
        assert [e.get("kind") for e in staff.entries[-3:]] == ["text", "image", "text"]

        # A lower full mark takes group 1 (2 members) out: owner + 1 customer.
        assert await scan(stack, code) == one
        # (one group with room is left: the warning comes too, maybe first)
        lowered = await admin.say("群活码 满员 秋季引流 2", count=2)
        assert "满 2 人算满员（原来 4 人）" in lowered and "已换下：秋季1群" in lowered
        assert "群活码「秋季引流」只剩 1 个有空位的群" in lowered
        assert wecom.join_way("corp", code.config_id or "").chat_ids == [two]
        assert "满员人数要在 2 到 100000 之间" in await admin.say("群活码 满员 秋季引流 1")
        assert "这些群已经在群活码「秋季引流」里了" in await admin.say(
            "群活码 添加群 秋季引流 秋季2群"
        )

        asked = await admin.say("群活码 删除 秋季引流")
        assert "将删除群活码「秋季引流」（2 个群）" in asked and "回复「确认」" in asked
        assert "已删除群活码「秋季引流」" in await admin.say("确认")
        assert code.config_id not in wecom.state("corp").corp.contacts.join_ways
        status, page = await landing(stack, f"/groupcode/{code.slug}")
        assert status == 404 and "找不到这个群活码" in page
        assert (await landing(stack, "/groupcode/no-such-code-0000"))[0] == 404
        assert (await landing(stack, "/groupcode/<script>"))[0] == 404
        assert "没有名为「秋季引流」的群活码" in await admin.say("群活码 查看 秋季引流")
        # The name is free again.
        await admin.say("群活码 新建 秋季引流 秋季2群", count=3)
        assert (await code_named(stack, "秋季引流")).id != code.id
        help_text = await staff.say("帮助 群活码")
        assert "群活码 列表" in help_text and "群活码 新建" not in help_text
