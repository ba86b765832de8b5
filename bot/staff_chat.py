"""The staff chat: WeCom app and Telegram bots in front of the command layer.

Builds, from the settings, the callback routes (``/wecom/{app}``, ``/telegram/{bot}``), the
:class:`CommandService` they feed, and at start-up the platform clients, the Telegram webhook
registration (or long polling) and the outbox senders that carry the answers back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.group_sync import GroupSync
from bot.settings import Settings, TelegramBotSettings, WecomAppSettings
from bot.staff_ports import StaffMedia, WechatAccountPort, WecomContactWays
from channels.telegram.bot import TelegramBot
from channels.telegram.client import TelegramClient
from channels.telegram.outbound import TelegramSender
from channels.telegram.poller import TelegramPoller
from channels.telegram.webhook import TelegramWebhook
from channels.tokens import TokenStorePort
from channels.wechat.client import WechatClient
from channels.wecom.app import WecomApp
from channels.wecom.callback import ContactChangeHandler, WecomCallback
from channels.wecom.client import WecomClient
from channels.wecom.outbound import WecomSender
from handlers.commands.areas import build_registry, build_wizards
from handlers.commands.base import Limits, Services
from handlers.commands.service import CommandService
from handlers.customers import ContactDefaults
from handlers.delivery import DeliveryWorker, Sender
from handlers.messages import Message, message_to_dict
from scripts_library.library import ScriptLibrary
from storage.models import utcnow
from storage.outbox import Outbox

log = logging.getLogger(__name__)


def wecom_app(name: str, s: WecomAppSettings) -> WecomApp:
    return WecomApp(
        name=name,
        corp_id=s.corp_id,
        agent_id=s.agent_id,
        secret=s.secret.get(),
        token=s.token.get(),
        encoding_aes_key=s.encoding_aes_key.get(),
        api_base=s.api_base,
        oauth_base=s.oauth_base,
    )


def telegram_bot(name: str, s: TelegramBotSettings) -> TelegramBot:
    return TelegramBot(
        name=name,
        token=s.token.get(),
        mode=s.mode,
        webhook_secret=s.webhook_secret.get() if s.webhook_secret else "",
        api_base=s.api_base,
        username=s.username,
    )


class Answers:
    """Queues answers into staff chats through the outbox, and wakes the worker."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox
        self.worker: DeliveryWorker | None = None  # set when delivery starts

    async def queue(self, platform: str, account: str, chat: str, messages: list[Message]) -> None:
        dicts = [message_to_dict(m) for m in messages]
        await self._outbox.add(platform, account, chat, dicts, origin="command")
        if self.worker is not None:
            self.worker.wake()


@dataclass
class StaffChat:
    """Everything of the staff chat one app holds; clients are filled in at start-up."""

    settings: Settings
    service: CommandService
    answers: Answers
    wecom_apps: list[WecomApp]
    telegram_bots: list[TelegramBot]
    wechat_clients: dict[str, WechatClient] = field(default_factory=dict)
    wecom_clients: dict[str, WecomClient] = field(default_factory=dict)
    telegram_clients: dict[str, TelegramClient] = field(default_factory=dict)
    group_sync: GroupSync | None = None
    # Handles change_external_contact events (welcomes, remarks, stats); set by the app.
    on_contact_change: ContactChangeHandler | None = None

    def routes(self) -> list[web.RouteDef]:
        s = self.settings.server
        routes: list[web.RouteDef] = []
        if self.wecom_apps:
            routes += WecomCallback(
                self.wecom_apps,
                self.service,
                timestamp_window=s.timestamp_window_seconds,
                max_body_bytes=s.max_body_bytes,
                on_group_change=self.group_sync.on_event if self.group_sync else None,
                on_contact_change=self.on_contact_change,
            ).routes()
        if self.telegram_bots:
            routes += TelegramWebhook(
                self.telegram_bots,
                self.service,
                self.telegram_clients,
                max_body_bytes=s.max_body_bytes,
            ).routes()
        return routes

    def senders(self, session: aiohttp.ClientSession) -> dict[str, Sender]:
        return {
            "wecom": WecomSender(self.wecom_clients, session),
            "telegram": TelegramSender(self.telegram_clients, session),
        }

    def connect(self, session: aiohttp.ClientSession, store: TokenStorePort, *, owner: str) -> None:
        timeout = self.settings.delivery.api_timeout_seconds
        for a in self.wecom_apps:
            self.wecom_clients[a.name] = WecomClient(
                a, session, store, owner=owner, timeout=timeout
            )
        for b in self.telegram_bots:
            self.telegram_clients[b.name] = TelegramClient(b, timeout=timeout)


