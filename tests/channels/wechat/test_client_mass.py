"""Mass send (§2.5), tags and the follower total (§2.8) through the API client, against the fake
platform on loopback. The fake pushes MASSSENDJOBFINISH to a real callback route, whose
``on_mass_finish`` records what arrives."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.errors import PlatformRejected
from channels.wechat.account import WechatAccount
from channels.wechat.callback import WechatCallback
from channels.wechat.client import WechatClient
from channels.wechat.decode import MassFinish
from channels.wechat.mass import MassSubmitted, mass_message
from channels.wechat.sandbox import FAKE_STATE, FakeAccount, FakePlatform, create_fake_app
from handlers.events import Inbound
from handlers.messages import Message
from storage.tokens import TokenStore

KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID = "wxmasstest000001"
TOKEN = "masstoken"
SECRET = "mass-secret"
ORIGINAL_ID = "gh_masstest0001"
JPEG = b"\xff\xd8\xff\xe0" + bytes(60)
SENDALL = "/cgi-bin/message/mass/sendall"
SEND = "/cgi-bin/message/mass/send"


class Processor:
    """Stands in for the inbound processor: records what reaches it."""

    def __init__(self) -> None:
        self.events: list[Inbound] = []

    async def handle(self, event: Inbound, started: float | None = None) -> Message | None:
        self.events.append(event)
        return None


@dataclass
class Rig:
    platform: FakePlatform
    client: WechatClient
    processor: Processor
    finishes: list[MassFinish] = field(default_factory=list)
    handler_fails: bool = False

    def follow(self, count: int, tags: tuple[int, ...] = ()) -> list[str]:
        start = len(self.platform.state("demo").customers)
        return [
            self.platform.add_follower("demo", f"oFan{start + i:024d}", tags=tags)
            for i in range(count)
        ]

    def mass_seen(self, openid: str) -> list[dict[str, Any]]:
        """The mass messages (and previews) one customer received."""
        entries = self.platform.timeline("demo", openid)
        return [e["message"] for e in entries if e["via"] == "mass"]

    def bodies(self, path: str) -> list[Any]:
        return [c["body"] for c in self.platform.calls_to(path)]


@pytest.fixture
async def rig(engine: AsyncEngine) -> AsyncIterator[Rig]:
    processor = Processor()
    rig_ref: list[Rig] = []

    async def on_mass_finish(finish: MassFinish) -> None:
        rig_ref[0].finishes.append(finish)
        if rig_ref[0].handler_fails:
            raise RuntimeError("the database is away")

    common = {"name": "demo", "app_id": APP_ID, "secret": SECRET, "token": TOKEN}
    route = WechatCallback(
        [WechatAccount(**common, encoding_aes_key=KEY, mode="safe", original_id=ORIGINAL_ID)],
        processor,
        timestamp_window=300,
        max_body_bytes=1 << 20,
        on_mass_finish=on_mass_finish,
    )
    bot_app = web.Application()
    bot_app.add_routes(route.routes())
    bot = TestServer(bot_app, host="127.0.0.1")
    await bot.start_server()
    fake_account = FakeAccount(
        **common,
        encoding_aes_key=KEY,
        mode="safe",
        original_id=ORIGINAL_ID,
        callback_url=f"http://127.0.0.1:{bot.port}/wechat/demo",
    )
    fake_app = create_fake_app([fake_account], callback_timeout=3.0)
    fake = TestServer(fake_app, host="127.0.0.1")
    await fake.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            account = WechatAccount(
                **common, api_base=f"http://127.0.0.1:{fake.port}", token_endpoint="classic"
            )
            client = WechatClient(account, session, TokenStore(engine), owner="p1", timeout=5.0)
            rig_ref.append(Rig(fake_app[FAKE_STATE], client, processor))
            yield rig_ref[0]
            await rig_ref[0].platform.drain()
    finally:
        await fake.close()
        await bot.close()


def test_mass_message_builds_text_images_and_mpnews() -> None:
    assert mass_message("text", text="新品上线") == {
        "msgtype": "text",
        "text": {"content": "新品上线"},
    }
    assert mass_message("image", media_id="IMG") == {
        "msgtype": "images",
        "images": {"media_ids": ["IMG"]},
    }
    assert mass_message("news", media_id="DRAFT") == {
        "msgtype": "mpnews",
        "mpnews": {"media_id": "DRAFT"},
    }
    for kind, kwargs in [("text", {}), ("image", {"text": "x"}), ("news", {}), ("video", {})]:
        with pytest.raises(ValueError, match=kind):
            mass_message(kind, **kwargs)


async def test_send_all_reaches_every_follower_once(rig: Rig) -> None:
    fans = rig.follow(2)
    gone = rig.follow(1)[0]
    rig.platform.state("demo").customers[gone].following = False
    sent = await rig.client.mass_send_all(
        mass_message("text", text="新品上线"), clientmsgid="all-1"
    )
    assert not sent.duplicate and sent.msg_id.isdigit()
    for fan in fans:
        assert rig.mass_seen(fan) == [
            {"type": "text", "content": "新品上线", "msg_id": int(sent.msg_id)}
        ]
    assert rig.mass_seen(gone) == []
    (body,) = rig.bodies(SENDALL)
    assert body["filter"] == {"is_to_all": True}
    assert body["clientmsgid"] == "all-1" and "send_ignore_reprint" not in body


async def test_send_all_to_a_tag_reaches_only_its_members(rig: Rig) -> None:
    tag_id = rig.platform.add_tag("demo", "VIP")
    members = rig.follow(2, tags=(tag_id,))
    others = rig.follow(2)
    message = mass_message("text", text="会员专享")
    sent = await rig.client.mass_send_all(message, clientmsgid="tag-1", tag_id=tag_id)
    assert [len(rig.mass_seen(o)) for o in members + others] == [1, 1, 0, 0]
    assert rig.bodies(SENDALL)[0]["filter"] == {"is_to_all": False, "tag_id": tag_id}
    await rig.platform.drain()
    assert [(f.msg_id, f.total, f.sent_count) for f in rig.finishes] == [(sent.msg_id, 2, 2)]


async def test_send_to_openids_reaches_only_those(rig: Rig) -> None:
    fans = rig.follow(3)
    await rig.client.mass_send_to(fans[:2], mass_message("text", text="老客回馈"), clientmsgid="l1")
    assert [len(rig.mass_seen(f)) for f in fans] == [1, 1, 0]
    assert rig.bodies(SEND)[0]["touser"] == fans[:2]


async def test_a_retry_with_the_same_clientmsgid_learns_the_msg_id_and_sends_nothing(
    rig: Rig,
) -> None:
    fans = rig.follow(2)
    message = mass_message("text", text="只发一次")
    first = await rig.client.mass_send_to(fans, message, clientmsgid="retry-1")
    again = await rig.client.mass_send_to(fans, message, clientmsgid="retry-1")
    other_way = await rig.client.mass_send_all(message, clientmsgid="retry-1")
    assert first.duplicate is False
    assert again == other_way == MassSubmitted(first.msg_id, duplicate=True)
    assert len(rig.bodies(SEND)) == 2  # the retry did reach the platform
    for fan in fans:
        assert len(rig.mass_seen(fan)) == 1
    await rig.platform.drain()
    assert [f.msg_id for f in rig.finishes] == [first.msg_id]


async def test_a_news_send_goes_on_for_permitted_reprints_and_retries_after_the_draft_left(
    rig: Rig,
) -> None:
    fans = rig.follow(2)
    draft = rig.platform.add_draft("demo", [{"title": "春季上新"}])
    message = mass_message("news", media_id=draft)
    first = await rig.client.mass_send_all(message, clientmsgid="news-1")
    (body,) = rig.bodies(SENDALL)
    assert body["msgtype"] == "mpnews" and body["send_ignore_reprint"] == 1
    assert rig.mass_seen(fans[0])[0]["titles"] == ["春季上新"]
    # The draft left the box with the send; the retry is still recognised, not refused (40007).
    assert await rig.client.mass_send_all(message, clientmsgid="news-1") == MassSubmitted(
        first.msg_id, duplicate=True
    )


async def test_an_image_send_carries_its_media_ids(rig: Rig) -> None:
    fans = rig.follow(2)
    image = rig.platform.add_media("demo", "image", JPEG)
    await rig.client.mass_send_to(fans, mass_message("image", media_id=image), clientmsgid="i1")
    assert rig.mass_seen(fans[1])[0]["media_ids"] == [image]


async def test_other_refusals_still_raise(rig: Rig) -> None:
    fans = rig.follow(2)
    empty = {"msgtype": "text", "text": {"content": ""}}
    with pytest.raises(PlatformRejected) as caught:
        await rig.client.mass_send_to(fans, empty, clientmsgid="e1")
    assert caught.value.code == 44004


@pytest.mark.parametrize("count", [0, 1, 10_001])
async def test_an_openid_list_of_other_than_2_to_10000_is_refused_before_calling(
    rig: Rig, count: int
) -> None:
    openids = [f"o{i:027d}" for i in range(count)]
    with pytest.raises(ValueError, match="2-10,000"):
        await rig.client.mass_send_to(openids, mass_message("text", text="x"), clientmsgid="c")
    assert rig.platform.calls == []


@pytest.mark.parametrize("clientmsgid", ["", "号" * 22])
async def test_a_clientmsgid_of_0_or_over_64_bytes_is_refused_before_calling(
    rig: Rig, clientmsgid: str
) -> None:
    with pytest.raises(ValueError, match="clientmsgid"):
        await rig.client.mass_send_all(mass_message("text", text="x"), clientmsgid=clientmsgid)
    assert rig.platform.calls == []


async def test_one_string_is_not_taken_for_a_list_of_openids(rig: Rig) -> None:
    with pytest.raises(ValueError, match="not one string"):
        await rig.client.mass_send_to("o" * 28, mass_message("text", text="x"), clientmsgid="c")
    assert rig.platform.calls == []


async def test_a_preview_lands_in_one_timeline_only(rig: Rig) -> None:
    boss, fan = rig.follow(2)
    await rig.client.mass_preview(boss, mass_message("text", text="预览一下"))
    assert rig.mass_seen(boss) == [{"type": "text", "content": "预览一下", "preview": True}]
    assert rig.mass_seen(fan) == []
    await rig.platform.drain()
    assert rig.finishes == []


async def test_the_status_after_the_finish_push(rig: Rig) -> None:
    rig.follow(3)
    sent = await rig.client.mass_send_all(mass_message("text", text="结果"), clientmsgid="s1")
    await rig.platform.drain()
    assert rig.finishes == [
        MassFinish("demo", sent.msg_id, "send success", 3, 3, 3, 0),
    ]
    assert await rig.client.mass_status(sent.msg_id) == "SEND_SUCCESS"
    assert rig.processor.events == []  # the report is no follower's message
    assert rig.platform.state("demo").mass_jobs[int(sent.msg_id)].callback == "HTTP 200"
    with pytest.raises(PlatformRejected) as caught:
        await rig.client.mass_status("1")
    assert caught.value.code == 40059


async def test_a_failing_finish_handler_makes_wechat_retry(rig: Rig) -> None:
    rig.follow(2)
    rig.handler_fails = True
    sent = await rig.client.mass_send_all(mass_message("text", text="重试"), clientmsgid="f1")
    await rig.platform.drain()
    assert [f.msg_id for f in rig.finishes] == [sent.msg_id] * 3  # three attempts, all 503
    job = rig.platform.state("demo").mass_jobs[int(sent.msg_id)]
    assert job.callback == "3 attempts failed, last: HTTP 503"


async def test_tags_count_following_members_and_the_follower_total(rig: Rig) -> None:
    assert await rig.client.tags() == []
    fans = rig.follow(3)
    rig.platform.state("demo").customers[fans[2]].following = False
    created = await rig.client.call("POST", "/cgi-bin/tags/create", json={"tag": {"name": "VIP"}})
    await rig.client.call("POST", "/cgi-bin/tags/create", json={"tag": {"name": "新客"}})
    vip = created["tag"]["id"]
    tagging = {"openid_list": fans, "tagid": vip}
    await rig.client.call("POST", "/cgi-bin/tags/members/batchtagging", json=tagging)
    assert await rig.client.tags() == [
        {"id": vip, "name": "VIP", "count": 2},
        {"id": vip + 1, "name": "新客", "count": 0},
    ]
    assert await rig.client.follower_total() == 2
