"""Group SOPs: how long the scheduler takes to plan and fire 10,000 executions, against the bare
platform calls made in the same run.

Run ``python -m bench.sop`` (or ``python -m bench sop``). Everything runs in this process: the
WeCom sandbox fake (``channels.wecom.sandbox``) served by aiohttp on 127.0.0.1, and the bot's own
scheduler (the default settings; ``--poll-seconds`` changes the poll), SOP runner, WeCom client
and outbox, on fresh, migrated databases (temporary SQLite files; or, with ``--database-url``, a
PostgreSQL database created for the run, emptied between parts and dropped after it).

1. Scheduler alone: ``--count`` jobs of a no-op kind, all due at the same instant; from
   ``start()`` until every run is recorded ``ok``. That is the first poll reading and planning
   the due jobs, then per firing: read the job, claim the firing and advance the job (one
   transaction), run the handler, record the outcome. Once with one JobScheduler, then with two
   (each with its own engine, one database) on the same jobs made due again, which must make
   exactly ``--count`` runs between them.
2. SOP: ``--rules`` rules x (count / rules) owners, each owner with 1 or 2 customer groups in the
   fake and in the local table, every rule aimed at all groups and due at once: until every
   rule's run is ``ok``, with one execution per rule and owner holding a msgid, as many group
   tasks in the fake, and one reminder per execution in the outbox (the bot's real outbox).
3. Reference: the same add_msg_template calls made directly with the WecomClient at the
   runner's concurrency: rules fire as separate jobs, all at once, and a rule serves its owners
   one after another, so one worker per rule, each calling for its owners in turn.

Limits: the fake enforces what the platform documents for add_msg_template (2000 chat ids, 9
attachments per call); platform-facts.md documents no call-rate quota for it and the fake has
none, so nothing is raised here. The per-group receive caps apply when owners send a task, which
this benchmark does not do. Reminders are queued in the outbox and not delivered.

Timings are reported, never asserted; the exit status is 1 when a count is wrong (a missing or
duplicate run, execution, task or reminder) or a part stalled (nothing moved for
``--stall-seconds``: it is then given up). Tasks that died of an exception no one caught are
counted and shown.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import case, func, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.scheduler import JobScheduler
from bot.sop_runner import KIND, SopRunner
from bot.staff_chat import Answers
from channels.wecom.app import WecomApp
from channels.wecom.client import WecomClient
from channels.wecom.sandbox import (
    WECOM_FAKE_STATE,
    FakeWecom,
    FakeWecomApp,
    create_wecom_fake_app,
)
from storage import schedule_repo, sop_repo
from storage.db import create_engine, read_connection
from storage.migrate import upgrade
from storage.models import (
    Base,
    JobRunRow,
    OutboxRow,
    ScheduledJobRow,
    SopExecutionRow,
    table_of,
    utcnow,
)
from storage.outbox import Outbox
from storage.schedule_repo import Job
from storage.tokens import TokenStore

APP = "corp"
CORP_ID = "wwbench00000000001"
SECRET = "bench-secret"
TOKEN = "bench-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
NOOP = "noop"
TEXT = "本周会员日：全场满 199 减 30，点击群公告领取优惠券。"
TRIGGER = {"type": "daily", "time": "09:00"}
TIMEZONE = "Asia/Shanghai"
FINISHED = ("ok", "failed", "missed", "in_doubt")  # a run in one of these is over
WATCH_SECONDS = 0.05  # how often the benchmark looks for the end of a part
ADD_CONCURRENCY = 8  # jobs, rules and groups stored at once during set-up

_jobs = table_of(ScheduledJobRow)
_runs = table_of(JobRunRow)
_executions = table_of(SopExecutionRow)
_outbox = table_of(OutboxRow)

log = logging.getLogger("bench.sop")


@dataclass
class Part:
    what: str
    count: int
    seconds: float
    finished: bool = True  # False: it stalled; ``seconds`` run until the last run moved
    errors: int = 0  # unhandled errors in the event loop during the part
    notes: list[str] = field(default_factory=list)


@dataclass
class Problems:
    """Count mismatches and errors seen anywhere in the run (any makes the exit status 1)."""

    found: list[str] = field(default_factory=list)
    loop_errors: int = 0

    def check(self, what: str, got: int, wanted: int) -> None:
        if got != wanted:
            self.found.append(f"{what}: {got:,}, expected {wanted:,}")

    def count_loop_errors(self) -> None:
        """Count exceptions no task caught (the first two are logged) on the running loop."""

        def on_loop_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
            self.loop_errors += 1
            if self.loop_errors <= 2:
                log.error("%s: %r", context.get("message"), context.get("exception"))
            elif self.loop_errors == 3:
                log.error("(more such errors are only counted)")

        asyncio.get_running_loop().set_exception_handler(on_loop_error)


# Databases


class Databases:
    """Fresh, migrated databases: SQLite files copied from one migrated template, or one
    PostgreSQL database made for the run, emptied each time and dropped at the end."""

    def __init__(self, url: str | None, workdir: Path) -> None:
        self._base = url
        self._workdir = workdir
        self._parts = 0
        self._pg_admin: str | None = None
        self._pg_name = ""
        self.label = "SQLite (temporary file)"

    async def open(self) -> None:
        if self._base is None:
            template = self._workdir / "template.db"
            await _migrate(f"sqlite+aiosqlite:///{template}")
            return
        admin = make_url(self._base)
        if admin.get_backend_name() != "postgresql":
            raise SystemExit("--database-url must be a postgresql+asyncpg:// URL")
        self._pg_admin = self._base
        self._pg_name = f"opsbot_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        await _admin(self._pg_admin, f'CREATE DATABASE "{self._pg_name}"')
        await _migrate(self._url())
        self.label = f"PostgreSQL (database {self._pg_name}, dropped after the run)"

    def _url(self) -> str:
        assert self._pg_admin is not None
        url = make_url(self._pg_admin).set(database=self._pg_name)
        return url.render_as_string(hide_password=False)

    async def fresh(self) -> str:
        """The URL of an empty, migrated database."""
        self._parts += 1
        if self._pg_admin is None:
            path = self._workdir / f"part{self._parts}.db"
            shutil.copy(self._workdir / "template.db", path)
            return f"sqlite+aiosqlite:///{path}"
        url = self._url()
        engine = create_engine(url)
        try:
            async with engine.begin() as conn:
                names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
                await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        finally:
            await engine.dispose()
        return url

    async def close(self) -> None:
        if self._pg_admin is not None and self._pg_name:
            await _admin(self._pg_admin, f'DROP DATABASE IF EXISTS "{self._pg_name}" WITH (FORCE)')


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def _admin(url: str, sql: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


async def _count(engine: AsyncEngine, query: Any) -> int:
    async with read_connection(engine) as conn:
        return int((await conn.execute(query)).scalar_one())


async def _bounded(work: Sequence[Callable[[], Awaitable[Any]]]) -> list[Any]:
    """Run the thunks, at most ADD_CONCURRENCY at a time; their results in order."""
    gate = asyncio.Semaphore(ADD_CONCURRENCY)

    async def one(thunk: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await thunk()

    return list(await asyncio.gather(*(one(t) for t in work)))


async def _add_jobs(
    engine: AsyncEngine, kind: str, payloads: Sequence[dict[str, Any]], due: datetime
) -> list[int]:
    """One job per payload, all due at the same instant ``due``; their ids."""

    def add(number: int, payload: dict[str, Any]) -> Callable[[], Awaitable[int]]:
        return lambda: schedule_repo.add_job(
            engine,
            account=APP,
            kind=kind,
            name=f"bench {kind} {number}",
            payload=payload,
            trigger=TRIGGER,
            timezone=TIMEZONE,
            next_run_at=due,
            created_by="",
            chat="",
        )

    return await _bounded([add(n, p) for n, p in enumerate(payloads)])


async def _until_finished(
    url: str, runs: int, due: datetime, stall: float, also: Sequence[Any] = ()
) -> tuple[bool, float]:
    """Wait until ``runs`` runs of the firing at ``due`` are over, or until nothing moved (no
    run claimed or finished, no change in the counts ``also`` selects) for ``stall`` seconds:
    whether they are all over, and when (``time.perf_counter``) the last of them moved. It looks
    through an engine of its own, so it neither waits for nor takes the measured connections."""
    over = case((_runs.c.status.in_(FINISHED), 1), else_=0)
    query = select(func.count(), func.coalesce(func.sum(over), 0)).where(_runs.c.fire_at == due)
    seen: tuple[int, ...] = ()
    moved = time.perf_counter()
    engine = create_engine(url)
    try:
        while True:
            async with read_connection(engine) as conn:
                claimed, finished = (int(n) for n in (await conn.execute(query)).one())
                counts = (claimed, finished, *[(await conn.execute(q)).scalar_one() for q in also])
            now = time.perf_counter()
            if finished >= runs:
                return True, now
            if counts != seen:
                seen, moved = counts, now
            elif now - moved > stall:
                return False, moved
            await asyncio.sleep(WATCH_SECONDS)
    finally:
        await engine.dispose()


async def _runs_by_status(engine: AsyncEngine, due: datetime) -> dict[str, int]:
    query = (
        select(_runs.c.status, func.count()).where(_runs.c.fire_at == due).group_by(_runs.c.status)
    )
    async with read_connection(engine) as conn:
        return {str(status): int(n) for status, n in await conn.execute(query)}


def _scheduler(
    engine: AsyncEngine, handlers: dict[str, Any], owner: str, args: argparse.Namespace
) -> tuple[JobScheduler, list[str]]:
    reports: list[str] = []

    async def report(job: Job, line: str) -> None:
        reports.append(f"job {job.id}: {line}")

    scheduler = JobScheduler(
        engine, handlers, owner=owner, report=report, poll_seconds=args.poll_seconds
    )
    return scheduler, reports


def _stall(args: argparse.Namespace) -> float:
    return max(4.0 * float(args.poll_seconds), float(args.stall_seconds))


# 1. The scheduler alone


async def noop(job: Job, fire_at: datetime) -> str:
    return "ok"


async def make_due(url: str, count: int) -> datetime:
    """``count`` no-op jobs in the database at ``url``, or the ones already there made due
    again (one statement): all due at the same instant, which is returned."""
    due = utcnow()
    engine = create_engine(url)
    try:
        if await _count(engine, select(func.count()).select_from(_jobs)) == 0:
            await _add_jobs(engine, NOOP, [{} for _ in range(count)], due)
        else:
            async with engine.begin() as conn:
                await conn.execute(update(_jobs).values(next_run_at=due, status="scheduled"))
    finally:
        await engine.dispose()
    return due


async def scheduler_alone(
    url: str, instances: int, due: datetime, args: argparse.Namespace, problems: Problems
) -> Part:
    count = args.count
    what = f"scheduler alone, {instances} instance{'s' if instances > 1 else ''}"
    engines = [create_engine(url) for _ in range(instances)]
    schedulers: list[JobScheduler] = []
    reports: list[list[str]] = []
    errors = problems.loop_errors
    try:
        for number, engine in enumerate(engines, 1):
            scheduler, said = _scheduler(engine, {NOOP: noop}, f"bench-{number}", args)
            schedulers.append(scheduler)
            reports.append(said)
        start = time.perf_counter()
        for scheduler in schedulers:
            await scheduler.start()
        finished, end = await _until_finished(url, count, due, _stall(args))
        seconds = end - start
        for scheduler in schedulers:
            await scheduler.stop()
        part = Part(what, count, seconds, finished)
        statuses = await _runs_by_status(engines[0], due)
        ran = sum(statuses.values())
        jobs_run = await _count(
            engines[0],
            select(func.count(_runs.c.job_id.distinct())).where(_runs.c.fire_at == due),
        )
        if not finished:
            problems.found.append(f"{what}: stalled, no run moved for {_stall(args):g} s")
        problems.check(f"{what}: job runs", ran, count)
        problems.check(f"{what}: jobs that ran", jobs_run, count)
        problems.check(f"{what}: runs ok", statuses.get("ok", 0), count)
        problems.check(f"{what}: reports of failures", sum(len(r) for r in reports), 0)
        part.notes.append(
            f"{ran:,} runs of {jobs_run:,} jobs ({_statuses(statuses)}); handlers run per "
            "instance: " + ", ".join(f"{s.fired:,}" for s in schedulers)
        )
        part.errors = problems.loop_errors - errors
        # The first poll's read (repo.due_jobs) on its own, after the run.
        start = time.perf_counter()
        read = await schedule_repo.due_jobs(engines[0], utcnow() + timedelta(days=2))
        part.notes.append(
            f"reading {len(read):,} due jobs (the first poll's query) on its own: "
            f"{time.perf_counter() - start:.2f} s"
        )
        return part
    finally:
        for scheduler in schedulers:
            await scheduler.stop()
        for engine in engines:
            await engine.dispose()


def _statuses(statuses: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {s}" for s, n in sorted(statuses.items())) or "none"


# The WeCom fake with the customer groups


@dataclass
class Platform:
    wecom: FakeWecom
    app: WecomApp  # the bot's view of the fake's app
    runner: web.AppRunner
    by_owner: dict[str, list[str]]  # the chat ids of each owner's groups

    async def close(self) -> None:
        await self.runner.cleanup()


async def start_platform(owners: int) -> Platform:
    """The fake on 127.0.0.1 with ``owners`` members, each owning 1 group (odd ones) or 2."""
    config = FakeWecomApp(
        name=APP,
        corp_id=CORP_ID,
        agent_id=1000002,
        secret=SECRET,
        token=TOKEN,
        encoding_aes_key=AES_KEY,
        callback_url=f"http://127.0.0.1:9/wecom/{APP}",  # the groups are made without callbacks
    )
    fake_app = create_wecom_fake_app([config])
    runner = web.AppRunner(fake_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    wecom = fake_app[WECOM_FAKE_STATE]
    names = [f"owner{n:05d}" for n in range(owners)]
    by_owner: dict[str, list[str]] = {name: [] for name in names}
    for chosen in (names, names[::2]):
        for index, chat_id in enumerate(wecom.create_groups(APP, chosen, len(chosen))):
            by_owner[chosen[index % len(chosen)]].append(chat_id)
    app = WecomApp(
        name=APP,
        corp_id=CORP_ID,
        agent_id=1000002,
        secret=SECRET,
        token=TOKEN,
        encoding_aes_key=AES_KEY,
        api_base=f"http://{host}:{port}",
    )
    return Platform(wecom, app, runner, by_owner)


def _client(platform: Platform, session: aiohttp.ClientSession, engine: AsyncEngine) -> WecomClient:
    return WecomClient(platform.app, session, TokenStore(engine), owner="bench")


# 2. SOP executions through the scheduler


async def sop_executions(
    dbs: Databases, rules: int, owners: int, args: argparse.Namespace, problems: Problems
) -> Part:
    wanted = rules * owners
    what = "SOP executions through the scheduler"
    url = await dbs.fresh()
    engine = create_engine(url)
    platform = await start_platform(owners)
    scheduler: JobScheduler | None = None
    errors = problems.loop_errors
    try:
        await _bounded(
            [_local_group(engine, platform.wecom, chat_id) for chat_id in _chat_ids(platform)]
        )
        rule_ids = await _bounded([_rule(engine, n) for n in range(rules)])
        due = utcnow()
        job_ids = await _add_jobs(engine, KIND, [{"rule_id": r} for r in rule_ids], due)
        await _bounded([_link(engine, r, j) for r, j in zip(rule_ids, job_ids, strict=True)])
        async with aiohttp.ClientSession() as session:
            outbox = Outbox(engine, owner="bench", lease_seconds=60.0)
            runner = SopRunner(
                engine,
                {APP: _client(platform, session, engine)},
                Answers(outbox).queue,
                None,
                http=lambda: session,
            )
            scheduler, reports = _scheduler(engine, {KIND: runner.run}, "bench-1", args)
            start = time.perf_counter()
            await scheduler.start()
            progress = [select(func.count()).select_from(t) for t in (_executions, _outbox)]
            finished, end = await _until_finished(url, rules, due, _stall(args), progress)
            seconds = end - start
            await scheduler.stop()
        part = Part(what, wanted, seconds, finished, problems.loop_errors - errors)
        if not finished:
            problems.found.append(f"{what}: stalled, no run moved for {_stall(args):g} s")
        statuses = await _runs_by_status(engine, due)
        executions = await _count(engine, select(func.count()).select_from(_executions))
        with_msgid = await _count(
            engine,
            select(func.count())
            .select_from(_executions)
            .where(_executions.c.msgid.is_not(None), _executions.c.status == "created"),
        )
        reminders = await _count(engine, select(func.count()).select_from(_outbox))
        tasks = len(platform.wecom.group_tasks(APP))
        problems.check(f"{what}: rule runs ok", statuses.get("ok", 0), rules)
        problems.check(f"{what}: rule runs", sum(statuses.values()), rules)
        problems.check(f"{what}: executions", executions, wanted)
        problems.check(f"{what}: executions created with a msgid", with_msgid, wanted)
        problems.check(f"{what}: group tasks in the fake", tasks, wanted)
        problems.check(f"{what}: reminders in the outbox", reminders, wanted)
        problems.check(f"{what}: reports of failures", len(reports), 0)
        groups = sum(len(c) for c in platform.by_owner.values())
        part.notes.append(
            f"{rules} rules x {owners} owners ({groups} groups); runs: {_statuses(statuses)}; "
            f"{executions:,} executions ({with_msgid:,} created with a msgid), {tasks:,} group "
            f"tasks in the fake, {reminders:,} reminders in the outbox"
        )
        return part
    finally:
        if scheduler is not None:
            await scheduler.stop()
        await platform.close()
        await engine.dispose()


def _chat_ids(platform: Platform) -> list[str]:
    return [c for chats in platform.by_owner.values() for c in chats]


def _local_group(
    engine: AsyncEngine, wecom: FakeWecom, chat_id: str
) -> Callable[[], Awaitable[None]]:
    group = wecom.group(APP, chat_id)
    return lambda: sop_repo.save_group(
        engine,
        app=APP,
        chat_id=chat_id,
        name=group.name,
        owner=group.owner,
        created_at=datetime.fromtimestamp(group.create_time, UTC),
    )


def _rule(engine: AsyncEngine, number: int) -> Callable[[], Awaitable[int]]:
    async def add() -> int:
        rule_id = await sop_repo.add_rule(
            engine,
            app=APP,
            name=f"会员日提醒 {number:04d}",
            targets={"type": "all"},
            schedule=TRIGGER,
            content={"text": TEXT, "attachments": []},
            timezone=TIMEZONE,
            created_by="",
            chat="",
        )
        assert rule_id is not None
        return rule_id

    return add


def _link(engine: AsyncEngine, rule_id: int, job_id: int) -> Callable[[], Awaitable[None]]:
    return lambda: sop_repo.set_job(engine, rule_id, job_id)


# 3. The reference: the same calls made directly


async def direct_calls(dbs: Databases, rules: int, owners: int, problems: Problems) -> Part:
    wanted = rules * owners
    what = "reference: add_msg_template directly"
    url = await dbs.fresh()
    engine = create_engine(url)  # for the access token only
    platform = await start_platform(owners)
    try:
        async with aiohttp.ClientSession() as session:
            client = _client(platform, session, engine)
            made: list[str] = []

            async def one_rule() -> None:
                for owner, chat_ids in platform.by_owner.items():
                    msgid, _ = await client.add_group_msg_template(owner, chat_ids, TEXT, [])
                    made.append(msgid)

            start = time.perf_counter()
            await asyncio.gather(*(one_rule() for _ in range(rules)))
            seconds = time.perf_counter() - start
        problems.check(f"{what}: msgids", len(set(made)), wanted)
        problems.check(
            f"{what}: group tasks in the fake", len(platform.wecom.group_tasks(APP)), wanted
        )
        part = Part(what, wanted, seconds)
        part.notes.append(
            f"{rules} workers (one per rule), each calling for {owners} owners in turn"
        )
        return part
    finally:
        await platform.close()
        await engine.dispose()


# Report


def memory_mb() -> tuple[float, float]:
    """The process's resident set size now and at its peak, in MB."""
    found = {"VmRSS:": float("nan"), "VmHWM:": float("nan")}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, *rest = line.split()
        if key in found:
            found[key] = int(rest[0]) / 1024
    return found["VmRSS:"], found["VmHWM:"]


