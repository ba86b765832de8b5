"""Group SOPs (群SOP) end to end: an admin builds one in the WeCom app chat, runs it at once after
confirming, and WeCom (the fake) gets one group message task per owner with that owner's groups
only, while each owner is reminded in the app chat; an "after_created" SOP reaches only the groups
created N days before; a busy platform is retried and then reported; pause, resume and removal;
the history shows each group's result once the owner has sent the task."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.app import ENGINE, STAFF_CHAT
from channels.wecom.sandbox import GroupMsgTask, new_external_userid
from scripts_library.model import Draft
from storage import commands_repo, schedule_repo
from storage import sop_repo as repo
from tests.helpers.stack import Stack, running_stack
from tests.helpers.staff import WecomPerson, text_of

FAST = {
    "OPSBOT_SCHEDULER__POLL_SECONDS": "0.2",
    "OPSBOT_SCHEDULER__RETRY_SECONDS": "0.2",
    "OPSBOT_SCHEDULER__MAX_ATTEMPTS": "3",
}
TEMPLATE = "/cgi-bin/externalcontact/add_msg_template"
DAY = 86400.0


async def make_groups(stack: Stack, groups: list[tuple[str, str, float]]) -> dict[str, str]:
    """Create customer groups in the fake ((owner, name, days ago)) and bring them into the
    bot's list of groups; their chat ids by name."""
    wecom = stack.wecom
    assert wecom is not None
    now = wecom.clock.now()
    ids: dict[str, str] = {}
    for owner, name, days_ago in groups:
        made = await wecom.create_group(
            "corp",
            owner,
            name,
            [new_external_userid()],
            created_at=now - days_ago * DAY,
            notify=False,
        )
        ids[name] = made.chat_id
    group_sync = stack.app[STAFF_CHAT].service.services.group_sync
    assert group_sync is not None
    await group_sync.sync("corp")
    return ids


async def confirm(admin: WecomPerson) -> tuple[str, str]:
    """Confirm a run-now: (the command's answer, the report of the run). The run can end before
    the command's own answer is queued, so the two may come in either order."""
    await admin.send("确认")
    first, second = (text_of(e) for e in await admin.answers(2))
    return (first, second) if "正在执行" in first else (second, first)


def tasks(stack: Stack) -> list[GroupMsgTask]:
    assert stack.wecom is not None
    return stack.wecom.group_tasks("corp")


async def reminder(stack: Stack, owner: str) -> str:
    """The one reminder an owner got in the app chat (waiting for it); the owner's client also
    shows the task itself."""
    assert stack.wecom is not None
    member = stack.wecom.member("corp", owner)
    await stack.until(lambda: any(e["kind"] == "text" for e in member.timeline))
    (text,) = [e["content"] for e in member.timeline if e["kind"] == "text"]
    assert [e["kind"] for e in member.timeline if e["via"] == "add_msg_template"] == [
        "group_msg_task"
    ]
    return str(text)


async def build_sop(admin: WecomPerson, name: str, targets: str, when: str, text: str) -> None:
    assert "发给哪些客户群" in await admin.say(f"SOP 新建 {name}")
    assert "什么时候执行" in await admin.say(targets)
    assert "群发的文字内容" in await admin.say(when)
    assert "附件" in await admin.say(text)


