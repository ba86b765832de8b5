"""Stats: followers by channel and by day, keyword hits."""

from __future__ import annotations

from datetime import timedelta

from handlers.commands.base import CommandError, CommandSpec, Ctx, Outcome, Param
from storage import commands_repo as repo

MAX_DAYS = 90


def _days(ctx: Ctx) -> int:
    days = ctx.args.get("days") or 7
    if not 1 <= days <= MAX_DAYS:
        raise CommandError(f"天数在 1 到 {MAX_DAYS} 之间。")
    return int(days)


async def followers(ctx: Ctx) -> Outcome:
    days = _days(ctx)
    now = ctx.services.clock()
    by_channel = await repo.followers_by_channel(ctx.engine, ctx.account)
    lines = ["粉丝来源（当前关注 / 累计关注）："]
    if not by_channel:
        lines.append("· 还没有粉丝")
    for channel, current, total in by_channel:
        lines.append(f"· {channel or '无渠道（搜索、名片等）'}：{current} / {total}")
    lines.append(f"最近 {days} 天（UTC 日期）：关注 / 取消关注")
    since = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    by_day = {
        day: (a, b) for day, a, b in await repo.follows_by_day(ctx.engine, ctx.account, since)
    }
    for i in range(days):
        day = (since + timedelta(days=i)).date()
        follows, unfollows = by_day.get(day, (0, 0))
        lines.append(f"· {day:%m-%d}：+{follows} / -{unfollows}")
    return Outcome.say("\n".join(lines))


async def keyword_hits(ctx: Ctx) -> Outcome:
    days = _days(ctx)
    since = (ctx.services.clock() - timedelta(days=days - 1)).date()
    hits = await repo.keyword_hits(ctx.engine, ctx.account, since)
    if not hits:
        return Outcome.say(f"最近 {days} 天没有关键词命中。")
    lines = [f"最近 {days} 天关键词命中："]
    lines += [f"· {name}：{count} 次" for name, count in hits]
    return Outcome.say("\n".join(lines))


def specs() -> list[CommandSpec]:
    days = Param("days", "天数", "int", required=False)
    return [
        CommandSpec(
            name="stats.followers",
            area="统计",
            words=("统计 粉丝", "stats followers", "粉丝统计"),
            summary="按渠道、按天的粉丝数",
            run=followers,
            params=(days,),
            examples=("统计 粉丝", "统计 粉丝 30"),
            role="staff",
        ),
        CommandSpec(
            name="stats.keywords",
            area="统计",
            words=("统计 关键词", "stats keywords", "关键词统计"),
            summary="关键词规则的命中次数",
            run=keyword_hits,
            params=(days,),
            examples=("统计 关键词 7",),
            role="staff",
        ),
    ]
