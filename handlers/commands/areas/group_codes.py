"""群活码 (unlimited group codes) by chat: an admin makes a code over customer groups of the
caller's WeCom app (optionally with WeCom creating the next group by itself), and gets its QR
code and landing page link; staff list, look at and fetch codes and their join stats; admins add
groups, change when a group counts as full, and remove a code (confirmed). The codes themselves
live in bot/group_codes.py (``Services.group_codes``), their records in
storage/group_codes_repo.py."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from handlers.commands.base import (
    CommandError,
    CommandSpec,
    Ctx,
    GroupCodesPort,
    Outcome,
    Param,
)
from handlers.commands.words import ParseError, fold, split_words
from handlers.messages import Message, Picture, Text
from storage import group_codes_repo as repo
from storage import groups_repo
from storage.group_codes_repo import GroupCode, PoolGroup, Rebalanced

AREA: Final = "群活码"
AUTO_WORDS: Final = ("自动建群", "--auto")
WEEK: Final = 7
MAX_DAYS: Final = 90
STATUS_NAMES: Final = {"pending": "创建中", "active": "使用中"}


def _port(ctx: Ctx) -> GroupCodesPort:
    if ctx.services.group_codes is None:
        raise CommandError("群活码没有启用。")
    return ctx.services.group_codes


async def _code_of(ctx: Ctx) -> GroupCode:
    name = str(ctx.args["name"])
    code = await repo.by_name(ctx.engine, ctx.wecom_app, name)
    if code is None or not code.live:
        raise CommandError(f"没有名为「{name}」的群活码。发送「群活码 列表」查看。")
    return code


def _words(text: str) -> list[str]:
    try:
        return [w.text.strip() for w in split_words(text) if w.text.strip()]
    except ParseError as exc:
        raise CommandError(str(exc)) from None


def _read_new(text: str) -> tuple[list[str], bool, str]:
    """(group refs, auto create, base name) from what follows ``群活码 新建 <名称>``."""
    refs: list[str] = []
    auto, base = False, ""
    words = _words(text)
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        if fold(word) in AUTO_WORDS:
            auto = True
            if index < len(words):
                base = words[index]
                index += 1
        else:
            refs.append(word)
    return refs, auto, base


async def _resolve(ctx: Ctx, refs: list[str]) -> list[str]:
    """Chat ids of groups named by chat id or exact name (live groups of the app)."""
    if not refs:
        raise CommandError("请写客户群：群名或 chat_id，多个用空格分开。", usage=True)
    chat_ids: list[str] = []
    for ref in refs:
        found = [
            g
            for g in await groups_repo.find_groups(
                ctx.engine,
                ctx.wecom_app,
                ref,
                timezone=ctx.services.timezone,
                now=ctx.services.clock(),
            )
            if g.active
        ]
        if not found:
            raise CommandError(
                f"没有找到客户群「{ref}」。发送「群 列表 {ref}」搜索，或先「群 同步」。"
            )
        if len(found) > 1:
            lines = [f"有 {len(found)} 个客户群叫「{ref}」，请改用 chat_id："]
            lines += [f"· {g.chat_id}（群主 {g.owner}，{g.member_count} 人）" for g in found[:10]]
            raise CommandError("\n".join(lines))
        chat_ids.append(found[0].chat_id)
    return chat_ids


def _name(group: PoolGroup | None, chat_id: str) -> str:
    if group is None:
        return f"新群 {chat_id[-6:]}"
    return group.name or f"未命名群 {chat_id[-6:]}"


def _state(code: GroupCode, group: PoolGroup | None, chat_id: str) -> str:
    if group is not None and group.dismissed:
        return "已解散"
    if group is not None and group.member_count >= code.full_members:
        return "已满"
    return "使用中" if chat_id in code.active else "候补"


async def _groups(ctx: Ctx, code: GroupCode) -> dict[str, PoolGroup]:
    return await repo.pool_groups(ctx.engine, code.app, code.pool)


def _group_line(code: GroupCode, groups: dict[str, PoolGroup], index: int, chat_id: str) -> str:
    group = groups.get(chat_id)
    members = f"{group.member_count} 人" if group is not None else "人数未知"
    return f"{index}. {_name(group, chat_id)}（{members}）｜{_state(code, group, chat_id)}"


def _in_use(code: GroupCode, groups: dict[str, PoolGroup]) -> list[str]:
    lines = [f"正在使用的群（{len(code.active)} 个）："]
    lines += [_group_line(code, groups, i, c) for i, c in enumerate(code.active, 1)]
    return lines


def _rules(code: GroupCode) -> str:
    line = f"满 {code.full_members} 人算满员，满了自动换下一个群。"
    if code.auto_create:
        base = f"「{code.base_name}」+编号" if code.base_name else "第一个群的群名+编号"
        line += f"\n自动建群：开启，群都满了以后企业微信自动创建新群（群名为{base}）。"
    return line


def _picture(code: GroupCode) -> list[Message]:
    if not code.qr_code:
        return []
    return [Picture(code.qr_code, f"群活码「{code.name}」：扫码进入有空位的群")]


def _landing(ctx: Ctx, code: GroupCode) -> str:
    return _port(ctx).landing_url(code.slug)


async def create(ctx: Ctx) -> Outcome:
    port = _port(ctx)
    name = str(ctx.args["name"])
    refs, auto, base = _read_new(str(ctx.args.get("groups") or ""))
    chat_ids = await _resolve(ctx, refs)
    code = await port.create(
        ctx.wecom_app,
        name,
        chat_ids,
        auto_create=auto,
        base_name=base,
        created_by=ctx.caller.person,
        chat=ctx.caller.chat_key,
    )
    groups = await _groups(ctx, code)
    lines = [
        f"已创建群活码「{code.name}」。",
        f"落地页：{_landing(ctx, code)}（不方便直接发二维码的渠道用这个链接）",
        *_in_use(code, groups),
        _rules(code),
    ]
    if code.warned:
        lines.append(f"注意：有空位的群不多了，可发送「群活码 添加群 {code.name} <群名>」加群。")
    return Outcome(
        [Text("\n".join(lines)), *_picture(code)],
        detail=f"group code {code.id} over {list(code.active)}",
    )


async def list_codes(ctx: Ctx) -> Outcome:
    codes = await repo.codes(ctx.engine, ctx.wecom_app)
    if not codes:
        return Outcome.say("还没有群活码。管理员可发送「群活码 新建 <名称> <群名…>」创建。")
    today = groups_repo.local_day(ctx.services.clock(), ctx.services.timezone)
    stats = await repo.join_stats(ctx.engine, today, today, app=ctx.wecom_app)
    joins: dict[int, int] = {}
    for row in stats:
        joins[row.code_id] = joins.get(row.code_id, 0) + row.count
    lines = [f"群活码 {len(codes)} 个："]
    for i, code in enumerate(codes, 1):
        lines.append(
            f"{i}. {code.name}｜{STATUS_NAMES.get(code.status, code.status)}｜"
            f"使用中 {len(code.active)} 个群，共 {len(code.pool)} 个｜"
            f"今日入群 {joins.get(code.id, 0)}"
        )
    lines.append("发送「群活码 查看 <名称>」看详情和落地页链接。")
    return Outcome.say("\n".join(lines))


async def show(ctx: Ctx) -> Outcome:
    code = await _code_of(ctx)
    groups = await _groups(ctx, code)
    today = groups_repo.local_day(ctx.services.clock(), ctx.services.timezone)
    week = await repo.join_stats(
        ctx.engine, today - timedelta(days=WEEK - 1), today, code_id=code.id
    )
    status = STATUS_NAMES.get(code.status, code.status)
    if code.detail:
        status += f"（{code.detail}）"
    lines = [
        f"群活码「{code.name}」｜{status}",
        f"落地页：{_landing(ctx, code)}",
        _rules(code),
        f"群（{len(code.pool)} 个，按顺序使用）：",
        *(_group_line(code, groups, i, c) for i, c in enumerate(code.pool, 1)),
        f"入群：今日 {sum(r.count for r in week if r.day == today)} 人，"
        f"最近 {WEEK} 天 {sum(r.count for r in week)} 人",
    ]
    return Outcome.say("\n".join(lines))


async def send_qr(ctx: Ctx) -> Outcome:
    code = await _code_of(ctx)
    if code.status != "active":
        raise CommandError(f"群活码「{code.name}」还在创建中，请稍后再试。")
    return Outcome([Text(f"落地页：{_landing(ctx, code)}"), *_picture(code)])


def _changes(code: GroupCode, result: Rebalanced, groups: dict[str, PoolGroup]) -> list[str]:
    lines = []
    if result.left:
        lines.append("已换下：" + "、".join(_name(groups.get(c), c) for c in result.left))
    if result.entered:
        lines.append("已换上：" + "、".join(_name(groups.get(c), c) for c in result.entered))
    return lines


async def add_groups(ctx: Ctx) -> Outcome:
    code = await _code_of(ctx)
    chat_ids = await _resolve(ctx, _words(str(ctx.args.get("groups") or "")))
    result = await _port(ctx).add_groups(code, chat_ids)
    after = result.code
    groups = await _groups(ctx, after)
    lines = [
        f"已把 {len(chat_ids)} 个群加入群活码「{after.name}」（共 {len(after.pool)} 个群）。",
        *_changes(after, result, groups),
        *_in_use(after, groups),
    ]
    return Outcome.say("\n".join(lines), detail=f"group code {code.id} += {chat_ids}")


async def set_full(ctx: Ctx) -> Outcome:
    code = await _code_of(ctx)
    members = int(ctx.args["members"])
    result = await _port(ctx).set_full(code, members)
    after = result.code
    groups = await _groups(ctx, after)
    lines = [
        f"已设置群活码「{after.name}」：满 {after.full_members} 人算满员"
        f"（原来 {code.full_members} 人）。",
        *_changes(after, result, groups),
        *_in_use(after, groups),
    ]
    return Outcome.say(
        "\n".join(lines), detail=f"group code {code.id} full {code.full_members} -> {members}"
    )


async def stats(ctx: Ctx) -> Outcome:
    code = await _code_of(ctx)
    days = int(ctx.args.get("days") or WEEK)
    if not 1 <= days <= MAX_DAYS:
        raise CommandError(f"天数要在 1 到 {MAX_DAYS} 之间。")
    today = groups_repo.local_day(ctx.services.clock(), ctx.services.timezone)
    rows = await repo.join_stats(
        ctx.engine, today - timedelta(days=days - 1), today, code_id=code.id
    )
    if not rows:
        return Outcome.say(f"群活码「{code.name}」最近 {days} 天没有人扫码入群。")
    groups = await repo.pool_groups(ctx.engine, code.app, [r.chat_id for r in rows])
    order = {chat_id: i for i, chat_id in enumerate(code.pool)}
    rows.sort(key=lambda r: (r.day, order.get(r.chat_id, len(order)), r.chat_id))
    by_day: dict[str, list[tuple[str, int]]] = {}
    by_group: dict[str, int] = {}
    for row in sorted(rows, key=lambda r: order.get(r.chat_id, len(order))):
        by_group[row.chat_id] = by_group.get(row.chat_id, 0) + row.count
    for row in rows:
        by_day.setdefault(row.day.isoformat(), []).append((row.chat_id, row.count))
    total = sum(by_group.values())
    lines = [f"群活码「{code.name}」最近 {days} 天扫码入群 {total} 人："]
    for day, counts in by_day.items():
        parts = "，".join(f"{_name(groups.get(c), c)} {n}" for c, n in counts)
        lines.append(f"{day}：{sum(n for _, n in counts)} 人（{parts}）")
    lines.append(
        "按群：" + "，".join(f"{_name(groups.get(c), c)} {n}" for c, n in by_group.items())
    )
    return Outcome.say("\n".join(lines))


async def preview_remove(ctx: Ctx) -> str:
    code = await _code_of(ctx)
    return (
        f"将删除群活码「{code.name}」（{len(code.pool)} 个群）：它的二维码和落地页都会失效，"
        "已经在群里的客户不受影响，入群统计保留。"
    )


async def remove(ctx: Ctx) -> Outcome:
    code = await _code_of(ctx)
    await _port(ctx).remove(code)
    return Outcome.say(
        f"已删除群活码「{code.name}」，它的二维码和落地页已失效。",
        detail=f"group code {code.id} removed",
    )


def specs() -> list[CommandSpec]:
    name = Param("name", "名称")
    groups = Param("groups", "群名或chat_id", "rest")
    return [
        CommandSpec(
            name="group_code.new",
            area=AREA,
            words=("群活码 新建", "groupcode new", "group code new"),
            summary="新建群活码：一个二维码轮流进入有空位的群，可让企业微信自动建新群",
            run=create,
            params=(name, groups),
            examples=(
                "群活码 新建 春季引流 春季1群 春季2群",
                "群活码 新建 春季引流 春季1群 自动建群 春季群",
            ),
            effect="config",
        ),
        CommandSpec(
            name="group_code.list",
            area=AREA,
            words=("群活码 列表", "groupcode list", "groupcodes"),
            summary="所有群活码：使用中的群数和今日入群人数",
            run=list_codes,
            role="staff",
        ),
        CommandSpec(
            name="group_code.show",
            area=AREA,
            words=("群活码 查看", "groupcode show"),
            summary="一个群活码的群（人数、使用中/已满）、落地页链接、今日和最近 7 天入群",
            run=show,
            params=(name,),
            examples=("群活码 查看 春季引流",),
            role="staff",
        ),
        CommandSpec(
            name="group_code.qr",
            area=AREA,
            words=("群活码 二维码", "groupcode qr"),
            summary="发送群活码的二维码和落地页链接",
            run=send_qr,
            params=(name,),
            examples=("群活码 二维码 春季引流",),
            role="staff",
        ),
        CommandSpec(
            name="group_code.add_groups",
            area=AREA,
            words=("群活码 添加群", "groupcode add"),
            summary="给群活码加群（排在已有的群后面）",
            run=add_groups,
            params=(name, groups),
            examples=("群活码 添加群 春季引流 春季3群 春季4群",),
            effect="config",
        ),
        CommandSpec(
            name="group_code.full",
            area=AREA,
            words=("群活码 满员", "groupcode full"),
            summary="设置群满多少人后换下一个群",
            run=set_full,
            params=(name, Param("members", "人数", "int")),
            examples=("群活码 满员 春季引流 180",),
            effect="config",
        ),
        CommandSpec(
            name="group_code.stats",
            area=AREA,
            words=("群活码 统计", "groupcode stats"),
            summary="群活码每天、每个群的扫码入群人数（默认最近 7 天）",
            run=stats,
            params=(name, Param("days", "天数", "int", required=False)),
            examples=("群活码 统计 春季引流", "群活码 统计 春季引流 30"),
            role="staff",
        ),
        CommandSpec(
            name="group_code.remove",
            area=AREA,
            words=("群活码 删除", "groupcode remove", "groupcode delete"),
            summary="删除群活码：二维码和落地页失效（统计保留）",
            run=remove,
            params=(name,),
            examples=("群活码 删除 春季引流",),
            effect="destructive",
            preview=preview_remove,
        ),
    ]
