"""Timed work, exactly once, however many servers run.

Every job lives in the database (``scheduled_jobs``): what to do (a kind and its payload), the
schedule in the job's time zone, and the next firing in UTC. APScheduler is the clock of each
process: a poll every few seconds reads the jobs that fall due within the next two polls and
sets an APScheduler date job for each; jobs already due (a restart, a server that was down) are
fired at once. Firing a job means:

1. **Claim** the firing by inserting its ``(job, fire time)`` row in ``job_runs``. The table
   takes one such row, so exactly one process goes on; the others stop here.
2. **Advance** the job to its next firing (or end a one-off job), before the work, so nothing
   plans that firing again.
3. **Run** the kind's handler and record the outcome. A handler raising :class:`RetryLater` is
   tried again after ``retry_seconds`` (longer each time) up to ``max_attempts``; then, or on any
   other error, the run fails and the person who made the job is told in their chat.

Misfire policy: a firing found more than ``grace_seconds`` late (the servers were all down) is
not run: it is recorded as ``missed``, reported to the job's creator, and the job moves on to its
next firing. Within the grace it runs late, once. A run left ``running`` by a process that died is
marked ``in_doubt`` after ``lease_seconds`` and reported; it is never run again automatically,
because the platform may already have done it.

Schedules (``trigger``), in the job's time zone (default Asia/Shanghai):
``{"type": "once", "at": "2026-11-22 09:00"}``, ``{"type": "daily", "time": "09:00"}``,
``{"type": "weekly", "weekday": 0..6 (Monday 0), "time": "09:00"}``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.ext.asyncio import AsyncEngine

from handlers.schedules import (
    DEFAULT_TIMEZONE,
    RetryLater,
    ScheduleError,
    describe_time,
    first_fire,
    next_fire,
)
from storage import schedule_repo as repo
from storage.models import utcnow
from storage.schedule_repo import Job

log = logging.getLogger(__name__)

# A handler does the work of one firing and returns a line for the run's record.
Handler = Callable[[Job, datetime], Awaitable[str]]
# Tell the job's creator something: (job, Chinese text).
Report = Callable[[Job, str], Awaitable[None]]


class JobScheduler:
    def __init__(
        self,
        engine: AsyncEngine,
        handlers: Mapping[str, Handler],
        *,
        owner: str,
        report: Report,
        clock: Callable[[], datetime] = utcnow,
        poll_seconds: float = 5.0,
        grace_seconds: float = 3600.0,
        lease_seconds: float = 600.0,
        retry_seconds: float = 60.0,
        max_attempts: int = 3,
        max_concurrent: int = 8,
    ) -> None:
        self._engine = engine
        self._handlers = handlers
        self._owner = owner
        self._report = report
        self._clock = clock
        self._poll = poll_seconds
        self._grace = timedelta(seconds=grace_seconds)
        self._lease = timedelta(seconds=lease_seconds)
        self._retry = retry_seconds
        self._max_attempts = max_attempts
        self._aps: AsyncIOScheduler | None = None
        self._tasks: set[asyncio.Future[None]] = set()
        self._polling: asyncio.Future[None] | None = None
        self._planned: set[tuple[int, int]] = set()  # (job id, version) with a timer set
        # Firings at once: more would only queue for database connections (and time out there).
        self._slots = asyncio.Semaphore(max_concurrent)
        self.fired = 0  # firings this process ran (for tests and the benchmark)

    async def start(self) -> None:
        self._aps = AsyncIOScheduler(timezone=UTC)
        self._aps.add_job(
            self._poll_in_background,
            IntervalTrigger(seconds=self._poll),
            id="poll",
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
        )
        self._aps.start()

    async def stop(self) -> None:
        if self._aps is not None:
            self._aps.shutdown(wait=False)
            self._aps = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def add(
        self,
        *,
        account: str,
        kind: str,
        name: str,
        payload: dict[str, Any],
        trigger: dict[str, Any],
        timezone: str = DEFAULT_TIMEZONE,
        created_by: str = "",
        chat: str = "",
    ) -> Job:
        """Store a job; it fires from the next poll of any process."""
        if kind not in self._handlers:
            raise ScheduleError(f"没有「{kind}」这种任务。")
        first = first_fire(trigger, timezone, self._clock())
        if first is None:
            raise ScheduleError("这个时间已经过去了。")
        job_id = await repo.add_job(
            self._engine,
            account=account,
            kind=kind,
            name=name,
            payload=payload,
            trigger=trigger,
            timezone=timezone,
            next_run_at=first,
            created_by=created_by,
            chat=chat,
        )
        job = await repo.job(self._engine, job_id)
        if job is None:  # pragma: no cover - just inserted
            raise ScheduleError("任务保存后没有找到。")
        if self._aps is not None:
            self._plan(job)
        return job

    async def _poll_in_background(self) -> None:
        # A task of our own (not APScheduler's), so that stop() can cancel it quietly.
        if self._polling is None or self._polling.done():
            self._polling = asyncio.ensure_future(self.poll())
            self._tasks.add(self._polling)
            self._polling.add_done_callback(self._tasks.discard)

    async def poll(self) -> None:
        """Plan what falls due soon; fire what is due; take up retries; find stale runs."""
        now = self._clock()
        try:
            for job in await repo.due_jobs(self._engine, now + timedelta(seconds=2 * self._poll)):
                self._plan(job)
            for run in await repo.retries_due(self._engine, now):
                if await repo.take_retry(self._engine, run, self._owner):
                    self._spawn(self._retry_run, run)
            for run in await repo.stale_runs(self._engine, now - self._lease):
                if await repo.mark_in_doubt(self._engine, run):
                    found = await repo.job(self._engine, run.job_id)
                    if found is not None:
                        await self._report(
                            found,
                            f"任务「{found.name}」在 {describe_time(run.fire_at, found.timezone)} "
                            "的执行中断了（服务器重启），不知道是否已完成，没有自动重做。请检查结果。",
                        )
        except Exception:
            log.exception("scheduler poll failed; trying again at the next poll")

    def _plan(self, job: Job) -> None:
        if job.next_run_at is None or (job.id, job.version) in self._planned:
            return
        self._planned.add((job.id, job.version))
        if job.next_run_at <= self._clock() or self._aps is None:
            self._spawn(self.fire, job.id, job.version)
            return
        self._aps.add_job(
            self._guarded,
            DateTrigger(run_date=job.next_run_at, timezone=UTC),
            args=(self.fire, job.id, job.version),
            id=f"job-{job.id}-{job.version}",
            replace_existing=True,
            misfire_grace_time=None,
        )

    def _spawn(self, work: Callable[..., Awaitable[None]], *args: Any) -> None:
        task = asyncio.ensure_future(self._guarded(work, *args))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(self, work: Callable[..., Awaitable[None]], *args: Any) -> None:
        """Run one firing (or retry) in a slot; an error (the database unreachable) is logged,
        and a firing not claimed yet is planned again by the next poll."""
        async with self._slots:
            try:
                await work(*args)
            except Exception:
                log.exception("scheduled work %s%s failed; the next poll looks again", work, args)

    async def fire(self, job_id: int, version: int) -> None:
        """Run the job's due firing if this process wins it."""
        self._planned.discard((job_id, version))  # the next version is planned afresh
        job = await repo.job(self._engine, job_id)
        if job is None or job.version != version or job.status != "scheduled":
            return  # changed, paused or ended since it was planned
        fire_at = job.next_run_at
        if fire_at is None:
            return
        now = self._clock()
        if now - fire_at > self._grace:
            await self._missed(job, fire_at)
            return
        run_id = await self._claim(job, fire_at, "running")
        if run_id is None:
            return  # another process has this firing, or the job changed meanwhile
        await self._execute(job, fire_at, run_id, attempt=1)

    async def _missed(self, job: Job, fire_at: datetime) -> None:
        if await self._claim(job, fire_at, "missed") is None:
            return
        late = describe_time(fire_at, job.timezone)
        log.warning("job %d (%s) missed its firing at %s", job.id, job.name, fire_at)
        await self._report(
            job,
            f"任务「{job.name}」原定 {late} 执行，但当时服务没有运行，已超过补发时限，没有执行。",
        )

    async def _claim(self, job: Job, fire_at: datetime, status: str) -> int | None:
        following = next_fire(job.trigger, job.timezone, fire_at)
        return await repo.claim(
            self._engine,
            job,
            fire_at,
            self._owner,
            next_run_at=following,
            job_status="scheduled" if following is not None else "done",
            status=status,
        )

    async def pause(self, job_id: int) -> bool:
        """Stop a job firing until resumed (False: it is not scheduled any more)."""
        return await repo.set_status(self._engine, job_id, "paused", allowed=("scheduled",))

    async def resume(self, job_id: int) -> bool:
        """Schedule a paused job from its next firing after now (False: not paused, or a
        one-off job whose time has passed)."""
        job = await repo.job(self._engine, job_id)
        if job is None or job.status != "paused":
            return False
        following = first_fire(job.trigger, job.timezone, self._clock())
        if following is None:
            return False
        return await repo.set_status(
            self._engine, job_id, "scheduled", allowed=("paused",), next_run_at=following
        )

    async def cancel(self, job_id: int) -> bool:
        """End a job before its next firing (False: it already fired for good or was ended).
        A firing already claimed runs; one not yet claimed will not."""
        return await repo.set_status(
            self._engine, job_id, "cancelled", allowed=("scheduled", "paused")
        )

    async def _retry_run(self, run: repo.Run) -> None:
        job = await repo.job(self._engine, run.job_id)
        if job is None:
            await repo.finish(self._engine, run.id, "failed", "the job was removed")
            return
        await self._execute(job, run.fire_at, run.id, attempt=run.attempts + 1)

    async def _execute(self, job: Job, fire_at: datetime, run_id: int, *, attempt: int) -> None:
        handler = self._handlers.get(job.kind)
        self.fired += 1
        try:
            if handler is None:
                raise RuntimeError(f"no handler for job kind {job.kind!r}")
            detail = await handler(job, fire_at)
        except RetryLater as exc:
            if attempt < self._max_attempts:
                retry_at = self._clock() + timedelta(seconds=self._retry * attempt)
                log.info("job %d attempt %d: %s; retrying at %s", job.id, attempt, exc, retry_at)
                await repo.finish(self._engine, run_id, "retrying", str(exc), retry_at=retry_at)
                return
            await self._failed(job, run_id, f"试了 {attempt} 次都没有成功：{exc}")
            return
        except Exception as exc:
            log.exception("job %d failed", job.id)
            await self._failed(job, run_id, str(exc) or type(exc).__name__)
            return
        await repo.finish(self._engine, run_id, "ok", detail)

    async def _failed(self, job: Job, run_id: int, why: str) -> None:
        await repo.finish(self._engine, run_id, "failed", why)
        await self._report(job, f"任务「{job.name}」执行失败：{why}")
