"""Group SOPs (群SOP), platform-neutral: what a rule's targets, schedule and content are, how
people write and read them, and which groups' creation day a firing looks at.

A rule (storage/sop_repo.py) names its groups (``targets``: all, a name keyword or pattern, an
owner, or one of our tags), its schedule (a scheduler trigger, or ``{"type": "after_created",
"days": N, "time": "HH:MM"}``: every day at that time, for the groups created N days before, by
the rule's time zone) and its content (``{"text", "attachments": [...]}``, each attachment a
material or a script of the library). Each firing (a job of kind :data:`KIND`, run by
``bot/sop_runner.py``) has WeCom create a group message task for every owner of target groups,
and reminds the owner in the app chat to confirm it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from typing import Any

from handlers.schedules import ScheduleError, describe_trigger, parse_when, zone

KIND = "sop"
MAX_TEXT_BYTES = 4000  # text.content of add_msg_template (unconfirmed; refused beyond)
MAX_ATTACHMENTS = 9
MAX_DAYS = 365
RULE_STATUS_NAMES = {
    "active": "启用",
    "paused": "已暂停",
    "done": "已执行完毕",
    "removed": "已删除",
}
EXECUTION_STATUS_NAMES = {
    "pending": "创建中",
    "created": "已创建，等待群主发送",
    "failed": "失败",
    "done": "群主已发送",
}
RESULT_NAMES = {
    "sent": "已发送",
    "not_sent": "未发送",
    "not_friend": "非好友",
    "cap": "已达接收上限",
    "failed": "无法发送",
}
SOURCE_NAMES = {"material": "素材", "script": "话术"}
ATTACHMENT_KINDS = {
    "image": "图片",
    "news": "图文",
    "link": "链接",
    "miniprogram": "小程序",
    "video": "视频",
}

_AFTER_CREATED = re.compile(r"建群(?:后)?第\s*(\d{1,3})\s*天\s*(\d{1,2}[:：]\d{2})")


def parse_schedule(text: str, tz_name: str, now: datetime) -> dict[str, Any]:
    """The schedule an admin means: "2026-11-22 09:00", "明天 09:00", "每天 09:00",
    "每周一 09:00", or "建群第3天 09:00" (3 days after each group was created). Raises
    ScheduleError (Chinese)."""
    words = text.strip()
    if m := _AFTER_CREATED.fullmatch(words):
        days = int(m.group(1))
        if days > MAX_DAYS:
            raise ScheduleError(f"建群后最多第 {MAX_DAYS} 天。")
        daily = parse_when(f"每天 {m.group(2)}", tz_name, now, repeating=True) or {}
        return {"type": "after_created", "days": days, "time": daily["time"]}
    try:
        trigger = parse_when(words, tz_name, now, repeating=True)
    except ScheduleError as exc:
        raise ScheduleError(f"{exc} 也可以写「建群第3天 09:00」。") from None
    if trigger is None:
        raise ScheduleError(
            "SOP 要有执行时间。要马上执行一次，先保存，再发送「SOP 立即执行 <名称>」。"
        )
    return trigger


def job_trigger(schedule: Mapping[str, Any]) -> dict[str, Any]:
    """The scheduler trigger of a rule's job: an "after_created" rule fires every day."""
    if schedule.get("type") == "after_created":
        return {"type": "daily", "time": str(schedule.get("time", ""))}
    return dict(schedule)


def creation_window(
    schedule: Mapping[str, Any], tz_name: str, fire_at: datetime
) -> tuple[datetime, datetime] | None:
    """For an "after_created" rule, the UTC span of the local day N days before the firing's
    local day (start included, end not); None for other rules."""
    if schedule.get("type") != "after_created":
        return None
    tz = zone(tz_name)
    day = fire_at.astimezone(tz).date() - timedelta(days=int(schedule.get("days", 0)))
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def describe_targets(targets: Mapping[str, Any]) -> str:
    kind = targets.get("type")
    value = targets.get("value", "")
    if kind == "name":
        if "*" in str(value) or "?" in str(value):
            return f"群名匹配「{value}」的客户群"
        return f"群名包含「{value}」的客户群"
    if kind == "owner":
        return f"群主 {value} 的客户群"
    if kind == "tag":
        return f"标签「{value}」的客户群"
    return "全部客户群"


def describe_schedule(schedule: Mapping[str, Any]) -> str:
    if schedule.get("type") == "after_created":
        days = int(schedule.get("days", 0))
        return f"建群第 {days} 天 {schedule.get('time', '')}（建群当天算第 0 天）"
    if schedule.get("type") == "once":
        return f"一次：{describe_trigger(schedule)}"
    return describe_trigger(schedule)


def describe_attachment(item: Mapping[str, Any]) -> str:
    kind = ATTACHMENT_KINDS.get(str(item.get("kind")), str(item.get("kind")))
    source = SOURCE_NAMES.get(str(item.get("source")), str(item.get("source")))
    title = item.get("title") or item.get("ref") or ""
    return f"[{kind}] {source}「{title}」"


def describe_content(content: Mapping[str, Any]) -> str:
    """The content as people read it: the text, then one line per attachment."""
    lines = [str(content.get("text") or "（无文字）")]
    for item in content.get("attachments") or []:
        lines.append(f"附件：{describe_attachment(item)}")
    return "\n".join(lines)


def text_bytes(text: str) -> int:
    return len(text.encode("utf-8"))
