"""Welcoming new WeCom customers: how long the bot takes from a customer's add event to the sent
welcome, against the bare platform call made in the same run.

Run ``python -m bench.welcome`` (or ``python -m bench welcome``). Everything runs in this
process: the WeCom sandbox fake (``channels.wecom.sandbox``) served by aiohttp on 127.0.0.1, and
the bot's own ``CustomerContact`` (bot/customer_contact.py) with a real WecomClient, WecomContent
without a script library, the default ``CustomerSettings`` and the time zone Asia/Shanghai, on a
fresh, migrated database (a temporary SQLite file; or, with ``--database-url``, a PostgreSQL
database created for the run, emptied between parts and dropped after it).

Set-up (not timed): 10 members in the fake's directory; one lead channel whose text welcome
names ``{{ customer.name }}`` and ``{{ staff.name }}`` and carries 2 tags, one reception group of
the 10 members and one channel live code (its multi-member contact way made through the client).

1. Reference: ``--customers`` new customers scan a contact way of the same 10 members, and
   ``send_welcome_msg`` is called directly with the WecomClient, ``--concurrency`` calls at once,
   with a text as long as the bot's (the same template, rendered for names of the same length).
2. opsbot: as many customers scan the live code, and ``CustomerContact.on_change`` handles each
   add event, ``--concurrency`` events at once. Inside it: find the code by state, store the
   event once, read the channel's welcome, ask for the customer's nickname (externalcontact/get)
   and the member's name (user/get, cached), render, send the welcome and store its outcome and
   latency. Then, in background tasks the bot starts: remark the customer and mark the channel's
   2 tags (created in the corp on first use), and store that.

Each customer scans (in-process, ``notify=False``: no callback, not timed) just before its event
is handed to a worker's call, so every welcome code is used well inside its 20 s of fake time
however long a part takes. The add event is built as the bot's callback route would decode it.

Figures: per-event wall time of ``on_change`` (the welcome is sent inside it; the follow-ups are
not) and per-call time of the bare ``send_welcome_msg``, as p50 / p95 / p99 / max; the welcome
latency the bot stores (``welcome_ms``: from the event's arrival to the answer of the welcome
call); events or calls per second (the count over the part's wall time); the ratios opsbot /
reference; and how long after the first event every follow-up was ``done`` (the follow-ups
share the event loop, the HTTP session and the database with the events still being handled).

Limits: the fake enforces the platform's documented ones (``WecomLimits`` defaults, passed
explicitly): welcome codes live 20 s and serve once, welcome text at most 4000 bytes, remarks
at most 20 characters, at most 500,000 contact ways. None is reached here; neither
send_welcome_msg nor externalcontact/get, remark, mark_tag or user/get has a call-rate quota
in platform-facts.md or in the fake (its per-member rate applies to message/send only).

Checks (any failing makes the exit status 1; timings are reported, never asserted): every opsbot
customer received exactly one welcome, with the text the template gives; N add rows, all
welcome ``sent`` with a latency, all follow-ups ``done`` with the expected remark, which the
fake shows with the 2 tags; no 41051 answer; N send_welcome_msg calls; and a second
``on_change`` of 100 of the same events sends nothing more and stores nothing more. The
reference's customers must each have received one welcome too.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import aiohttp
from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.sop import Databases, Problems, memory_mb
from bot.customer_contact import CustomerContact
from bot.settings import CustomerSettings
from bot.wecom_content import WecomContent
from channels.wecom.app import WecomApp
from channels.wecom.client import WELCOME_CODE_USED, WecomClient
from channels.wecom.decode import ContactChange
from channels.wecom.sandbox import (
    WECOM_FAKE_STATE,
    ContactOutcome,
    FakeWecom,
    FakeWecomApp,
    WecomLimits,
    create_wecom_fake_app,
)
from scripts_library.model import context, render_source
from storage import contacts_repo as repo
from storage.db import create_engine, read_connection
from storage.models import ContactEventRow, table_of
from storage.tokens import TokenStore

APP: Final = "corp"
CORP_ID: Final = "wwbench00000000002"
SECRET: Final = "bench-secret"
TOKEN: Final = "bench-token"
AES_KEY: Final = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
TIMEZONE: Final = "Asia/Shanghai"
MEMBERS: Final = 10
CHANNEL: Final = "春季海报"
GROUP: Final = "春季接待组"
TAGS: Final = ("春季活动", "海报引流")
WELCOME: Final = (
    "{{ customer.name }}您好，我是{{ staff.name }}，欢迎参加春季会员活动！"
    "回复「优惠」领取新人券，有问题随时找我。"
)
WELCOME_PATH: Final = "/cgi-bin/externalcontact/send_welcome_msg"
REPEATS: Final = 100  # events handled a second time (a retried callback)
WATCH_SECONDS: Final = 0.05  # how often the follow-ups' progress is read
STALL_SECONDS: Final = 30.0  # give the follow-ups up when none finished for this long

_events = table_of(ContactEventRow)

log = logging.getLogger("bench.welcome")


@dataclass
class Latencies:
    what: str
    samples_ms: list[float]
    seconds: float | None = None  # wall time of the whole part; None when not a timed batch

    def at(self, q: float) -> float:
        """The ``q``-th percentile (nearest rank) in ms."""
        ordered = sorted(self.samples_ms)
        if not ordered:
            return math.nan
        return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]

    @property
    def rate(self) -> float:
        return len(self.samples_ms) / self.seconds if self.seconds else math.nan


def customer_name(number: int) -> str:
    return f"客户{number:05d}"  # every name as long as the others: equal welcome lengths


def staff_name(number: int) -> str:
    return f"顾问{number:02d}"


def welcome_text(customer: str, external_userid: str, userid: str, staff: str) -> str:
    """The welcome the template gives (what the bot sends, and the reference's text)."""
    variables = context(
        {"id": external_userid, "name": customer}, {"userid": userid, "name": staff}
    )
    rendered = render_source(WELCOME, variables, "bench welcome")
    assert rendered is not None
    return rendered.strip()


# The WeCom fake


@dataclass
class Platform:
    wecom: FakeWecom
    app: WecomApp  # the bot's view of the fake's app
    runner: web.AppRunner
    staff: dict[str, str]  # userid -> name

    async def close(self) -> None:
        await self.runner.cleanup()


async def start_platform() -> Platform:
    """The fake on 127.0.0.1 with MEMBERS members in the corp's directory."""
    config = FakeWecomApp(
        name=APP,
        corp_id=CORP_ID,
        agent_id=1000002,
        secret=SECRET,
        token=TOKEN,
        encoding_aes_key=AES_KEY,
        callback_url=f"http://127.0.0.1:9/wecom/{APP}",  # customers scan without callbacks
    )
    fake_app = create_wecom_fake_app([config], limits=WecomLimits())
    runner = web.AppRunner(fake_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    wecom = fake_app[WECOM_FAKE_STATE]
    staff = {f"staff{n:02d}": staff_name(n) for n in range(1, MEMBERS + 1)}
    for userid, name in staff.items():
        wecom.member(APP, userid, name)
    app = WecomApp(
        name=APP,
        corp_id=CORP_ID,
        agent_id=1000002,
        secret=SECRET,
        token=TOKEN,
        encoding_aes_key=AES_KEY,
        api_base=f"http://{host}:{port}",
    )
    return Platform(wecom, app, runner, staff)


async def _workers(
    count: int, concurrency: int, one: Callable[[int], Awaitable[float]]
) -> tuple[list[float], float]:
    """``one(n)`` for n in 0..count-1, ``concurrency`` at a time: its results (ms) in order,
    and the wall time of them all in seconds."""
    numbers = iter(range(count))
    results = [math.nan] * count

    async def worker() -> None:
        for number in numbers:  # shared: each number is taken by one worker
            results[number] = await one(number)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, count)))))
    return results, time.perf_counter() - start


