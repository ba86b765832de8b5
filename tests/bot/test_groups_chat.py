"""Customer groups end to end: the WeCom fake creates groups and members join and quit (signed,
encrypted change_external_chat callbacks to the bot's real route), the local list follows, and
staff read it in the WeCom app chat with today's joins and quits, sorted and searched; admins
sync it now and label groups; forged and malformed events change nothing."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.app import ENGINE
from channels.wecom.sandbox import build_wecom_callback, wecom_group_change_xml
from storage import groups_repo as repo
from storage.groups_repo import Group
from tests.helpers.stack import Stack, running_stack
from tests.helpers.staff import WecomPerson

TZ = "Asia/Shanghai"
CUSTOMERS = [f"wmCustomer{i:022d}" for i in range(12)]
NO_PERIODIC_SYNC = {"OPSBOT_SCHEDULER__GROUP_SYNC_SECONDS": "0"}
DAY = 86400


def today() -> str:
    return datetime.now(ZoneInfo(TZ)).strftime("%Y-%m-%d")


def day_of(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, ZoneInfo(TZ)).strftime("%Y-%m-%d")


async def known(stack: Stack, *, include_dismissed: bool = True) -> dict[str, Group]:
    page = await repo.list_groups(
        stack.app[ENGINE],
        "corp",
        timezone=TZ,
        limit=1000,
        include_dismissed=include_dismissed,
    )
    return {g.chat_id: g for g in page.groups}


def order(answer: str, *names: str) -> list[str]:
    """``names`` in the order the answer shows them (each must be there)."""
    for name in names:
        assert name in answer, (name, answer)
    return sorted(names, key=answer.index)


async def test_groups_follow_the_platform_events_and_staff_list_them(
    tmp_path: Path, db_url: str
) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        wecom = stack.wecom
        assert wecom is not None
        admin = WecomPerson(stack, "lilei")
        assert "还没有客户群记录" in await admin.say("群 列表")

        spring = await wecom.create_group("corp", "zhangsan", "春季活动群", CUSTOMERS[:2])
        joined = await wecom.add_group_members("corp", spring.chat_id, CUSTOMERS[2:5], scene=3)
        left = await wecom.remove_group_members("corp", spring.chat_id, [CUSTOMERS[0]])
        autumn = await wecom.create_group("corp", "lisi", "秋季群", [CUSTOMERS[5]])
        for outcome in (spring, joined, left, autumn):
            assert (outcome.statuses, outcome.delivered) == ((200,), True), outcome

        async def followed() -> bool:
            groups = await known(stack)
            return spring.chat_id in groups and groups[spring.chat_id].quits == 1

        await stack.until(followed)
        groups = await known(stack)
        assert (groups[spring.chat_id].member_count, groups[spring.chat_id].joins) == (5, 3)
        assert groups[autumn.chat_id].owner == "lisi"

        listed = await admin.say("群 列表")
        assert listed.startswith("客户群 2 个（按人数从多到少）：")
        assert f"1. 春季活动群｜群主 zhangsan｜5 人｜今日 +3 / -1｜创建 {today()}" in listed
        assert f"2. 秋季群｜群主 lisi｜2 人｜今日 +0 / -0｜创建 {today()}" in listed
        assert "还有" not in listed

        staff = WecomPerson(stack, "hanmeimei")
        assert "春季活动群｜群主 zhangsan｜5 人｜今日 +3 / -1" in await staff.say("groups")
        stranger = WecomPerson(stack, "wangwu")
        refused = await stranger.say("群 列表")
        assert "还没有使用权限" in refused and "春季活动群" not in refused
        help_text = await admin.say("帮助 客户群")
        assert "群 列表" in help_text and "群 同步" in help_text and "群 标签" in help_text
        assert "群 同步" not in await staff.say("帮助 客户群")


async def test_sorting_and_searching_the_list_in_chat(tmp_path: Path, db_url: str) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        wecom = stack.wecom
        assert wecom is not None
        now = time.time()
        beta = await wecom.create_group(
            "corp", "zhangsan", "Beta 老客群", CUSTOMERS[:4], created_at=now - 3 * DAY
        )
        alpha = await wecom.create_group(
            "corp", "lisi", "Alpha 新客群", CUSTOMERS[4:5], created_at=now - DAY
        )
        gamma = await wecom.create_group(
            "corp", "lisi", "Gamma 老客群", CUSTOMERS[5:10], created_at=now - 2 * DAY
        )
        await wecom.add_group_members("corp", beta.chat_id, [CUSTOMERS[10]])
        await wecom.add_group_members("corp", alpha.chat_id, CUSTOMERS[:3])
        await wecom.remove_group_members("corp", gamma.chat_id, CUSTOMERS[5:7])
        admin = WecomPerson(stack, "lilei")

        async def shown(text: str) -> list[str]:
            return order(await admin.say(text), "Alpha", "Beta", "Gamma")

        listed = await admin.say("群 列表")
        assert order(listed, "Beta", "Alpha", "Gamma") == ["Beta", "Alpha", "Gamma"]
        assert (
            f"Beta 老客群｜群主 zhangsan｜6 人｜今日 +1 / -0｜创建 {day_of(now - 3 * DAY)}"
            in listed
        )
        assert "Alpha 新客群｜群主 lisi｜5 人｜今日 +3 / -0" in listed
        assert "Gamma 老客群｜群主 lisi｜4 人｜今日 +0 / -2" in listed
        assert await shown("群 列表 按新增") == ["Alpha", "Beta", "Gamma"]
        assert await shown("群 列表 按退群") == ["Gamma", "Beta", "Alpha"]
        assert await shown("群 列表 按名称") == ["Alpha", "Beta", "Gamma"]
        assert await shown("群 列表 按创建") == ["Alpha", "Gamma", "Beta"]
        assert await shown("groups --sort joins") == ["Alpha", "Beta", "Gamma"]

        old = await admin.say("群 列表 老客")
        assert "客户群 2 个（关键词「老客」，按人数从多到少）" in old
        assert "Alpha" not in old and order(old, "Beta", "Gamma") == ["Beta", "Gamma"]
        by_owner = await admin.say("群 列表 群主：LiSi")
        assert "Beta" not in by_owner and order(by_owner, "Alpha", "Gamma") == ["Alpha", "Gamma"]
        both = await admin.say("groups 老客 --owner lisi --sort quits")
        assert "Gamma 老客群" in both and "Alpha" not in both and "Beta" not in both
        assert "Gamma 老客群" in await admin.say(f"群 列表 {gamma.chat_id}")
        assert "没有符合条件（关键词「冬季」）的客户群" in await admin.say("群 列表 冬季")
        assert "不认识排序「size」" in await admin.say("群 列表 --sort size")
        assert "不认识的选项「--foo」" in await admin.say("群 列表 --foo")


async def test_admins_sync_now_and_dismissed_groups_leave_the_list(
    tmp_path: Path, db_url: str
) -> None:
    async with running_stack(tmp_path, db_url, staff=True, env=NO_PERIODIC_SYNC) as stack:
        wecom = stack.wecom
        assert wecom is not None
        chat_ids = wecom.create_groups("corp", ["zhangsan", "lisi"], 33, members_per_group=2)
        admin = WecomPerson(stack, "lilei")
        staff = WecomPerson(stack, "hanmeimei")
        assert "还没有客户群记录" in await admin.say("群 列表")  # bulk creation sends no events
        assert "你没有权限" in await staff.say("群 同步")

        synced = await admin.say("群 同步", count=2)
        assert "正在从企业微信同步客户群" in synced
        assert "同步完成：企业微信应用 corp 现有 33 个客户群" in synced
        # 30 lines are more than one WeCom text (2048 bytes): they come in two, cut at a line.
        listed = await admin.say("群 列表", count=2)
        assert listed.startswith("客户群 33 个")
        assert listed.count("｜群主 ") == 30 and "还有 3 个没有显示" in listed
        assert "｜3 人｜今日 +0 / -0｜" in listed

        renamed = await wecom.rename_group("corp", chat_ids[0], "改名后的群")
        assert renamed.statuses == (200,)
        assert "改名后的群｜群主 zhangsan" in await admin.say("群 列表 改名后")
        dismissed = await wecom.dismiss_group("corp", chat_ids[0])
        assert dismissed.statuses == (200,)
        assert "没有符合条件" in await admin.say("群 列表 改名后")
        assert "改名后的群（已解散）" in await admin.say("群 列表 改名后 含解散")

        await wecom.dismiss_group("corp", chat_ids[1], notify=False)  # no event: the sync sees it
        assert "现有 31 个客户群" in await admin.say("groups sync", count=2)
        assert (await known(stack))[chat_ids[1]].status == "dismissed"
        audit = await admin.say("审计 2")
        assert "「groups sync」→ 完成" in audit


async def test_the_periodic_sync_picks_up_groups_without_events(
    tmp_path: Path, db_url: str
) -> None:
    env = {"OPSBOT_SCHEDULER__GROUP_SYNC_SECONDS": "0.2"}
    async with running_stack(tmp_path, db_url, staff=True, env=env) as stack:
        wecom = stack.wecom
        assert wecom is not None
        chat_ids = wecom.create_groups("corp", ["zhangsan"], 3, members_per_group=1)

        async def synced() -> bool:
            return sorted(await known(stack)) == sorted(chat_ids)

        await stack.until(synced)
        assert "客户群 3 个" in await WecomPerson(stack, "hanmeimei").say("群 列表")


async def test_tags_and_one_group_in_detail(tmp_path: Path, db_url: str) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        wecom = stack.wecom
        assert wecom is not None
        spring = await wecom.create_group("corp", "zhangsan", "春季活动群", CUSTOMERS[:1])
        await wecom.add_group_members("corp", spring.chat_id, CUSTOMERS[1:3])
        await wecom.change_group_notice("corp", spring.chat_id, "周末有活动")
        admin = WecomPerson(stack, "lilei")
        staff = WecomPerson(stack, "hanmeimei")

        assert "你没有权限" in await staff.say("群 标签 春季活动群 华东")
        tagged = await admin.say("群 标签 春季活动群 华东，高意向 华东")
        assert "已设置客户群「春季活动群」的标签：华东、高意向（原来：无）" in tagged
        shown = await staff.say("群 查看 春季活动群")
        for line in (
            "客户群「春季活动群」",
            f"chat_id：{spring.chat_id}",
            "群主：zhangsan",
            "人数：4",
            "状态：正常",
            "标签：华东、高意向",
            "今日：+2 / -0",
            "最近 7 天：+2 / -0",
            "群公告：周末有活动",
        ):
            assert line in shown, (line, shown)
        assert "（原来：华东、高意向）" in await admin.say(f"group tag {spring.chat_id} 清空")
        assert "标签：无" in await admin.say(f"groups show {spring.chat_id}")
        audit = await admin.say("审计 4")
        assert "群 标签 春季活动群 华东，高意向 华东」→ 完成" in audit

        await wecom.create_group("corp", "lisi", "同名群", CUSTOMERS[3:4])
        await wecom.create_group("corp", "wangwu", "同名群", CUSTOMERS[4:6])
        twice = await admin.say("群 查看 同名群")
        assert "有 2 个客户群叫「同名群」，请改用 chat_id" in twice
        assert "没有找到客户群「冬季群」" in await admin.say("群 查看 冬季群")
        assert "缺少「标签」" in await admin.say("群 标签 同名群")


async def test_forged_and_malformed_group_events_change_nothing(
    tmp_path: Path, db_url: str
) -> None:
    async with running_stack(tmp_path, db_url, staff=True, env=NO_PERIODIC_SYNC) as stack:
        wecom = stack.wecom
        assert wecom is not None
        [app] = wecom.apps
        spring = await wecom.create_group("corp", "zhangsan", "春季活动群", CUSTOMERS[:2])
        assert spring.statuses == (200,)
        before = await known(stack)
        url = f"{stack.bot_url}/wecom/corp"
        now = int(time.time())
        xml = wecom_group_change_xml(
            app, spring.chat_id, "update", now, detail="add_member", join_scene=0, count=5
        )

        async def post(query: dict[str, str], body: bytes) -> int:
            async with stack.http.post(url, params=query, data=body) as resp:
                return resp.status

        query, body = build_wecom_callback(app, xml)
        assert await post({**query, "msg_signature": "0" * 40}, body) == 403
        stale = str(now - 3600)
        assert await post(*build_wecom_callback(app, xml, timestamp=stale)) == 403
        malformed = xml.replace("<MemChangeCnt>5</MemChangeCnt>", "<MemChangeCnt>五</MemChangeCnt>")
        assert malformed != xml
        assert await post(*build_wecom_callback(app, malformed)) == 400
        no_chat = xml.replace(f"<ChatId><![CDATA[{spring.chat_id}]]></ChatId>", "")
        assert no_chat != xml
        assert await post(*build_wecom_callback(app, no_chat)) == 400
        elsewhere = xml.replace(app.corp_id, "wwSomeOtherCorp0001")
        assert await post(*build_wecom_callback(app, elsewhere)) == 403
        unknown = xml.replace(spring.chat_id, "wrNoSuchGroup000000000000000000")
        assert await post(*build_wecom_callback(app, unknown)) == 200  # 90501: nothing to add
        assert await known(stack) == before
        since = date.today() - timedelta(days=2)
        for chat_id in (spring.chat_id, "wrNoSuchGroup000000000000000000"):
            assert await repo.daily(stack.app[ENGINE], "corp", chat_id, since) == []
        admin = WecomPerson(stack, "lilei")
        assert "春季活动群｜群主 zhangsan｜3 人｜今日 +0 / -0" in await admin.say("群 列表")

        # The genuine event is applied, once however often it is delivered.
        for _ in range(2):
            assert await post(query, body) == 200
        assert (await known(stack))[spring.chat_id].joins == 5
        assert "春季活动群｜群主 zhangsan｜3 人｜今日 +5 / -0" in await admin.say("群 列表")
