"""The WeCom API client against the WeCom fake: token sharing, refresh-and-retry once,
errcodes, HTTP statuses and network failures mapped to our exceptions, media up and down."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import unused_port
from pytest_aiohttp import AiohttpServer
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.errors import (
    OutcomeUnknown,
    PlatformRejected,
    PlatformUnavailable,
    RateLimited,
    RecipientUnreachable,
    TokenRejected,
)
from channels.wecom.client import WecomClient
from storage.db import create_engine
from storage.tokens import TokenStore
from tests.channels.wecom.fake import PNG, Fake, start_fake
from tests.channels.wecom.wire import APP

SEND = "/cgi-bin/message/send"
TOKEN = "/cgi-bin/gettoken"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def fake(aiohttp_server: AiohttpServer, http: aiohttp.ClientSession) -> Fake:
    fake = await start_fake(aiohttp_server, http)
    fake.wecom.member(APP.name, "zhangsan")  # in the corp's directory
    return fake


async def say(client: WecomClient, text: str = "x", to: str = "zhangsan") -> None:
    await client.send_message(to, "text", {"content": text})


async def test_a_token_is_fetched_once_and_reused(fake: Fake, engine: AsyncEngine) -> None:
    client = fake.client(engine)
    for i in range(3):
        await say(client, f"第{i}条")
    assert fake.count(TOKEN) == 1
    assert [e["content"] for e in fake.seen("zhangsan")] == ["第0条", "第1条", "第2条"]
    [call] = fake.wecom.calls_to(TOKEN)
    assert call["query"]["corpid"] == APP.corp_id  # and the secret went along (masked here)
    assert call["query"]["corpsecret"] == "***"


async def test_two_processes_on_one_database_fetch_one_token(fake: Fake, db_url: str) -> None:
    engines = [create_engine(db_url), create_engine(db_url)]
    try:
        clients = [fake.client(e, owner=f"p{i}") for i, e in enumerate(engines)]
        await asyncio.gather(*(say(clients[i % 2], str(i)) for i in range(20)))
    finally:
        for e in engines:
            await e.dispose()
    assert fake.count(TOKEN) == 1
    assert fake.count(SEND) == 20


async def test_an_expired_token_is_refreshed_and_the_call_repeated_once(
    fake: Fake, engine: AsyncEngine
) -> None:
    client = fake.client(engine)
    await say(client, "before")
    await fake.control(f"/sandbox/apps/{APP.name}/tokens/expire")
    await say(client, "after")
    assert fake.count(TOKEN) == 2
    sends = fake.wecom.calls_to(SEND)
    assert [c["errcode"] for c in sends] == [0, 42001, 0]
    assert [e["content"] for e in fake.seen("zhangsan")] == ["before", "after"]


async def test_an_invalid_token_is_refreshed_too(fake: Fake, engine: AsyncEngine) -> None:
    client = fake.client(engine)
    fake.wecom.inject_fault(SEND, errcode=40014)
    await say(client)
    assert (fake.count(TOKEN), fake.count(SEND)) == (2, 2)


async def test_a_token_refused_again_is_an_error_not_a_loop(
    fake: Fake, engine: AsyncEngine
) -> None:
    client = fake.client(engine)
    fake.wecom.inject_fault(SEND, errcode=42001, times=10)
    with pytest.raises(TokenRejected) as info:
        await say(client)
    assert info.value.code == 42001
    assert (fake.count(TOKEN), fake.count(SEND)) == (2, 2)


async def test_an_upload_is_sent_again_after_a_refresh(fake: Fake, engine: AsyncEngine) -> None:
    client = fake.client(engine)
    await client.token.get()
    await fake.control(f"/sandbox/apps/{APP.name}/tokens/expire")
    media_id = await client.upload_media("image", "a.png", PNG)
    assert await client.get_media(media_id) == PNG
    uploads = fake.wecom.calls_to("/cgi-bin/media/upload")
    assert [c["errcode"] for c in uploads] == [42001, 0]


async def test_a_wrong_secret_is_a_clear_rejection(fake: Fake, engine: AsyncEngine) -> None:
    client = fake.client(engine, secret="not-the-secret")
    with pytest.raises(PlatformRejected) as info:
        await say(client)
    assert type(info.value) is PlatformRejected
    assert info.value.code == 40001
    assert "not-the-secret" not in str(info.value)
    assert fake.count(SEND) == 0


@pytest.mark.parametrize(
    ("errcode", "exception"),
    [
        (-1, PlatformUnavailable),
        (6000, PlatformUnavailable),
        (45009, RateLimited),
        (45033, RateLimited),
        (40003, RecipientUnreachable),
        (60011, RecipientUnreachable),
        (81013, RecipientUnreachable),
        (84061, RecipientUnreachable),
        (40058, PlatformRejected),
        (48002, PlatformRejected),
    ],
)
async def test_errcodes_map_to_our_exceptions(
    fake: Fake, engine: AsyncEngine, errcode: int, exception: type[Exception]
) -> None:
    client = fake.client(engine)
    fake.wecom.inject_fault(SEND, errcode=errcode)
    with pytest.raises(exception) as info:
        await say(client)
    assert type(info.value) is exception  # not a subclass: -1 is not an unknown outcome
    if isinstance(info.value, PlatformRejected):
        assert info.value.code == errcode
    if isinstance(info.value, RateLimited):
        assert info.value.retry_after is not None and info.value.retry_after > 0


async def test_some_invalid_recipients_are_skipped_and_all_invalid_is_unreachable(
    fake: Fake, engine: AsyncEngine
) -> None:
    client = fake.client(engine)
    answer = await client.send_message("zhangsan|Nobody", "text", {"content": "hi"})
    assert answer["invaliduser"] == "nobody"
    assert [e["content"] for e in fake.seen("zhangsan")] == ["hi"]
    with pytest.raises(RecipientUnreachable) as info:
        await client.send_message("nobody|ghost", "text", {"content": "hi"})
    assert info.value.code == 81013


async def test_an_answer_listing_every_recipient_as_invalid_is_unreachable(
    aiohttp_server: AiohttpServer, http: aiohttp.ClientSession, engine: AsyncEngine
) -> None:
    """Should the platform ever answer errcode 0 while skipping everyone (§4.3)."""

    async def gettoken(_: web.Request) -> web.Response:
        return web.json_response({"errcode": 0, "access_token": "t", "expires_in": 7200})

    async def send(_: web.Request) -> web.Response:
        return web.json_response({"errcode": 0, "invaliduser": "a|b"})

    stub = web.Application()
    stub.router.add_get(TOKEN, gettoken)
    stub.router.add_post(SEND, send)
    server = await aiohttp_server(stub)
    app = replace(APP, api_base=str(server.make_url("")))
    client = WecomClient(app, http, TokenStore(engine), owner="p")
    assert (await client.send_message("a|c", "text", {"content": "x"}))["invaliduser"] == "a|b"
    with pytest.raises(RecipientUnreachable):
        await client.send_message("A|b", "text", {"content": "x"})


async def test_a_server_error_on_a_write_is_an_unknown_outcome(
    fake: Fake, engine: AsyncEngine
) -> None:
    client = fake.client(engine)
    await client.token.get()
    fake.wecom.inject_fault(SEND, http_status=502)
    with pytest.raises(OutcomeUnknown):
        await say(client)


async def test_a_server_error_on_a_read_is_unavailable(fake: Fake, engine: AsyncEngine) -> None:
    client = fake.client(engine)
    media_id = await client.upload_media("image", "a.png", PNG)
    fake.wecom.inject_fault("/cgi-bin/media/get", http_status=500)
    with pytest.raises(PlatformUnavailable) as info:
        await client.get_media(media_id)
    assert not isinstance(info.value, OutcomeUnknown)


async def test_a_4xx_without_errcode_is_a_rejection(fake: Fake, engine: AsyncEngine) -> None:
    client = fake.client(engine)
    with pytest.raises(PlatformRejected) as info:
        await client.call("GET", "/cgi-bin/no/such/api")
    assert "HTTP 404" in str(info.value)


async def test_no_answer_in_time_is_an_unknown_outcome(fake: Fake, engine: AsyncEngine) -> None:
    client = fake.client(engine, timeout=0.3)
    await client.token.get()
    fake.wecom.inject_fault(SEND, hang=2.0)
    with pytest.raises(OutcomeUnknown):
        await say(client)


async def test_an_unreachable_platform_is_unavailable(
    http: aiohttp.ClientSession, engine: AsyncEngine
) -> None:
    app = replace(APP, api_base=f"http://127.0.0.1:{unused_port()}")
    client = WecomClient(app, http, TokenStore(engine), owner="p", timeout=1.0)
    with pytest.raises(PlatformUnavailable) as info:
        await say(client)
    assert not isinstance(info.value, OutcomeUnknown)


async def test_media_goes_up_and_comes_back(fake: Fake, engine: AsyncEngine) -> None:
    client = fake.client(engine)
    media_id = await client.upload_media("image", "qr.png", PNG)
    assert media_id
    assert await client.get_media(media_id) == PNG
    with pytest.raises(PlatformRejected) as info:
        await client.get_media("no-such-media")
    assert info.value.code == 40007  # the JSON error body, not returned as the file
    with pytest.raises(PlatformRejected) as info:
        await client.upload_media("image", "a.txt", b"plain text, not an image")
    assert info.value.code == 40004