def _change(wecom: FakeWecom, outcome: ContactOutcome) -> ContactChange:
    """The add event of a scan, as the bot's callback route decodes it."""
    return ContactChange(
        corp=CORP_ID,
        change_type="add_external_contact",
        userid=outcome.userid,
        external_userid=outcome.external_userid,
        state=outcome.state,
        welcome_code=outcome.welcome_code,
        at=int(wecom.clock.now()),
        account=APP,
    )


def _received(wecom: FakeWecom, external_userids: Sequence[str]) -> list[list[dict[str, Any]]]:
    return [wecom.external_contact(APP, e).received for e in external_userids]


# 1. The reference: send_welcome_msg directly


async def reference(dbs: Databases, count: int, concurrency: int, problems: Problems) -> Latencies:
    what = "reference: send_welcome_msg directly"
    url = await dbs.fresh()
    engine = create_engine(url)  # for the access token only
    platform = await start_platform()
    try:
        async with aiohttp.ClientSession() as session:
            client = WecomClient(platform.app, session, TokenStore(engine), owner="bench")
            config_id, _ = await client.add_contact_way(
                list(platform.staff), multi=True, state="benchref"
            )
            await client.token.get()  # the token is fetched before the clock starts
            wecom = platform.wecom
            customers = [""] * count
            failures: list[str] = []

            async def one(number: int) -> float:
                name = customer_name(number)
                outcome = await wecom.scan_contact_way(APP, config_id, name=name, notify=False)
                customers[number] = outcome.external_userid
                text = welcome_text(
                    name, outcome.external_userid, outcome.userid, platform.staff[outcome.userid]
                )
                start = time.perf_counter()
                try:
                    await client.send_welcome_msg(outcome.welcome_code, text)
                except Exception as exc:
                    failures.append(repr(exc))
                return (time.perf_counter() - start) * 1000

            samples, seconds = await _workers(count, concurrency, one)
        problems.check(f"{what}: failed calls", len(failures), 0)
        problems.found.extend(f"{what}: {f}" for f in failures[:3])
        received = _received(wecom, customers)
        problems.check(
            f"{what}: customers with exactly one welcome", sum(len(r) == 1 for r in received), count
        )
        problems.check(f"{what}: send_welcome_msg calls", len(wecom.calls_to(WELCOME_PATH)), count)
        return Latencies(what, samples, seconds)
    finally:
        await platform.close()
        await engine.dispose()


