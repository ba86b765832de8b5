"""Customer groups (客户群) of the caller's WeCom app: list and search them with today's joins and
quits, look at one, sync the list from WeCom now, and set our own labels on a group (which group
SOPs target). The list is kept by bot/group_sync.py from events and periodic syncs."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Final

from handlers.commands.base import CommandError, CommandSpec, Ctx, Outcome, Param
from handlers.commands.words import ParseError, fold, split_words
from handlers.schedules import zone
from storage import groups_repo as repo
from storage.groups_repo import Group

PAGE: Final = 30
SORT_WORDS: Final = {
    "按人数": "members",
    "按新增": "joins",
    "按入群": "joins",
    "按退群": "quits",
    "按名称": "name",
    "按创建": "created",
}
SORT_NAMES: Final = {
    "members": "人数从多到少",
    "joins": "今日新增从多到少",
    "quits": "今日退群从多到少",
    "name": "名称",
    "created": "创建时间从新到旧",
}
OWNER_PREFIXES: Final = ("群主:", "owner:")
ALL_WORDS: Final = ("含解散", "全部", "--all")
CLEAR_WORDS: Final = ("清空", "--clear")
MAX_TAGS: Final = 20
MAX_TAG = 20
TAG_SPLIT: Final = re.compile(r"[\s,，、;；]+")
WEEK: Final = 7


def _when(at: datetime | None, ctx: Ctx, pattern: str = "%Y-%m-%d") -> str:
    if at is None:
        return "未知"
    return at.astimezone(zone(ctx.services.timezone)).strftime(pattern)


def _title(group: Group) -> str:
    name = group.name or f"未命名群 {group.chat_id[-6:]}"
    return name if group.active else f"{name}（已解散）"


def _line(ctx: Ctx, index: int, group: Group) -> str:
    return (
        f"{index}. {_title(group)}｜群主 {group.owner or '未知'}｜{group.member_count} 人｜"
        f"今日 +{group.joins} / -{group.quits}｜创建 {_when(group.created_at, ctx)}"
    )


def _read_filters(text: str) -> tuple[list[str], str | None, str, bool]:
    """(keywords, owner, sort, include dismissed) from what follows ``群 列表``."""
    try:
        words = [w.text.strip() for w in split_words(text)]
    except ParseError as exc:
        raise CommandError(str(exc)) from None
    keywords: list[str] = []
    owner: str | None = None
    sort = "members"
    include_dismissed = False
    index = 0
    while index < len(words):
        word = words[index]
        folded = fold(word)
        index += 1
        if not word:
            continue
        if folded in SORT_WORDS:
            sort = SORT_WORDS[folded]
        elif folded in ("--sort", "--owner") or folded.startswith(("--sort=", "--owner=")):
            option, _, value = folded.partition("=")
            if not value:
                if index >= len(words):
                    raise CommandError(f"「{option}」后面要写值。", usage=True)
                value = fold(words[index])
                index += 1
            if option == "--owner":
                owner = value
            elif value in repo.SORTS:
                sort = value
            else:
                raise CommandError(
                    f"不认识排序「{value}」，可用：{' '.join(repo.SORTS)}，"
                    "或「按人数」「按新增」「按退群」「按名称」「按创建」。"
                )
        elif folded.startswith(OWNER_PREFIXES):
            owner = folded.partition(":")[2].strip()
            if not owner:
                raise CommandError("「群主:」后面写群主的企业微信账号，如「群主:zhangsan」。")
        elif folded in ALL_WORDS:
            include_dismissed = True
        elif folded.startswith("--"):
            raise CommandError(f"不认识的选项「{word}」，可用：--sort、--owner、--all。")
        else:
            keywords.append(word)
    return keywords, owner, sort, include_dismissed


async def list_groups(ctx: Ctx) -> Outcome:
    keywords, owner, sort, include_dismissed = _read_filters(str(ctx.args.get("filters") or ""))
    page = await repo.list_groups(
        ctx.engine,
        ctx.wecom_app,
        timezone=ctx.services.timezone,
        now=ctx.services.clock(),
        words=keywords,
        owner=owner,
        sort=sort,
        limit=PAGE,
        include_dismissed=include_dismissed,
    )
    asked = []
    if keywords:
        asked.append(f"关键词「{' '.join(keywords)}」")
    if owner:
        asked.append(f"群主 {owner}")
    if not page.groups:
        if asked:
            return Outcome.say(f"没有符合条件（{'，'.join(asked)}）的客户群。")
        return Outcome.say("还没有客户群记录。管理员可发送「群 同步」从企业微信拉取。")
    head = f"客户群 {page.total} 个（{'，'.join([*asked, '按' + SORT_NAMES[sort]])}）："
    lines = [head, *(_line(ctx, i, g) for i, g in enumerate(page.groups, 1))]
    more = page.total - len(page.groups)
    if more > 0:
        lines.append(f"还有 {more} 个没有显示，可加关键词或「群主:<账号>」缩小范围。")
    return Outcome.say("\n".join(lines))


async def _one(ctx: Ctx, ref: str) -> Group:
    ref = ref.strip()
    if not ref:
        raise CommandError("请写群名或 chat_id。", usage=True)
    found = await repo.find_groups(
        ctx.engine, ctx.wecom_app, ref, timezone=ctx.services.timezone, now=ctx.services.clock()
    )
    if not found:
        raise CommandError(f"没有找到客户群「{ref}」。发送「群 列表 {ref}」按关键词搜索。")
    if len(found) > 1:
        lines = [f"有 {len(found)} 个客户群叫「{ref}」，请改用 chat_id："]
        lines += [f"· {g.chat_id}（群主 {g.owner}，{g.member_count} 人）" for g in found[:10]]
        raise CommandError("\n".join(lines))
    return found[0]


async def show_group(ctx: Ctx) -> Outcome:
    group = await _one(ctx, str(ctx.args.get("group") or ""))
    today = repo.local_day(ctx.services.clock(), ctx.services.timezone)
    week = await repo.daily(ctx.engine, group.app, group.chat_id, today - timedelta(days=WEEK - 1))
    lines = [
        f"客户群「{_title(group)}」",
        f"chat_id：{group.chat_id}",
        f"群主：{group.owner or '未知'}",
        f"人数：{group.member_count}",
        f"状态：{'正常' if group.active else '已解散'}",
        f"创建：{_when(group.created_at, ctx, '%Y-%m-%d %H:%M')}",
        f"标签：{'、'.join(group.tags) or '无'}",
        f"今日：+{group.joins} / -{group.quits}",
        f"最近 {WEEK} 天：+{sum(d.joins for d in week)} / -{sum(d.quits for d in week)}",
        f"群公告：{group.notice or '无'}",
        f"最近同步：{_when(group.synced_at, ctx, '%Y-%m-%d %H:%M')}",
    ]
    return Outcome.say("\n".join(lines))


async def sync_groups(ctx: Ctx) -> Outcome:
    port = ctx.services.group_sync
    if port is None:
        raise CommandError("客户群同步没有启用。")
    app = ctx.wecom_app
    await ctx.progress("正在从企业微信同步客户群…")
    count = await port.sync(app)
    return Outcome.say(
        f"同步完成：企业微信应用 {app} 现有 {count} 个客户群。发送「群 列表」查看。",
        detail=f"{count} active groups",
    )


def _read_tags(text: str) -> list[str]:
    if fold(text) in CLEAR_WORDS:
        return []
    tags = list(dict.fromkeys(t for t in TAG_SPLIT.split(text.strip()) if t))
    if not tags:
        raise CommandError("请写标签，多个用空格或逗号分开；「清空」去掉全部标签。", usage=True)
    if len(tags) > MAX_TAGS:
        raise CommandError(f"一个群最多 {MAX_TAGS} 个标签，收到 {len(tags)} 个。")
    too_long = [t for t in tags if len(t) > MAX_TAG]
    if too_long:
        raise CommandError(f"标签最多 {MAX_TAG} 个字：「{too_long[0]}」太长了。")
    return tags


async def tag_group(ctx: Ctx) -> Outcome:
    tags = _read_tags(str(ctx.args.get("tags") or ""))
    group = await _one(ctx, str(ctx.args.get("group") or ""))
    changed = await repo.set_tags(ctx.engine, group.app, group.chat_id, tags)
    if changed is None:  # pragma: no cover - found a moment ago
        raise CommandError("这个客户群刚刚不见了，请重试。")
    before, after = changed
    shown = "、".join(after) or "无"
    return Outcome.say(
        f"已设置客户群「{_title(group)}」的标签：{shown}（原来：{'、'.join(before) or '无'}）。",
        detail=f"{group.chat_id} tags {list(before)} -> {list(after)}",
    )


def specs() -> list[CommandSpec]:
    ref = Param("group", "群名或chat_id")
    return [
        CommandSpec(
            name="group.list",
            area="客户群",
            words=("群 列表", "groups", "groups list", "group list"),
            summary="客户群列表：群主、人数、今日入群/退群、创建日期；可搜索和排序",
            run=list_groups,
            params=(Param("filters", "关键词或选项", "rest", required=False),),
            examples=(
                "群 列表",
                "群 列表 春季",
                "群 列表 按新增",
                "群 列表 群主:zhangsan 按退群",
                "群 列表 含解散",
                "groups --sort joins --owner zhangsan",
            ),
            role="staff",
        ),
        CommandSpec(
            name="group.show",
            area="客户群",
            words=("群 查看", "groups show", "group show"),
            summary="一个客户群的详情：群主、人数、标签、公告、今日与最近 7 天的入群/退群",
            run=show_group,
            params=(Param("group", "群名或chat_id", "rest"),),
            examples=("群 查看 春季活动群",),
            role="staff",
        ),
        CommandSpec(
            name="group.sync",
            area="客户群",
            words=("群 同步", "groups sync", "group sync"),
            summary="立即从企业微信同步客户群列表",
            run=sync_groups,
            examples=("群 同步",),
            role="admin",
        ),
        CommandSpec(
            name="group.tag",
            area="客户群",
            words=("群 标签", "groups tag", "group tag"),
            summary="设置客户群的标签（替换原有标签，群 SOP 按标签选群）",
            run=tag_group,
            params=(ref, Param("tags", "标签", "rest")),
            examples=("群 标签 春季活动群 华东 高意向", "群 标签 wrAbC123 清空"),
            role="admin",
            effect="config",
        ),
    ]