def build_staff_chat(
    settings: Settings, engine: AsyncEngine, outbox: Outbox, library: ScriptLibrary
) -> StaffChat:
    wecom_apps = [wecom_app(n, s) for n, s in settings.wecom.items()]
    telegram_bots = [telegram_bot(n, s) for n, s in settings.telegram.items()]
    managed = {
        **{("wecom", n): settings.managed_account(s.manages) for n, s in settings.wecom.items()},
        **{
            ("telegram", n): settings.managed_account(s.manages)
            for n, s in settings.telegram.items()
        },
    }
    answers = Answers(outbox)
    wechat_clients: dict[str, WechatClient] = {}
    wecom_clients: dict[str, WecomClient] = {}
    telegram_clients: dict[str, TelegramClient] = {}
    group_sync = GroupSync(engine, wecom_clients, settings.scheduler.timezone)
    c = settings.commands
    services = Services(
        engine=engine,
        accounts={n: WechatAccountPort(wechat_clients, n) for n in settings.wechat},
        managed=lambda platform, app: managed.get((platform, app), ""),
        media=StaffMedia(wecom_clients, telegram_clients),
        queue=answers.queue,
        clock=utcnow,
        limits=Limits(c.confirm_seconds, c.wizard_minutes, c.rate_per_minute),
        admin_chats=frozenset(c.admin_chats),
        library=library,
        timezone=settings.scheduler.timezone,
        wecom_apps=tuple(settings.wecom),
        group_sync=group_sync,
        contact_ways=WecomContactWays(wecom_clients),
        contact_defaults=ContactDefaults(
            settings.customers.default_welcome,
            settings.customers.remark_pattern,
            settings.customers.remark_chars,
        ),
        file_url=lambda sha256: f"{server_url(settings)}/library/files/{sha256}",
    )
    service = CommandService(
        build_registry(),
        build_wizards(),
        services,
        admins=c.admins,
        staff=c.staff,
        pick="script.send",
    )
    return StaffChat(
        settings,
        service,
        answers,
        wecom_apps,
        telegram_bots,
        wechat_clients,
        wecom_clients,
        telegram_clients,
        group_sync,
    )


def server_url(settings: Settings) -> str:
    """Where the platforms (and our own senders) reach this server."""
    base = settings.server.public_url or f"http://{settings.server.host}:{settings.server.port}"
    return base.rstrip("/")


def webhook_url(settings: Settings, bot: TelegramBot) -> str:
    return f"{server_url(settings)}/telegram/{bot.name}"


@contextlib.asynccontextmanager
async def running(chat: StaffChat) -> AsyncIterator[None]:
    """Start the Telegram clients (webhook registered, or polling) and grant bootstrap roles."""
    await chat.service.start()
    tasks: list[asyncio.Task[None]] = []
    for bot in chat.telegram_bots:
        client = chat.telegram_clients[bot.name]
        try:
            await client.start()
            if bot.mode == "webhook":
                await client.set_webhook(webhook_url(chat.settings, bot), bot.webhook_secret)
            else:
                poller = TelegramPoller(client, bot, chat.service)
                tasks.append(asyncio.create_task(poller.run(), name=f"telegram-{bot.name}"))
        except Exception as exc:
            log.error("Telegram bot %s not started: %s", bot.name, exc)
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for client in chat.telegram_clients.values():
            with contextlib.suppress(Exception):
                await client.close()