# 2. opsbot: CustomerContact.on_change


@dataclass
class Opsbot:
    events: Latencies
    stored: Latencies  # welcome_ms of the rows
    followups_seconds: float  # from the first event until every follow-up is done
    after_last_seconds: float  # from the last on_change's return until then
    followups_finished: bool
    repeats: Latencies
    notes: list[str] = field(default_factory=list)


async def _setup(engine: AsyncEngine, client: WecomClient, staff: Sequence[str]) -> str:
    """The lead channel, reception group and live code; the code's contact way's config_id."""
    channel_id = await repo.add_channel(
        engine,
        APP,
        CHANNEL,
        welcome={"text": WELCOME, "attachments": []},
        tags=TAGS,
        created_by="bench",
    )
    group_id = await repo.add_group(engine, APP, GROUP, staff=staff, remark="", created_by="bench")
    assert channel_id is not None and group_id is not None
    code = await repo.add_code(
        engine,
        APP,
        "地推A",
        channel_id=channel_id,
        group_id=group_id,
        skip_verify=True,
        created_by="bench",
        chat="",
    )
    assert code is not None
    config_id, qr_code = await client.add_contact_way(staff, multi=True, state=code.state)
    await repo.activate_code(engine, code.id, config_id, qr_code)
    return config_id


async def _until_followed(url: str, count: int) -> tuple[bool, float]:
    """Wait until ``count`` add rows have their follow-up ``done``, or until none finished for
    STALL_SECONDS: whether they all did, and when (``time.perf_counter``) the last one did. It
    reads through an engine of its own, so it takes none of the measured connections."""
    query = select(func.count()).select_from(_events).where(_events.c.followup == "done")
    seen, moved = -1, time.perf_counter()
    engine = create_engine(url)
    try:
        while True:
            async with read_connection(engine) as conn:
                done = int((await conn.execute(query)).scalar_one())
            now = time.perf_counter()
            if done != seen:
                seen, moved = done, now
            if done >= count:
                return True, now
            if now - moved > STALL_SECONDS:
                return False, moved
            await asyncio.sleep(WATCH_SECONDS)
    finally:
        await engine.dispose()


