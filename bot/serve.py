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
from channels.wechat.sandbox import FakeAccount, create_fake_app

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
    fake = create_fake_app(
        fake_accounts(settings), callback_timeout=settings.sandbox.callback_timeout_seconds
    )
    return await _start(
        fake,
        settings.sandbox.host,
        settings.sandbox.port,
        shutdown_seconds=SANDBOX_SHUTDOWN_SECONDS,
    )


async def serve(settings: Settings) -> None:
    runners = []
    try:
        if settings.sandbox.enabled:
            runners.append(await _start_sandbox(settings))
            for name, account in settings.wechat.items():
                if not account.api_base.startswith(sandbox_url(settings)):
                    log.warning("sandbox is on, but account %s calls %s", name, account.api_base)
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
    if settings.sandbox.enabled:
        lines += [
            f"  sandbox WeChat (fake API and customers): {sandbox_url(settings)}",
            "",
            "Be a customer, in another terminal:  .venv/bin/opsbot chat",
            "  then try: /follow spring_campaign, 价格, /click MENU_ABOUT, 帮助",
        ]
    lines.append("Press Ctrl+C to stop.")
    return "\n".join(lines)
