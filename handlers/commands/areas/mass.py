"""Mass sends (群发) by chat: build one with a wizard, preview it to a follower, confirm it (now or
at a time), cancel it before it starts, and follow its status (see handlers/mass_send.py)."""

from __future__ import annotations

from typing import Any

from handlers.commands.base import CommandError, CommandSpec, Ctx, Outcome, Param
from handlers.commands.editing import current
from handlers.commands.wizard import Answer, Step, Wizard
from handlers.mass_send import (
    KIND,
    STATUS_NAMES,
    count_audience,
    describe_audience,
    describe_content,
)
from handlers.schedules import ScheduleError, describe_time, first_fire, parse_when, zone
from storage import commands_repo, schedule_repo
from storage import mass_repo as repo
from storage.mass_repo import MassSend

MAX_TEXT = 2000
CANCELLABLE = ("draft", "scheduled")


async def _read_content(ctx: Ctx, answer: Answer) -> dict[str, Any]:
    text = answer.text.strip()
    if answer.image or not text:
        raise CommandError("请发送群发的文字，或「素材:<名称>」用已有的图片或图文素材。")
    for prefix in ("素材:", "素材："):
        if text.startswith(prefix):
            name = text.removeprefix(prefix).strip()
            found = await commands_repo.material(ctx.engine, ctx.account, name)
            if found is None or found["kind"] not in ("image", "news"):
                raise CommandError(f"没有名为「{name}」的图片或图文素材。发送「素材 列表」查看。")
            content = {"kind": found["kind"], "material": name, "media_id": found["media_id"]}
            if found["kind"] == "news":
                content["title"] = found["detail"].get("title", "")
            return content
    if len(text) > MAX_TEXT:
        raise CommandError(f"群发文字最多 {MAX_TEXT} 个字，收到 {len(text)} 个。")
    return {"kind": "text", "text": text}


async def _read_audience(ctx: Ctx, answer: Answer) -> dict[str, Any]:
    text = answer.text.strip().replace("：", ":")
    if text in ("全部", "所有", "all"):
        return {"type": "all"}
    kind, _, value = text.partition(":")
    value = value.strip()
    if kind in ("标签", "tag") and value:
        for tag in await ctx.oa.tags():
            if tag.get("name") == value:
                return {"type": "tag", "tag_id": int(tag["id"]), "name": value}
        raise CommandError(f"公众号没有名为「{value}」的标签。")
    if kind in ("渠道", "channel") and value:
        names = {c.get("name") for c in (await current(ctx)).get("channels", [])}
        if value not in names:
            raise CommandError(f"没有名为「{value}」的渠道。发送「渠道 列表」查看。")
        return {"type": "channel", "channel": value}
    raise CommandError("发给谁？写「全部」、「标签:<标签名>」或「渠道:<渠道名>」。")


async def _read_time(ctx: Ctx, answer: Answer) -> dict[str, Any]:
    try:
        trigger = parse_when(answer.text, ctx.services.timezone, ctx.services.clock())
    except ScheduleError as exc:
        raise CommandError(str(exc)) from None
    return {"trigger": trigger}


async def new_send(ctx: Ctx) -> Outcome:
    return Outcome(wizard=("mass.new", {}), detail="mass send wizard")


def _when(send: MassSend) -> str:
    return describe_time(send.send_at, send.timezone) if send.send_at else "确认后立即"


async def _finish_new(ctx: Ctx, values: dict[str, Any]) -> Outcome:
    audience = values["audience"]
    count = await count_audience(ctx.engine, ctx.oa, ctx.account, audience)
    trigger = values["time"]["trigger"]
    send_at = None
    if trigger is not None:
        send_at = first_fire(trigger, ctx.services.timezone, ctx.services.clock())
    send_id = await repo.add_send(
        ctx.engine,
        account=ctx.account,
        content=values["content"],
        audience=audience,
        audience_count=count,
        send_at=send_at,
        timezone=ctx.services.timezone,
        created_by=ctx.caller.person,
        chat=ctx.caller.chat_key,
    )
    send = await repo.get(ctx.engine, ctx.account, send_id)
    if send is None:  # pragma: no cover - just inserted
        raise CommandError("群发保存后没有找到。")
    return Outcome.say(
        f"群发 #{send_id} 已保存，还没有发送。\n{_summary(send)}\n\n"
        f"先预览：「群发 预览 {send_id} <粉丝OpenID>」；确认无误后发送「群发 发送 {send_id}」。",
        detail=f"mass send #{send_id} drafted",
    )