async def opsbot(dbs: Databases, count: int, concurrency: int, problems: Problems) -> Opsbot:
    what = "opsbot"
    url = await dbs.fresh()
    engine = create_engine(url)
    platform = await start_platform()
    wecom = platform.wecom
    contact: CustomerContact | None = None
    try:
        async with aiohttp.ClientSession() as session:
            client = WecomClient(platform.app, session, TokenStore(engine), owner="bench")
            config_id = await _setup(engine, client, list(platform.staff))
            await client.token.get()  # the token is fetched before the clock starts
            settings = CustomerSettings()
            handler = contact = CustomerContact(
                engine, {APP: client}, WecomContent(engine, None), settings, TIMEZONE
            )
            changes: list[ContactChange | None] = [None] * count
            failures: list[str] = []

            async def one(number: int) -> float:
                name = customer_name(number)
                outcome = await wecom.scan_contact_way(APP, config_id, name=name, notify=False)
                change = changes[number] = _change(wecom, outcome)
                start = time.perf_counter()
                try:
                    await handler.on_change(change)
                except Exception as exc:
                    failures.append(repr(exc))
                return (time.perf_counter() - start) * 1000

            start = time.perf_counter()
            watcher = asyncio.create_task(_until_followed(url, count))
            samples, seconds = await _workers(count, concurrency, one)
            last = time.perf_counter()
            finished, followed = await watcher
            await handler.stop()
            made = [c for c in changes if c is not None]
            calls = len(wecom.calls_to(WELCOME_PATH))

            # A retried callback of REPEATS events: nothing more is sent or stored.
            repeated = made[:REPEATS]

            async def again(number: int) -> float:
                begin = time.perf_counter()
                await handler.on_change(repeated[number])
                return (time.perf_counter() - begin) * 1000

            repeat_samples, repeat_seconds = await _workers(len(repeated), concurrency, again)
            await handler.stop()
            problems.check(
                f"{what}: send_welcome_msg calls after {len(repeated)} events came again",
                len(wecom.calls_to(WELCOME_PATH)) - calls,
                0,
            )
        problems.check(f"{what}: on_change raised", len(failures), 0)
        problems.found.extend(f"{what}: {f}" for f in failures[:3])
        if not finished:
            problems.found.append(
                f"{what}: follow-ups stalled, none finished for {STALL_SECONDS} s"
            )
        stored = await _check_opsbot(engine, wecom, made, platform.staff, settings, problems)
        result = Opsbot(
            events=Latencies(f"{what}: on_change (welcome inside)", samples, seconds),
            stored=Latencies(f"{what}: welcome_ms stored", stored),
            followups_seconds=followed - start,
            after_last_seconds=followed - last,
            followups_finished=finished,
            repeats=Latencies(f"{what}: the same event again", repeat_samples, repeat_seconds),
        )
        welcome_calls = wecom.calls_to(WELCOME_PATH)
        result.notes.append(
            f"{calls:,} send_welcome_msg calls for {count:,} events; after {len(repeated)} of "
            f"them came again: {len(welcome_calls):,}"
        )
        return result
    finally:
        if contact is not None:
            await contact.stop()
        await platform.close()
        await engine.dispose()


async def _check_opsbot(
    engine: AsyncEngine,
    wecom: FakeWecom,
    changes: Sequence[ContactChange],
    staff: dict[str, str],
    settings: CustomerSettings,
    problems: Problems,
) -> list[float]:
    """Check the rows and the fake after the opsbot part; the stored welcome_ms values."""
    what = "opsbot"
    count = len(changes)
    rows = await repo.recent_events(engine, APP, kind="add", limit=count + REPEATS + 1)
    problems.check(f"{what}: add rows", len(rows), count)
    by_customer = {r.external_userid: r for r in rows}
    problems.check(f"{what}: customers with a row", len(by_customer), count)
    problems.check(f"{what}: welcomes 'sent'", sum(r.welcome_status == "sent" for r in rows), count)
    problems.check(
        f"{what}: welcomes sent with a latency",
        sum(r.welcome_status == "sent" and r.welcome_ms is not None for r in rows),
        count,
    )
    problems.check(f"{what}: follow-ups 'done'", sum(r.followup == "done" for r in rows), count)
    tags = wecom.state(APP).corp.contacts.tags
    right_text = right_remark = tagged = one_welcome = 0
    for number, change in enumerate(changes):
        name = customer_name(number)
        expected_remark = f"{name}-{CHANNEL}"[: settings.remark_chars]
        row = by_customer.get(change.external_userid)
        if row is not None and row.followup == "done" and row.remark == expected_remark:
            right_remark += 1
        customer = wecom.external_contact(APP, change.external_userid)
        if len(customer.received) == 1:
            one_welcome += 1
            text = welcome_text(name, change.external_userid, change.userid, staff[change.userid])
            right_text += customer.received[0]["text"] == text
        follow = customer.follow[change.userid.lower()]
        names = sorted(t["tag_name"] for t in follow.as_json(tags)["tags"])
        tagged += follow.remark == expected_remark and names == sorted(TAGS)
    problems.check(f"{what}: customers with exactly one welcome", one_welcome, count)
    problems.check(f"{what}: welcomes with the template's text", right_text, count)
    problems.check(f"{what}: follow-ups 'done' with the expected remark", right_remark, count)
    problems.check(f"{what}: customers remarked and tagged in the fake", tagged, count)
    used = [c for c in wecom.calls_to(WELCOME_PATH) if c["errcode"] == WELCOME_CODE_USED]
    problems.check(f"{what}: send_welcome_msg answered {WELCOME_CODE_USED}", len(used), 0)
    problems.check(f"{what}: send_welcome_msg calls", len(wecom.calls_to(WELCOME_PATH)), count)
    return [float(r.welcome_ms) for r in rows if r.welcome_ms is not None]


