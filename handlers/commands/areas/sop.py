"""群SOP by chat: an admin builds a rule with a wizard (which groups, when, what), lists and
shows rules, pauses, resumes and removes them, runs one at once (confirmed, with the groups and
owners it reaches), and reads its history with each group's result (see handlers/group_sop.py;
firings run in bot/sop_runner.py as jobs of kind ``sop``).

Rules belong to the WeCom app whose customer groups they reach (``ctx.wecom_app``); their
attachments name materials and scripts of the Official Account the staff app manages.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from handlers.commands.attachments import ATTACHMENT_PROMPT, MAX_ATTACHMENTS
from handlers.commands.attachments import read_attachment as _read_attachment
from handlers.commands.base import (
    CommandError,
    CommandSpec,
    Ctx,
    Outcome,
    Param,
    PlatformFailure,
)
from handlers.commands.wizard import Answer, Step, Wizard
from handlers.commands.words import fold
from handlers.config import NAME_PATTERN
from handlers.group_sop import (
    EXECUTION_STATUS_NAMES,
    KIND,
    MAX_TEXT_BYTES,
    RESULT_NAMES,
    RULE_STATUS_NAMES,
    creation_window,
    describe_content,
    describe_schedule,
    describe_targets,
    job_trigger,
    parse_schedule,
    text_bytes,
)
from handlers.schedules import ScheduleError, describe_time, first_fire, zone
from storage import schedule_repo
from storage import sop_repo as repo
from storage.sop_repo import Group, Rule

AREA = "SOP"
USERID = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
HISTORY = 20  # executions shown
GROUP_LINES = 20  # per-group results shown per execution
PREVIEW_OWNERS = 20


# Reading the wizard's answers


async def _read_targets(_ctx: Ctx, answer: Answer) -> dict[str, Any]:
    text = answer.text.strip().replace("：", ":")
    if fold(text) in ("全部", "所有", "all"):
        return {"type": "all"}
    kind, _, value = text.partition(":")
    kind, value = fold(kind), value.strip()
    if kind in ("名称", "群名", "name") and value:
        return {"type": "name", "value": value[:64]}
    if kind in ("群主", "owner") and value:
        if not USERID.fullmatch(value):
            raise CommandError("群主要写企业微信的账号（userid），如「群主:zhangsan」。")
        return {"type": "owner", "value": value}
    if kind in ("标签", "tag") and value:
        return {"type": "tag", "value": value[:32]}
    raise CommandError(
        "发给哪些群？写「全部」、「名称:<关键词>」、「群主:<userid>」或「标签:<标签>」。"
    )


async def _read_schedule(ctx: Ctx, answer: Answer) -> dict[str, Any]:
    try:
        return parse_schedule(answer.text, ctx.services.timezone, ctx.services.clock())
    except ScheduleError as exc:
        raise CommandError(str(exc)) from None


async def _read_text(_ctx: Ctx, answer: Answer) -> str:
    text = answer.text.strip()
    if answer.image or not text:
        raise CommandError("请发送群发的文字；只发附件的话发送「跳过」。")
    if text_bytes(text) > MAX_TEXT_BYTES:
        raise CommandError(
            f"文字太长：企业微信最多 {MAX_TEXT_BYTES} 字节（约 {MAX_TEXT_BYTES // 3} 个汉字），"
            f"收到 {text_bytes(text)} 字节。"
        )
    return text


# Helpers


def _check_name(name: str) -> None:
    if not NAME_PATTERN.fullmatch(name) or name.startswith("~"):
        raise CommandError("SOP 名称是 1 到 64 个字符，不含空格和 /，不以 ~ 开头。")


async def _rule_of(ctx: Ctx) -> Rule:
    name = str(ctx.args["name"])
    rule_id = ctx.args.get("rule_id")
    found = (
        await repo.rule_by_id(ctx.engine, int(rule_id))
        if rule_id is not None
        else await repo.rule(ctx.engine, ctx.wecom_app, name)
    )
    if found is None or found.status == "removed" or found.app != ctx.wecom_app:
        raise CommandError(f"没有名为「{name}」的群SOP。发送「SOP 列表」查看。")
    return found


async def _groups(ctx: Ctx, rule: Rule, at: datetime | None = None) -> dict[str, list[Group]]:
    """The groups a firing at ``at`` (default: now) reaches, by owner."""
    when = at or ctx.services.clock()
    window = creation_window(rule.schedule, rule.timezone, when)
    return await repo.targets(ctx.engine, rule.app, rule.targets, window)


def _count(by_owner: dict[str, list[Group]]) -> str:
    groups = sum(len(g) for g in by_owner.values())
    return f"{groups} 个群，{len(by_owner)} 位群主"


async def _next_run(ctx: Ctx, rule: Rule) -> datetime | None:
    if rule.job_id is None or rule.status != "active":
        return None
    job = await schedule_repo.job(ctx.engine, rule.job_id)
    return job.next_run_at if job is not None and job.status == "scheduled" else None


async def _reach(ctx: Ctx, rule: Rule) -> str:
    """Which groups the rule reaches now (and, by creation day, at its next firing)."""
    everyone = await repo.targets(ctx.engine, rule.app, rule.targets)
    line = f"现在符合目标的有 {_count(everyone)}"
    if rule.schedule.get("type") == "after_created":
        upcoming = await _next_run(ctx, rule)
        if upcoming is not None:
            line += f"；下次执行时建群满 {rule.schedule.get('days')} 天的有 "
            line += _count(await _groups(ctx, rule, upcoming))
    return line


# Commands


async def add(ctx: Ctx) -> Outcome:
    name = str(ctx.args["name"])
    _check_name(name)
    if await repo.rule(ctx.engine, ctx.wecom_app, name) is not None:
        raise CommandError(f"已有名为「{name}」的群SOP。")
    return Outcome(wizard=("sop.add", {}), detail=f"sop wizard {name}")


async def _finish_add(ctx: Ctx, values: dict[str, Any]) -> Outcome:
    name = str(ctx.args["name"])
    _check_name(name)
    timezone = ctx.services.timezone
    schedule = values["schedule"]
    content = {"text": values.get("text") or "", "attachments": values.get("attachments") or []}
    rule_id = await repo.add_rule(
        ctx.engine,
        app=ctx.wecom_app,
        name=name,
        targets=values["targets"],
        schedule=schedule,
        content=content,
        timezone=timezone,
        created_by=ctx.caller.person,
        chat=ctx.caller.chat_key,
    )
    if rule_id is None:
        raise CommandError(f"已有名为「{name}」的群SOP，没有保存。")
    try:
        job = await ctx.scheduler.add(
            account=ctx.wecom_app,
            kind=KIND,
            name=f"群SOP {name}"[:64],
            payload={"rule_id": rule_id},
            trigger=job_trigger(schedule),
            timezone=timezone,
            created_by=ctx.caller.person,
            chat=ctx.caller.chat_key,
        )
    except (ScheduleError, CommandError) as exc:
        await repo.delete_rule(ctx.engine, rule_id)
        raise CommandError(f"没有保存：{exc}") from None
    await repo.set_job(ctx.engine, rule_id, job.id)
    rule = await repo.rule_by_id(ctx.engine, rule_id)
    if rule is None:  # pragma: no cover - just saved
        raise CommandError("群SOP 保存后没有找到。")
    return Outcome.say(
        f"已保存群SOP「{name}」。\n{await _summary(ctx, rule)}\n\n"
        "到时会为每位群主创建企业微信群发任务，并在应用里提醒群主确认发送。"
        f"要马上执行一次，发送「SOP 立即执行 {name}」。",
        detail=f"sop rule {rule_id}, job {job.id}",
    )


def _has_text(values: dict[str, Any]) -> bool:
    return bool(values.get("text"))


SOP_WIZARD = Wizard(
    name="sop.add",
    title="新建群SOP",
    steps=(
        Step(
            "targets",
            "发给哪些客户群？「全部」、「名称:<关键词>」、「群主:<userid>」或「标签:<标签>」。",
            _read_targets,
        ),
        Step(
            "schedule",
            "什么时候执行？如「2026-11-22 09:00」、「每天 09:00」、「每周一 09:00」，"
            "或「建群第3天 09:00」（每个群建群后第 3 天）。",
            _read_schedule,
        ),
        Step("text", "群发的文字内容：", _read_text, optional=True),
        Step(
            "attachments",
            ATTACHMENT_PROMPT,
            _read_attachment,
            optional=True,
            repeat=MAX_ATTACHMENTS,
            when=_has_text,
        ),
        Step(
            "attachments",
            "没有文字时至少要有 1 个附件。" + ATTACHMENT_PROMPT,
            _read_attachment,
            repeat=MAX_ATTACHMENTS,
            when=lambda values: not _has_text(values),
        ),
    ),
    finish=_finish_add,
)


async def _summary(ctx: Ctx, rule: Rule) -> str:
    return "\n".join(
        [
            f"目标：{describe_targets(rule.targets)}（{await _reach(ctx, rule)}）",
            f"计划：{describe_schedule(rule.schedule)}",
            f"下次执行：{describe_time(await _next_run(ctx, rule), rule.timezone)}",
            f"内容：\n{describe_content(rule.content)}",
        ]
    )


async def list_rules(ctx: Ctx) -> Outcome:
    rules = await repo.rules(ctx.engine, ctx.wecom_app)
    if not rules:
        return Outcome.say("还没有群SOP。发送「SOP 新建 <名称>」开始。")
    lines = [f"群SOP（{len(rules)} 条）："]
    for rule in rules:
        upcoming = await _next_run(ctx, rule)
        when = f"｜下次 {describe_time(upcoming, rule.timezone)}" if upcoming else ""
        lines.append(
            f"· {rule.name}｜{RULE_STATUS_NAMES.get(rule.status, rule.status)}｜"
            f"{describe_schedule(rule.schedule)}｜{describe_targets(rule.targets)}{when}"
        )
    lines.append("发送「SOP 查看 <名称>」看详情。")
    return Outcome.say("\n".join(lines))


async def show(ctx: Ctx) -> Outcome:
    rule = await _rule_of(ctx)
    status = RULE_STATUS_NAMES.get(rule.status, rule.status)
    lines = [
        f"群SOP「{rule.name}」（{status}）",
        await _summary(ctx, rule),
        f"创建：{describe_time(rule.created_at, rule.timezone)} {rule.created_by}",
    ]
    return Outcome.say("\n".join(lines))


async def pause(ctx: Ctx) -> Outcome:
    rule = await _rule_of(ctx)
    if rule.status != "active":
        status = RULE_STATUS_NAMES.get(rule.status, rule.status)
        raise CommandError(f"群SOP「{rule.name}」{status}，不能暂停。")
    if not await repo.set_status(ctx.engine, rule.id, "paused", allowed=("active",)):
        raise CommandError(f"群SOP「{rule.name}」刚刚被改动过，请重新查看。")
    if rule.job_id is not None:
        await ctx.scheduler.pause(rule.job_id)
    return Outcome.say(
        f"已暂停群SOP「{rule.name}」，恢复前不会执行。发送「SOP 恢复 {rule.name}」恢复。",
        detail=f"sop rule {rule.id} paused",
    )


async def resume(ctx: Ctx) -> Outcome:
    rule = await _rule_of(ctx)
    if rule.status != "paused":
        status = RULE_STATUS_NAMES.get(rule.status, rule.status)
        raise CommandError(f"群SOP「{rule.name}」{status}，不需要恢复。")
    job = await schedule_repo.job(ctx.engine, rule.job_id) if rule.job_id is not None else None
    if job is None or (job.status != "scheduled" and not await ctx.scheduler.resume(job.id)):
        await repo.set_status(ctx.engine, rule.id, "done", allowed=("paused",))
        raise CommandError(f"群SOP「{rule.name}」的执行时间已经过去，不能恢复。")
    await repo.set_status(ctx.engine, rule.id, "active", allowed=("paused",))
    resumed = await repo.rule_by_id(ctx.engine, rule.id) or rule
    upcoming = describe_time(await _next_run(ctx, resumed), rule.timezone)
    return Outcome.say(
        f"已恢复群SOP「{rule.name}」，下次执行：{upcoming}。",
        detail=f"sop rule {rule.id} resumed",
    )


async def preview_remove(ctx: Ctx) -> str:
    rule = await _rule_of(ctx)
    ctx.args["rule_id"] = rule.id  # what is confirmed is the rule shown
    return (
        f"将删除群SOP「{rule.name}」（{describe_targets(rule.targets)}，"
        f"{describe_schedule(rule.schedule)}），之后不再执行；执行记录保留。"
    )


async def remove(ctx: Ctx) -> Outcome:
    rule = await _rule_of(ctx)
    if rule.job_id is not None:
        await ctx.scheduler.cancel(rule.job_id)
    if not await repo.set_status(ctx.engine, rule.id, "removed", allowed=repo.LIVE):
        raise CommandError(f"群SOP「{rule.name}」已经删除了。")
    return Outcome.say(f"已删除群SOP「{rule.name}」。", detail=f"sop rule {rule.id} removed")


async def _runnable(ctx: Ctx) -> tuple[Rule, dict[str, list[Group]]]:
    rule = await _rule_of(ctx)
    if rule.status == "paused":
        raise CommandError(f"群SOP「{rule.name}」已暂停，先发送「SOP 恢复 {rule.name}」。")
    by_owner = await _groups(ctx, rule)
    if not by_owner:
        extra = ""
        if rule.schedule.get("type") == "after_created":
            extra = f"（只算今天建群满 {rule.schedule.get('days')} 天的群）"
        raise CommandError(f"群SOP「{rule.name}」现在没有符合条件的客户群{extra}。")
    return rule, by_owner


async def preview_run(ctx: Ctx) -> str:
    rule, by_owner = await _runnable(ctx)
    ctx.args["rule_id"] = rule.id
    lines = [
        f"将立即执行群SOP「{rule.name}」：为 {len(by_owner)} 位群主创建企业微信群发任务，"
        f"共 {sum(len(g) for g in by_owner.values())} 个群（群主在企业微信里确认后才会发出）。"
    ]
    for owner, groups in list(by_owner.items())[:PREVIEW_OWNERS]:
        names = "、".join(g.name or g.chat_id for g in groups[:5])
        more = " 等" if len(groups) > 5 else ""
        lines.append(f"· {owner}：{len(groups)} 个群（{names}{more}）")
    if len(by_owner) > PREVIEW_OWNERS:
        lines.append(f"……还有 {len(by_owner) - PREVIEW_OWNERS} 位群主")
    lines.append(f"内容：\n{describe_content(rule.content)}")
    return "\n".join(lines)


async def run_now(ctx: Ctx) -> Outcome:
    rule, by_owner = await _runnable(ctx)
    now = ctx.services.clock()
    local = now.astimezone(zone(rule.timezone))
    trigger = {"type": "once", "at": local.strftime("%Y-%m-%d %H:%M:%S")}
    if first_fire(trigger, rule.timezone, now) is None:  # pragma: no cover - it is now
        raise CommandError("时间计算有误，请重试。")
    try:
        job = await ctx.scheduler.add(
            account=rule.app,
            kind=KIND,
            name=f"群SOP {rule.name}（立即执行）"[:64],
            payload={"rule_id": rule.id, "manual": True, "at": now.isoformat()},
            trigger=trigger,
            timezone=rule.timezone,
            created_by=ctx.caller.person,
            chat=ctx.caller.chat_key,
        )
    except ScheduleError as exc:
        raise CommandError(str(exc)) from None
    return Outcome.say(
        f"正在执行群SOP「{rule.name}」（{_count(by_owner)}），完成后会告诉你结果。",
        detail=f"sop rule {rule.id} run now as job {job.id}",
    )


async def history(ctx: Ctx) -> Outcome:
    rule = await _rule_of(ctx)
    note = ""
    if ctx.services.sop_results is not None:
        try:
            await ctx.services.sop_results.refresh(rule.id)
        except PlatformFailure as exc:
            note = f"（暂时无法从企业微信获取最新结果：{exc}）"
    executions = await repo.executions(ctx.engine, rule.id, limit=HISTORY)
    if not executions:
        return Outcome.say(f"群SOP「{rule.name}」还没有执行过。{note}")
    chats = [c for e in executions for c in e.chat_ids]
    names = await repo.group_names(ctx.engine, rule.app, chats)
    lines = [f"群SOP「{rule.name}」的执行记录（最近 {HISTORY} 条）：{note}"]
    fired = None
    for e in executions:
        if e.fire_at != fired:
            fired = e.fire_at
            lines.append(describe_time(e.fire_at, rule.timezone))
        status = EXECUTION_STATUS_NAMES.get(e.status, e.status)
        why = f"：{e.detail}" if e.detail else ""
        lines.append(f"· {e.owner}：{status}（{len(e.chat_ids)} 个群）{why}")
        shown = [c for c in e.chat_ids if c in e.results][:GROUP_LINES]
        for chat_id in shown:
            result = RESULT_NAMES.get(e.results[chat_id], e.results[chat_id])
            lines.append(f"　- {names.get(chat_id) or chat_id}：{result}")
        hidden = len([c for c in e.chat_ids if c in e.results]) - len(shown)
        if hidden > 0:
            lines.append(f"　……还有 {hidden} 个群")
    return Outcome.say("\n".join(lines))


def specs() -> list[CommandSpec]:
    name = Param("name", "名称")
    return [
        CommandSpec(
            name="sop.add",
            area=AREA,
            words=("SOP 新建", "sop add", "sop new", "SOP 添加"),
            summary="用向导新建群SOP：哪些客户群、什么时候、发什么（群主确认后发出）",
            run=add,
            params=(name,),
            examples=("SOP 新建 入群欢迎",),
            effect="config",
        ),
        CommandSpec(
            name="sop.list",
            area=AREA,
            words=("SOP 列表", "sop list", "sops"),
            summary="所有群SOP和它们的下次执行时间",
            run=list_rules,
        ),
        CommandSpec(
            name="sop.show",
            area=AREA,
            words=("SOP 查看", "sop show"),
            summary="一条群SOP的目标、计划、内容和现在符合条件的群",
            run=show,
            params=(name,),
            examples=("SOP 查看 入群欢迎",),
        ),
        CommandSpec(
            name="sop.pause",
            area=AREA,
            words=("SOP 暂停", "sop pause"),
            summary="暂停群SOP，恢复前不执行",
            run=pause,
            params=(name,),
            examples=("SOP 暂停 入群欢迎",),
            effect="config",
        ),
        CommandSpec(
            name="sop.resume",
            area=AREA,
            words=("SOP 恢复", "sop resume"),
            summary="恢复暂停的群SOP",
            run=resume,
            params=(name,),
            examples=("SOP 恢复 入群欢迎",),
            effect="config",
        ),
        CommandSpec(
            name="sop.remove",
            area=AREA,
            words=("SOP 删除", "sop remove", "sop delete"),
            summary="删除群SOP（执行记录保留）",
            run=remove,
            params=(name,),
            examples=("SOP 删除 入群欢迎",),
            effect="destructive",
            preview=preview_remove,
        ),
        CommandSpec(
            name="sop.run",
            area=AREA,
            words=("SOP 立即执行", "sop run", "SOP 执行"),
            summary="马上执行一次群SOP：为符合条件的群主创建群发任务",
            run=run_now,
            params=(name,),
            examples=("SOP 立即执行 入群欢迎",),
            effect="customers",
            preview=preview_run,
        ),
        CommandSpec(
            name="sop.history",
            area=AREA,
            words=("SOP 记录", "sop history", "sop log"),
            summary="群SOP的执行记录：每位群主的任务和每个群的发送结果",
            run=history,
            params=(name,),
            examples=("SOP 记录 入群欢迎",),
        ),
    ]
