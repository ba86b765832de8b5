"""The aiohttp application factory: every resource is one ``cleanup_ctx`` entry under an AppKey.

Start-up order: database (refuses an unmigrated schema), reply books (loaded, then polled for
changes), inbound log (group commit), platform clients and the outbox worker, the staff chat
(Telegram webhook or polling, bootstrap roles), housekeeping.
Shutdown runs the same list backwards, draining work that outlived its request first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import aiohttp
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import sop_runner
from bot.customer_contact import CustomerContact
from bot.group_codes import GroupCodes
from bot.scheduler import Handler, JobScheduler
from bot.settings import DatabaseSettings, Settings, WechatAccountSettings
from bot.sop_runner import SopRunner
from bot.staff_chat import StaffChat, build_staff_chat, running, server_url
from bot.wecom_content import WecomContent
from channels.wechat.account import WechatAccount
from channels.wechat.callback import WechatCallback
from channels.wechat.client import WechatClient, WechatQrIssuer
from channels.wechat.outbound import WechatSender
from handlers import mass_send
from handlers.books import ReplyBooks
from handlers.channel_codes import ChannelCodes
from handlers.commands.base import split_chat_key
from handlers.delivery import DeliveryWorker
from handlers.inbound import InboundProcessor
from handlers.mass_send import MassSendRunner
from handlers.messages import Text
from scripts_library import files as library_files
from scripts_library.library import ScriptLibrary
from scripts_library.sidebar import Sidebar
from storage import commands_repo, inbound
from storage.db import create_engine
from storage.followers import FollowerReader
from storage.inbound import InboundLog
from storage.migrate import ensure_current
from storage.models import utcnow
from storage.outbox import Outbox
from storage.schedule_repo import Job
from storage.tokens import TokenStore

log = logging.getLogger(__name__)

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
BOOKS = web.AppKey("books", ReplyBooks)
INBOUND_LOG = web.AppKey("inbound_log", InboundLog)
PROCESSOR = web.AppKey("processor", InboundProcessor)
OUTBOX = web.AppKey("outbox", Outbox)
WORKER = web.AppKey("worker", DeliveryWorker)
WECHAT_CLIENTS = web.AppKey("wechat_clients", dict[str, WechatClient])
STAFF_CHAT = web.AppKey("staff_chat", StaffChat)
LIBRARY = web.AppKey("library", ScriptLibrary)
SCHEDULER = web.AppKey("scheduler", JobScheduler)
# Kinds of timed work every app gets besides its features' own (tests add probes here).
JOB_KINDS: dict[str, Handler] = {}
HTTP = web.AppKey("http", aiohttp.ClientSession)  # shared outgoing session, from start-up

PRUNE_EVERY_SECONDS = 600


def wechat_account(name: str, s: WechatAccountSettings) -> WechatAccount:
    """The adapter's view of one account's settings (secrets unwrapped only here)."""
    return WechatAccount(
        name=name,
        app_id=s.app_id,
        secret=s.secret.get(),
        token=s.token.get(),
        encoding_aes_key=s.encoding_aes_key.get() if s.encoding_aes_key else None,
        mode=s.mode,
        api_base=s.api_base,
        qr_image_base=s.qr_image_base,
        original_id=s.original_id,
        token_endpoint=s.token_endpoint,
    )


def engine_for(settings: Settings) -> AsyncEngine:
    """The database engine the settings describe (the caller disposes of it)."""
    db = settings.database
    return create_engine(db.url.get(), echo=db.echo, sqlite_synchronous=db.sqlite_synchronous)


def process_owner() -> str:
    """A name for this process in leases (host, pid and a random part)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def create_app(settings: Settings, *, engine: AsyncEngine | None = None) -> web.Application:
    """Build the bot's application. With ``engine`` given, the caller owns (and disposes) it."""
    app = web.Application(client_max_size=settings.server.max_body_bytes)
    app[SETTINGS] = settings
    owned = engine is None
    engine = engine or engine_for(settings)
    app[ENGINE] = engine
    owner = process_owner()
    accounts = [wechat_account(name, s) for name, s in settings.wechat.items()]

    books = ReplyBooks(engine, [a.name for a in accounts])
    outbox = Outbox(engine, owner=owner, lease_seconds=settings.delivery.lease_seconds)
    inbound_log = InboundLog(
        engine,
        followup_delay=settings.delivery.followup_delay_seconds,
        synchronous=settings.database.sqlite_synchronous,
    )
    processor = InboundProcessor(
        books,
        inbound_log,
        FollowerReader(engine).get,
        deadline_seconds=settings.server.reply_deadline_seconds,
    )
    app[BOOKS], app[OUTBOX], app[INBOUND_LOG], app[PROCESSOR] = (
        books,
        outbox,
        inbound_log,
        processor,
    )
    library = ScriptLibrary(engine)
    app[LIBRARY] = library
    staff_chat = build_staff_chat(settings, engine, outbox, library)
    app[STAFF_CHAT] = staff_chat
    content = WecomContent(
        engine, library, file_url=staff_chat.service.services.file_url, http=lambda: app[HTTP]
    )
    customers = CustomerContact(
        engine,
        staff_chat.wecom_clients,
        content,
        settings.customers,
        settings.scheduler.timezone,
    )
    staff_chat.on_contact_change = customers.on_change
    app.add_routes(staff_chat.routes())
    app.add_routes(library_files.routes(library))
    sidebar = Sidebar(
        library,
        engine,
        apps=staff_chat.wecom_apps,
        accounts={n: settings.managed_account(s.manages) for n, s in settings.wecom.items()},
        clients=staff_chat.wecom_clients,
        base_url=server_url(settings),
        http=lambda: app[HTTP],
    )
    app.add_routes(sidebar.routes())
    scheduler, kinds = build_scheduler(settings, engine, staff_chat, owner)
    mass_sends = MassSendRunner(
        engine, staff_chat.service.services.accounts, staff_chat.answers.queue
    )
    kinds[mass_send.KIND] = mass_sends.run
    callback = WechatCallback(
        accounts,
        processor,
        timestamp_window=settings.server.timestamp_window_seconds,
        max_body_bytes=settings.server.max_body_bytes,
        on_mass_finish=lambda f: mass_sends.finished(
            f.account,
            f.msg_id,
            {
                "status": f.status,
                "total": f.total,
                "filter": f.filter_count,
                "sent": f.sent_count,
                "errors": f.error_count,
            },
        ),
    )
    app.add_routes(callback.routes())
    sops = SopRunner(
        engine,
        staff_chat.wecom_clients,
        staff_chat.answers.queue,
        library,
        file_url=staff_chat.service.services.file_url,
        http=lambda: app[HTTP],
    )
    kinds[sop_runner.KIND] = sops.run
    staff_chat.service.services.sop_results = sops
    group_codes = GroupCodes(engine, staff_chat.wecom_clients, staff_chat.answers.queue, settings)
    staff_chat.service.services.group_codes = group_codes
    if staff_chat.group_sync is not None:
        staff_chat.group_sync.listener = group_codes.on_group_change
    app.add_routes(group_codes.routes())
    app.router.add_get("/healthz", _health)

    app.cleanup_ctx.append(_database(engine, owned))
    app.cleanup_ctx.append(_reply_books(books, settings.server.config_poll_seconds))
    app.cleanup_ctx.append(_inbound(inbound_log))
    app.cleanup_ctx.append(_delivery(settings, accounts, owner))
    app.cleanup_ctx.append(_staff(staff_chat))
    app.cleanup_ctx.append(_scheduler(scheduler))
    app.cleanup_ctx.append(_customer_followups(customers))
    app.cleanup_ctx.append(_group_sync(staff_chat, settings.scheduler.group_sync_seconds))
    app.cleanup_ctx.append(_housekeeping(engine, outbox, settings.database))
    return app


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


