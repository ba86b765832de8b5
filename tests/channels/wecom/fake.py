"""The WeCom fake (``channels.wecom.sandbox``) served on loopback for client and sender tests."""

from __future__ import annotations

from dataclasses import dataclass, replace

import aiohttp
from aiohttp.test_utils import unused_port
from pytest_aiohttp import AiohttpServer
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.wecom.app import WecomApp
from channels.wecom.client import WecomClient
from channels.wecom.sandbox import (
    WECOM_FAKE_STATE,
    FakeWecom,
    FakeWecomApp,
    WecomLimits,
    create_wecom_fake_app,
)
from storage.tokens import TokenStore
from tests.channels.wecom.wire import APP

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))


@dataclass
class Fake:
    wecom: FakeWecom
    url: str  # the API base URL
    app: WecomApp  # the bot's view of the fake's app
    http: aiohttp.ClientSession

    def client(
        self, engine: AsyncEngine, *, owner: str = "p1", timeout: float = 2.0, secret: str = ""
    ) -> WecomClient:
        app = replace(self.app, secret=secret or self.app.secret)
        return WecomClient(app, self.http, TokenStore(engine), owner=owner, timeout=timeout)

    def count(self, path: str) -> int:
        return len(self.wecom.calls_to(path))

    def seen(self, userid: str) -> list[dict[str, object]]:
        """What the member saw from the app, oldest first."""
        return self.wecom.timeline(self.app.name, userid)

    async def control(self, path: str) -> None:
        async with self.http.post(self.url + path) as resp:
            assert resp.status == 200, await resp.text()


async def start_fake(
    aiohttp_server: AiohttpServer,
    http: aiohttp.ClientSession,
    *,
    bot_port: int | None = None,
    limits: WecomLimits | None = None,
) -> Fake:
    """The fake with one app (``wire.APP``) whose callbacks go to ``bot_port``."""
    config = FakeWecomApp(
        name=APP.name,
        corp_id=APP.corp_id,
        agent_id=APP.agent_id,
        secret=APP.secret,
        token=APP.token,
        encoding_aes_key=APP.encoding_aes_key,
        callback_url=f"http://127.0.0.1:{bot_port or unused_port()}/wecom/{APP.name}",
    )
    fake_app = create_wecom_fake_app([config], limits=limits)
    server = await aiohttp_server(fake_app)
    url = str(server.make_url("")).rstrip("/")
    return Fake(fake_app[WECOM_FAKE_STATE], url, replace(APP, api_base=url), http)
