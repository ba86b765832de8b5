"""Fixtures: the fake OA on loopback and a tiny receiver that checks callbacks with wechatpy."""

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
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.replies import ArticlesReply, ImageReply, TextReply
from wechatpy.utils import check_signature

from channels.wechat.sandbox import FAKE_STATE, Clock, FakeAccount, FakePlatform, create_fake_app
from channels.wechat.sandbox.limits import Limits

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OTHER_KEY = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"


@dataclass
class Received:
    """One callback as the receiver saw it after verifying it independently."""

    account: FakeAccount
    query: dict[str, str]
    body: bytes
    xml: str
    message: Any


Responder = Callable[[Received], Awaitable[web.StreamResponse]]


class Receiver:
    """A minimal bot: verifies signature and envelope with wechatpy, answers as scripted."""

    def __init__(self) -> None:
        self.accounts: dict[str, FakeAccount] = {}
        self.received: list[Received] = []
        self.rejected: list[str] = []
        self.verifications: list[dict[str, str]] = []
        self._script: deque[Responder] = deque()
        self.app = web.Application()
        self.app.router.add_post("/wechat/{name}", self._post)
        self.app.router.add_get("/wechat/{name}", self._get)

    def respond(self, *responders: Responder) -> None:
        """Answer the next callbacks with these responders (then "success")."""
        self._script.extend(responders)

    async def _get(self, request: web.Request) -> web.StreamResponse:
        account = self.accounts[request.match_info["name"]]
        query = dict(request.query)
        self.verifications.append(query)
        try:
            check_signature(account.token, query["signature"], query["timestamp"], query["nonce"])
        except InvalidSignatureException:
            return web.Response(status=403)
        return web.Response(text=query["echostr"])

    async def _post(self, request: web.Request) -> web.StreamResponse:
        account = self.accounts[request.match_info["name"]]
        query = dict(request.query)
        body = await request.read()
        try:
            check_signature(account.token, query["signature"], query["timestamp"], query["nonce"])
            if account.mode == "plaintext":
                assert "encrypt_type" not in query
                xml = body.decode()
            else:
                assert query["encrypt_type"] == "aes"
                crypto = WeChatCrypto(account.token, account.encoding_aes_key, account.app_id)
                xml = crypto.decrypt_message(
                    body, query["msg_signature"], query["timestamp"], query["nonce"]
                )
        except (InvalidSignatureException, AssertionError, KeyError) as exc:
            self.rejected.append(repr(exc))
            return web.Response(status=403)
        received = Received(account, query, body, xml, parse_message(xml))
        self.received.append(received)
        responder = self._script.popleft() if self._script else success()
        return await responder(received)

    def messages(self, account: str | None = None) -> list[Any]:
        """wechatpy message objects received, optionally for one account."""
        return [r.message for r in self.received if account in (None, r.account.name)]


def success() -> Responder:
    async def answer(received: Received) -> web.StreamResponse:
        return web.Response(text="success")

    return answer


def raw(body: bytes, status: int = 200) -> Responder:
    async def answer(received: Received) -> web.StreamResponse:
        return web.Response(body=body, status=status, content_type="text/xml")

    return answer


def delayed(seconds: float, then: Responder) -> Responder:
    async def answer(received: Received) -> web.StreamResponse:
        await asyncio.sleep(seconds)
        return await then(received)

    return answer


def _seal(received: Received, xml: str, encrypt: bool | None) -> web.StreamResponse:
    account = received.account
    if encrypt if encrypt is not None else account.mode == "safe":
        crypto = WeChatCrypto(account.token, account.encoding_aes_key, account.app_id)
        xml = crypto.encrypt_message(xml, received.query["nonce"])
    return web.Response(text=xml, content_type="text/xml")


def text_reply(content: str, *, encrypt: bool | None = None) -> Responder:
    async def answer(received: Received) -> web.StreamResponse:
        return _seal(
            received, TextReply(message=received.message, content=content).render(), encrypt
        )

    return answer


