"""Times as admins type them, read in the account's time zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from handlers.schedules import ScheduleError, describe_trigger, parse_when

NOW = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
TZ = "Asia/Shanghai"


@pytest.mark.parametrize(
    ("typed", "trigger"),
    [
        ("现在", None),
        ("now", None),
        ("2026-11-22 09:00", {"type": "once", "at": "2026-11-22 09:00"}),
        ("2026年11月22日 10:00", {"type": "once", "at": "2026-11-22 10:00"}),
        ("明天 09:00", {"type": "once", "at": "2026-11-22 09:00"}),
        ("09:00", {"type": "once", "at": "2026-11-22 09:00"}),  # now: so tomorrow
        ("09:00:30", {"type": "once", "at": "2026-11-21 09:00:30"}),
        ("今天 18：30", {"type": "once", "at": "2026-11-21 18:30"}),
        ("每天 09:00", {"type": "daily", "time": "09:00"}),
        ("每周日 20:15", {"type": "weekly", "weekday": 6, "time": "20:15"}),
    ],
)
def test_what_admins_type(typed: str, trigger: dict[str, object] | None) -> None:
    assert parse_when(typed, TZ, NOW, repeating=True) == trigger


def test_the_same_words_in_another_zone_are_another_instant() -> None:
    # 01:00 UTC is 20:00 the day before in New York: "21:00" is still today there.
    assert parse_when("21:00", "America/New_York", NOW) == {
        "type": "once",
        "at": "2026-11-20 21:00",
    }


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("2026-02-30 09:00", "不存在"),
        ("09:61", "不存在"),
        ("今天 08:00", "已经过去"),
        ("2020-01-01 09:00", "已经过去"),
        ("昨天", "看不懂"),
        ("每天 09:00", "看不懂"),  # repeating schedules only where asked for
    ],
)
def test_what_is_refused_and_why(typed: str, why: str) -> None:
    with pytest.raises(ScheduleError, match=why):
        parse_when(typed, TZ, NOW)


def test_triggers_in_words() -> None:
    assert describe_trigger({"type": "weekly", "weekday": 0, "time": "09:00"}) == "每周一 09:00"
    assert describe_trigger({"type": "daily", "time": "07:30"}) == "每天 07:30"
