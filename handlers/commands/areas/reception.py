"""接待组 (reception groups) of the caller's WeCom app: the staff members a live code adds new
customers to (they take turns), and the remark new customers get (a pattern with {昵称} {渠道}
{接待组}; empty means the settings file's ``customers.remark_pattern``).

Changing a group's members changes every live code using it on the platform at once
(update_contact_way), so printed QR codes keep working and reach the new members.
"""

from __future__ import annotations

import re
from typing import Final

from handlers.commands.areas.lead_channels import (
    DEFAULT_WORDS,
    RECENT_DAYS,
    TAG_SPLIT,
    adds_by,
    check_name,
    contact_ways,
    defaults,
    local_time,
)
from handlers.commands.base import CommandError, CommandSpec, Ctx, Outcome, Param, PlatformFailure
from handlers.commands.words import fold
from handlers.customers import remark_text
from storage import contacts_repo as repo
from storage.contacts_repo import ReceptionGroup

AREA: Final = "接待组"
USERID: Final = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
MAX_MEMBERS: Final = 100
REMARK_CHARS: Final = 64  # what reception_groups.remark holds
PLACEHOLDER: Final = re.compile(r"\{[^{}]*\}")
PLACEHOLDERS: Final = ("{昵称}", "{渠道}", "{接待组}")
SAMPLE_NICKNAME: Final = "张三"
SAMPLE_CHANNEL: Final = "春季海报"


async def read_staff(ctx: Ctx, text: str) -> list[str]:
    """The userids typed (spaces, commas or 、 between them), each a member of the corp."""
    typed = [u for u in TAG_SPLIT.split(text.strip()) if u]
    if not typed:
        raise CommandError("请写接待成员的企业微信账号（userid），用空格分隔。")
    bad = [u for u in typed if not USERID.fullmatch(u)]
    if bad:
        raise CommandError(f"这些不是企业微信账号（userid）：{'、'.join(bad)}。")
    firsts: dict[str, str] = {}  # userids are case-insensitive: the first spelling is kept
    for userid in typed:
        firsts.setdefault(userid.lower(), userid)
    staff = list(firsts.values())
    if len(staff) > MAX_MEMBERS:
        raise CommandError(f"一个接待组最多 {MAX_MEMBERS} 位成员，收到 {len(staff)} 位。")
    port = contact_ways(ctx)
    unknown = [u for u in staff if await port.member_name(ctx.wecom_app, u) is None]
    if unknown:
        raise CommandError(
            f"企业微信里没有这些成员：{'、'.join(unknown)}。请写成员的账号（userid），"
            "可在企业微信管理后台「通讯录」里查看。"
        )
    return staff


def check_remark(pattern: str) -> str:
    """A remark pattern as stored ("" for the settings default); CommandError when unusable."""
    if fold(pattern) in DEFAULT_WORDS:
        return ""
    unknown = [p for p in PLACEHOLDER.findall(pattern) if p not in PLACEHOLDERS]
    if unknown:
        raise CommandError(
            f"备注格式里有不认识的占位：{'、'.join(unknown)}。可用：{'、'.join(PLACEHOLDERS)}。"
        )
    if len(pattern) > REMARK_CHARS:
        raise CommandError(f"备注格式最多 {REMARK_CHARS} 个字，收到 {len(pattern)} 个。")
    return pattern


def _effective_pattern(ctx: Ctx, group: ReceptionGroup) -> str:
    """The pattern new customers of this group get ("" when the settings' is not known)."""
    if group.remark:
        return group.remark
    return defaults(ctx).remark_pattern


def _remark_pattern(ctx: Ctx, group: ReceptionGroup) -> str:
    if group.remark:
        return group.remark
    return f"{_effective_pattern(ctx, group) or '设置文件的格式'}（默认）"


def _sample(ctx: Ctx, pattern: str, group: str) -> str:
    """What a new customer's remark looks like with this pattern (as bot/customer_contact.py
    fills it in: empty parts leave no dangling separators, cut to the settings' length)."""
    limit = defaults(ctx).remark_chars
    return remark_text(
        pattern, nickname=SAMPLE_NICKNAME, channel=SAMPLE_CHANNEL, group=group, limit=limit
    )


async def _group_of(ctx: Ctx) -> ReceptionGroup:
    name = str(ctx.args["name"])
    group_id = ctx.args.get("group_id")
    found = (
        await repo.group_by_id(ctx.engine, int(group_id))
        if group_id is not None
        else await repo.group(ctx.engine, ctx.wecom_app, name)
    )
    if found is None or found.status == "removed" or found.app != ctx.wecom_app:
        raise CommandError(f"没有名为「{name}」的接待组。发送「接待组 列表」查看。")
    return found


