"""``opsbot serve`` and ``opsbot sandbox``: run the apps until Ctrl+C or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal

from aiohttp import web

from bot.app import create_app
from bot.settings import Settings
from channels.telegram.sandbox import FakeBot, create_telegram_fake_app
from channels.wechat.sandbox import FakeAccount, create_fake_app
from channels.wecom.sandbox import FakeWecomApp, create_wecom_fake_app

log = logging.getLogger(__name__)

GC_THRESHOLD = 20_000
# Callbacks answer within the reply deadline; the sandbox's long polls are simply cut.
BOT_SHUTDOWN_SECONDS = 5.0
SANDBOX_SHUTDOWN_SECONDS = 0.5


def bot_url(settings: Settings) -> str:
    s = settings.server
    return (s.public_url or f"http://{s.host}:{s.port}").rstrip("/")


def sandbox_url(settings: Settings) -> str:
    return f"http://{settings.sandbox.host}:{settings.sandbox.port}"


def fake_accounts(settings: Settings) -> list[FakeAccount]:
    """The sandbox's copy of each account, calling back into this bot."""
    return [
        FakeAccount(
            name=name,
            app_id=a.app_id,
            secret=a.secret.get(),
            token=a.token.get(),
            encoding_aes_key=a.encoding_aes_key.get() if a.encoding_aes_key else "",
            mode=a.mode,
            original_id=a.original_id or f"gh_{name}",
            callback_url=f"{bot_url(settings)}/wechat/{name}",
        )
        for name, a in settings.wechat.items()
    ]


def fake_wecom_apps(settings: Settings) -> list[FakeWecomApp]:
    """The sandbox's copy of each WeCom app, calling back into this bot."""
    return [
        FakeWecomApp(
            name=name,
            corp_id=a.corp_id,
            agent_id=a.agent_id,
            secret=a.secret.get(),
            token=a.token.get(),
            encoding_aes_key=a.encoding_aes_key.get(),
            callback_url=f"{bot_url(settings)}/wecom/{name}",
        )
        for name, a in settings.wecom.items()
    ]


def fake_bots(settings: Settings) -> list[FakeBot]:
    return [
        FakeBot(name=name, token=b.token.get(), username=b.username or f"{name}_bot")
        for name, b in settings.telegram.items()
    ]


def create_sandbox(settings: Settings) -> web.Application:
    """All platform fakes on one server: the Official Account at the root, WeCom under
    ``/wecom`` and the Telegram Bot API under ``/telegram``."""
    timeout = settings.sandbox.callback_timeout_seconds
    fake = create_fake_app(fake_accounts(settings), callback_timeout=timeout)
    if settings.wecom:
        fake.add_subapp(
            "/wecom", create_wecom_fake_app(fake_wecom_apps(settings), callback_timeout=timeout)
        )
    if settings.telegram:
        fake.add_subapp("/telegram", create_telegram_fake_app(fake_bots(settings)))
    return fake


def tune_gc() -> None:
    """After start-up: move what was loaded (compiled replies, keyword index, modules) out of the
    collector's way, and collect young objects less often. Request garbage is freed by reference
    counting; with the defaults the collector kept re-walking the loaded objects under load
    (measured with ``make bench``)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 20, 20)


async def _start(
    app: web.Application, host: str, port: int, *, shutdown_seconds: float
) -> web.AppRunner:
    """Serve ``app``; on stop, requests still running get ``shutdown_seconds`` to finish."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=shutdown_seconds)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


async def _until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def _start_sandbox(settings: Settings) -> web.AppRunner:
    return await _start(
        create_sandbox(settings),
        settings.sandbox.host,
        settings.sandbox.port,
        shutdown_seconds=SANDBOX_SHUTDOWN_SECONDS,
    )


async def serve(settings: Settings) -> None:
    runners = []
    try:
        if settings.sandbox.enabled:
            runners.append(await _start_sandbox(settings))
            bases = [
                *((f"wechat.{n}", a.api_base) for n, a in settings.wechat.items()),
                *((f"wecom.{n}", a.api_base) for n, a in settings.wecom.items()),
                *((f"wecom.{n}.oauth_base", a.oauth_base) for n, a in settings.wecom.items()),
                *((f"telegram.{n}", b.api_base) for n, b in settings.telegram.items()),
            ]
            for name, base in bases:
                if not base.startswith(sandbox_url(settings)):
                    log.warning("sandbox is on, but %s calls %s", name, base)
        app = create_app(settings)
        s = settings.server
        runners.append(await _start(app, s.host, s.port, shutdown_seconds=BOT_SHUTDOWN_SECONDS))
        tune_gc()
        print(_banner(settings), flush=True)
        await _until_stopped()
    finally:
        for runner in reversed(runners):
            await runner.cleanup()


async def serve_sandbox_only(settings: Settings) -> None:
    runner = await _start_sandbox(settings)
    print(f"sandbox platforms on {sandbox_url(settings)}; callbacks go to {bot_url(settings)}")
    try:
        await _until_stopped()
    finally:
        await runner.cleanup()


def _banner(settings: Settings) -> str:
    lines = [f"opsbot is serving on http://{settings.server.host}:{settings.server.port}"]
    for name in settings.wechat:
        lines.append(f"  Official Account {name!r} callback URL: {bot_url(settings)}/wechat/{name}")
    for name in settings.wecom:
        lines.append(f"  WeCom app {name!r} callback URL: {bot_url(settings)}/wecom/{name}")
    for name, b in settings.telegram.items():
        where = f"webhook {bot_url(settings)}/telegram/{name}" if b.mode == "webhook" else "polling"
        lines.append(f"  Telegram bot {name!r}: {where}")
    if settings.sandbox.enabled:
        lines += [
            f"  sandbox WeChat (fake API and customers): {sandbox_url(settings)}",
            "",
            "Be a customer, in another terminal:  .venv/bin/opsbot chat",
            "  then try: /follow spring_campaign, 价格, /click MENU_ABOUT, 帮助",
            "Be an admin in the WeCom app chat:  .venv/bin/opsbot chat --as admin --via wecom",
            "  (or --as staff, --via telegram), then try: 帮助, 规则 列表, 菜单 查看",
        ]
    lines.append("Press Ctrl+C to stop.")
    return "\n".join(lines)
