"""The callback route against bad input: every kind is refused with a clear 4xx, logged, changes
nothing, and the server keeps serving. Plus URL verification and the three message modes."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import ENGINE
from channels.wechat.sandbox import (
    FakeAccount,
    build_callback,
    build_verification,
    decode_reply,
    encrypt,
    render_xml,
    sha1_signature,
    text_xml,
)
from storage.models import FollowerRow, InboundEventRow, OutboxRow
from tests.helpers.stack import Stack, running_stack

CONFIG = {
    "keyword_rules": [
        {
            "name": "hi",
            "keywords": [{"exact": "你好"}],
            "reply": [{"text": "您好"}, {"text": "第二条"}],
        }
    ]
}
OPENID = "oCustomer000000000000000001"
OTHER_KEY = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"


@pytest.fixture
async def stack(tmp_path: Path, db_url: str) -> Any:
    async with running_stack(tmp_path, db_url, config={"demo": CONFIG}) as stack:
        yield stack


def hello(stack: Stack, msg_id: int = 1) -> str:
    return text_xml(stack.account, OPENID, "你好", msg_id=msg_id, create_time=int(time.time()))


async def nothing_changed(stack: Stack) -> None:
    async with stack.app[ENGINE].connect() as conn:
        for model in (InboundEventRow, FollowerRow, OutboxRow):
            count = await conn.scalar(select(func.count()).select_from(model.__table__))
            assert count == 0, model.__tablename__


async def still_serving(stack: Stack) -> None:
    status, body = await stack.post_callback(hello(stack, msg_id=424242))
    assert status == 200
    assert decode_reply(stack.account, body, openid=OPENID)["Content"] == "您好"


def with_key(account: FakeAccount, key: str) -> FakeAccount:
    from dataclasses import replace

    return replace(account, encoding_aes_key=key)


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    "<xml><ToUserName>gh</ToUserName><Content>&lol3;</Content></xml>"
)
PI_THEN_ENTITY = (
    '<?pi <a?><!DOCTYPE xml [<!ENTITY a "AAAA">]><xml><ToUserName>gh</ToUserName>'
    "<Content>&a;&a;</Content></xml>"
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    "<xml><ToUserName>gh</ToUserName><Content>&xxe;</Content></xml>"
)


def sealed_body(account: FakeAccount, inner: str) -> tuple[dict[str, str], bytes]:
    """A correctly signed safe-mode request whose encrypted content is ``inner``."""
    ts, nonce = str(int(time.time())), "n"
    sealed = encrypt(account, inner)
    query = {
        "signature": sha1_signature(account.token, ts, nonce),
        "timestamp": ts,
        "nonce": nonce,
        "encrypt_type": "aes",
        "msg_signature": sha1_signature(account.token, ts, nonce, sealed),
    }
    return query, render_xml({"ToUserName": account.original_id, "Encrypt": sealed}).encode()


async def post(stack: Stack, query: dict[str, str], body: bytes, path: str = "/wechat/demo") -> int:
    status, _ = await post_for_reason(stack, query, body, path)
    return status


async def post_for_reason(
    stack: Stack, query: dict[str, str], body: bytes, path: str = "/wechat/demo"
) -> tuple[int, str]:
    async with stack.http.post(stack.bot_url + path, params=query, data=body) as resp:
        return resp.status, await resp.text()


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("wrong msg_signature", 403),
        ("missing msg_signature", 403),
        ("missing timestamp", 400),
        ("stale timestamp", 403),
        ("future timestamp", 403),
        ("unknown account", 404),
        ("oversized body", 413),
        ("plaintext to a safe-mode account", 400),
        ("wrong key", 400),
        ("addressed to another app id", 403),
        ("malformed outer XML", 400),
        ("malformed inner XML", 400),
        ("billion laughs", 400),
        ("external entity", 400),
        ("inner billion laughs", 400),
        ("entity behind a processing instruction", 400),
        ("no Encrypt element", 400),
        ("message without MsgId", 400),
        ("message for another account", 403),
    ],
)
async def test_bad_callbacks_are_refused_and_change_nothing(
    stack: Stack, case: str, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    account = stack.account
    query, body = build_callback(account, hello(stack), timestamp=int(time.time()), nonce="n")
    path = "/wechat/demo"
    if case == "wrong msg_signature":
        query["msg_signature"] = "0" * 40
    elif case == "missing msg_signature":
        del query["msg_signature"]
    elif case == "missing timestamp":
        del query["timestamp"]
    elif case in ("stale timestamp", "future timestamp"):
        ts = int(time.time()) + (-3600 if case == "stale timestamp" else 3600)
        query, body = build_callback(account, hello(stack), timestamp=ts, nonce="n")
    elif case == "unknown account":
        path = "/wechat/nobody"
    elif case == "oversized body":
        body = b"<xml>" + b"x" * (stack.settings.server.max_body_bytes + 1) + b"</xml>"
    elif case == "plaintext to a safe-mode account":
        del query["encrypt_type"]
        body = hello(stack).encode()
    elif case == "wrong key":
        query, body = build_callback(
            with_key(account, OTHER_KEY), hello(stack), timestamp=int(time.time()), nonce="n"
        )
    elif case == "addressed to another app id":
        from dataclasses import replace

        query, body = build_callback(
            replace(account, app_id="wxsomeoneelse"),
            hello(stack),
            timestamp=int(time.time()),
            nonce="n",
        )
    elif case == "malformed outer XML":
        body = b"<xml><Encrypt>unclosed"
    elif case == "malformed inner XML":
        query, body = sealed_body(account, "<xml><ToUserName>gh</ToUserName")
    elif case == "billion laughs":
        body = BILLION_LAUGHS.encode()
    elif case == "external entity":
        body = EXTERNAL_ENTITY.encode()
    elif case == "inner billion laughs":
        query, body = sealed_body(account, BILLION_LAUGHS)
    elif case == "entity behind a processing instruction":
        query, body = sealed_body(account, PI_THEN_ENTITY)
    elif case == "no Encrypt element":
        body = b"<xml><ToUserName>gh</ToUserName></xml>"
    elif case == "message without MsgId":
        inner = hello(stack).replace("<MsgId>1</MsgId>", "")
        assert inner != hello(stack)
        query, body = sealed_body(account, inner)
    elif case == "message for another account":
        query, body = sealed_body(account, hello(stack).replace(account.original_id, "gh_other"))
    with caplog.at_level(logging.WARNING, logger="channels.wechat.callback"):
        answer, reason = await post_for_reason(stack, query, body, path)
    assert answer == status
    if "laughs" in case or "entit" in case:
        assert "document type" in reason  # refused for the declaration, not by accident
    assert any("refused" in r.getMessage() for r in caplog.records)
    await nothing_changed(stack)
    await still_serving(stack)


@pytest.mark.parametrize("signature", ["0" * 40, None])
async def test_plaintext_mode_refuses_a_wrong_or_missing_signature(
    tmp_path: Path, db_url: str, signature: str | None
) -> None:
    async with running_stack(
        tmp_path, db_url, config={"demo": CONFIG}, modes={"demo": "plaintext"}
    ) as stack:
        query, body = build_callback(
            stack.account, hello(stack), timestamp=int(time.time()), nonce="n"
        )
        if signature is None:
            del query["signature"]
        else:
            query["signature"] = signature
        assert await post(stack, query, body) == 403
        await nothing_changed(stack)
        assert (await stack.post_callback(hello(stack, msg_id=9)))[0] == 200


async def test_plaintext_mode_refuses_a_signature_reused_for_another_body(
    tmp_path: Path, db_url: str
) -> None:
    async with running_stack(
        tmp_path, db_url, config={"demo": CONFIG}, modes={"demo": "plaintext"}
    ) as stack:
        query, body = build_callback(
            stack.account, hello(stack, msg_id=31), timestamp=int(time.time()), nonce="n"
        )
        assert await post(stack, query, body) == 200
        assert await post(stack, query, body) == 200  # WeChat's retry: same query, same body
        forged = hello(stack, msg_id=32).replace("你好", "价格").encode()
        assert await post_for_reason(stack, query, forged) == (
            403,
            "this signature was already used for another body",
        )


async def test_compatible_mode_refuses_plaintext(tmp_path: Path, db_url: str) -> None:
    async with running_stack(
        tmp_path, db_url, config={"demo": CONFIG}, modes={"demo": "compatible"}
    ) as stack:
        query, _ = build_callback(
            stack.account, hello(stack), timestamp=int(time.time()), nonce="n"
        )
        del query["encrypt_type"], query["msg_signature"]
        assert await post_for_reason(stack, query, hello(stack).encode()) == (
            400,
            "the account is in compatible mode: plaintext is refused",
        )
        await nothing_changed(stack)


async def test_url_verification_echoes_only_with_the_right_signature(stack: Stack) -> None:
    query = build_verification(
        stack.account, timestamp=int(time.time()), nonce="n", echostr="echo123"
    )
    async with stack.http.get(stack.bot_url + "/wechat/demo", params=query) as resp:
        assert (resp.status, await resp.text()) == (200, "echo123")
    query["signature"] = "f" * 40
    async with stack.http.get(stack.bot_url + "/wechat/demo", params=query) as resp:
        assert resp.status == 403
        assert await resp.text() != "echo123"


@pytest.mark.parametrize("mode", ["plaintext", "compatible", "safe"])
async def test_each_message_mode_gets_a_reply_it_can_read(
    tmp_path: Path, db_url: str, mode: str
) -> None:
    async with running_stack(
        tmp_path, db_url, config={"demo": CONFIG}, modes={"demo": mode}
    ) as stack:
        outcome = await stack.customer(OPENID).follow()
        assert outcome.outcome == "no_reply"  # no follow reply configured: "success"
        outcome = await stack.customer(OPENID).text("你好")
        assert outcome.outcome == "reply"
        assert outcome.reply is not None and outcome.reply["Content"] == "您好"
        status, body = await stack.post_callback(hello(stack, msg_id=77))
        assert status == 200
        is_sealed = b"<Encrypt>" in body
        assert is_sealed == (mode != "plaintext")


async def test_several_accounts_are_served_apart(tmp_path: Path, db_url: str) -> None:
    config = {
        "shop": {
            "keyword_rules": [
                {"name": "hi", "keywords": [{"exact": "你好"}], "reply": [{"text": "商城您好"}]}
            ]
        },
        "news": {
            "keyword_rules": [
                {"name": "hi", "keywords": [{"exact": "你好"}], "reply": [{"text": "资讯您好"}]}
            ]
        },
    }
    modes = {"shop": "safe", "news": "compatible"}
    async with running_stack(tmp_path, db_url, config=config, modes=modes) as stack:
        for name in modes:
            await stack.customer(OPENID, name).follow()
        shop = await stack.customer(OPENID, "shop").text("你好")
        news = await stack.customer(OPENID, "news").text("你好")
        assert shop.reply is not None and shop.reply["Content"] == "商城您好"
        assert news.reply is not None and news.reply["Content"] == "资讯您好"
        # A request signed for one account is refused by the other's route.
        query, body = build_callback(
            stack.fake_accounts["shop"], hello(stack), timestamp=int(time.time()), nonce="n"
        )
        assert await post(stack, query, body, "/wechat/news") in (400, 403)
