"""Schedules as people type them and as jobs keep them, in a time zone.

A trigger is ``{"type": "once", "at": "2026-11-22 09:00"}``, ``{"type": "daily", "time": "09:00"}``
or ``{"type": "weekly", "weekday": 0..6 (Monday 0), "time": "09:00"}``, read in the job's zone
(default Asia/Shanghai). :func:`parse_when` reads what an admin writes in chat.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

DEFAULT_TIMEZONE = "Asia/Shanghai"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ScheduleError(ValueError):
    """A schedule that cannot be understood; the message (Chinese) says why."""


class RetryLater(Exception):
    """The work failed in a way worth trying again (the platform was busy or unreachable)."""


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"不认识的时区「{name}」。") from None


def _hour_minute(text: str) -> tuple[int, int]:
    try:
        hour, minute = (int(p) for p in str(text).replace("：", ":").split(":"))
    except ValueError:
        raise ScheduleError(f"时间「{text}」要写成 时:分，如 09:30。") from None
    if not (0 <= hour < 24 and 0 <= minute < 60):
        raise ScheduleError(f"时间「{text}」不存在。")
    return hour, minute


def next_fire(trigger: Mapping[str, Any], tz_name: str, after: datetime) -> datetime | None:
    """The first firing strictly after ``after`` (UTC), or None when there is none."""
    tz = zone(tz_name)
    kind = trigger.get("type")
    if kind == "once":
        try:
            local = datetime.fromisoformat(str(trigger["at"])).replace(tzinfo=tz)
        except (KeyError, ValueError):
            raise ScheduleError("一次性任务的时间要写成 2026-11-22 09:00。") from None
        at = local.astimezone(UTC)
        return at if at > after else None
    if kind in ("daily", "weekly"):
        hour, minute = _hour_minute(trigger.get("time", ""))
        fields: dict[str, Any] = {"hour": hour, "minute": minute, "second": 0}
        if kind == "weekly":
            day = trigger.get("weekday")
            if not isinstance(day, int) or not 0 <= day <= 6:
                raise ScheduleError("每周任务要指定星期几。")
            fields["day_of_week"] = WEEKDAYS[day]
        cron = CronTrigger(timezone=tz, **fields)
        found = cron.get_next_fire_time(None, after + timedelta(seconds=1))
        return found.astimezone(UTC) if found is not None else None
    raise ScheduleError(f"不认识的计划类型「{kind}」。")


def first_fire(trigger: Mapping[str, Any], tz_name: str, now: datetime) -> datetime | None:
    """The first firing from ``now`` on (a one-off job in the past has none)."""
    return next_fire(trigger, tz_name, now - timedelta(seconds=1))


def describe_time(at: datetime | None, tz_name: str) -> str:
    """A UTC time as people read it, in the job's zone: 2026-11-22 09:00（Asia/Shanghai）."""
    if at is None:
        return "无"
    return f"{at.astimezone(zone(tz_name)).strftime('%Y-%m-%d %H:%M')}（{tz_name}）"


WEEKDAY_WORDS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
NOW_WORDS = frozenset({"现在", "立即", "马上", "立刻", "now"})
_CLOCK = r"(\d{1,2}[:：]\d{2})(?:[:：](\d{2}))?"
_DATE_TIME = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?\s*" + _CLOCK)
_DAY_TIME = re.compile(r"(今天|明天|后天)?\s*" + _CLOCK)
_DAILY = re.compile(r"(?:每天|每日|daily)\s*(\d{1,2}[:：]\d{2})")
_WEEKLY = re.compile(r"(?:每周|每星期|每礼拜)([一二三四五六日天])\s*(\d{1,2}[:：]\d{2})")


def parse_when(
    text: str, tz_name: str, now: datetime, *, repeating: bool = False
) -> dict[str, Any] | None:
    """The trigger an admin means: None for "现在"; "2026-11-22 09:00", "明天 09:00" or "09:00"
    (today, or tomorrow once past) for one time; with ``repeating``, also "每天 09:00" and
    "每周一 09:00". Raises ScheduleError (Chinese) for anything else or a time already past."""
    words = text.strip()
    if words.lower() in NOW_WORDS:
        return None
    tz = zone(tz_name)
    local_now = now.astimezone(tz)
    if repeating and (m := _DAILY.fullmatch(words)):
        hour, minute = _hour_minute(m.group(1))
        return {"type": "daily", "time": f"{hour:02d}:{minute:02d}"}
    if repeating and (m := _WEEKLY.fullmatch(words)):
        hour, minute = _hour_minute(m.group(2))
        return {
            "type": "weekly",
            "weekday": WEEKDAY_WORDS[m.group(1)],
            "time": f"{hour:02d}:{minute:02d}",
        }
    if m := _DATE_TIME.fullmatch(words):
        hour, minute = _hour_minute(m.group(4))
        second = _second(m.group(5))
        try:
            local = datetime(
                int(m.group(1)), int(m.group(2)), int(m.group(3)), hour, minute, second
            )
        except ValueError:
            raise ScheduleError(f"日期「{words}」不存在。") from None
    elif m := _DAY_TIME.fullmatch(words):
        hour, minute = _hour_minute(m.group(2))
        offset = {"今天": 0, "明天": 1, "后天": 2}.get(m.group(1) or "", 0)
        day = local_now.date() + timedelta(days=offset)
        local = datetime(day.year, day.month, day.day, hour, minute, _second(m.group(3)))
        if m.group(1) is None and local.replace(tzinfo=tz) <= local_now:
            local += timedelta(days=1)  # a bare time already past today means tomorrow
    else:
        more = "、「每天 09:00」、「每周一 09:00」" if repeating else ""
        raise ScheduleError(
            f"看不懂时间「{words}」。可以写「现在」、「2026-11-22 09:00」、「明天 09:00」{more}。"
        )
    if local.replace(tzinfo=tz) <= local_now:
        raise ScheduleError(f"时间 {local:%Y-%m-%d %H:%M} 已经过去了。")
    return {
        "type": "once",
        "at": local.strftime("%Y-%m-%d %H:%M:%S" if local.second else "%Y-%m-%d %H:%M"),
    }


def _second(text: str | None) -> int:
    second = int(text or 0)
    if second > 59:
        raise ScheduleError(f"秒数「{text}」不存在。")
    return second


def describe_trigger(trigger: Mapping[str, Any]) -> str:
    """A trigger in words: 2026-11-22 09:00 / 每天 09:00 / 每周一 09:00."""
    kind = trigger.get("type")
    if kind == "once":
        return str(trigger.get("at", ""))
    if kind == "daily":
        return f"每天 {trigger.get('time', '')}"
    if kind == "weekly":
        day = "一二三四五六日"[int(trigger.get("weekday", 0))]
        return f"每周{day} {trigger.get('time', '')}"
    return str(kind)
