"""One firing of a group SOP against a scripted WeCom client: owners served by an earlier attempt
are skipped on a retry, an owner the platform refuses fails alone, more than 2000 groups take
several calls (a retry makes only the missing ones), paused and removed rules do nothing, and
an "after_created" rule reaches the groups of one local creation day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import sop_runner
from bot.sop_runner import SopContentError, SopRunner
from channels.errors import OutcomeUnknown, PlatformRejected, PlatformUnavailable
from handlers.group_sop import creation_window, job_trigger, parse_schedule
from handlers.messages import Message, Text
from handlers.schedules import RetryLater, ScheduleError
from storage import sop_repo as repo
from storage.schedule_repo import Job

FIRE = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
SHANGHAI = ZoneInfo("Asia/Shanghai")


class ScriptedClient:
    """Answers add_msg_template from a script of failures per sender, and records the calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str], str, list[dict[str, Any]]]] = []
        self.failures: dict[str, list[Exception]] = {}
        self.tasks: dict[str, dict[str, Any]] = {}

    async def add_group_msg_template(
        self, sender: str, chat_ids: list[str], text: str, attachments: list[dict[str, Any]]
    ) -> tuple[str, list[str]]:
        self.calls.append((sender, list(chat_ids), text, attachments))
        planned = self.failures.get(sender)
        if planned:
            raise planned.pop(0)
        msgid = f"msg{len(self.calls)}"
        self.tasks[msgid] = {"sender": sender, "chat_ids": list(chat_ids), "status": 0}
        return msgid, [c for c in chat_ids if c.endswith("gone")]

    async def groupmsg_task(self, msgid: str) -> list[dict[str, Any]]:
        task = self.tasks[msgid]
        return [{"userid": task["sender"], "status": task["status"]}]

    async def groupmsg_send_result(self, msgid: str, userid: str) -> list[dict[str, Any]]:
        task = self.tasks[msgid]
        status = 1 if task["status"] == 2 else 0
        return [{"chat_id": c, "userid": userid, "status": status} for c in task["chat_ids"]]


class Outbox:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str, list[Message]]] = []

    async def queue(self, platform: str, account: str, chat: str, messages: list[Message]) -> None:
        self.sent.append((platform, account, chat, messages))

    def to(self, chat: str) -> list[str]:
        return [
            m.content for _, _, c, ms in self.sent if c == chat for m in ms if isinstance(m, Text)
        ]


async def _rule(engine: AsyncEngine, schedule: dict[str, Any] | None = None) -> int:
    rule_id = await repo.add_rule(
        engine,
        app="corp",
        name="周报",
        targets={"type": "all"},
        schedule=schedule or {"type": "daily", "time": "09:00"},
        content={"text": "本周福利", "attachments": []},
        timezone="Asia/Shanghai",
        created_by="wecom:corp:lilei",
        chat="wecom:corp:lilei",
    )
    assert rule_id is not None
    return rule_id


async def _group(engine: AsyncEngine, chat_id: str, owner: str, created: datetime = FIRE) -> None:
    await repo.save_group(
        engine, app="corp", chat_id=chat_id, name=f"群{chat_id}", owner=owner, created_at=created
    )


def _job(rule_id: int, manual: bool = False, at: datetime = FIRE) -> Job:
    payload: dict[str, Any] = {"rule_id": rule_id}
    if manual:
        payload.update(manual=True, at=at.isoformat())
    return Job(
        1,
        "corp",
        "sop",
        "群SOP 周报",
        payload,
        {},
        "Asia/Shanghai",
        "scheduled",
        None,
        1,
        "",
        "wecom:corp:lilei",
    )


def _runner(engine: AsyncEngine, client: ScriptedClient, outbox: Outbox) -> SopRunner:
    return SopRunner(engine, {"corp": client}, outbox.queue, None)


async def test_a_retry_skips_owners_already_served(engine: AsyncEngine) -> None:
    rule_id = await _rule(engine)
    await _group(engine, "wrA1", "alice")
    await _group(engine, "wrB1", "bob")
    await _group(engine, "wrB2", "bob")
    client, outbox = ScriptedClient(), Outbox()
    client.failures["bob"] = [PlatformUnavailable("-1: system busy")]
    runner = _runner(engine, client, outbox)
    with pytest.raises(RetryLater, match="已为 1 位群主创建任务"):
        await runner.run(_job(rule_id), FIRE)
    assert [c[0] for c in client.calls] == ["alice", "bob"]
    assert len(outbox.to("alice")) == 1 and outbox.to("bob") == []

    line = await runner.run(_job(rule_id), FIRE)
    # alice's task is not made a second time; bob's is made now.
    assert [c[0] for c in client.calls] == ["alice", "bob", "bob"]
    assert client.calls[2][1] == ["wrB1", "wrB2"]
    assert "1 位群主已创建群发任务（2 个群）" in line and "1 位群主在之前的尝试中已处理" in line
    (reminder,) = outbox.to("bob")
    assert "【群SOP提醒】周报" in reminder and "2 个客户群" in reminder
    assert "请在企业微信客户端「群发助手」中确认发送" in reminder and "本周福利" in reminder
    assert len(outbox.to("alice")) == 1
    statuses = {e.owner: e.status for e in await repo.executions(engine, rule_id)}
    assert statuses == {"alice": "created", "bob": "created"}


