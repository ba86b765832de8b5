"""People and accountability: grant and revoke roles, read the audit log, undo a change."""

from __future__ import annotations

from handlers.commands.base import ROLE_NAMES, CommandError, CommandSpec, Ctx, Outcome, Param
from handlers.commands.editing import current, save_document
from handlers.commands.words import fold
from handlers.config import account_config_to_dict
from storage import commands_repo as repo

_ROLE_WORDS = {"管理员": "admin", "admin": "admin", "员工": "staff", "staff": "staff"}
AUDIT_OUTCOMES = {
    "ok": "完成",
    "denied": "拒绝",
    "refused": "未执行",
    "asked": "待确认",
    "expired": "已过期",
    "cancelled": "已取消",
    "wizard": "向导中",
}


def _role(word: str) -> str:
    role = _ROLE_WORDS.get(fold(word))
    if role is None:
        raise CommandError("身份写「管理员」或「员工」（admin / staff）。", usage=True)
    return role


def _person(ctx: Ctx, who: str) -> str:
    """``who`` is a user id on the caller's platform, or a full ``platform:account:user``."""
    if who.count(":") >= 2:
        return who
    return f"{ctx.caller.platform}:{ctx.caller.account}:{who}"


async def grant(ctx: Ctx) -> Outcome:
    person, role = _person(ctx, ctx.args["user"]), _role(ctx.args["role"])
    added = await repo.grant(ctx.engine, person, role, ctx.caller.person)
    name = ROLE_NAMES[role]
    if not added:
        return Outcome.say(f"{person} 已经是{name}。")
    return Outcome.say(f"已授予 {person} {name}身份。", detail=f"grant {role} {person}")


async def revoke(ctx: Ctx) -> Outcome:
    person, role = _person(ctx, ctx.args["user"]), _role(ctx.args["role"])
    if role == "admin":
        admins = [p for p, r, _ in await repo.all_roles(ctx.engine) if r == "admin"]
        if admins == [person]:
            raise CommandError("这是最后一位管理员，不能收回。先授予另一位管理员。")
    if not await repo.revoke(ctx.engine, person, role):
        return Outcome.say(f"{person} 没有{ROLE_NAMES[role]}身份。")
    return Outcome.say(
        f"已收回 {person} 的{ROLE_NAMES[role]}身份。", detail=f"revoke {role} {person}"
    )


async def people(ctx: Ctx) -> Outcome:
    grants = await repo.all_roles(ctx.engine)
    if not grants:
        return Outcome.say("还没有任何人员。")
    lines = ["人员与身份："]
    lines += [f"· {p} — {ROLE_NAMES.get(r, r)}（授予：{b}）" for p, r, b in grants]
    return Outcome.say("\n".join(lines))


async def audit_log(ctx: Ctx) -> Outcome:
    count = ctx.args.get("count") or 10
    if not 1 <= count <= 50:
        raise CommandError("条数在 1 到 50 之间。")
    entries = await repo.audit_entries(ctx.engine, limit=count)
    if not entries:
        return Outcome.say("审计日志是空的。")
    lines = [f"最近 {len(entries)} 条操作（新的在前）："]
    for e in entries:
        when = e.at.strftime("%m-%d %H:%M:%S")
        outcome = AUDIT_OUTCOMES.get(e.outcome, e.outcome)
        lines.append(f"#{e.id} {when} {e.person}「{e.text}」→ {outcome}")
        if e.diff:
            lines.append(f"    改动：{_diff_summary(e.diff)}")
        elif e.detail and e.outcome != "ok":
            lines.append(f"    {e.detail[:120].replace(chr(10), ' ')}")
    return Outcome.say("\n".join(lines))


def _diff_summary(diff: dict[str, object]) -> str:
    parts = []
    for key, value in diff.items():
        if isinstance(value, dict) and "added" in value:
            bits = [
                f"{label}{'、'.join(map(str, value[k]))}"
                for k, label in (("added", "+"), ("removed", "-"), ("changed", "~"))
                if value.get(k)
            ]
            parts.append(f"{key} {' '.join(bits)}")
        else:
            parts.append(str(key))
    return "；".join(parts)


async def undo(ctx: Ctx) -> Outcome:
    mine = await repo.last_change(ctx.engine, ctx.account, ctx.caller.person)
    if mine is None:
        raise CommandError("你没有可以撤销的改动。")
    latest = await repo.last_change(ctx.engine, ctx.account, None)
    if latest is not None and latest.id != mine.id:
        raise CommandError(
            f"在你之后 {latest.person} 又改了配置（{latest.command}），不能直接撤销你的那次改动。"
        )
    now = await current(ctx)
    if now != mine.after:
        raise CommandError("配置在那之后被导入或修改过，不能撤销。")
    config = await save_document(ctx, mine.before)
    await repo.mark_undone(ctx.engine, mine.id)
    when = mine.at.strftime("%m-%d %H:%M")
    note = (
        "菜单草稿已恢复，发送「菜单 发布」让粉丝看到。"
        if now.get("menu") != mine.before.get("menu")
        else ""
    )
    outcome = Outcome.say(
        f"已撤销你在 {when} 的改动（{mine.command}）。{note}", detail=f"undo change #{mine.id}"
    )
    outcome.change = (now, account_config_to_dict(config))
    return outcome


def specs() -> list[CommandSpec]:
    return [
        CommandSpec(
            name="role.grant",
            area="管理",
            words=("授权", "grant"),
            summary="授予某人管理员或员工身份",
            run=grant,
            params=(Param("user", "用户ID"), Param("role", "管理员|员工")),
            examples=("授权 hanmeimei 员工", "grant 10002 admin"),
            effect="config",
        ),
        CommandSpec(
            name="role.revoke",
            area="管理",
            words=("收回", "revoke"),
            summary="收回某人的身份",
            run=revoke,
            params=(Param("user", "用户ID"), Param("role", "管理员|员工")),
            examples=("收回 hanmeimei 员工",),
            effect="config",
        ),
        CommandSpec(
            name="role.list",
            area="管理",
            words=("人员", "roles"),
            summary="列出所有人员与身份",
            run=people,
        ),
        CommandSpec(
            name="audit",
            area="管理",
            words=("审计", "audit", "操作记录"),
            summary="看最近的操作记录（谁、在哪、做了什么、结果、改动）",
            run=audit_log,
            params=(Param("count", "条数", "int", required=False),),
            examples=("审计", "审计 20"),
        ),
        CommandSpec(
            name="undo",
            area="管理",
            words=("撤销", "undo"),
            summary="撤销你最近一次对配置的改动",
            run=undo,
            effect="config",
        ),
    ]