async def test_an_admin_builds_a_sop_and_runs_it_now_for_each_owner(
    tmp_path: Path, db_url: str
) -> None:
    async with running_stack(tmp_path, db_url, staff=True, env=FAST) as stack:
        engine = stack.app[ENGINE]
        ids = await make_groups(
            stack,
            [
                ("zhangsan", "VIP 一群", 10),
                ("zhangsan", "VIP 二群", 5),
                ("zhangsan", "普通群", 5),
                ("lisi", "VIP 三群", 1),
            ],
        )
        await commands_repo.add_material(
            engine, "demo", "海报", "image", "m1", "https://cdn.example/poster.png", {}, "x"
        )
        library = stack.app[STAFF_CHAT].service.services.library
        assert library is not None
        await library.add(
            "demo",
            Draft("会员权益", "link", {"url": "https://shop.example/vip"}, shortcode="hy01"),
            "wecom:corp:lilei",
        )
        admin = WecomPerson(stack, "lilei")
        await build_sop(admin, "VIP周报", "名称:VIP", "每周一 09:00", "本周 VIP 专享福利")
        refused = await admin.say("话术:nope")
        assert "没有找到话术「nope」" in refused and "附件" in refused
        assert "第 2/9 条" in await admin.say("素材:海报")
        assert "第 3/9 条" in await admin.say("话术:hy01")
        saved = await admin.say("完成")
        assert "已保存群SOP「VIP周报」" in saved
        assert "群名包含「VIP」的客户群（现在符合目标的有 3 个群，2 位群主）" in saved
        assert "计划：每周一 09:00" in saved and "下次执行：" in saved
        assert "附件：[图片] 素材「海报」" in saved and "附件：[链接] 话术「会员权益」" in saved
        rule = await repo.rule(engine, "corp", "VIP周报")
        assert rule is not None and rule.job_id is not None
        job = await schedule_repo.job(engine, rule.job_id)
        assert job is not None and job.trigger == {"type": "weekly", "weekday": 0, "time": "09:00"}

        asked = await admin.say("SOP 立即执行 VIP周报")
        assert "为 2 位群主创建企业微信群发任务，共 3 个群" in asked
        assert "· zhangsan：2 个群（VIP 一群、VIP 二群）" in asked
        assert "· lisi：1 个群（VIP 三群）" in asked and "回复「确认」" in asked
        assert tasks(stack) == []  # nothing before the confirmation
        started, report = await confirm(admin)
        assert "正在执行群SOP「VIP周报」" in started
        assert report == "群SOP「VIP周报」：2 位群主已创建群发任务（3 个群）。"

        by_sender = {t.sender: t for t in tasks(stack)}
        assert sorted(by_sender) == ["lisi", "zhangsan"] and len(tasks(stack)) == 2
        assert sorted(by_sender["zhangsan"].chat_ids) == sorted([ids["VIP 一群"], ids["VIP 二群"]])
        assert by_sender["lisi"].chat_ids == [ids["VIP 三群"]]
        task = by_sender["zhangsan"]
        assert task.text == "本周 VIP 专享福利" and task.fail_list == []
        image, link = task.attachments
        assert image == {"msgtype": "image", "pic_url": "https://cdn.example/poster.png"}
        assert link["msgtype"] == "link" and link["url"] == "https://shop.example/vip"
        assert link["title"] == "会员权益"

        for owner, count in (("zhangsan", 2), ("lisi", 1)):
            text = await reminder(stack, owner)
            assert "【群SOP提醒】VIP周报" in text and f"你的 {count} 个客户群" in text
            assert "请在企业微信客户端「群发助手」中确认发送" in text
            assert "本周 VIP 专享福利" in text

        assert stack.wecom is not None
        stack.wecom.confirm_group_task("corp", "zhangsan", task.msgid)
        history = await admin.say("SOP 记录 VIP周报")
        assert "· zhangsan：群主已发送（2 个群）" in history
        assert "　- VIP 一群：已发送" in history and "　- VIP 二群：已发送" in history
        assert "· lisi：已创建，等待群主发送（1 个群）" in history
        assert "VIP 三群" not in history  # no result yet for lisi's group


async def test_an_after_created_sop_reaches_only_groups_created_n_days_before(
    tmp_path: Path, db_url: str
) -> None:
    async with running_stack(tmp_path, db_url, staff=True, env=FAST) as stack:
        engine = stack.app[ENGINE]
        ids = await make_groups(
            stack,
            [
                ("zhangsan", "新群 两天", 2),
                ("zhangsan", "新群 三天", 3),
                ("wangwu", "新群 三天B", 3),
                ("wangwu", "新群 四天", 4),
            ],
        )
        admin = WecomPerson(stack, "lilei")
        await build_sop(admin, "入群关怀", "全部", "建群第3天 10:00", "入群第三天，送你一张券")
        saved = await admin.say("跳过")
        assert "计划：建群第 3 天 10:00" in saved
        rule = await repo.rule(engine, "corp", "入群关怀")
        assert rule is not None and rule.job_id is not None
        job = await schedule_repo.job(engine, rule.job_id)
        assert job is not None and job.trigger == {"type": "daily", "time": "10:00"}
        # The daily firing comes round now (as if it were 10:00).
        assert await schedule_repo.move_job(engine, job, next_run_at=datetime.now(UTC))

        await stack.until(lambda: len(tasks(stack)) == 2)
        by_sender = {t.sender: t.chat_ids for t in tasks(stack)}
        assert by_sender == {"zhangsan": [ids["新群 三天"]], "wangwu": [ids["新群 三天B"]]}
        told = await reminder(stack, "wangwu")
        assert "新群 三天B" in told and "新群 四天" not in told
        moved = await schedule_repo.job(engine, rule.job_id)
        assert moved is not None and moved.status == "scheduled"
        assert moved.next_run_at is not None and moved.next_run_at > datetime.now(UTC)
        shown = await admin.say("SOP 查看 入群关怀")
        assert "现在符合目标的有 4 个群，2 位群主" in shown and "（启用）" in shown


