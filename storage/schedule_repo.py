"""Scheduled jobs and their runs (see ``bot.scheduler``).

Exactly once across processes rests on two rules: a firing is claimed by inserting its
``(job_id, fire_at)`` row, which only one process can do; and a job row changes only when its
``version`` is the one the writer read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import read_connection
from storage.models import JobRunRow, ScheduledJobRow, table_of, utcnow

_jobs = table_of(ScheduledJobRow)
_runs = table_of(JobRunRow)


@dataclass(frozen=True)
class Job:
    id: int
    account: str
    kind: str
    name: str
    payload: dict[str, Any]
    trigger: dict[str, Any]
    timezone: str
    status: str
    next_run_at: datetime | None
    version: int
    created_by: str
    chat: str


@dataclass(frozen=True)
class Run:
    id: int
    job_id: int
    fire_at: datetime
    status: str
    attempts: int
    retry_at: datetime | None
    started_at: datetime
    finished_at: datetime | None
    detail: str


def _job(row: Any) -> Job:
    m = row._mapping
    return Job(
        m["id"],
        m["account"],
        m["kind"],
        m["name"],
        dict(m["payload"]),
        dict(m["trigger"]),
        m["timezone"],
        m["status"],
        m["next_run_at"],
        m["version"],
        m["created_by"],
        m["chat"],
    )


def _run(row: Any) -> Run:
    m = row._mapping
    return Run(
        m["id"],
        m["job_id"],
        m["fire_at"],
        m["status"],
        m["attempts"],
        m["retry_at"],
        m["started_at"],
        m["finished_at"],
        m["detail"],
    )


async def add_job(
    engine: AsyncEngine,
    *,
    account: str,
    kind: str,
    name: str,
    payload: dict[str, Any],
    trigger: dict[str, Any],
    timezone: str,
    next_run_at: datetime | None,
    created_by: str,
    chat: str,
) -> int:
    now = utcnow()
    async with engine.begin() as conn:
        result = await conn.execute(
            _jobs.insert().values(
                account=account,
                kind=kind,
                name=name,
                payload=payload,
                trigger=trigger,
                timezone=timezone,
                status="scheduled" if next_run_at is not None else "done",
                next_run_at=next_run_at,
                version=1,
                created_by=created_by,
                chat=chat,
                created_at=now,
                updated_at=now,
            )
        )
        (job_id,) = result.inserted_primary_key or (0,)
        return int(job_id)


async def job(engine: AsyncEngine, job_id: int) -> Job | None:
    async with read_connection(engine) as conn:
        row = (await conn.execute(select(_jobs).where(_jobs.c.id == job_id))).first()
    return _job(row) if row else None


async def jobs(engine: AsyncEngine, account: str, kind: str | None = None) -> list[Job]:
    query = select(_jobs).where(_jobs.c.account == account)
    if kind is not None:
        query = query.where(_jobs.c.kind == kind)
    async with read_connection(engine) as conn:
        return [_job(r) for r in await conn.execute(query.order_by(_jobs.c.id))]


async def due_jobs(engine: AsyncEngine, before: datetime) -> list[Job]:
    """Scheduled jobs whose next firing is before ``before``."""
    async with read_connection(engine) as conn:
        rows = await conn.execute(
            select(_jobs)
            .where(_jobs.c.status == "scheduled", _jobs.c.next_run_at <= before)
            .order_by(_jobs.c.next_run_at, _jobs.c.id)
        )
        return [_job(r) for r in rows]


async def move_job(
    engine: AsyncEngine, job: Job, *, next_run_at: datetime | None, status: str | None = None
) -> bool:
    """Set the next firing (and status) if the job is still at the version read."""
    values: dict[str, Any] = {
        "next_run_at": next_run_at,
        "version": job.version + 1,
        "updated_at": utcnow(),
    }
    if status is not None:
        values["status"] = status
    async with engine.begin() as conn:
        result = await conn.execute(
            update(_jobs)
            .where(_jobs.c.id == job.id, _jobs.c.version == job.version)
            .values(**values)
        )
        return bool(result.rowcount)


class _Moved(Exception):
    """The job changed since it was read: the claim is rolled back."""


async def claim(
    engine: AsyncEngine,
    job: Job,
    fire_at: datetime,
    owner: str,
    *,
    next_run_at: datetime | None,
    job_status: str,
    status: str = "running",
) -> int | None:
    """Insert the run of this firing and move the job on to ``next_run_at``, in one
    transaction; the run's id, or None when another process has the firing or the job changed
    (paused, cancelled, edited) since it was read."""
    try:
        async with engine.begin() as conn:
            result = await conn.execute(
                _runs.insert().values(
                    job_id=job.id,
                    fire_at=fire_at,
                    status=status,
                    owner=owner,
                    attempts=1 if status == "running" else 0,
                    started_at=utcnow(),
                )
            )
            (run_id,) = result.inserted_primary_key or (0,)
            moved = await conn.execute(
                update(_jobs)
                .where(_jobs.c.id == job.id, _jobs.c.version == job.version)
                .values(
                    next_run_at=next_run_at,
                    status=job_status,
                    version=job.version + 1,
                    updated_at=utcnow(),
                )
            )
            if not moved.rowcount:
                raise _Moved
            return int(run_id)
    except (IntegrityError, _Moved):
        return None


async def set_status(
    engine: AsyncEngine,
    job_id: int,
    status: str,
    *,
    allowed: tuple[str, ...],
    next_run_at: datetime | None = None,
) -> bool:
    """Change a job's status (pause, resume, cancel) if it is in one of ``allowed``; a firing
    that claimed the job first wins (its claim moved the version)."""
    async with engine.begin() as conn:
        result = await conn.execute(
            update(_jobs)
            .where(_jobs.c.id == job_id, _jobs.c.status.in_(allowed))
            .values(
                status=status,
                next_run_at=next_run_at,
                version=_jobs.c.version + 1,
                updated_at=utcnow(),
            )
        )
        return bool(result.rowcount)


async def finish(
    engine: AsyncEngine,
    run_id: int,
    status: str,
    detail: str,
    *,
    retry_at: datetime | None = None,
) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            update(_runs)
            .where(_runs.c.id == run_id)
            .values(
                status=status,
                detail=detail[:2000],
                retry_at=retry_at,
                finished_at=None if status == "retrying" else utcnow(),
            )
        )


async def retries_due(engine: AsyncEngine, now: datetime) -> list[Run]:
    async with read_connection(engine) as conn:
        rows = await conn.execute(
            select(_runs).where(_runs.c.status == "retrying", _runs.c.retry_at <= now)
        )
        return [_run(r) for r in rows]


async def take_retry(engine: AsyncEngine, run: Run, owner: str) -> bool:
    """Move a run from retrying to running, if no other process did first."""
    async with engine.begin() as conn:
        result = await conn.execute(
            update(_runs)
            .where(
                _runs.c.id == run.id,
                _runs.c.status == "retrying",
                _runs.c.attempts == run.attempts,
            )
            .values(status="running", owner=owner, attempts=run.attempts + 1, started_at=utcnow())
        )
        return bool(result.rowcount)


async def stale_runs(engine: AsyncEngine, started_before: datetime) -> list[Run]:
    async with read_connection(engine) as conn:
        rows = await conn.execute(
            select(_runs).where(_runs.c.status == "running", _runs.c.started_at < started_before)
        )
        return [_run(r) for r in rows]


async def mark_in_doubt(engine: AsyncEngine, run: Run) -> bool:
    async with engine.begin() as conn:
        result = await conn.execute(
            update(_runs)
            .where(_runs.c.id == run.id, _runs.c.status == "running")
            .values(status="in_doubt", finished_at=utcnow())
        )
        return bool(result.rowcount)


async def runs(engine: AsyncEngine, job_id: int) -> list[Run]:
    async with read_connection(engine) as conn:
        rows = await conn.execute(
            select(_runs).where(_runs.c.job_id == job_id).order_by(_runs.c.fire_at, _runs.c.id)
        )
        return [_run(r) for r in rows]