def print_table(parts: Sequence[Part], reference: Part) -> None:
    print(
        f"\n{'what':<40}{'count':>8}{'seconds':>9}{'ms/item':>9}{'items/s':>9}{'ratio':>8}"
        f"{'errors':>8}"
    )
    for part in parts:
        per_item = part.seconds / part.count * 1000
        rate = part.count / part.seconds
        ratio = part.seconds / reference.seconds
        print(
            f"{part.what:<40}{part.count:>8,}{part.seconds:>9.2f}{per_item:>9.3f}{rate:>9,.0f}"
            f"{ratio:>8.2f}{part.errors:>8,}" + ("  STALLED" if not part.finished else "")
        )
    print(
        "ms/item: wall-clock time over the count (the items run concurrently); ratio: the "
        "part's time over the reference's, for as many items; errors: exceptions no one caught "
        "(tasks that died); STALLED: some runs never ended (seconds: until the last one moved)"
    )


async def run(args: argparse.Namespace) -> int:
    problems = Problems()
    problems.count_loop_errors()
    rules = max(1, min(args.rules, args.count))
    owners = max(1, args.count // rules)
    workdir = Path(tempfile.mkdtemp(prefix="opsbot-bench-sop-"))
    dbs = Databases(args.database_url, workdir)
    try:
        await dbs.open()
        print(
            f"group SOP benchmark: {args.count:,} no-op jobs, then {rules} rules x {owners} "
            f"owners = {rules * owners:,} SOP executions; database: {dbs.label}; WeCom sandbox "
            f"fake on 127.0.0.1 in this process; scheduler poll {args.poll_seconds:g} s",
            flush=True,
        )
        url = await dbs.fresh()
        parts = []
        for instances in (1, 2):
            due = await make_due(url, args.count)
            parts.append(await scheduler_alone(url, instances, due, args, problems))
            print(f"{parts[-1].what}: {parts[-1].seconds:.2f} s", flush=True)
        reference = await direct_calls(dbs, rules, owners, problems)
        print(f"{reference.what}: {reference.seconds:.2f} s", flush=True)
        sop = await sop_executions(dbs, rules, owners, args, problems)
        print(f"{sop.what}: {sop.seconds:.2f} s", flush=True)
    finally:
        await dbs.close()
        shutil.rmtree(workdir, ignore_errors=True)

    ordered = [reference, sop, *parts]
    print_table(ordered, reference)
    print()
    for part in ordered:
        for note in part.notes:
            print(f"{part.what}: {note}")
    one, two = parts
    print(f"\nSOP / reference: {sop.seconds / reference.seconds:.2f}")
    print(f"scheduler alone, 2 instances / 1 instance: {two.seconds / one.seconds:.2f}")
    rss, peak = memory_mb()
    print(f"process RSS: {rss:.0f} MB at the end, {peak:.0f} MB at the peak")
    if problems.loop_errors:
        print(
            f"WARNING: {problems.loop_errors:,} tasks died of an exception no one caught (see the "
            "errors column); firings whose task died before claiming are planned again by the "
            "next poll, ones that died after it stay 'running'"
        )
    if problems.found:
        print("\nCOUNTS WRONG:\n  " + "\n  ".join(problems.found))
        return 1
    print("counts: every run, execution, group task and reminder exactly once")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sop")
    add_arguments(parser)
    return measure(parser.parse_args(argv))


def measure(args: argparse.Namespace) -> int:
    """Run the benchmark with the options of :func:`add_arguments`; the exit status."""
    if args.count < 1 or args.rules < 1:
        print("bench.sop: --count and --rules must be positive")
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return asyncio.run(run(args))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """This benchmark's options (``python -m bench`` takes them too)."""
    parser.add_argument("--count", type=int, default=10_000, help="jobs and SOP executions")
    parser.add_argument("--rules", type=int, default=100, help="SOP rules (owners: count/rules)")
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server (postgresql+asyncpg://...): the benchmark creates a database "
        "there and drops it after; default: a temporary SQLite file",
    )
    parser.add_argument("--poll-seconds", type=float, default=5.0, help="the scheduler's poll")
    parser.add_argument(
        "--stall-seconds",
        type=float,
        default=30.0,
        help="give a part up when no run moved for this long (at least 4 polls)",
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
