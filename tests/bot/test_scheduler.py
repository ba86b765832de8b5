"""Timed work over a real database: schedules in the job's time zone, one run per firing
however many schedulers share the database, restarts, misfires, retries and interrupted runs."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from bot.scheduler import JobScheduler
from handlers.schedules import RetryLater, ScheduleError, describe_time, first_fire, next_fire
from storage import schedule_repo
from storage.db import create_engine
from storage.models import JobRunRow
from storage.schedule_repo import Job

SHANGHAI = "Asia/Shanghai"


def test_schedules_are_read_in_the_jobs_time_zone() -> None:
    after = datetime(2026, 11, 21, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai, a Saturday
    once = {"type": "once", "at": "2026-11-21 09:30"}
    assert next_fire(once, SHANGHAI, after) == datetime(2026, 11, 21, 1, 30, tzinfo=UTC)
    assert next_fire(once, "UTC", after) == datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
    assert next_fire(once, SHANGHAI, datetime(2026, 11, 21, 2, 0, tzinfo=UTC)) is None
    daily = {"type": "daily", "time": "07:00"}
    assert next_fire(daily, SHANGHAI, after) == datetime(2026, 11, 21, 23, 0, tzinfo=UTC)
    # Strictly after: a daily job that just fired moves a day on.
    fired = datetime(2026, 11, 21, 23, 0, tzinfo=UTC)
    assert next_fire(daily, SHANGHAI, fired) == fired + timedelta(days=1)
    monday = {"type": "weekly", "weekday": 0, "time": "10:00"}
    assert next_fire(monday, SHANGHAI, after) == datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    assert first_fire(daily, SHANGHAI, fired) == fired
    assert describe_time(fired, SHANGHAI) == "2026-11-22 07:00（Asia/Shanghai）"
    for bad in ({"type": "daily", "time": "25:00"}, {"type": "weekly", "time": "09:00"},
                {"type": "hourly"}, {"type": "once", "at": "tomorrow"}):  # fmt: skip
        with pytest.raises(ScheduleError):
            next_fire(bad, SHANGHAI, after)
    with pytest.raises(ScheduleError, match="时区"):
        next_fire(daily, "Mars/Olympus", after)


def _soon(seconds: float, tz: str = "UTC") -> dict[str, Any]:
    at = datetime.now(ZoneInfo(tz)) + timedelta(seconds=seconds)
    return {"type": "once", "at": at.strftime("%Y-%m-%d %H:%M:%S")}


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[int, datetime]] = []
        self.reports: list[str] = []

    async def handle(self, job: Job, fire_at: datetime) -> str:
        self.calls.append((job.id, fire_at))
        return "done"

    async def report(self, job: Job, text: str) -> None:
        self.reports.append(text)


@asynccontextmanager
async def scheduler(
    db_url: str, handlers: dict[str, Callable[..., Any]], recorder: Recorder, **options: Any
) -> AsyncIterator[JobScheduler]:
    """A scheduler with its own engine, as a separate server process would have."""
    engine = create_engine(db_url)
    jobs = JobScheduler(
        engine,
        handlers,
        owner=f"test-{id(recorder)}-{time.monotonic()}",
        report=recorder.report,
        poll_seconds=0.2,
        **options,
    )
    await jobs.start()
    try:
        yield jobs
    finally:
        await jobs.stop()
        await engine.dispose()


async def _until(check: Callable[[], bool], within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_two_schedulers_on_one_database_run_each_firing_once(db_url: str) -> None:
    recorder = Recorder()
    handlers = {"note": recorder.handle}
    async with (
        scheduler(db_url, handlers, recorder) as one,
        scheduler(db_url, handlers, recorder) as two,
    ):
        ids = []
        for number in range(20):
            where = one if number % 2 else two
            job = await where.add(
                account="demo", kind="note", name=f"n{number}", payload={}, trigger=_soon(1.0),
                timezone="UTC",
            )  # fmt: skip
            ids.append(job.id)
        await _until(lambda: len(recorder.calls) >= 20)
        await asyncio.sleep(1.0)  # give a second run every chance to show up
        assert Counter(job_id for job_id, _ in recorder.calls) == Counter(ids)
        assert one.fired + two.fired == 20
        assert one.fired > 0 and two.fired > 0  # both servers took part
        for job_id in ids:
            runs = await schedule_repo.runs(one._engine, job_id)
            assert [r.status for r in runs] == ["ok"]
            done = await schedule_repo.job(one._engine, job_id)
            assert done is not None and done.status == "done" and done.next_run_at is None


async def test_a_job_due_while_no_server_ran_fires_after_the_restart(db_url: str) -> None:
    recorder = Recorder()
    handlers = {"note": recorder.handle}
    async with scheduler(db_url, handlers, recorder) as first:
        job = await first.add(
            account="demo", kind="note", name="later", payload={}, trigger=_soon(1.5, SHANGHAI),
            timezone=SHANGHAI,
        )  # fmt: skip
    assert recorder.calls == []  # the server stopped before the time
    await asyncio.sleep(2.0)
    async with scheduler(db_url, handlers, recorder):
        await _until(lambda: len(recorder.calls) == 1)
    assert recorder.calls[0][0] == job.id


async def test_a_firing_past_the_grace_is_reported_not_run(db_url: str) -> None:
    recorder = Recorder()
    engine = create_engine(db_url)
    long_ago = datetime.now(UTC) - timedelta(hours=3)
    job_id = await schedule_repo.add_job(
        engine, account="demo", kind="note", name="早安提醒", payload={},
        trigger={"type": "daily", "time": long_ago.strftime("%H:%M")}, timezone="UTC",
        next_run_at=long_ago.replace(second=0, microsecond=0), created_by="lilei", chat="",
    )  # fmt: skip
    await engine.dispose()
    async with scheduler(db_url, {"note": recorder.handle}, recorder) as jobs:
        await _until(lambda: len(recorder.reports) == 1)
        assert recorder.calls == []
        assert "早安提醒" in recorder.reports[0] and "没有执行" in recorder.reports[0]
        runs = await schedule_repo.runs(jobs._engine, job_id)
        assert [r.status for r in runs] == ["missed"]
        moved = await schedule_repo.job(jobs._engine, job_id)
        assert moved is not None and moved.next_run_at is not None
        assert moved.next_run_at > datetime.now(UTC)  # on to the next day, still scheduled


async def test_platform_failures_are_retried_then_reported(db_url: str) -> None:
    recorder = Recorder()
    attempts: Counter[str] = Counter()

    async def flaky(job: Job, fire_at: datetime) -> str:
        attempts[job.name] += 1
        if job.name == "broken" or attempts[job.name] < 3:
            raise RetryLater("平台繁忙")
        return "sent"

    async with scheduler(
        db_url, {"send": flaky}, recorder, retry_seconds=0.1, max_attempts=3
    ) as jobs:
        ok = await jobs.add(account="demo", kind="send", name="flaky", payload={},
                            trigger=_soon(0.5), timezone="UTC")  # fmt: skip
        bad = await jobs.add(account="demo", kind="send", name="broken", payload={},
                             trigger=_soon(0.5), timezone="UTC")  # fmt: skip

        async def statuses(job_id: int) -> list[str]:
            return [r.status for r in await schedule_repo.runs(jobs._engine, job_id)]

        deadline = time.monotonic() + 15
        while (await statuses(ok.id), await statuses(bad.id)) != (["ok"], ["failed"]):
            assert time.monotonic() < deadline, (await statuses(ok.id), await statuses(bad.id))
            await asyncio.sleep(0.1)
        assert attempts == {"flaky": 3, "broken": 3}
        (failed,) = await schedule_repo.runs(jobs._engine, bad.id)
        assert failed.attempts == 3
        assert recorder.reports == ["任务「broken」执行失败：试了 3 次都没有成功：平台繁忙"]


async def test_a_run_cut_off_by_a_crash_is_reported_and_not_redone(db_url: str) -> None:
    recorder = Recorder()
    engine = create_engine(db_url)
    job_id = await schedule_repo.add_job(
        engine, account="demo", kind="note", name="群发", payload={},
        trigger={"type": "once", "at": "2026-01-01 09:00"}, timezone=SHANGHAI,
        next_run_at=None, created_by="lilei", chat="",
    )  # fmt: skip
    fire_at = datetime(2026, 1, 1, 1, 0, tzinfo=UTC)
    job = await schedule_repo.job(engine, job_id)
    assert job is not None
    run_id = await schedule_repo.claim(
        engine, job, fire_at, "a-dead-process", next_run_at=None, job_status="done"
    )
    assert run_id is not None
    async with engine.begin() as conn:
        await conn.execute(
            update(JobRunRow)
            .where(JobRunRow.id == run_id)
            .values(started_at=datetime.now(UTC) - timedelta(hours=1))
        )
    await engine.dispose()
    async with scheduler(db_url, {"note": recorder.handle}, recorder, lease_seconds=60) as jobs:
        await _until(lambda: len(recorder.reports) == 1)
        assert "中断" in recorder.reports[0] and "2026-01-01 09:00" in recorder.reports[0]
        assert [r.status for r in await schedule_repo.runs(jobs._engine, job_id)] == ["in_doubt"]
    assert recorder.calls == []


async def test_a_job_cancelled_before_its_firing_never_runs(db_url: str) -> None:
    recorder = Recorder()
    async with scheduler(db_url, {"note": recorder.handle}, recorder) as jobs:
        soon = (datetime.now(UTC) + timedelta(seconds=1)).astimezone(ZoneInfo(SHANGHAI))
        trigger = {"type": "once", "at": soon.strftime("%Y-%m-%d %H:%M:%S")}
        job = await jobs.add(account="demo", kind="note", name="取消", payload={}, trigger=trigger)
        assert await jobs.cancel(job.id)
        assert not await jobs.cancel(job.id)  # already ended
        await asyncio.sleep(1.6)
        assert recorder.calls == []
        assert await schedule_repo.runs(jobs._engine, job.id) == []


async def test_a_paused_daily_job_resumes_at_its_next_time(db_url: str) -> None:
    recorder = Recorder()
    async with scheduler(db_url, {"note": recorder.handle}, recorder) as jobs:
        job = await jobs.add(
            account="demo", kind="note", name="日报", payload={},
            trigger={"type": "daily", "time": "09:00"},
        )  # fmt: skip
        assert await jobs.pause(job.id)
        paused = await schedule_repo.job(jobs._engine, job.id)
        assert paused is not None and (paused.status, paused.next_run_at) == ("paused", None)
        assert not await jobs.pause(job.id)
        assert await jobs.resume(job.id)
        resumed = await schedule_repo.job(jobs._engine, job.id)
        assert resumed is not None and resumed.status == "scheduled"
        assert resumed.next_run_at == job.next_run_at


async def test_a_firing_loses_to_a_change_made_after_it_was_read(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        job_id = await schedule_repo.add_job(
            engine, account="demo", kind="note", name="x", payload={},
            trigger={"type": "daily", "time": "09:00"}, timezone=SHANGHAI,
            next_run_at=datetime(2026, 1, 1, 1, 0, tzinfo=UTC), created_by="", chat="",
        )  # fmt: skip
        read = await schedule_repo.job(engine, job_id)
        assert read is not None
        assert await schedule_repo.set_status(engine, job_id, "cancelled", allowed=("scheduled",))
        claimed = await schedule_repo.claim(
            engine, read, datetime(2026, 1, 1, 1, 0, tzinfo=UTC), "p1",
            next_run_at=None, job_status="done",
        )  # fmt: skip
        assert claimed is None
        assert await schedule_repo.runs(engine, job_id) == []  # the claim was rolled back
    finally:
        await engine.dispose()
