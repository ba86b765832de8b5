"""The scheduler inside the running bot: a job that keeps failing is retried, then reported into
the chat it was made in (the admin's WeCom app chat, as the fake records it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import app as bot_app
from bot.app import SCHEDULER
from handlers.schedules import RetryLater
from storage import schedule_repo
from storage.schedule_repo import Job
from tests.helpers.stack import running_stack
from tests.helpers.staff import WecomPerson

FAST = {
    "OPSBOT_SCHEDULER__POLL_SECONDS": "0.2",
    "OPSBOT_SCHEDULER__RETRY_SECONDS": "0.1",
    "OPSBOT_SCHEDULER__MAX_ATTEMPTS": "3",
}


async def test_a_failing_job_is_retried_then_reported_in_chat(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tries: list[datetime] = []

    async def busy_platform(job: Job, fire_at: datetime) -> str:
        tries.append(fire_at)
        raise RetryLater("平台繁忙（45009）")

    monkeypatch.setitem(bot_app.JOB_KINDS, "probe", busy_platform)
    async with running_stack(tmp_path, db_url, staff=True, env=FAST) as stack:
        admin = WecomPerson(stack, "lilei")
        soon = datetime.now(UTC) + timedelta(seconds=0.5)
        job = await stack.app[SCHEDULER].add(
            account="demo",
            kind="probe",
            name="晚间群发",
            payload={},
            trigger={"type": "once", "at": soon.strftime("%Y-%m-%d %H:%M:%S")},
            timezone="UTC",
            created_by="wecom:corp:lilei",
            chat="wecom:corp:lilei",
        )
        (report,) = await admin.answers()
        assert (
            report["content"] == "任务「晚间群发」执行失败：试了 3 次都没有成功：平台繁忙（45009）"
        )
        assert len(tries) == 3 and len(set(tries)) == 1  # one firing, tried three times
        (run,) = await schedule_repo.runs(stack.app[bot_app.ENGINE], job.id)
        assert (run.status, run.attempts) == ("failed", 3)
