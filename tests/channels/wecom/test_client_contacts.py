"""The WeCom client's customer-contact calls against the WeCom fake: contact ways created,
updated and removed; a scan's welcome code used once within 20 s (a second or late use is
PlatformRejected with WELCOME_CODE_USED); remarks and customer details."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from pytest_aiohttp import AiohttpServer
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.errors import PlatformRejected, RecipientUnreachable
from channels.wecom.client import NOT_A_CUSTOMER, WELCOME_CODE_USED
from tests.channels.wecom.fake import Fake, start_fake
from tests.channels.wecom.wire import APP

ADD = "/cgi-bin/externalcontact/add_contact_way"
WELCOME = "/cgi-bin/externalcontact/send_welcome_msg"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def fake(aiohttp_server: AiohttpServer, http: aiohttp.ClientSession) -> Fake:
    fake = await start_fake(aiohttp_server, http)
    for userid in ("zhangsan", "lisi"):
        fake.wecom.member(APP.name, userid)
    return fake


async def test_a_contact_way_is_created_updated_and_removed(
    fake: Fake, engine: AsyncEngine
) -> None:
    client = fake.client(engine)
    config_id, qr_code = await client.add_contact_way(["zhangsan"], state="fair", remark="展会")
    assert config_id and qr_code == f"{fake.url}/sandbox/wwpic/{config_id}.png"
    [sent] = [c["body"] for c in fake.wecom.calls_to(ADD)]
    assert sent == {
        "type": 1,
        "scene": 2,
        "skip_verify": True,
        "user": ["zhangsan"],
        "state": "fair",
        "remark": "展会",
    }
    await client.update_contact_way(config_id, users=["lisi"], state="autumn")
    way = await client.get_contact_way(config_id)
    assert (way["user"], way["state"], way["remark"]) == (["lisi"], "autumn", "展会")
    await client.del_contact_way(config_id)
    with pytest.raises(PlatformRejected) as removed:
        await client.get_contact_way(config_id)
    assert removed.value.code == 40058


async def test_multi_member_ways_and_platform_refusals(fake: Fake, engine: AsyncEngine) -> None:
    client = fake.client(engine)
    config_id, _ = await client.add_contact_way(["zhangsan", "lisi"], multi=True)
    assert (await client.get_contact_way(config_id))["type"] == 2
    with pytest.raises(PlatformRejected) as unknown:
        await client.add_contact_way(["nobody"])
    assert unknown.value.code == 40003
    with pytest.raises(PlatformRejected) as two:
        await client.update_contact_way(config_id + "x", state="s")
    assert two.value.code == 40058


async def test_limits_are_checked_before_calling(fake: Fake, engine: AsyncEngine) -> None:
    client = fake.client(engine)
    with pytest.raises(ValueError, match="state"):
        await client.add_contact_way(["zhangsan"], state="s" * 31)
    with pytest.raises(ValueError, match="exactly one"):
        await client.add_contact_way(["zhangsan", "lisi"])
    with pytest.raises(ValueError, match="9 attachments"):
        await client.send_welcome_msg("code", "hi", [{"msgtype": "image"}] * 10)
    assert fake.count(ADD) == 0 and fake.count(WELCOME) == 0


async def test_the_welcome_code_of_a_scan_is_good_once(fake: Fake, engine: AsyncEngine) -> None:
    client = fake.client(engine)
    config_id, _ = await client.add_contact_way(["zhangsan"], state="fair")
    outcome = await fake.wecom.scan_contact_way(APP.name, config_id, notify=False)
    link = {"msgtype": "link", "link": {"title": "t", "url": "https://example.com/a"}}
    await client.send_welcome_msg(outcome.welcome_code, "欢迎!", [link])
    with pytest.raises(PlatformRejected) as again:
        await client.send_welcome_msg(outcome.welcome_code, "欢迎!")
    assert again.value.code == WELCOME_CODE_USED
    [welcome] = fake.wecom.external_contact(APP.name, outcome.external_userid).received
    assert welcome["text"] == "欢迎!" and welcome["attachments"][0]["msgtype"] == "link"


async def test_a_welcome_code_used_after_21_seconds_is_refused(
    fake: Fake, engine: AsyncEngine
) -> None:
    client = fake.client(engine)
    config_id, _ = await client.add_contact_way(["zhangsan"])
    outcome = await fake.wecom.scan_contact_way(APP.name, config_id, notify=False)
    fake.wecom.clock.advance(21)
    with pytest.raises(PlatformRejected) as late:
        await client.send_welcome_msg(outcome.welcome_code, "hi")
    assert late.value.code == WELCOME_CODE_USED
    assert fake.wecom.external_contact(APP.name, outcome.external_userid).received == []


async def test_remark_and_details(fake: Fake, engine: AsyncEngine) -> None:
    client = fake.client(engine)
    config_id, _ = await client.add_contact_way(["zhangsan"], state="fair")
    outcome = await fake.wecom.scan_contact_way(APP.name, config_id, name="王小明", notify=False)
    await client.remark_external_contact("zhangsan", outcome.external_userid, "老客户")
    with pytest.raises(PlatformRejected) as too_long:
        await client.remark_external_contact("zhangsan", outcome.external_userid, "r" * 21)
    assert too_long.value.code == 40058
    with pytest.raises(RecipientUnreachable) as stranger:
        await client.remark_external_contact("lisi", outcome.external_userid, "x")
    assert stranger.value.code == NOT_A_CUSTOMER
    details = await client.get_external_contact(outcome.external_userid)
    assert details["external_contact"]["name"] == "王小明"
    [follow] = details["follow_user"]
    assert (follow["userid"], follow["remark"], follow["state"]) == ("zhangsan", "老客户", "fair")