def image_reply(media_id: str) -> Responder:
    async def answer(received: Received) -> web.StreamResponse:
        return _seal(
            received, ImageReply(message=received.message, media_id=media_id).render(), None
        )

    return answer


def news_reply(count: int) -> Responder:
    async def answer(received: Received) -> web.StreamResponse:
        articles = [
            {
                "title": f"t{i}",
                "description": "d",
                "image": "http://x/p.png",
                "url": f"http://x/{i}",
            }
            for i in range(count)
        ]
        reply = ArticlesReply(message=received.message, articles=articles)
        return _seal(received, reply.render(), None)

    return answer


class Fake:
    """The fake app under test plus helpers to call it."""

    def __init__(self, client: TestClient[Any, Any], receiver: Receiver) -> None:
        self.client = client
        self.receiver = receiver
        assert client.app is not None
        self.platform: FakePlatform = client.app[FAKE_STATE]
        self.accounts = {a.name: a for a in self.platform.accounts}
        self._tokens: dict[str, tuple[str, float]] = {}

    async def token(self, name: str = "safe") -> str:
        account = self.accounts[name]
        resp = await self.client.get(
            "/cgi-bin/token",
            params={
                "grant_type": "client_credential",
                "appid": account.app_id,
                "secret": account.secret,
            },
        )
        body = await resp.json()
        assert "access_token" in body, body
        return str(body["access_token"])

    async def api(self, method: str, path: str, name: str = "safe", **kwargs: Any) -> Any:
        """Call an OA API with a token that is refreshed before it runs out, like a client."""
        now = self.platform.clock.now()
        if name not in self._tokens or self._tokens[name][1] < now + 300:
            self._tokens[name] = (await self.token(name), now + 7200)
        params = {"access_token": self._tokens[name][0], **kwargs.pop("params", {})}
        resp = await self.client.request(method, path, params=params, **kwargs)
        assert resp.status == 200, await resp.text()
        if resp.content_type == "application/json":
            return await resp.json()
        return await resp.read()

    async def upload(self, path: str, data: bytes, name: str = "safe", **form: str) -> Any:
        kind = form.pop("type")
        payload = FormData()
        for key, value in form.items():
            payload.add_field(key, value)
        payload.add_field("media", data, filename="f.bin", content_type="application/octet-stream")
        return await self.api("POST", path, name, params={"type": kind}, data=payload)

    async def act(self, name: str, openid: str, action: str, **body: Any) -> Any:
        resp = await self.client.post(f"/sandbox/{name}/users/{openid}/{action}", json=body)
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


def make_accounts(base: str) -> list[FakeAccount]:
    def account(name: str, mode: str, key: str, *, service: bool = True) -> FakeAccount:
        return FakeAccount(
            name=name,
            app_id=f"wx{name:0>16}",
            secret=f"secret-{name}",
            token=f"token{name}",
            encoding_aes_key=key,
            mode=mode,
            original_id=f"gh_{name:0>12}",
            callback_url=f"{base}/wechat/{name}",
            service_account=service,
        )

    return [
        account("plain", "plaintext", AES_KEY),
        account("compat", "compatible", OTHER_KEY),
        account("safe", "safe", AES_KEY),
        account("sub", "safe", OTHER_KEY, service=False),
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
    async def make(*, callback_timeout: float = 2.0, limits: Limits | None = None) -> Fake:
        server = await aiohttp_server(receiver.app)
        accounts = make_accounts(str(server.make_url("")).rstrip("/"))
        receiver.accounts.update({a.name: a for a in accounts})
        app = create_fake_app(
            accounts, clock=clock, callback_timeout=callback_timeout, limits=limits
        )
        return Fake(await aiohttp_client(app), receiver)

    return make


@pytest.fixture
async def fake(fake_factory: Callable[..., Awaitable[Fake]]) -> Fake:
    return await fake_factory()