async def test_a_busy_platform_is_retried_then_reported(tmp_path: Path, db_url: str) -> None:
    async with running_stack(tmp_path, db_url, staff=True, env=FAST) as stack:
        assert stack.wecom is not None
        await make_groups(stack, [("zhangsan", "VIP 一群", 1)])
        admin = WecomPerson(stack, "lilei")
        await build_sop(admin, "周报", "全部", "每天 09:00", "本周福利")
        assert "已保存群SOP「周报」" in await admin.say("跳过")

        # Busy once: the retry creates the task, once.
        stack.wecom.inject_fault(TEMPLATE, errcode=-1, times=1)
        await admin.say("SOP 立即执行 周报")
        _, report = await confirm(admin)
        assert report == "群SOP「周报」：1 位群主已创建群发任务（1 个群）。"
        assert len(stack.wecom.calls_to(TEMPLATE)) == 2 and len(tasks(stack)) == 1

        # Busy every time: tried 3 times, then the admin is told; no task is made.
        stack.wecom.inject_fault(TEMPLATE, errcode=-1, times=3)
        await admin.say("SOP 立即执行 周报")
        _, failed = await confirm(admin)
        assert failed.startswith("任务「群SOP 周报（立即执行）」执行失败：试了 3 次")
        assert "企业微信暂时不可用" in failed
        assert len(stack.wecom.calls_to(TEMPLATE)) == 5 and len(tasks(stack)) == 1
        assert "【群SOP提醒】周报" in await reminder(stack, "zhangsan")


async def test_pause_resume_and_remove(tmp_path: Path, db_url: str) -> None:
    async with running_stack(tmp_path, db_url, staff=True, env=FAST) as stack:
        engine = stack.app[ENGINE]
        await make_groups(stack, [("zhangsan", "VIP 一群", 1)])
        admin = WecomPerson(stack, "lilei")
        await build_sop(admin, "周报", "群主:zhangsan", "每天 09:00", "本周福利")
        await admin.say("跳过")
        rule = await repo.rule(engine, "corp", "周报")
        assert rule is not None and rule.job_id is not None

        async def job_status() -> Any:
            job = await schedule_repo.job(engine, rule.job_id or 0)
            assert job is not None
            return job.status

        assert "已暂停群SOP「周报」" in await admin.say("SOP 暂停 周报")
        assert await job_status() == "paused"
        assert "周报｜已暂停" in await admin.say("SOP 列表")
        assert "已暂停，先发送「SOP 恢复 周报」" in await admin.say("SOP 立即执行 周报")
        assert "不能暂停" in await admin.say("SOP 暂停 周报")

        resumed = await admin.say("SOP 恢复 周报")
        assert "已恢复群SOP「周报」，下次执行：" in resumed and "09:00（Asia/Shanghai）" in resumed
        assert await job_status() == "scheduled"
        assert "周报｜启用｜每天 09:00｜群主 zhangsan 的客户群｜下次" in await admin.say("SOP 列表")

        asked = await admin.say("SOP 删除 周报")
        assert "将删除群SOP「周报」" in asked and "执行记录保留" in asked
        assert await job_status() == "scheduled"  # nothing before the confirmation
        assert "已删除群SOP「周报」" in await admin.say("确认")
        assert await job_status() == "cancelled"
        assert "还没有群SOP" in await admin.say("SOP 列表")
        assert "没有名为「周报」的群SOP" in await admin.say("SOP 查看 周报")
        # The name is free again.
        assert "发给哪些客户群" in await admin.say("SOP 新建 周报")
        assert tasks(stack) == []

        staff = WecomPerson(stack, "hanmeimei")
        assert "需要管理员身份" in await staff.say("SOP 列表")
