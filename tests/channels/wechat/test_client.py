"""The async API client against the fake platform: token sharing, refresh-and-retry once,
timeouts, and errcodes mapped to our exceptions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp.test_utils import TestServer, unused_port
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.errors import (
    OutcomeUnknown,
    PlatformRejected,
    PlatformUnavailable,
    RateLimited,
    RecipientUnreachable,
    TokenRejected,
)
from channels.wechat.account import WechatAccount
from channels.wechat.client import WechatClient
from channels.wechat.sandbox import FAKE_STATE, FakeAccount, FakePlatform, create_fake_app
from channels.wechat.sandbox.state import QrCode
from storage.db import create_engine
from storage.tokens import TokenStore

KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OPENID = "oCustomer000000000000000001"


@dataclass
class Fake:
    platform: FakePlatform
    url: str
    account: FakeAccount

    def client(
        self,
        session: aiohttp.ClientSession,
        engine: AsyncEngine,
        *,
        endpoint: str = "classic",
        timeout: float = 2.0,
        owner: str = "p1",
    ) -> WechatClient:
        account = WechatAccount(
            name="demo",
            app_id=self.account.app_id,
            secret=self.account.secret,
            token=self.account.token,
            encoding_aes_key=KEY,
            api_base=self.url,
            qr_image_base=self.url,
            token_endpoint=endpoint,
        )
        return WechatClient(account, session, TokenStore(engine), owner=owner, timeout=timeout)

    def count(self, path: str) -> int:
        return len(self.platform.calls_to(path))


@pytest.fixture
async def fake() -> AsyncIterator[Fake]:
    account = FakeAccount(
        name="demo",
        app_id="wxclienttest01",
        secret="the-secret",
        token="tok",
        encoding_aes_key=KEY,
        mode="safe",
        original_id="gh_clienttest",
        callback_url=f"http://127.0.0.1:{unused_port()}/x",
    )
    app = create_fake_app([account])
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield Fake(app[FAKE_STATE], f"http://127.0.0.1:{server.port}", account)
    await server.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.mark.parametrize("endpoint", ["classic", "stable"])
async def test_a_call_gets_a_token_once_and_reuses_it(
    fake: Fake, session: aiohttp.ClientSession, engine: AsyncEngine, endpoint: str
) -> None:
    client = fake.client(session, engine, endpoint=endpoint)
    fake.platform.add_follower("demo", OPENID)
    for _ in range(3):
        assert (await client.user_info(OPENID))["subscribe"] == 1
    path = "/cgi-bin/token" if endpoint == "classic" else "/cgi-bin/stable_token"
    assert fake.count(path) == 1


async def test_concurrent_calls_from_two_processes_fetch_one_token(
    fake: Fake, session: aiohttp.ClientSession, db_url: str
) -> None:
    engines = [create_engine(db_url), create_engine(db_url)]
    try:
        clients = [fake.client(session, e, owner=f"p{i}") for i, e in enumerate(engines)]
        fake.platform.add_follower("demo", OPENID)
        await asyncio.gather(*(clients[i % 2].user_info(OPENID) for i in range(40)))
        assert fake.count("/cgi-bin/token") == 1
        assert fake.count("/cgi-bin/user/info") == 40
    finally:
        for e in engines:
            await e.dispose()


@pytest.mark.parametrize("how", ["revoked (40001)", "expired (42001)", "invalid (40014)"])
async def test_a_refused_token_is_refreshed_and_the_call_repeated_once(
    fake: Fake, session: aiohttp.ClientSession, engine: AsyncEngine, how: str
) -> None:
    client = fake.client(session, engine)
    fake.platform.add_follower("demo", OPENID)
    await client.user_info(OPENID)
    if how.startswith("revoked"):
        fake.platform.revoke_tokens("demo")
    elif how.startswith("expired"):
        fake.platform.expire_tokens("demo")
    else:
        fake.platform.inject_fault("/cgi-bin/user/info", errcode=40014, times=1)
    assert (await client.user_info(OPENID))["openid"] == OPENID
    assert fake.count("/cgi-bin/token") == 2
    assert fake.count("/cgi-bin/user/info") == 3


async def test_a_token_refused_again_is_an_error_not_a_loop(
    fake: Fake, session: aiohttp.ClientSession, engine: AsyncEngine
) -> None:
    client = fake.client(session, engine)
    fake.platform.inject_fault("/cgi-bin/user/info", errcode=40001, times=10)
    with pytest.raises(TokenRejected):
        await client.user_info(OPENID)
    assert fake.count("/cgi-bin/user/info") == 2
    assert fake.count("/cgi-bin/token") == 2


async def test_a_wrong_secret_is_a_clear_rejection(
    fake: Fake, session: aiohttp.ClientSession, engine: AsyncEngine
) -> None:
    from dataclasses import replace

    client = fake.client(session, engine)
    client.account = replace(client.account, secret="wrong")
    with pytest.raises(PlatformRejected) as info:
        await client.user_info(OPENID)
    assert info.value.code == 40001
    assert "wrong" not in str(info.value)  # the secret is not in the message


@pytest.mark.parametrize(
    ("errcode", "exception"),
    [
        (-1, PlatformUnavailable),
        (45009, RateLimited),
        (45011, RateLimited),
        (45015, RecipientUnreachable),
        (45047, RecipientUnreachable),
        (43004, RecipientUnreachable),
        (40007, PlatformRejected),
    ],
)
async def test_errcodes_map_to_our_exceptions(
    fake: Fake,
    session: aiohttp.ClientSession,
    engine: AsyncEngine,
    errcode: int,
    exception: type[Exception],
) -> None:
    client = fake.client(session, engine)
    fake.platform.inject_fault("/cgi-bin/message/custom/send", errcode=errcode, times=1)
    with pytest.raises(exception) as info:
        await client.send_custom_message(OPENID, "text", {"content": "x"})
    if isinstance(info.value, PlatformRejected):
        assert info.value.code == errcode


async def test_the_real_window_rule_surfaces_as_recipient_unreachable(
    fake: Fake, session: aiohttp.ClientSession, engine: AsyncEngine
) -> None:
    client = fake.client(session, engine)
    fake.platform.add_follower("demo", OPENID)  # follows, but never wrote to us
    with pytest.raises(RecipientUnreachable) as info:
        await client.send_custom_message(OPENID, "text", {"content": "x"})
    assert info.value.code == 45015


async def test_no_answer_in_time_is_an_unknown_outcome(
    fake: Fake, session: aiohttp.ClientSession, engine: AsyncEngine
) -> None:
    client = fake.client(session, engine, timeout=0.3)
    await client.token.get()
    fake.platform.inject_fault("/cgi-bin/message/custom/send", delay=1.0, times=1)
    with pytest.raises(OutcomeUnknown):
        await client.send_custom_message(OPENID, "text", {"content": "x"})


async def test_an_unreachable_platform_is_unavailable(
    session: aiohttp.ClientSession, engine: AsyncEngine
) -> None:
    account = WechatAccount(
        name="x", app_id="wx", secret="s", token="t", api_base=f"http://127.0.0.1:{unused_port()}"
    )
    client = WechatClient(account, session, TokenStore(engine), owner="p", timeout=1.0)
    with pytest.raises(PlatformUnavailable) as info:
        await client.user_info(OPENID)
    assert not isinstance(info.value, OutcomeUnknown)


async def test_menu_qr_and_media_calls(
    fake: Fake, session: aiohttp.ClientSession, engine: AsyncEngine
) -> None:
    client = fake.client(session, engine)
    qr = await client.create_qrcode("spring_campaign")
    assert qr["ticket"] and qr["url"].startswith("http")
    await client.create_menu([{"type": "click", "name": "关于", "key": "MENU_ABOUT"}])
    assert (await client.get_menu())["menu"]["button"][0]["key"] == "MENU_ABOUT"
    with pytest.raises(PlatformRejected) as info:
        await client.create_menu([{"type": "click", "name": "一二三四五六", "key": "K"}])
    assert info.value.code == 40018  # name longer than 16 bytes
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    uploaded = await client.upload_media("image", "a.png", png)
    assert uploaded["type"] == "image" and uploaded["media_id"]


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
MP4 = bytes(4) + b"ftypisom" + bytes(60)


async def test_add_and_delete_a_permanent_material(
    fake: Fake, session: aiohttp.ClientSession, engine: AsyncEngine
) -> None:
    client = fake.client(session, engine)
    image = await client.add_material("image", "cover.png", PNG)
    assert image["url"].startswith("http")
    stored = fake.platform.state("demo").media.items[image["media_id"]]
    assert stored.permanent and stored.kind == "image" and stored.data == PNG
    assert fake.platform.calls_to("/cgi-bin/material/add_material")[0]["body"]["fields"] == {}
    await client.del_material(image["media_id"])
    assert image["media_id"] not in fake.platform.state("demo").media.items
    with pytest.raises(PlatformRejected) as info:
        await client.del_material(image["media_id"])
    assert info.value.code == 40007


async def test_a_video_material_carries_its_description(
    fake: Fake, session: aiohttp.ClientSession, engine: AsyncEngine
) -> None:
    client = fake.client(session, engine)
    video = await client.add_material("video", "a.mp4", MP4, title="开箱", introduction="新品")
    assert "url" not in video
    stored = fake.platform.state("demo").media.items[video["media_id"]]
    assert stored.description == {"title": "开箱", "introduction": "新品"}
    with pytest.raises(PlatformRejected) as info:
        await client.add_material("video", "a.mp4", MP4)  # a video needs a title
    assert info.value.code == 47001


async def test_draft_add_with_a_material_cover_then_delete(
    fake: Fake, session: aiohttp.ClientSession, engine: AsyncEngine
) -> None:
    client = fake.client(session, engine)
    cover = (await client.add_material("image", "cover.png", PNG))["media_id"]
    article = {"title": "周报", "content": "<p>本周</p>", "thumb_media_id": cover}
    media_id = await client.draft_add([article])
    drafts = fake.platform.state("demo").drafts.items
    assert drafts[media_id].articles[0]["title"] == "周报"
    await client.draft_delete(media_id)
    assert media_id not in drafts
    await client.draft_delete(media_id)  # deleting twice is fine


@pytest.mark.parametrize("thumb", [None, "no-such-media", "temporary"])
async def test_draft_add_without_a_usable_cover_is_rejected(
    fake: Fake, session: aiohttp.ClientSession, engine: AsyncEngine, thumb: str | None
) -> None:
    client = fake.client(session, engine)
    article = {"title": "周报", "content": "<p>本周</p>"}
    if thumb == "temporary":
        thumb = (await client.upload_media("image", "a.png", PNG))["media_id"]
    if thumb is not None:
        article["thumb_media_id"] = thumb
    with pytest.raises(PlatformRejected) as info:
        await client.draft_add([article])
    assert info.value.code == 40007
    assert fake.platform.state("demo").drafts.items == {}


async def test_draft_add_needs_a_media_id_in_the_answer(
    fake: Fake, session: aiohttp.ClientSession, engine: AsyncEngine
) -> None:
    client = fake.client(session, engine)

    async def answer_without_media_id(*args: object, **kwargs: object) -> dict[str, object]:
        return {"errcode": 0}

    client.call = answer_without_media_id  # type: ignore[method-assign]
    with pytest.raises(PlatformRejected):
        await client.draft_add([{"title": "t", "content": "c"}])


async def test_delete_menu(fake: Fake, session: aiohttp.ClientSession, engine: AsyncEngine) -> None:
    client = fake.client(session, engine)
    await client.create_menu([{"type": "click", "name": "关于", "key": "MENU_ABOUT"}])
    await client.delete_menu()
    assert fake.platform.state("demo").menu is None
    with pytest.raises(PlatformRejected) as info:
        await client.get_menu()
    assert info.value.code == 46003


async def test_qr_image_of_a_created_code_is_a_png(
    fake: Fake, session: aiohttp.ClientSession, engine: AsyncEngine
) -> None:
    client = fake.client(session, engine)
    ticket = (await client.create_qrcode("spring", expire_seconds=600))["ticket"]
    image = await client.qr_image(ticket)
    assert image.startswith(b"\x89PNG\r\n\x1a\n")
    [call] = fake.platform.calls_to("/cgi-bin/showqrcode")
    assert call["status"] == 200 and "access_token" not in call["query"]
    assert call["query"]["ticket"] == ticket


async def test_qr_image_url_encodes_the_ticket(
    fake: Fake, session: aiohttp.ClientSession, engine: AsyncEngine
) -> None:
    client = fake.client(session, engine)
    ticket = "gQH+7/8A=="
    assert client.qr_image_url(ticket) == f"{fake.url}/cgi-bin/showqrcode?ticket=gQH%2B7%2F8A%3D%3D"
    fake.platform.state("demo").qrcodes[ticket] = QrCode(
        ticket, "QR_LIMIT_STR_SCENE", "s", None, "http://weixin.qq.com/q/x", 0.0, None
    )
    assert (await client.qr_image(ticket)).startswith(b"\x89PNG")
    default = WechatAccount(name="x", app_id="wx", secret="s", token="t")
    real = WechatClient(default, session, TokenStore(engine), owner="p")
    assert real.qr_image_url("a b") == "https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=a%20b"


async def test_qr_image_of_an_unknown_ticket_is_rejected(
    fake: Fake, session: aiohttp.ClientSession, engine: AsyncEngine
) -> None:
    client = fake.client(session, engine)
    with pytest.raises(PlatformRejected) as info:
        await client.qr_image("no-such-ticket")
    assert info.value.code == 404
    assert fake.count("/cgi-bin/token") == fake.count("/cgi-bin/stable_token") == 0


async def test_qr_image_from_an_unreachable_host_is_unavailable(
    session: aiohttp.ClientSession, engine: AsyncEngine
) -> None:
    base = f"http://127.0.0.1:{unused_port()}"
    account = WechatAccount(name="x", app_id="wx", secret="s", token="t", qr_image_base=base)
    client = WechatClient(account, session, TokenStore(engine), owner="p", timeout=1.0)
    with pytest.raises(PlatformUnavailable) as info:
        await client.qr_image("t")
    assert not isinstance(info.value, OutcomeUnknown)
