"""Fixtures: the fake WeCom on loopback and a tiny receiver that checks callbacks with wechatpy."""

from __future__ import annotations

import asyncio
import io
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import segno
from aiohttp import FormData, web
from aiohttp.test_utils import TestClient
from wechatpy.enterprise import parse_message
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException

from channels.wecom.sandbox import (
    WECOM_FAKE_STATE,
    Clock,
    FakeWecom,
    FakeWecomApp,
    WecomLimits,
    create_wecom_fake_app,
)

AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
OTHER_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


@dataclass
class Received:
    """One callback as the receiver saw it after verifying it independently."""

    app: FakeWecomApp
    query: dict[str, str]
    body: bytes
    xml: str
    message: Any


Responder = Callable[[Received], Awaitable[web.StreamResponse]]


class Receiver:
    """A minimal bot: verifies signature and envelope with wechatpy, answers as scripted."""

    def __init__(self) -> None:
        self.apps: dict[str, FakeWecomApp] = {}
        self.received: list[Received] = []
        self.rejected: list[str] = []
        self.verifications: list[dict[str, str]] = []
        self.echo_override: str | None = None
        self._script: deque[Responder] = deque()
        self.app = web.Application()
        self.app.router.add_post("/wecom/{name}", self._post)
        self.app.router.add_get("/wecom/{name}", self._get)

    def respond(self, *responders: Responder) -> None:
        """Answer the next callbacks with these responders (then an empty 200)."""
        self._script.extend(responders)

    def crypto(self, app: FakeWecomApp) -> WeChatCrypto:
        return WeChatCrypto(app.token, app.encoding_aes_key, app.corp_id)

    async def _get(self, request: web.Request) -> web.StreamResponse:
        app = self.apps[request.match_info["name"]]
        query = dict(request.query)
        self.verifications.append(query)
        try:
            echo = self.crypto(app).check_signature(
                query["msg_signature"], query["timestamp"], query["nonce"], query["echostr"]
            )
        except InvalidSignatureException:
            return web.Response(status=403)
        return web.Response(text=self.echo_override or echo)

    async def _post(self, request: web.Request) -> web.StreamResponse:
        app = self.apps[request.match_info["name"]]
        query = dict(request.query)
        body = await request.read()
        try:
            xml = self.crypto(app).decrypt_message(
                body, query["msg_signature"], query["timestamp"], query["nonce"]
            )
        except (InvalidSignatureException, KeyError) as exc:
            self.rejected.append(repr(exc))
            return web.Response(status=403)
        received = Received(app, query, body, xml, parse_message(xml))
        self.received.append(received)
        responder = self._script.popleft() if self._script else empty()
        return await responder(received)


def empty() -> Responder:
    async def answer(received: Received) -> web.StreamResponse:
        return web.Response(status=200)

    return answer


def status(code: int) -> Responder:
    async def answer(received: Received) -> web.StreamResponse:
        return web.Response(status=code, text="boom")

    return answer


def raw(body: bytes) -> Responder:
    async def answer(received: Received) -> web.StreamResponse:
        return web.Response(body=body, content_type="text/xml")

    return answer


def delayed(seconds: float, then: Responder) -> Responder:
    async def answer(received: Received) -> web.StreamResponse:
        await asyncio.sleep(seconds)
        return await then(received)

    return answer


def encrypted_text_reply(content: str) -> Responder:
    """A passive text reply sealed with wechatpy, as a bot would answer."""

    async def answer(received: Received) -> web.StreamResponse:
        message = received.message
        xml = (
            f"<xml><ToUserName><![CDATA[{message.source}]]></ToUserName>"
            f"<FromUserName><![CDATA[{received.app.corp_id}]]></FromUserName>"
            f"<CreateTime>{message.create_time}</CreateTime>"
            f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content></xml>"
        )
        sealed = Receiver().crypto(received.app).encrypt_message(xml, received.query["nonce"])
        return web.Response(text=sealed, content_type="text/xml")

    return answer