# Report


def print_table(rows: Sequence[Latencies]) -> None:
    print(
        f"\n{'what':<40}{'count':>7}{'seconds':>9}{'per s':>8}{'p50 ms':>9}{'p95 ms':>9}"
        f"{'p99 ms':>9}{'max ms':>9}"
    )
    for row in rows:
        seconds = f"{row.seconds:>9.2f}{row.rate:>8,.0f}" if row.seconds else f"{'':>17}"
        print(
            f"{row.what:<40}{len(row.samples_ms):>7,}{seconds}{row.at(50):>9.1f}"
            f"{row.at(95):>9.1f}{row.at(99):>9.1f}{max(row.samples_ms, default=math.nan):>9.1f}"
        )
    print(
        "per s: the count over the part's wall time (the items run concurrently); times: per "
        "event or call, in the order it was measured; welcome_ms: what the bot stored, from the "
        "event's arrival to the welcome call's answer"
    )


async def run(args: argparse.Namespace) -> int:
    problems = Problems()
    problems.count_loop_errors()
    count, concurrency = args.customers, args.concurrency
    workdir = Path(tempfile.mkdtemp(prefix="opsbot-bench-welcome-"))
    dbs = Databases(args.database_url, workdir)
    try:
        await dbs.open()
        print(
            f"welcome benchmark: {count:,} new customers per part, {concurrency} at once; "
            f"{MEMBERS} members, 1 live code; database: {dbs.label}; WeCom sandbox fake on "
            "127.0.0.1 in this process",
            flush=True,
        )
        bare = await reference(dbs, count, concurrency, problems)
        print(f"{bare.what}: {bare.seconds or 0:.2f} s", flush=True)
        bot = await opsbot(dbs, count, concurrency, problems)
        print(f"{bot.events.what}: {bot.events.seconds or 0:.2f} s", flush=True)
    finally:
        await dbs.close()
        shutil.rmtree(workdir, ignore_errors=True)

    print_table([bare, bot.events, bot.stored, bot.repeats])
    print()
    print(
        f"follow-ups (remark and 2 tags): all 'done' {bot.followups_seconds:.2f} s after the "
        f"first event, {bot.after_last_seconds:.2f} s after the last on_change returned"
        + ("" if bot.followups_finished else " (STALLED: not all done)")
    )
    for note in bot.notes:
        print(f"opsbot: {note}")
    events = bot.events
    print(
        f"\nopsbot / reference: p50 {events.at(50) / bare.at(50):.2f}, "
        f"p99 {events.at(99) / bare.at(99):.2f}, throughput {events.rate / bare.rate:.2f}"
    )
    rss, peak = memory_mb()
    print(f"process RSS: {rss:.0f} MB at the end, {peak:.0f} MB at the peak")
    if problems.loop_errors:
        print(f"WARNING: {problems.loop_errors:,} tasks died of an exception no one caught")
    if problems.found or problems.loop_errors:
        print("\nCOUNTS WRONG:\n  " + "\n  ".join(problems.found or ["tasks died"]))
        return 1
    print(
        "counts: every customer welcomed exactly once with the template's text, every add "
        "stored once, sent, remarked and tagged; events that came again sent nothing"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.welcome")
    add_arguments(parser)
    return measure(parser.parse_args(argv))


def measure(args: argparse.Namespace) -> int:
    """Run the benchmark with the options of :func:`add_arguments`; the exit status."""
    if args.customers < 1 or args.concurrency < 1:
        print("bench.welcome: --customers and --concurrency must be positive")
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return asyncio.run(run(args))


def add_arguments(parser: argparse.ArgumentParser, *, database_url: bool = True) -> None:
    """This benchmark's options (``python -m bench`` takes them too; ``database_url=False``
    when the parser has ``--database-url`` already, from :mod:`bench.sop`)."""
    parser.add_argument(
        "--customers", type=int, default=2000, help="new customers per part (welcome)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=32, help="events (or calls) at once (welcome)"
    )
    if database_url:
        parser.add_argument(
            "--database-url",
            help="a PostgreSQL server (postgresql+asyncpg://...): the benchmark creates a "
            "database there and drops it after; default: a temporary SQLite file",
        )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