Context = Callable[[web.Application], contextlib.AbstractAsyncContextManager[None]]


def _database(engine: AsyncEngine, owned: bool) -> Context:
    @contextlib.asynccontextmanager
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        await ensure_current(engine)
        yield
        if owned:
            await engine.dispose()

    return ctx


def _reply_books(books: ReplyBooks, interval: float) -> Context:
    @contextlib.asynccontextmanager
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        await books.refresh()
        task = asyncio.create_task(books.poll(interval), name="reply-books")
        yield
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    return ctx


def _inbound(inbound_log: InboundLog) -> Context:
    @contextlib.asynccontextmanager
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        await inbound_log.start()
        yield
        await inbound_log.stop()

    return ctx


def _delivery(settings: Settings, accounts: list[WechatAccount], owner: str) -> Context:
    @contextlib.asynccontextmanager
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        engine = app[ENGINE]
        async with aiohttp.ClientSession() as session:
            app[HTTP] = session
            store = TokenStore(engine)
            staff = app[STAFF_CHAT]
            clients = staff.wechat_clients  # shared with the admin commands' ports
            for a in accounts:
                clients[a.name] = WechatClient(
                    a, session, store, owner=owner, timeout=settings.delivery.api_timeout_seconds
                )
            staff.connect(session, store, owner=owner)
            worker = DeliveryWorker(
                app[OUTBOX],
                {"wechat": WechatSender(clients), **staff.senders(session)},
                max_attempts=settings.delivery.max_attempts,
                poll_seconds=settings.delivery.poll_seconds,
            )
            app[WECHAT_CLIENTS], app[WORKER] = clients, worker
            staff.answers.worker = worker
            app[INBOUND_LOG].on_outbox = _wake_later(worker)
            codes = ChannelCodes(engine, {n: WechatQrIssuer(c) for n, c in clients.items()})
            tasks = [
                asyncio.create_task(worker.run(), name="delivery"),
                asyncio.create_task(codes.run(settings.server.config_poll_seconds), name="qr"),
            ]
            yield
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    return ctx


