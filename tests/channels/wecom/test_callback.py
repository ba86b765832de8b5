"""The WeCom app callback route: staff messages reach the handler once decoded; every kind of
bad input is refused with a clear 4xx, logged, and calls nothing; URL verification."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from urllib.parse import quote

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from channels.wecom.callback import WecomCallback, parse_query
from handlers.staff import StaffMessage
from tests.channels.wecom.wire import (
    APP,
    OTHER_KEY,
    Callback,
    Recorder,
    callback,
    encrypt,
    event_xml,
    image_xml,
    sha1_signature,
    text_xml,
    web_app,
)

MAX_BODY = 4096
BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    "<xml><ToUserName>c</ToUserName><Encrypt>&lol2;</Encrypt></xml>"
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    "<xml><ToUserName>c</ToUserName><Content>&xxe;</Content></xml>"
)


@dataclass
class Bot:
    client: TestClient[web.Request, web.Application]
    handler: Recorder

    async def post(self, cb: Callback, path: str = "/wecom/staff") -> tuple[int, str]:
        resp = await self.client.post(path, params=cb.query, data=cb.body)
        return resp.status, await resp.text()


@pytest.fixture
async def bot(aiohttp_client: AiohttpClient) -> AsyncIterator[Bot]:
    handler = Recorder()
    route = WecomCallback([APP], handler, timestamp_window=300, max_body_bytes=MAX_BODY)
    yield Bot(await aiohttp_client(web_app(route)), handler)


async def test_a_text_reaches_the_handler_as_a_staff_message(bot: Bot) -> None:
    status, body = await bot.post(callback(APP, text_xml(APP, "查 话术 退款", msg_id=11)))
    assert (status, body) == (200, "")
    assert bot.handler.messages == [
        StaffMessage(
            platform="wecom",
            account="staff",
            user="zhangsan",
            chat="zhangsan",
            direct=True,
            addressed=True,
            text="查 话术 退款",
            image="",
            dedupe_key="wecom:staff:msg:11",
        )
    ]


async def test_an_image_reaches_the_handler_with_its_media_id(bot: Bot) -> None:
    status, _ = await bot.post(callback(APP, image_xml(APP, "MEDIA_abc", user="lisi", msg_id=12)))
    assert status == 200
    [message] = bot.handler.messages
    assert (message.user, message.chat, message.text, message.image) == (
        "lisi",
        "lisi",
        "",
        "MEDIA_abc",
    )
    assert message.dedupe_key == "wecom:staff:msg:12"


async def test_a_retried_delivery_has_the_same_dedupe_key(bot: Bot) -> None:
    first = callback(APP, text_xml(APP, "hi", msg_id=21), nonce="a")
    assert (await bot.post(first))[0] == 200
    assert (await bot.post(first))[0] == 200  # the same request again
    # WeCom may sign a retry afresh: another nonce and timestamp, the same MsgId.
    again = callback(APP, text_xml(APP, "hi", msg_id=21), nonce="b", timestamp=int(time.time()) - 3)
    assert (await bot.post(again))[0] == 200
    assert (await bot.post(callback(APP, text_xml(APP, "hi", msg_id=22))))[0] == 200
    keys = [m.dedupe_key for m in bot.handler.messages]
    assert keys[:3] == ["wecom:staff:msg:21"] * 3
    assert keys[3] == "wecom:staff:msg:22"


@pytest.mark.parametrize(
    "inner",
    [
        event_xml(APP, "enter_agent"),
        event_xml(APP, "click"),
        event_xml(APP, "view"),
        event_xml(APP, "subscribe"),
        event_xml(APP, "change_external_tag", agent=False),  # customer-contact events: no AgentID
        text_xml(APP, "x", msg_id=5).replace("[text]", "[voice]"),
        text_xml(APP, "x", msg_id=6).replace("[text]", "[location]"),
        text_xml(APP, "x", msg_id=7).replace("[text]", "[file]"),
    ],
)
async def test_events_and_other_messages_are_answered_without_the_handler(
    bot: Bot, inner: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="channels.wecom.callback"):
        assert await bot.post(callback(APP, inner)) == (200, "")
    assert bot.handler.messages == []
    assert any("needs no answer" in r.getMessage() for r in caplog.records)


async def test_a_failing_handler_answers_503_so_that_wecom_retries(bot: Bot) -> None:
    bot.handler.fail = True
    cb = callback(APP, text_xml(APP, "hi", msg_id=31))
    assert (await bot.post(cb))[0] == 503
    bot.handler.fail = False
    assert (await bot.post(cb))[0] == 200  # the retry goes through
    assert [m.dedupe_key for m in bot.handler.messages] == ["wecom:staff:msg:31"]


def good() -> Callback:
    return callback(APP, text_xml(APP, "hi", msg_id=1))


def sealed(inner: str) -> Callback:
    """A correctly signed request whose encrypted content is ``inner``."""
    return callback(APP, inner)


def build(case: str) -> tuple[Callback, str]:
    cb, path = good(), "/wecom/staff"
    now = int(time.time())
    if case == "forged signature":
        cb.query["msg_signature"] = sha1_signature("forged", "1", "2", "3")
    elif case == "missing msg_signature":
        del cb.query["msg_signature"]
    elif case == "missing timestamp":
        del cb.query["timestamp"]
    elif case == "stale timestamp (replay)":
        cb = callback(APP, text_xml(APP, "hi", msg_id=1), timestamp=now - 3600)
    elif case == "future timestamp":
        cb = callback(APP, text_xml(APP, "hi", msg_id=1), timestamp=now + 3600)
    elif case == "another corp's message":
        cb = callback(APP, text_xml(APP, "hi", msg_id=1), receiver="wwsomeothercorp")
    elif case == "inner ToUserName of another corp":
        cb = sealed(text_xml(APP, "hi", msg_id=1, corp_id="wwsomeothercorp"))
    elif case == "wrong AgentID":
        cb = sealed(text_xml(APP, "hi", msg_id=1, agent_id="1000003"))
    elif case == "message without AgentID":
        cb = sealed(text_xml(APP, "hi", msg_id=1).replace(f"<AgentID>{APP.agent_id}</AgentID>", ""))
    elif case == "wrong key":
        cb = callback(replace(APP, encoding_aes_key=OTHER_KEY), text_xml(APP, "hi", msg_id=1))
    elif case == "oversized body":
        cb.body = b"<xml>" + b"x" * MAX_BODY + b"</xml>"
    elif case == "malformed outer XML":
        cb.body = b"<xml><Encrypt>unclosed"
    elif case == "malformed inner XML":
        cb = sealed("<xml><ToUserName>c</ToUserName")
    elif case == "outer DTD with entities":
        cb.body = BILLION_LAUGHS.encode()
    elif case == "inner external entity":
        cb = sealed(EXTERNAL_ENTITY)
    elif case == "no Encrypt element":
        cb.body = f"<xml><ToUserName>{APP.corp_id}</ToUserName><AgentID>1</AgentID></xml>".encode()
    elif case == "text without MsgId":
        cb = sealed(text_xml(APP, "hi", msg_id=1).replace("<MsgId>1</MsgId>", ""))
    elif case == "unknown app":
        path = "/wecom/nobody"
    else:  # pragma: no cover
        raise AssertionError(case)
    return cb, path


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("forged signature", 403),
        ("missing msg_signature", 403),
        ("missing timestamp", 400),
        ("stale timestamp (replay)", 403),
        ("future timestamp", 403),
        ("another corp's message", 403),
        ("inner ToUserName of another corp", 403),
        ("wrong AgentID", 403),
        ("message without AgentID", 403),
        ("wrong key", 400),
        ("oversized body", 413),
        ("malformed outer XML", 400),
        ("malformed inner XML", 400),
        ("outer DTD with entities", 400),
        ("inner external entity", 400),
        ("no Encrypt element", 400),
        ("text without MsgId", 400),
        ("unknown app", 404),
    ],
)
async def test_bad_callbacks_are_refused_logged_and_call_nothing(
    bot: Bot, case: str, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    cb, path = build(case)
    with caplog.at_level(logging.WARNING, logger="channels.wecom.callback"):
        answer, reason = await bot.post(cb, path)
    assert answer == status
    assert reason  # a short reason, never an empty refusal
    if "DTD" in case or "entity" in case:
        assert "document type" in reason  # refused for the declaration, not by accident
    assert any("refused" in r.getMessage() for r in caplog.records)
    assert bot.handler.messages == []
    assert (await bot.post(good()))[0] == 200  # and the server keeps serving
    assert len(bot.handler.messages) == 1


async def test_a_chunked_oversized_body_is_refused(bot: Bot) -> None:
    cb = good()

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(MAX_BODY // 64 + 2):
            yield b"x" * 64

    resp = await bot.client.post("/wecom/staff", params=cb.query, data=chunks())
    assert resp.status == 413
    assert bot.handler.messages == []


# URL verification (GET)


def echostr_with_plus() -> tuple[str, str]:
    """A plaintext and its encrypted echostr that contains a ``+`` (and so must survive)."""
    for i in range(1000):
        plain = f"echo-{i}-{time.time_ns()}"
        echostr = encrypt(APP, plain)
        if "+" in echostr:
            return plain, echostr
    raise AssertionError("no echostr with a +")  # pragma: no cover


def verification_query(echostr: str, *, timestamp: int | None = None, encode: bool = True) -> str:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = "263014780"
    sig = sha1_signature(APP.token, ts, nonce, echostr)
    value = quote(echostr, safe="") if encode else echostr
    return f"msg_signature={sig}&timestamp={ts}&nonce={nonce}&echostr={value}"


@pytest.mark.parametrize("encode", [True, False], ids=["url-encoded", "raw plus"])
async def test_url_verification_answers_the_decrypted_echostr(bot: Bot, encode: bool) -> None:
    plain, echostr = echostr_with_plus()
    resp = await bot.client.get(f"/wecom/staff?{verification_query(echostr, encode=encode)}")
    assert resp.status == 200
    assert await resp.read() == plain.encode()


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("forged signature", 403),
        ("stale timestamp", 403),
        ("missing echostr", 400),
        ("echostr for another corp", 403),
        ("unknown app", 404),
    ],
)
async def test_url_verification_refusals(bot: Bot, case: str, status: int) -> None:
    plain, echostr = echostr_with_plus()
    path, query = "/wecom/staff", verification_query(echostr)
    if case == "forged signature":
        query = query.replace("msg_signature=", "msg_signature=0")
    elif case == "stale timestamp":
        query = verification_query(echostr, timestamp=int(time.time()) - 3600)
    elif case == "missing echostr":
        query = query.partition("&echostr=")[0]
    elif case == "echostr for another corp":
        query = verification_query(encrypt(APP, plain, receiver="wwsomeothercorp"))
    else:
        path = "/wecom/nobody"
    resp = await bot.client.get(f"{path}?{query}")
    assert resp.status == status
    assert plain not in await resp.text()


def test_query_values_are_percent_decoded_once_and_keep_a_plus() -> None:
    assert parse_query("echostr=a+b%2Bc%252B&nonce=1&flag") == {
        "echostr": "a+b+c%2B",
        "nonce": "1",
        "flag": "",
    }
