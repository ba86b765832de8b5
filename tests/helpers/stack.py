"""The whole system on loopback: the bot's real app and the fake WeChat platform, each on its own
port, configured through a real settings file. The fake plays the customers (signed, encrypted
callbacks) and records every API call the bot makes."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.app import ENGINE, create_app
from bot.config_file import import_configs, parse
from bot.settings import Settings, load_settings
from channels.telegram.sandbox import (
    TELEGRAM_FAKE_STATE,
    FakeBot,
    FakeTelegram,
    create_telegram_fake_app,
)
from channels.wechat.sandbox import (
    FAKE_STATE,
    FakeAccount,
    FakeCustomer,
    FakePlatform,
    build_callback,
    create_fake_app,
)
from channels.wecom.sandbox import (
    WECOM_FAKE_STATE,
    FakeWecom,
    FakeWecomApp,
    create_wecom_fake_app,
)
from storage.models import OutboxRow

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
TOKEN = "opsbottest"
APP_ID = "wx00000000test01"
ORIGINAL_ID = "gh_0000test0001"
WECOM_AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
TELEGRAM_TOKEN = "100000042:test-telegram-token-0000000001"
TELEGRAM_SECRET = "test-webhook-secret"
# Staff chats of the test stack: WeCom app "corp" and Telegram bot "tg"; lilei and 10001 are
# admins, hanmeimei and 10002 staff; wangwu and 10003 have no role.
STAFF_SETTINGS = """
[wecom.corp]
corp_id = "ww00000000test001"
agent_id = 1000002
secret = "wecom-secret"
token = "wecomtoken"
encoding_aes_key = "{aes}"
api_base = "http://127.0.0.1:{port}/wecom"
oauth_base = "http://127.0.0.1:{port}/wecom"

[telegram.tg]
token = "{tg_token}"
mode = "webhook"
webhook_secret = "{tg_secret}"
api_base = "http://127.0.0.1:{port}/telegram"
username = "opsbot_test_bot"

[commands]
admins = ["wecom:corp:lilei", "telegram:tg:10001"]
staff = ["wecom:corp:hanmeimei", "telegram:tg:10002"]
confirm_seconds = {confirm}
rate_per_minute = 100
"""


@dataclass
class Stack:
    settings: Settings
    app: web.Application
    bot_url: str
    platform: FakePlatform
    fake_accounts: dict[str, FakeAccount]
    http: aiohttp.ClientSession
    wecom: FakeWecom | None = None
    telegram: FakeTelegram | None = None
    restart: Callable[[], Awaitable[None]] | None = None

    @property
    def account(self) -> FakeAccount:
        return next(iter(self.fake_accounts.values()))

    def customer(self, openid: str, account: str | None = None) -> FakeCustomer:
        return FakeCustomer(self.platform, account or self.account.name, openid)

    def seen(self, openid: str, account: str | None = None) -> list[dict[str, Any]]:
        """What the customer saw, in order: (via, message) of each outgoing timeline entry."""
        entries = self.platform.timeline(account or self.account.name, openid)
        return [{"via": e["via"], **e["message"]} for e in entries if e["direction"] == "out"]

    def calls(self, path: str) -> list[Any]:
        """The API calls the bot made to ``path``, as the fake recorded them."""
        return self.platform.calls_to(path)

    async def post_callback(
        self,
        inner_xml: str,
        *,
        account: FakeAccount | None = None,
        timestamp: int | None = None,
        nonce: str = "nonce42",
        query: Mapping[str, str] | None = None,
        body: bytes | None = None,
        path: str | None = None,
    ) -> tuple[int, bytes]:
        """POST a callback built exactly as WeChat builds it (or with parts replaced)."""
        account = account or self.account
        built_query, built_body = build_callback(
            account, inner_xml, timestamp=timestamp or int(time.time()), nonce=nonce
        )
        url = self.bot_url + (path or f"/wechat/{account.name}")
        async with self.http.post(
            url,
            params={**built_query, **(query or {})},
            data=body if body is not None else built_body,
        ) as resp:
            return resp.status, await resp.read()

    async def outbox_rows(self) -> list[Any]:
        async with self.app[ENGINE].connect() as conn:
            return list(
                (await conn.execute(select(OutboxRow.__table__).order_by(OutboxRow.id))).all()
            )

    async def until(
        self, check: Callable[[], Awaitable[bool] | bool], within: float = 10.0
    ) -> None:
        """Wait for ``check`` to hold (delivery happens in the background)."""
        deadline = time.monotonic() + within
        while True:
            result = check()
            if isinstance(result, Awaitable):
                result = await result
            if result:
                return
            if time.monotonic() > deadline:
                raise AssertionError("condition not reached in time")
            await asyncio.sleep(0.02)


def settings_file(
    tmp_path: Path,
    db_url: str,
    bot_port: int,
    fake_port: int,
    modes: Mapping[str, str],
    extra: str = "",
) -> Path:
    accounts = "".join(
        f"""