async def add(ctx: Ctx) -> Outcome:
    name = str(ctx.args["name"])
    check_name(name, "接待组")
    if await repo.group(ctx.engine, ctx.wecom_app, name) is not None:
        raise CommandError(f"已有名为「{name}」的接待组。")
    staff = await read_staff(ctx, str(ctx.args["staff"]))
    group_id = await repo.add_group(
        ctx.engine, ctx.wecom_app, name, staff=staff, remark="", created_by=ctx.caller.person
    )
    if group_id is None:
        raise CommandError(f"已有名为「{name}」的接待组，没有保存。")
    return Outcome.say(
        f"已创建接待组「{name}」，{len(staff)} 位成员：{'、'.join(staff)}。"
        "新客户由成员轮流接待。\n"
        f"修改新客户的备注格式：接待组 备注 {name} {{昵称}}-{{渠道}}",
        detail=f"reception group {group_id} {staff}",
    )


async def list_groups(ctx: Ctx) -> Outcome:
    groups = await repo.groups(ctx.engine, ctx.wecom_app)
    if not groups:
        return Outcome.say("还没有接待组。发送「接待组 新建 <名称> <userid…>」创建。")
    codes = await repo.codes(ctx.engine, ctx.wecom_app)
    adds = await adds_by(ctx, "group")
    lines = [f"接待组（{len(groups)} 个）：成员｜备注格式｜活码数｜今日 / 近 {RECENT_DAYS} 天新增"]
    for g in groups:
        used = sum(1 for c in codes if c.group_id == g.id)
        now, total = adds.get(g.id, (0, 0))
        lines.append(
            f"· {g.name}｜{len(g.staff)} 人：{'、'.join(g.staff)}｜备注 {_remark_pattern(ctx, g)}｜"
            f"活码 {used} 个｜+{now} / +{total}"
        )
    lines.append("发送「接待组 查看 <名称>」看详情。")
    return Outcome.say("\n".join(lines))


async def show(ctx: Ctx) -> Outcome:
    group = await _group_of(ctx)
    port = contact_ways(ctx)
    members = []
    reachable = True  # the names are a courtesy: after one failure, show the userids only
    for userid in group.staff:
        name: str | None = ""
        if reachable:
            try:
                name = await port.member_name(ctx.wecom_app, userid)
            except PlatformFailure:
                reachable = False
        if name is None:
            members.append(f"{userid}（已不在企业里）")
        else:
            members.append(f"{userid}（{name}）" if name else userid)
    codes = await repo.codes(ctx.engine, ctx.wecom_app, group_id=group.id)
    now, total = (await adds_by(ctx, "group")).get(group.id, (0, 0))
    lines = [
        f"接待组「{group.name}」",
        f"成员（{len(group.staff)} 位，轮流接待）：{'、'.join(members)}",
        f"新客户备注：{_remark_pattern(ctx, group)}",
        f"渠道活码（{len(codes)} 个）：{'、'.join(c.name for c in codes) or '无'}",
        f"新增客户：今日 {now}，近 {RECENT_DAYS} 天 {total}",
        f"创建：{local_time(ctx, group.created_at)} {group.created_by}",
    ]
    return Outcome.say("\n".join(lines))


async def set_members(ctx: Ctx) -> Outcome:
    group = await _group_of(ctx)
    staff = await read_staff(ctx, str(ctx.args["staff"]))
    if not await repo.update_group(ctx.engine, group.id, staff=staff):
        raise CommandError(f"接待组「{group.name}」刚刚被删除了。")
    port = contact_ways(ctx)
    updated: list[str] = []
    failed: list[str] = []
    for code in await repo.codes(ctx.engine, ctx.wecom_app, group_id=group.id):
        if code.status != "active" or not code.config_id:
            continue
        try:
            await port.update_contact_way(ctx.wecom_app, code.config_id, staff)
        except PlatformFailure as exc:
            failed.append(f"· {code.name}：{exc}")
        else:
            updated.append(code.name)
    lines = [
        f"已更新接待组「{group.name}」的成员：{'、'.join(staff)}"
        f"（原来：{'、'.join(group.staff)}）。",
        f"{len(updated)} 个渠道活码已改为新成员接待"
        + (f"：{'、'.join(updated)}。" if updated else "。"),
    ]
    if failed:
        lines.append(f"{len(failed)} 个活码没有更新（仍是原来的成员），请稍后再发一次这条命令：")
        lines += failed
    return Outcome.say(
        "\n".join(lines),
        detail=f"reception group {group.id} staff {list(group.staff)} -> {staff}; "
        f"codes updated {updated}, failed {len(failed)}",
    )


