"""The WeCom client's web-page calls against the WeCom fake: JS-SDK tickets fetched once and
shared through the database, a refused token refreshed, signed page configs the fake accepts,
and OAuth codes turned into userids."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from pytest_aiohttp import AiohttpServer
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.errors import PlatformRejected, RateLimited
from channels.wecom.client import INVALID_CODE, NOT_A_MEMBER
from channels.wecom.jssdk import oauth_url
from storage.db import create_engine
from tests.channels.wecom.fake import Fake, start_fake
from tests.channels.wecom.wire import APP

TOKEN = "/cgi-bin/gettoken"
CORP_TICKET = "/cgi-bin/get_jsapi_ticket"
APP_TICKET = "/cgi-bin/ticket/get"
PAGE = "https://bot.example/wecom/sidebar?chat=1"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def fake(aiohttp_server: AiohttpServer, http: aiohttp.ClientSession) -> Fake:
    return await start_fake(aiohttp_server, http)


async def code_from_the_oauth_page(fake: Fake) -> str:
    """Follow the OAuth link as a browser in WeCom would, up to the redirect to our page."""
    link = oauth_url(replace(fake.app, oauth_base=fake.url), PAGE, "abc123")
    async with fake.http.get(link, allow_redirects=False) as resp:
        assert resp.status == 302, await resp.text()
        location = resp.headers["Location"]
    assert location.startswith(PAGE + "&code=") and location.endswith("&state=abc123")
    return parse_qs(urlsplit(location).query)["code"][0]


async def test_many_callers_fetch_each_ticket_once(fake: Fake, engine: AsyncEngine) -> None:
    client = fake.client(engine)
    corp = await asyncio.gather(*(client.corp_ticket.get() for _ in range(20)))
    agent = await asyncio.gather(*(client.agent_ticket.get() for _ in range(20)))
    tickets = fake.wecom.tickets(APP.name)
    assert set(corp) == {tickets["corp_ticket"]} and set(agent) == {tickets["agent_ticket"]}
    assert corp[0] != agent[0]
    assert (fake.count(TOKEN), fake.count(CORP_TICKET), fake.count(APP_TICKET)) == (1, 1, 1)
    [call] = fake.wecom.calls_to(APP_TICKET)
    assert call["query"]["type"] == "agent_config"


async def test_two_processes_on_one_database_fetch_each_ticket_once(
    fake: Fake, db_url: str
) -> None:
    engines = [create_engine(db_url), create_engine(db_url)]
    try:
        clients = [fake.client(e, owner=f"p{i}") for i, e in enumerate(engines)]
        got = await asyncio.gather(
            *(clients[i % 2].corp_ticket.get() for i in range(10)),
            *(clients[i % 2].agent_ticket.get() for i in range(10)),
        )
        later = fake.client(engines[0], owner="p2")  # a process started afterwards
        assert await later.corp_ticket.get() == got[0]
        assert await later.agent_ticket.get() == got[-1]
    finally:
        for e in engines:
            await e.dispose()
    assert len(set(got[:10])) == 1 and len(set(got[10:])) == 1
    assert (fake.count(CORP_TICKET), fake.count(APP_TICKET)) == (1, 1)
    assert (later.corp_ticket.fetches, later.agent_ticket.fetches) == (0, 0)


async def test_a_refused_token_is_refreshed_for_a_ticket(fake: Fake, engine: AsyncEngine) -> None:
    client = fake.client(engine)
    await client.token.get()
    fake.wecom.expire_tokens(APP.name)
    ticket = await client.agent_ticket.get()
    assert ticket == fake.wecom.tickets(APP.name)["agent_ticket"]
    assert [c["errcode"] for c in fake.wecom.calls_to(APP_TICKET)] == [42001, 0]
    assert fake.count(TOKEN) == 2


async def test_a_ticket_over_quota_is_rate_limited(fake: Fake, engine: AsyncEngine) -> None:
    client = fake.client(engine)
    fake.wecom.inject_fault(CORP_TICKET, errcode=45009)
    with pytest.raises(RateLimited):
        await client.corp_ticket.get()
    assert await client.corp_ticket.get()  # the next caller tries again


@pytest.mark.parametrize("agent", [False, True])
async def test_signed_page_configs_are_accepted_by_the_fake(
    fake: Fake, engine: AsyncEngine, agent: bool
) -> None:
    client = fake.client(engine)
    url = PAGE + "#/orders"
    config = await client.js_config(url, agent=agent)
    assert config.corp_id == APP.corp_id
    assert config.agent_id == (APP.agent_id if agent else None)

    def accepted(*, agent: bool) -> bool:
        return fake.wecom.check_js_signature(
            APP.name,
            agent=agent,
            url=url,
            noncestr=config.nonce,
            timestamp=config.timestamp,
            signature=config.signature,
        )

    assert accepted(agent=agent)
    assert not accepted(agent=not agent)  # signed with the other ticket


async def test_a_code_gives_the_userid_once(fake: Fake, engine: AsyncEngine) -> None:
    client = fake.client(engine)
    fake.wecom.sign_in(APP.name, "ZhangSan")
    code = await code_from_the_oauth_page(fake)
    assert await client.user_from_code(code) == "ZhangSan"
    with pytest.raises(PlatformRejected) as info:
        await client.user_from_code(code)
    assert type(info.value) is PlatformRejected and info.value.code == INVALID_CODE


async def test_an_expired_code_is_rejected(fake: Fake, engine: AsyncEngine) -> None:
    client = fake.client(engine)
    await client.token.get()
    fake.wecom.sign_in(APP.name, "lisi")
    code = await code_from_the_oauth_page(fake)
    fake.wecom.clock.advance(301)
    with pytest.raises(PlatformRejected) as info:
        await client.user_from_code(code)
    assert info.value.code == INVALID_CODE


@pytest.mark.parametrize(("code", "errcode"), [("no-such-code", INVALID_CODE), ("", 41008)])
async def test_an_unknown_or_missing_code_is_rejected(
    fake: Fake, engine: AsyncEngine, code: str, errcode: int
) -> None:
    with pytest.raises(PlatformRejected) as info:
        await fake.client(engine).user_from_code(code)
    assert info.value.code == errcode


async def test_someone_outside_the_corp_is_rejected(fake: Fake, engine: AsyncEngine) -> None:
    client = fake.client(engine)
    fake.wecom.sign_in(APP.name, "visitor", member=False)
    code = await code_from_the_oauth_page(fake)
    with pytest.raises(PlatformRejected) as info:
        await client.user_from_code(code)
    assert info.value.code == NOT_A_MEMBER
    assert "non-member" in str(info.value)


async def test_a_code_survives_a_token_refresh(fake: Fake, engine: AsyncEngine) -> None:
    client = fake.client(engine)
    await client.token.get()
    fake.wecom.sign_in(APP.name, "wangwu")
    code = await code_from_the_oauth_page(fake)
    fake.wecom.expire_tokens(APP.name)
    assert await client.user_from_code(code) == "wangwu"
    userinfo = fake.wecom.calls_to("/cgi-bin/auth/getuserinfo")
    assert [c["errcode"] for c in userinfo] == [42001, 0]