async def test_a_refused_owner_fails_alone_and_is_reported(engine: AsyncEngine) -> None:
    rule_id = await _rule(engine)
    await _group(engine, "wrA1", "alice")
    await _group(engine, "wrB1", "bob")
    await _group(engine, "wrC1gone", "carol")
    await _group(engine, "wrC2", "carol")
    client, outbox = ScriptedClient(), Outbox()
    client.failures["alice"] = [PlatformRejected(40003, "invalid userid")]
    client.failures["bob"] = [OutcomeUnknown("POST add_msg_template: HTTP 502")]
    line = await _runner(engine, client, outbox).run(_job(rule_id), FIRE)
    assert "1 位群主已创建群发任务（1 个群）" in line and "2 位群主失败" in line
    assert "40003" in line
    by_owner = {e.owner: e for e in await repo.executions(engine, rule_id)}
    assert by_owner["alice"].status == "failed" and "40003" in by_owner["alice"].detail
    assert by_owner["bob"].status == "failed" and "可能已经创建" in by_owner["bob"].detail
    assert by_owner["carol"].status == "created" and by_owner["carol"].fail_list == ["wrC1gone"]
    # The person who made the rule hears about the failures; carol is reminded of 1 group.
    (told,) = outbox.to("lilei")
    assert told == line
    (reminder,) = outbox.to("carol")
    assert "1 个客户群" in reminder and "1 个群无法发送" in reminder

    # A retry of the firing (another owner's busy platform, say) leaves failed owners alone.
    await _runner(engine, client, outbox).run(_job(rule_id), FIRE)
    assert len(client.calls) == 3


async def test_every_owner_refused_fails_the_firing(engine: AsyncEngine) -> None:
    rule_id = await _rule(engine)
    await _group(engine, "wrA1", "alice")
    client, outbox = ScriptedClient(), Outbox()
    client.failures["alice"] = [PlatformRejected(48002, "api forbidden")]
    with pytest.raises(SopContentError, match="48002"):
        await _runner(engine, client, outbox).run(_job(rule_id), FIRE)
    assert outbox.sent == []  # the scheduler reports the failure


