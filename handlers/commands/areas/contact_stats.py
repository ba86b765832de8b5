"""客户统计: new customers and deletions of the caller's WeCom app per day, by lead channel, live
code, reception group or staff member, with how the welcomes went (sent / missed, latency);
and 欢迎语 记录, the latest adds with their welcome and remark (or only the problems).

Days are local days in the scheduler's time zone (``Services.timezone``), as stored with each
event by bot/customer_contact.py.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from handlers.commands.areas.lead_channels import local_time, shown_name, today
from handlers.commands.base import CommandError, CommandSpec, Ctx, Outcome, Param
from handlers.commands.words import fold
from storage import contacts_repo as repo
from storage.contacts_repo import ContactEvent, Dimension, StatRow

AREA: Final = "客户统计"
DEFAULT_DAYS: Final = 7
MAX_DAYS: Final = 90
EVERY_DAY_UP_TO: Final = 14  # longer spans list only the days with changes
LOG_LIMIT: Final = 20
BY_WORDS: Final[dict[str, Dimension]] = {
    "渠道": "channel",
    "引流渠道": "channel",
    "channel": "channel",
    "活码": "code",
    "渠道活码": "code",
    "code": "code",
    "接待组": "group",
    "group": "group",
    "员工": "staff",
    "成员": "staff",
    "staff": "staff",
}
BY_NAMES: Final[dict[Dimension, str]] = {
    "channel": "渠道",
    "code": "活码",
    "group": "接待组",
    "staff": "员工",
}
PROBLEM_WORDS: Final = frozenset({"问题", "失败", "problems", "problem"})
UNASSIGNED: Final = "未归属"


@dataclass
class Totals:
    adds: int = 0
    del_external: int = 0
    del_follow: int = 0
    sent: int = 0
    missed: int = 0

    def take(self, row: StatRow) -> None:
        self.adds += row.adds
        self.del_external += row.del_external
        self.del_follow += row.del_follow
        self.sent += row.welcomes_sent
        self.missed += row.welcomes_missed

    @property
    def net(self) -> int:
        return self.adds - self.del_external - self.del_follow

    def line(self) -> str:
        return (
            f"新增 {self.adds}，员工删除 {self.del_external}，客户删除 {self.del_follow}，"
            f"净增 {self.net:+d}；欢迎语 已发 {self.sent}，未发 {self.missed}"
        )


def parse_options(text: str) -> tuple[int, Dimension]:
    """``[天数] [按 渠道|活码|接待组|员工]`` in any order ("30天", "按活码" too): (days, by)."""
    days = DEFAULT_DAYS
    by: Dimension = "channel"
    words = fold(text).replace("按", " 按 ").split()
    index = 0
    while index < len(words):
        word = words[index]
        number = word.removesuffix("天")
        if word in ("按", "by"):
            index += 1
            if index >= len(words) or words[index] not in BY_WORDS:
                raise CommandError("「按」后面写 渠道、活码、接待组 或 员工。", usage=True)
            by = BY_WORDS[words[index]]
        elif number.isdigit():
            days = int(number)
            if not 1 <= days <= MAX_DAYS:
                raise CommandError(f"天数写 1 到 {MAX_DAYS}。", usage=True)
        elif word in BY_WORDS:
            by = BY_WORDS[word]
        elif word not in ("天", "days"):
            raise CommandError(f"看不懂「{word}」。", usage=True)
        index += 1
    return days, by


async def _key_name(ctx: Ctx, by: Dimension, key: int | str | None) -> str:
    if key is None:
        return UNASSIGNED
    if by == "staff":
        return str(key)
    if by == "channel":
        channel = await repo.channel_by_id(ctx.engine, int(key))
        return shown_name(channel.name) if channel else f"#{key}"
    if by == "group":
        group = await repo.group_by_id(ctx.engine, int(key))
        return shown_name(group.name) if group else f"#{key}"
    code = await repo.code_by_id(ctx.engine, int(key))
    return shown_name(code.name) if code else f"#{key}"


def percentile(sorted_values: Sequence[int], p: float) -> int:
    """The nearest-rank percentile of sorted values (not empty)."""
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


async def stats(ctx: Ctx) -> Outcome:
    days, by = parse_options(str(ctx.args.get("options") or ""))
    last = today(ctx)
    first = last - timedelta(days=days - 1)
    app = ctx.wecom_app
    rows = await repo.stats(ctx.engine, app, by, first, last)
    title = f"客户统计：近 {days} 天（{first:%Y-%m-%d} 至 {last:%Y-%m-%d}），按{BY_NAMES[by]}"
    if not rows:
        return Outcome.say(f"{title}\n这段时间没有新增或删除的客户。")
    by_day: dict[date, Totals] = defaultdict(Totals)
    by_key: dict[int | str | None, Totals] = defaultdict(Totals)
    overall = Totals()
    for row in rows:
        by_day[row.day].take(row)
        by_key[row.key].take(row)
        overall.take(row)
    lines = [title, "日期｜新增｜员工删除｜客户删除｜净增｜欢迎语 已发/未发"]
    shown_days = [first + timedelta(days=i) for i in range(days)]
    if days > EVERY_DAY_UP_TO:
        shown_days = [d for d in shown_days if d in by_day]
    for day in shown_days:
        t = by_day.get(day, Totals())
        lines.append(
            f"{day:%m-%d}｜{t.adds}｜{t.del_external}｜{t.del_follow}｜{t.net:+d}｜"
            f"{t.sent}/{t.missed}"
        )
    lines.append(f"合计：{overall.line()}")
    lines.append(f"按{BY_NAMES[by]}：")
    ranked = sorted(by_key.items(), key=lambda item: (-item[1].adds, str(item[0])))
    for key, totals in ranked:
        lines.append(f"· {await _key_name(ctx, by, key)}：{totals.line()}")
    latencies = await repo.welcome_latencies(ctx.engine, app, first, last)
    if latencies:
        lines.append(
            f"欢迎语耗时（{len(latencies)} 条）：P50 {percentile(latencies, 50)} ms，"
            f"P95 {percentile(latencies, 95)} ms，最长 {latencies[-1]} ms"
        )
    return Outcome.say("\n".join(lines))


def welcome_status(event: ContactEvent) -> str:
    status = event.welcome_status
    if status == "sent":
        return f"已发送（{event.welcome_ms} ms）" if event.welcome_ms is not None else "已发送"
    if status == "used":
        return "已被使用或过期（41051）"
    if status == "expired":
        return "超时未发"
    if status == "failed":
        return f"失败：{event.welcome_detail or '原因未知'}"
    if status == "sending":
        return "发送中断"
    return "没有欢迎语码，未发"


def followup_status(event: ContactEvent) -> str:
    if event.followup == "pending":
        return "备注处理中"
    if event.followup == "failed":
        return f"备注失败：{event.followup_detail or '原因未知'}"
    return f"备注「{event.remark}」" if event.remark else "无备注"


async def welcome_log(ctx: Ctx) -> Outcome:
    option = fold(str(ctx.args.get("filter") or ""))
    if option and option not in PROBLEM_WORDS:
        raise CommandError("只能写「问题」（只看没发出的欢迎语和失败的备注）。", usage=True)
    problems = bool(option)
    events = await repo.recent_events(
        ctx.engine, ctx.wecom_app, kind="add", limit=LOG_LIMIT, problems=problems
    )
    if not events:
        return Outcome.say("最近没有有问题的新增客户。" if problems else "还没有新增客户的记录。")
    codes: dict[int, str] = {}
    lines = [f"最近 {len(events)} 位新增客户{'（只看问题）' if problems else ''}：新的在前"]
    for event in events:
        if event.code_id is None:
            source = UNASSIGNED
        else:
            if event.code_id not in codes:
                code = await repo.code_by_id(ctx.engine, event.code_id)
                codes[event.code_id] = shown_name(code.name) if code else f"#{event.code_id}"
            source = f"活码 {codes[event.code_id]}"
        lines.append(
            f"· {local_time(ctx, event.at, '%m-%d %H:%M')}｜{event.userid} ← "
            f"客户 …{event.external_userid[-6:]}｜{source}｜欢迎语 {welcome_status(event)}｜"
            f"{followup_status(event)}"
        )
    return Outcome.say("\n".join(lines))


def specs() -> list[CommandSpec]:
    return [
        CommandSpec(
            name="contact.stats",
            area=AREA,
            words=("客户统计", "contact stats", "customer stats"),
            summary="每天新增、删除、净增的客户和欢迎语情况，按渠道、活码、接待组或员工",
            run=stats,
            params=(Param("options", "天数 按 渠道|活码|接待组|员工", "rest", required=False),),
            examples=("客户统计", "客户统计 30", "客户统计 7 按 活码", "客户统计 按 员工"),
            role="staff",
        ),
        CommandSpec(
            name="welcome.log",
            area=AREA,
            words=("欢迎语 记录", "welcome log"),
            summary="最近新增的客户：欢迎语发出了没有、用了多久、备注情况；「问题」只看问题",
            run=welcome_log,
            params=(Param("filter", "问题", required=False),),
            examples=("欢迎语 记录", "欢迎语 记录 问题"),
            role="staff",
        ),
    ]