class Fake:
    """The fake app under test plus helpers to call it like a client would."""

    def __init__(
        self, client: TestClient[Any, Any], receiver: Receiver, wecom: FakeWecom, base: str = ""
    ) -> None:
        self.client = client
        self.receiver = receiver
        self.base = base
        self.wecom = wecom
        self.apps = {a.name: a for a in self.wecom.apps}
        self._tokens: dict[str, tuple[str, float]] = {}

    async def token(self, name: str = "ops") -> str:
        app = self.apps[name]
        resp = await self.client.get(
            self.base + "/cgi-bin/gettoken",
            params={"corpid": app.corp_id, "corpsecret": app.secret},
        )
        body = await resp.json()
        assert body["errcode"] == 0, body
        return str(body["access_token"])

    async def api(self, method: str, path: str, name: str = "ops", **kwargs: Any) -> Any:
        """Call an API with the app's token (refreshed before it runs out, like a client)."""
        now = self.wecom.clock.now()
        if name not in self._tokens or self._tokens[name][1] < now + 300:
            self._tokens[name] = (await self.token(name), now + 7200)
        params = {"access_token": self._tokens[name][0], **kwargs.pop("params", {})}
        resp = await self.client.request(method, self.base + path, params=params, **kwargs)
        assert resp.status == 200, await resp.text()
        if resp.content_type == "application/json":
            return await resp.json()
        return await resp.read()

    async def send(self, body: dict[str, Any], name: str = "ops") -> Any:
        return await self.api("POST", "/cgi-bin/message/send", name, json=body)

    async def upload(self, kind: str, data: bytes, name: str = "ops", filename: str = "f") -> Any:
        form = FormData()
        form.add_field("media", data, filename=filename, content_type="application/octet-stream")
        return await self.api(
            "POST", "/cgi-bin/media/upload", name, params={"type": kind}, data=form
        )

    async def act(self, name: str, userid: str, action: str, **kwargs: Any) -> Any:
        url = f"{self.base}/sandbox/apps/{name}/members/{userid}/{action}"
        resp = await self.client.post(url, **kwargs)
        assert resp.status == 200, await resp.text()
        return await resp.json()


def png(size: int = 0) -> bytes:
    """A real PNG, padded with trailing bytes up to `size`."""
    buffer = io.BytesIO()
    segno.make("x").save(buffer, kind="png")
    data = buffer.getvalue()
    return data + bytes(max(0, size - len(data)))


JPEG = b"\xff\xd8\xff\xe0" + bytes(60)
MP4 = bytes(4) + b"ftypisom" + bytes(60)
AMR = b"#!AMR\n" + bytes(60)
GIF = b"GIF89a" + bytes(40)


def make_apps(base: str) -> list[FakeWecomApp]:
    def app(name: str, corp: str, agent: int, key: str) -> FakeWecomApp:
        return FakeWecomApp(
            name=name,
            corp_id=corp,
            agent_id=agent,
            secret=f"secret-{name}",
            token=f"token{name}",
            encoding_aes_key=key,
            callback_url=f"{base}/wecom/{name}",
        )

    return [
        app("ops", "ww0000000000000001", 1000002, AES_KEY),
        app("admin", "ww0000000000000001", 1000003, OTHER_KEY),
        app("other", "ww0000000000000002", 1000002, OTHER_KEY),
    ]


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake_factory(
    aiohttp_server: Any, aiohttp_client: Any, receiver: Receiver, clock: Clock
) -> Callable[..., Awaitable[Fake]]:
    async def make(
        *,
        callback_timeout: float = 2.0,
        limits: WecomLimits | None = None,
        token_ttl: int = 7200,
        mounted: bool = False,
    ) -> Fake:
        server = await aiohttp_server(receiver.app)
        apps = make_apps(str(server.make_url("")).rstrip("/"))
        receiver.apps.update({a.name: a for a in apps})
        fake = create_wecom_fake_app(
            apps,
            clock=clock,
            callback_timeout=callback_timeout,
            token_ttl=token_ttl,
            limits=limits,
        )
        wecom = fake[WECOM_FAKE_STATE]
        if not mounted:
            return Fake(await aiohttp_client(fake), receiver, wecom)
        parent = web.Application()
        parent.add_subapp("/wecom", fake)
        return Fake(await aiohttp_client(parent), receiver, wecom, base="/wecom")

    return make


@pytest.fixture
async def fake(fake_factory: Callable[..., Awaitable[Fake]]) -> Fake:
    return await fake_factory()