async def test_groups_beyond_one_call_take_several_calls(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sop_runner.GROUP_TASK_CHATS == 2000  # the platform's limit per call
    monkeypatch.setattr(sop_runner, "GROUP_TASK_CHATS", 2)
    rule_id = await _rule(engine)
    for i in range(5):
        await _group(engine, f"wr{i}", "alice")
    client, outbox = ScriptedClient(), Outbox()
    runner = _runner(engine, client, outbox)
    original = client.add_group_msg_template
    calls = 0

    async def busy_on_second(*args: Any) -> tuple[str, list[str]]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise PlatformUnavailable("-1: system busy")
        return await original(*args)

    client.add_group_msg_template = busy_on_second
    with pytest.raises(RetryLater):
        await runner.run(_job(rule_id), FIRE)
    assert outbox.sent == []  # no reminder before every call is made
    await runner.run(_job(rule_id), FIRE)
    # The first call is not repeated by the retry; the rest are made.
    assert [c[1] for c in client.calls] == [["wr0", "wr1"], ["wr2", "wr3"], ["wr4"]]
    (execution,) = await repo.executions(engine, rule_id)
    assert execution.status == "created" and execution.msgids == ["msg1", "msg2", "msg3"]
    (reminder,) = outbox.to("alice")
    assert "5 个客户群" in reminder


async def test_manual_runs_in_one_second_are_two_firings(engine: AsyncEngine) -> None:
    rule_id = await _rule(engine)
    await _group(engine, "wrA1", "alice")
    client, outbox = ScriptedClient(), Outbox()
    runner = _runner(engine, client, outbox)
    # Both one-off jobs fire at the same second; each asked-for instant is its own firing.
    await runner.run(_job(rule_id, manual=True, at=FIRE + timedelta(microseconds=1)), FIRE)
    await runner.run(_job(rule_id, manual=True, at=FIRE + timedelta(microseconds=2)), FIRE)
    assert [c[0] for c in client.calls] == ["alice", "alice"]
    assert len(await repo.executions(engine, rule_id)) == 2


async def test_content_that_is_gone_fails_the_firing_before_any_task(engine: AsyncEngine) -> None:
    rule_id = await repo.add_rule(
        engine,
        app="corp",
        name="海报",
        targets={"type": "all"},
        schedule={"type": "daily", "time": "09:00"},
        content={
            "text": "",
            "attachments": [
                {"source": "material", "ref": "海报", "account": "demo", "kind": "image"}
            ],
        },
        timezone="Asia/Shanghai",
        created_by="",
        chat="",
    )
    assert rule_id is not None
    await _group(engine, "wrA1", "alice")
    client, outbox = ScriptedClient(), Outbox()
    with pytest.raises(SopContentError, match="附件素材「海报」已不存在"):
        await _runner(engine, client, outbox).run(_job(rule_id), FIRE)
    assert client.calls == [] and await repo.executions(engine, rule_id) == []


async def test_paused_and_removed_rules_do_nothing(engine: AsyncEngine) -> None:
    rule_id = await _rule(engine)
    await _group(engine, "wrA1", "alice")
    client, outbox = ScriptedClient(), Outbox()
    runner = _runner(engine, client, outbox)
    await repo.set_status(engine, rule_id, "paused", allowed=("active",))
    assert "已暂停" in await runner.run(_job(rule_id), FIRE)
    await repo.set_status(engine, rule_id, "removed", allowed=repo.LIVE)
    assert "已删除" in await runner.run(_job(rule_id), FIRE)
    assert client.calls == [] and outbox.sent == []


async def test_after_created_reaches_one_local_creation_day(engine: AsyncEngine) -> None:
    schedule = {"type": "after_created", "days": 3, "time": "09:00"}
    rule_id = await _rule(engine, schedule)
    local_fire = FIRE.astimezone(SHANGHAI)
    # Created 3 local days before the firing: at 00:30 and 23:30 Shanghai time (the latter is
    # still the previous day in UTC); the neighbours on days 2 and 4 are left out.
    day = local_fire.replace(hour=0, minute=30) - timedelta(days=3)
    await _group(engine, "wrEarly", "alice", day.astimezone(UTC))
    await _group(engine, "wrLate", "alice", (day + timedelta(hours=23)).astimezone(UTC))
    await _group(engine, "wrDay2", "alice", (day + timedelta(days=1)).astimezone(UTC))
    await _group(engine, "wrDay4", "alice", (day - timedelta(minutes=31)).astimezone(UTC))
    client, outbox = ScriptedClient(), Outbox()
    await _runner(engine, client, outbox).run(_job(rule_id), FIRE)
    (call,) = client.calls
    assert sorted(call[1]) == ["wrEarly", "wrLate"]
    assert job_trigger(schedule) == {"type": "daily", "time": "09:00"}
    assert creation_window({"type": "daily", "time": "09:00"}, "UTC", FIRE) is None


async def test_refresh_stores_group_results_once_the_owner_sent(engine: AsyncEngine) -> None:
    rule_id = await _rule(engine)
    await _group(engine, "wrA1", "alice")
    await _group(engine, "wrA2gone", "alice")
    client, outbox = ScriptedClient(), Outbox()
    runner = _runner(engine, client, outbox)
    await runner.run(_job(rule_id, manual=True), FIRE)
    assert outbox.to("lilei") == ["群SOP「周报」：1 位群主已创建群发任务（1 个群）。"]
    await runner.refresh(rule_id)
    (waiting,) = await repo.executions(engine, rule_id)
    assert waiting.status == "created" and waiting.results == {"wrA2gone": "failed"}
    client.tasks["msg1"]["status"] = 2
    await runner.refresh(rule_id)
    (done,) = await repo.executions(engine, rule_id)
    assert done.status == "done"
    assert done.results == {"wrA1": "sent", "wrA2gone": "failed"}


def test_schedules_as_admins_write_them() -> None:
    now = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
    assert parse_schedule("建群第3天 9:30", "Asia/Shanghai", now) == {
        "type": "after_created",
        "days": 3,
        "time": "09:30",
    }
    assert parse_schedule("每周一 09:00", "Asia/Shanghai", now)["type"] == "weekly"
    with pytest.raises(ScheduleError, match="立即执行"):
        parse_schedule("现在", "Asia/Shanghai", now)
    with pytest.raises(ScheduleError, match="建群第3天"):
        parse_schedule("下周", "Asia/Shanghai", now)
    with pytest.raises(ScheduleError):
        parse_schedule("建群第3天 25:00", "Asia/Shanghai", now)