def build_scheduler(
    settings: Settings, engine: AsyncEngine, staff_chat: StaffChat, owner: str
) -> tuple[JobScheduler, dict[str, Handler]]:
    """Timed work (bot/scheduler.py) and the table of job kinds, filled in by each feature;
    reports go to the chat the job was made in."""

    async def report(job: Job, text: str) -> None:
        where = split_chat_key(job.chat)
        if where is None:
            log.warning("job %d (%s): %s", job.id, job.name, text)
            return
        await staff_chat.answers.queue(*where, [Text(text)])

    kinds: dict[str, Handler] = dict(JOB_KINDS)
    s = settings.scheduler
    scheduler = JobScheduler(
        engine,
        kinds,
        owner=owner,
        report=report,
        poll_seconds=s.poll_seconds,
        grace_seconds=s.grace_seconds,
        lease_seconds=s.lease_seconds,
        retry_seconds=s.retry_seconds,
        max_attempts=s.max_attempts,
        max_concurrent=s.max_concurrent_runs,
    )
    staff_chat.service.services.scheduler = scheduler
    return scheduler, kinds


def _scheduler(scheduler: JobScheduler) -> Context:
    @contextlib.asynccontextmanager
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        app[SCHEDULER] = scheduler
        await scheduler.start()
        try:
            yield
        finally:
            await scheduler.stop()

    return ctx


def _customer_followups(customers: CustomerContact) -> Context:
    """Finish the remarks and tags a stopped process left; wait for those under way at stop."""

    @contextlib.asynccontextmanager
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        found = await customers.resume()
        if found:
            log.info("finishing %d new customers' remarks and tags left by a stop", found)
        yield
        await customers.stop()

    return ctx


def _staff(staff_chat: StaffChat) -> Context:
    @contextlib.asynccontextmanager
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        async with running(staff_chat):
            yield

    return ctx


def _group_sync(staff_chat: StaffChat, every_seconds: float) -> Context:
    """Sync the WeCom customer groups at start and then every ``every_seconds`` (0: never)."""

    @contextlib.asynccontextmanager
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        group_sync = staff_chat.group_sync
        apps = [a.name for a in staff_chat.wecom_apps]
        if group_sync is None or not apps or every_seconds <= 0:
            yield
            return
        task = asyncio.create_task(
            group_sync.run_periodically(apps, every_seconds), name="group-sync"
        )
        yield
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    return ctx


def _wake_later(worker: DeliveryWorker) -> Callable[[float], None]:
    def wake(delay: float) -> None:
        asyncio.get_running_loop().call_later(delay, worker.wake)

    return wake


def _housekeeping(engine: AsyncEngine, outbox: Outbox, settings: DatabaseSettings) -> Context:
    async def prune_forever() -> None:
        while True:
            try:
                now = utcnow()
                before = now - timedelta(hours=settings.dedupe_retention_hours)
                keys = await inbound.prune(engine, before)
                keys += await commands_repo.prune_updates(engine, before)
                sent = await outbox.prune_sent(now - timedelta(days=settings.outbox_retention_days))
                if keys or sent:
                    log.info("forgot %d old dedupe keys and %d sent messages", keys, sent)
            except Exception:
                log.exception("pruning old records failed; will retry")
            await asyncio.sleep(PRUNE_EVERY_SECONDS)

    @contextlib.asynccontextmanager
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(prune_forever(), name="housekeeping")
        yield
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    return ctx