[wechat.{name}]
app_id = "{APP_ID}{i}"
secret = "secret-{name}"
token = "{TOKEN}"
encoding_aes_key = "{AES_KEY}"
mode = "{mode}"
api_base = "http://127.0.0.1:{fake_port}"
qr_image_base = "http://127.0.0.1:{fake_port}"
original_id = "{ORIGINAL_ID}{i}"
token_endpoint = "classic"
"""
        for i, (name, mode) in enumerate(modes.items())
    )
    path = tmp_path / "opsbot.toml"
    path.write_text(
        f"""
[server]
host = "127.0.0.1"
port = {bot_port}
config_poll_seconds = 0.2

[database]
url = "{db_url}"

[delivery]
followup_delay_seconds = 0.2
poll_seconds = 0.05
api_timeout_seconds = 3.0
{extra}
{accounts}""",
        encoding="utf-8",
    )
    return path


def _reserved_socket() -> socket.socket:
    reserved = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    reserved.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    reserved.bind(("127.0.0.1", 0))
    return reserved


def _use(reserved: socket.socket) -> Callable[[str, int, socket.AddressFamily], socket.socket]:
    return lambda _host, _port, _family: reserved


@asynccontextmanager
async def running_stack(
    tmp_path: Path,
    db_url: str,
    *,
    config: Mapping[str, Any] | None = None,
    modes: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    callback_timeout: float = 5.0,
    staff: bool = False,
    confirm_seconds: int = 120,
) -> AsyncIterator[Stack]:
    """Start the fake platform and the bot; ``config`` is imported first (``{account: {...}}``).
    With ``staff``, the WeCom and Telegram fakes too, and the staff chats of STAFF_SETTINGS."""
    modes = modes or {"demo": "safe"}
    # The ports are held by bound sockets from now until the servers listen on them, so an
    # outgoing connection (which takes an ephemeral port) cannot take one in between.
    bot_socket, fake_socket = _reserved_socket(), _reserved_socket()
    bot_port, fake_port = bot_socket.getsockname()[1], fake_socket.getsockname()[1]
    extra = (
        STAFF_SETTINGS.format(
            aes=WECOM_AES_KEY,
            port=fake_port,
            tg_token=TELEGRAM_TOKEN,
            tg_secret=TELEGRAM_SECRET,
            confirm=confirm_seconds,
        )
        if staff
        else ""
    )
    settings = load_settings(
        settings_file(tmp_path, db_url, bot_port, fake_port, modes, extra),
        environ=dict(env or {}),
    )
    fake_accounts = {
        name: FakeAccount(
            name=name,
            app_id=a.app_id,
            secret=a.secret.get(),
            token=a.token.get(),
            encoding_aes_key=AES_KEY,
            mode=a.mode,
            original_id=a.original_id,
            callback_url=f"http://127.0.0.1:{bot_port}/wechat/{name}",
        )
        for name, a in settings.wechat.items()
    }
    fake_app = create_fake_app(list(fake_accounts.values()), callback_timeout=callback_timeout)
    wecom_app = telegram_app = None
    if staff:
        wecom_app = create_wecom_fake_app(
            [
                FakeWecomApp(
                    name=name,
                    corp_id=a.corp_id,
                    agent_id=a.agent_id,
                    secret=a.secret.get(),
                    token=a.token.get(),
                    encoding_aes_key=a.encoding_aes_key.get(),
                    callback_url=f"http://127.0.0.1:{bot_port}/wecom/{name}",
                )
                for name, a in settings.wecom.items()
            ]
        )
        telegram_app = create_telegram_fake_app(
            [
                FakeBot(name=name, token=b.token.get(), username=b.username)
                for name, b in settings.telegram.items()
            ]
        )
        fake_app.add_subapp("/wecom", wecom_app)
        fake_app.add_subapp("/telegram", telegram_app)
    fake = TestServer(fake_app, host="127.0.0.1", port=fake_port, socket_factory=_use(fake_socket))
    await fake.start_server()
    app = create_app(settings)
    bot = TestServer(app, host="127.0.0.1", port=bot_port, socket_factory=_use(bot_socket))
    servers = [bot]

    async def restart() -> None:
        """Stop the bot (as a crash would leave the database) and start a new one."""
        await servers[0].close()
        stack.app = create_app(settings)
        servers[0] = TestServer(stack.app, host="127.0.0.1", port=bot_port)
        await servers[0].start_server()

    try:
        if config:
            from storage.db import create_engine

            engine = create_engine(db_url)
            try:
                await import_configs(engine, parse({"accounts": dict(config)}, settings))
            finally:
                await engine.dispose()
        await bot.start_server()
        async with aiohttp.ClientSession() as http:
            stack = Stack(
                settings,
                app,
                f"http://127.0.0.1:{bot_port}",
                fake_app[FAKE_STATE],
                fake_accounts,
                http,
                wecom_app[WECOM_FAKE_STATE] if wecom_app else None,
                telegram_app[TELEGRAM_FAKE_STATE] if telegram_app else None,
                restart,
            )
            yield stack
    finally:
        await servers[0].close()
        await fake.close()
