"""WeCom callbacks built as the platform builds them (platform-facts.md §1.3, §4.2), with
wechatpy's enterprise crypto and a plain sha1, independently of the adapter under test."""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass

from aiohttp import web
from wechatpy.enterprise.crypto import WeChatCrypto

from channels.wecom.app import WecomApp
from channels.wecom.callback import WecomCallback
from handlers.staff import StaffMessage

KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
OTHER_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP = WecomApp(
    name="staff",
    corp_id="ww0000000000corp01",
    agent_id=1000002,
    secret="app-secret",
    token="tok4wecom",
    encoding_aes_key=KEY,
)


def sha1_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode(), usedforsecurity=False).hexdigest()


def encrypt(app: WecomApp, plain: str, *, receiver: str | None = None) -> str:
    """``plain`` in the AES envelope of ``app`` (addressed to ``receiver``, default its corp)."""
    crypto = WeChatCrypto(app.token, app.encoding_aes_key, receiver or app.corp_id)
    sealed = crypto.encrypt_message(plain, "n", "1")
    match = re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]></Encrypt>", sealed)
    assert match is not None
    return match.group(1)


def text_xml(
    app: WecomApp,
    content: str,
    *,
    user: str = "zhangsan",
    msg_id: int = 1,
    corp_id: str | None = None,
    agent_id: str | None = None,
) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{corp_id or app.corp_id}]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId>"
        f"<AgentID>{agent_id or app.agent_id}</AgentID></xml>"
    )


def image_xml(app: WecomApp, media_id: str, *, user: str = "zhangsan", msg_id: int = 2) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{app.corp_id}]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[image]]></MsgType>"
        f"<PicUrl><![CDATA[https://wework.qpic.cn/x]]></PicUrl>"
        f"<MediaId><![CDATA[{media_id}]]></MediaId><MsgId>{msg_id}</MsgId>"
        f"<AgentID>{app.agent_id}</AgentID></xml>"
    )


def event_xml(app: WecomApp, event: str, *, agent: bool = True) -> str:
    agent_id = f"<AgentID>{app.agent_id}</AgentID>" if agent else ""
    return (
        f"<xml><ToUserName><![CDATA[{app.corp_id}]]></ToUserName>"
        f"<FromUserName><![CDATA[zhangsan]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[]]></EventKey>{agent_id}</xml>"
    )


@dataclass
class Callback:
    query: dict[str, str]
    body: bytes


def callback(
    app: WecomApp,
    inner: str,
    *,
    timestamp: int | None = None,
    nonce: str = "1372623149",
    receiver: str | None = None,
    sealed: str | None = None,
) -> Callback:
    """A POST exactly as WeCom sends it: signed query, ``<xml>`` with ToUserName, AgentID and
    Encrypt (the signature covers ``sealed`` when given instead of the encrypted ``inner``)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    encrypted = sealed if sealed is not None else encrypt(app, inner, receiver=receiver)
    query = {
        "msg_signature": sha1_signature(app.token, ts, nonce, encrypted),
        "timestamp": ts,
        "nonce": nonce,
    }
    body = (
        f"<xml><ToUserName><![CDATA[{app.corp_id}]]></ToUserName>"
        f"<AgentID><![CDATA[{app.agent_id}]]></AgentID>"
        f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    )
    return Callback(query, body.encode())


class Recorder:
    """A staff handler that remembers what reached it, or fails like a database that is down."""

    def __init__(self, *, fail: bool = False) -> None:
        self.messages: list[StaffMessage] = []
        self.fail = fail

    async def handle_staff(self, message: StaffMessage) -> None:
        if self.fail:
            raise RuntimeError("the database is down")
        self.messages.append(message)


def web_app(callback: WecomCallback) -> web.Application:
    app = web.Application()
    app.add_routes(callback.routes())
    return app