async def set_remark(ctx: Ctx) -> Outcome:
    group = await _group_of(ctx)
    pattern = check_remark(str(ctx.args["pattern"]).strip())
    if not await repo.update_group(ctx.engine, group.id, remark=pattern):
        raise CommandError(f"接待组「{group.name}」刚刚被删除了。")
    changed = await repo.group_by_id(ctx.engine, group.id) or group
    effective = _effective_pattern(ctx, changed)
    lines = [f"已设置接待组「{group.name}」的新客户备注：{_remark_pattern(ctx, changed)}"]
    if effective:
        lines.append(
            f"例：昵称「{SAMPLE_NICKNAME}」、渠道「{SAMPLE_CHANNEL}」的新客户备注为"
            f"「{_sample(ctx, effective, group.name)}」。"
        )
    return Outcome.say(
        "\n".join(lines),
        detail=f"reception group {group.id} remark {group.remark!r} -> {pattern!r}",
    )


async def _removable(ctx: Ctx) -> ReceptionGroup:
    group = await _group_of(ctx)
    codes = await repo.codes(ctx.engine, ctx.wecom_app, group_id=group.id)
    if codes:
        names = "、".join(c.name for c in codes)
        raise CommandError(
            f"接待组「{group.name}」还在被渠道活码使用：{names}。"
            "先删除这些活码，或用「渠道活码 修改 <名称> 接待组 <接待组>」改到别的接待组。"
        )
    return group


async def preview_remove(ctx: Ctx) -> str:
    group = await _removable(ctx)
    ctx.args["group_id"] = group.id
    return f"将删除接待组「{group.name}」（{len(group.staff)} 位成员）。统计记录保留。"


async def remove(ctx: Ctx) -> Outcome:
    group = await _removable(ctx)
    if not await repo.remove_group(ctx.engine, group.id):
        raise CommandError(f"接待组「{group.name}」已经删除了。")
    return Outcome.say(
        f"已删除接待组「{group.name}」。", detail=f"reception group {group.id} removed"
    )


def specs() -> list[CommandSpec]:
    name = Param("name", "名称")
    staff = Param("staff", "userid", "rest")
    return [
        CommandSpec(
            name="reception.add",
            area=AREA,
            words=("接待组 新建", "reception add", "reception new", "接待组 添加"),
            summary="新建接待组：接待新客户的企业微信成员（轮流接待，最多 100 位）",
            run=add,
            params=(name, staff),
            examples=("接待组 新建 华东组 zhangsan lisi",),
            effect="config",
        ),
        CommandSpec(
            name="reception.list",
            area=AREA,
            words=("接待组 列表", "reception list"),
            summary="所有接待组，各自的成员、备注格式、活码数和新增客户数",
            run=list_groups,
            role="staff",
        ),
        CommandSpec(
            name="reception.show",
            area=AREA,
            words=("接待组 查看", "reception show"),
            summary="一个接待组的成员、备注格式、活码和新增客户数",
            run=show,
            params=(name,),
            examples=("接待组 查看 华东组",),
            role="staff",
        ),
        CommandSpec(
            name="reception.staff",
            area=AREA,
            words=("接待组 成员", "reception staff"),
            summary="替换接待组的成员（使用它的渠道活码立即改由新成员接待）",
            run=set_members,
            params=(name, staff),
            examples=("接待组 成员 华东组 zhangsan lisi wangwu",),
            effect="config",
        ),
        CommandSpec(
            name="reception.remark",
            area=AREA,
            words=("接待组 备注", "reception remark"),
            summary="新客户的备注格式：{昵称} {渠道} {接待组}；「默认」用设置文件的格式",
            run=set_remark,
            params=(name, Param("pattern", "格式", "rest")),
            examples=("接待组 备注 华东组 {昵称}-{渠道}", "接待组 备注 华东组 默认"),
            effect="config",
        ),
        CommandSpec(
            name="reception.remove",
            area=AREA,
            words=("接待组 删除", "reception remove", "reception delete"),
            summary="删除接待组（没有活码使用它时）",
            run=remove,
            params=(name,),
            examples=("接待组 删除 华东组",),
            effect="destructive",
            preview=preview_remove,
        ),
    ]