def _summary(send: MassSend) -> str:
    return (
        f"内容：{describe_content(send.content)}\n"
        f"发给：{describe_audience(send.audience)}（约 {send.audience_count} 人）\n"
        f"时间：{_when(send)}"
    )


NEW_WIZARD = Wizard(
    name="mass.new",
    title="新建群发",
    steps=(
        Step(
            "content",
            "群发什么？直接写文字，或「素材:<名称>」用图片或图文素材。",
            _read_content,
        ),
        Step(
            "audience", "发给谁？「全部」、「标签:<标签名>」或「渠道:<渠道名>」。", _read_audience
        ),
        Step(
            "time", "什么时候发？「现在」，或如「2026-11-22 09:00」、「明天 09:00」。", _read_time
        ),
    ),
    finish=_finish_new,
)


async def _send_of(ctx: Ctx) -> MassSend:
    send = await repo.get(ctx.engine, ctx.account, int(ctx.args["id"]))
    if send is None:
        raise CommandError(f"没有编号为 {ctx.args['id']} 的群发。发送「群发 列表」查看。")
    return send


async def preview(ctx: Ctx) -> Outcome:
    send = await _send_of(ctx)
    openid = str(ctx.args["openid"])
    await ctx.oa.mass_preview(openid, send.content)
    return Outcome.say(
        f"已把群发 #{send.id} 预览发给 {openid}：{describe_content(send.content)}",
        detail=f"mass send #{send.id} previewed to {openid}",
    )


async def _draft(ctx: Ctx) -> MassSend:
    send = await _send_of(ctx)
    if send.status != "draft":
        raise CommandError(
            f"群发 #{send.id} 的状态是「{STATUS_NAMES.get(send.status, send.status)}」，"
            "不能再发送。"
        )
    return send


async def preview_send(ctx: Ctx) -> str:
    send = await _draft(ctx)
    count = await count_audience(ctx.engine, ctx.oa, ctx.account, send.audience)
    ctx.args["count"] = count
    return (
        f"将群发 #{send.id}：\n"
        f"内容：{describe_content(send.content)}\n"
        f"发给：{describe_audience(send.audience)}，现有 {count} 人\n"
        f"时间：{_when(send)}"
    )


async def start_send(ctx: Ctx) -> Outcome:
    send = await _draft(ctx)
    now = ctx.services.clock()
    if send.send_at is not None and send.send_at <= now:
        raise CommandError("群发的时间已经过去了，请重新新建。")
    local = (send.send_at or now).astimezone(zone(send.timezone))
    trigger = {"type": "once", "at": local.strftime("%Y-%m-%d %H:%M:%S")}
    if not await repo.move(ctx.engine, send.id, "scheduled", allowed=("draft",)):
        raise CommandError(f"群发 #{send.id} 已经在发送了。")
    try:
        job = await ctx.scheduler.add(
            account=ctx.account,
            kind=KIND,
            name=f"群发 #{send.id}",
            payload={"send_id": send.id},
            trigger=trigger,
            timezone=send.timezone,
            created_by=ctx.caller.person,
            chat=ctx.caller.chat_key,
        )
    except ScheduleError as exc:
        await repo.move(ctx.engine, send.id, "draft", allowed=("scheduled",))
        raise CommandError(str(exc)) from None
    await repo.set_job(ctx.engine, send.id, job.id)  # the job may have started already
    when = "马上开始发送" if send.send_at is None else f"将在 {_when(send)} 发送"
    return Outcome.say(
        f"群发 #{send.id} {when}（{describe_audience(send.audience)}，"
        f"{ctx.args.get('count', send.audience_count)} 人）。发送完成后会告诉你结果。",
        detail=f"mass send #{send.id} scheduled as job {job.id}",
    )


async def cancel(ctx: Ctx) -> Outcome:
    send = await _send_of(ctx)
    if send.status not in CANCELLABLE:
        raise CommandError(
            f"群发 #{send.id} 的状态是「{STATUS_NAMES.get(send.status, send.status)}」，"
            "已经开始或结束，不能取消。"
        )
    if send.job_id is not None and not await ctx.scheduler.cancel(send.job_id):
        raise CommandError(f"群发 #{send.id} 已经开始发送，不能取消。")
    if not await repo.move(ctx.engine, send.id, "cancelled", allowed=CANCELLABLE):
        raise CommandError(f"群发 #{send.id} 已经开始发送，不能取消。")
    return Outcome.say(f"已取消群发 #{send.id}，不会发送。", detail=f"mass send #{send.id}")


async def _status(ctx: Ctx, send: MassSend) -> str:
    status = STATUS_NAMES.get(send.status, send.status)
    if send.status == "sending" and send.job_id is not None:
        runs = await schedule_repo.runs(ctx.engine, send.job_id)
        if runs and runs[-1].status == "failed":
            status = f"失败（{runs[-1].detail}）"
        elif runs and runs[-1].status == "retrying":
            status = f"发送中，稍后重试（{runs[-1].detail}）"
    if send.status == "done":
        t = send.totals
        status += f"：成功 {t.get('sent', 0)}，失败 {t.get('errors', 0)}"
    elif send.status == "failed" and send.detail:
        status += f"（{send.detail}）"
    return status


async def list_sends(ctx: Ctx) -> Outcome:
    sends = await repo.recent(ctx.engine, ctx.account, limit=10)
    if not sends:
        return Outcome.say("还没有群发。发送「群发 新建」开始。")
    lines = ["最近的群发："]
    for send in sends:
        lines.append(
            f"#{send.id} {describe_content(send.content)[:40]} → "
            f"{describe_audience(send.audience)}｜{_when(send)}｜{await _status(ctx, send)}"
        )
    return Outcome.say("\n".join(lines))


async def show(ctx: Ctx) -> Outcome:
    send = await _send_of(ctx)
    lines = [f"群发 #{send.id}：{await _status(ctx, send)}", _summary(send)]
    lines.append(f"创建：{describe_time(send.created_at, send.timezone)} {send.created_by}")
    for part in await repo.parts_of(ctx.engine, send.id):
        r = part.result
        if part.status == "finished":
            got = f"成功 {r.get('sent', 0)}，失败 {r.get('errors', 0)}（{r.get('status', '')}）"
        elif part.status == "failed":
            got = f"被拒绝：{r.get('error', '')}"
        else:
            got = "等待平台结果" if part.msg_id else "未提交"
        lines.append(
            f"· 第 {part.part} 批（{part.recipients} 人）msg_id {part.msg_id or '-'}：{got}"
        )
    return Outcome.say("\n".join(lines))


def specs() -> list[CommandSpec]:
    send_id = Param("id", "编号", "int")
    return [
        CommandSpec(
            name="mass.new",
            area="群发",
            words=("群发 新建", "mass new", "群发"),
            summary="用向导新建一次群发（文字或素材，发给全部、标签或渠道的粉丝，现在或定时）",
            run=new_send,
            examples=("群发 新建",),
            effect="config",
        ),
        CommandSpec(
            name="mass.preview",
            area="群发",
            words=("群发 预览", "mass preview"),
            summary="把群发先发给一位粉丝预览",
            run=preview,
            params=(send_id, Param("openid", "粉丝OpenID")),
            examples=("群发 预览 3 oABC123",),
            effect="config",
        ),
        CommandSpec(
            name="mass.send",
            area="群发",
            words=("群发 发送", "mass send"),
            summary="确认并发送（或按时发送）一次群发",
            run=start_send,
            params=(send_id,),
            examples=("群发 发送 3",),
            effect="customers",
            preview=preview_send,
        ),
        CommandSpec(
            name="mass.cancel",
            area="群发",
            words=("群发 取消", "mass cancel"),
            summary="在开始发送前取消群发",
            run=cancel,
            params=(send_id,),
            examples=("群发 取消 3",),
            effect="config",
        ),
        CommandSpec(
            name="mass.list",
            area="群发",
            words=("群发 列表", "sends", "mass list", "群发列表"),
            summary="最近的群发和它们的状态",
            run=list_sends,
        ),
        CommandSpec(
            name="mass.show",
            area="群发",
            words=("群发 查看", "mass show"),
            summary="一次群发的详情和每批的结果",
            run=show,
            params=(send_id,),
            examples=("群发 查看 3",),
        ),
    ]
