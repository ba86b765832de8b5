"""Mass sends (群发) end to end: an admin builds one in the WeCom app chat, previews it to a
follower, confirms it, and the Official Account fake delivers it once; scheduled sends survive a
restart, can be cancelled in time, and a platform that keeps failing is reported."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.app import ENGINE
from storage import mass_repo
from tests.helpers.stack import Stack, running_stack
from tests.helpers.staff import WecomPerson, text_of

FAST = {
    "OPSBOT_SCHEDULER__POLL_SECONDS": "0.2",
    "OPSBOT_SCHEDULER__RETRY_SECONDS": "0.2",
    "OPSBOT_SCHEDULER__MAX_ATTEMPTS": "3",
}
CONFIG: dict[str, Any] = {
    "default_follow_reply": [{"text": "欢迎关注"}],
    "channels": [{"name": "spring", "title": "春季活动"}],
}
SENDALL = "/cgi-bin/message/mass/sendall"


def mass_seen(stack: Stack, openid: str) -> list[dict[str, Any]]:
    """The mass messages a customer received (previews apart)."""
    return [s for s in stack.seen(openid) if s["via"] == "mass" and not s.get("preview")]


async def build(admin: WecomPerson, content: str, audience: str, when: str) -> str:
    assert "群发什么" in await admin.say("群发 新建")
    assert "发给谁" in await admin.say(content)
    assert "什么时候" in await admin.say(audience)
    return await admin.say(when)


async def confirm(admin: WecomPerson, within: float = 10.0) -> tuple[str, str]:
    """Confirm a send: (the command's answer, the report that follows it). A send "now" can
    finish before the command's own answer is queued, so the two may come in either order."""
    await admin.send("确认")
    first, second = (text_of(e) for e in await admin.answers(2, within))
    return (first, second) if "开始发送" in first or "将在" in first else (second, first)


def shanghai_in(seconds: float) -> str:
    at = datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(seconds=seconds)
    return at.strftime("%Y-%m-%d %H:%M:%S")


async def test_a_send_now_is_previewed_confirmed_delivered_once_and_reported(
    tmp_path: Path, db_url: str
) -> None:
    async with running_stack(
        tmp_path, db_url, config={"demo": CONFIG}, staff=True, env=FAST
    ) as stack:
        openids = [stack.platform.add_follower("demo") for _ in range(3)]
        admin = WecomPerson(stack, "lilei")
        saved = await build(admin, "本周末全场八折", "全部", "现在")
        assert "群发 #1 已保存，还没有发送" in saved and "约 3 人" in saved
        assert "[文字] 本周末全场八折" in saved

        preview = await admin.say(f"群发 预览 1 {openids[0]}")
        assert "已把群发 #1 预览发给" in preview
        (seen,) = [s for s in stack.seen(openids[0]) if s.get("preview")]
        assert seen["content"] == "本周末全场八折"
        assert stack.calls(SENDALL) == []  # a preview is not the send

        asked = await admin.say("群发 发送 1")
        assert "发给：全部粉丝，现有 3 人" in asked and "本周末全场八折" in asked
        assert stack.calls(SENDALL) == []  # nothing before the confirmation
        started, done = await confirm(admin)
        assert "群发 #1 马上开始发送" in started
        assert "群发 #1 已完成" in done and "成功 3，失败 0" in done
        for openid in openids:
            assert [m["content"] for m in mass_seen(stack, openid)] == ["本周末全场八折"]
        (call,) = stack.calls(SENDALL)
        assert call["body"]["filter"] == {"is_to_all": True}
        assert call["body"]["clientmsgid"].startswith("opsbot-")
        listing = await admin.say("群发 列表")
        assert "#1" in listing and "已完成：成功 3，失败 0" in listing
        assert "不能再发送" in await admin.say("群发 发送 1")


async def test_a_channel_audience_goes_by_openid_list(tmp_path: Path, db_url: str) -> None:
    async with running_stack(
        tmp_path, db_url, config={"demo": CONFIG}, staff=True, env=FAST
    ) as stack:
        # The bot creates the channel's QR code right after start-up; fans scan it.
        await stack.until(lambda: len(stack.calls("/cgi-bin/qrcode/create")) >= 1)
        fans = [stack.customer(f"oSpringFan{i:018d}") for i in range(2)]
        for fan in fans:
            await fan.follow("spring")
        other = stack.customer("oOtherFan0000000000000000000")
        await other.follow()
        admin = WecomPerson(stack, "lilei")
        await stack.until(lambda: _count_channel(stack, "spring", 2))
        saved = await build(admin, "春季老朋友专享", "渠道:spring", "现在")
        assert "渠道「spring」来的粉丝（约 2 人）" in saved
        await admin.say("群发 发送 1")
        _, done = await confirm(admin)
        assert "成功 2" in done
        (call,) = stack.calls("/cgi-bin/message/mass/send")
        assert sorted(call["body"]["touser"]) == sorted(f.openid for f in fans)
        assert mass_seen(stack, other.openid) == []


async def _count_channel(stack: Stack, channel: str, n: int) -> bool:
    return await mass_repo.channel_count(stack.app[ENGINE], "demo", channel) == n


async def test_a_scheduled_send_fires_after_a_restart(tmp_path: Path, db_url: str) -> None:
    async with running_stack(
        tmp_path, db_url, config={"demo": CONFIG}, staff=True, env=FAST
    ) as stack:
        openids = [stack.platform.add_follower("demo") for _ in range(2)]
        admin = WecomPerson(stack, "lilei")
        await build(admin, "晚上八点直播", "全部", shanghai_in(2.5))
        await admin.say("群发 发送 1")
        assert "将在" in await admin.say("确认")
        assert stack.restart is not None
        await stack.restart()  # the server stops before the time and a new one starts
        (done,) = await admin.answers(within=15)
        assert "群发 #1 已完成" in done["content"]
        for openid in openids:
            assert len(mass_seen(stack, openid)) == 1
        assert len(stack.calls(SENDALL)) == 1


async def test_a_send_cancelled_in_time_never_goes(tmp_path: Path, db_url: str) -> None:
    async with running_stack(
        tmp_path, db_url, config={"demo": CONFIG}, staff=True, env=FAST
    ) as stack:
        stack.platform.add_follower("demo")
        admin = WecomPerson(stack, "lilei")
        await build(admin, "不该发出的消息", "全部", shanghai_in(1.5))
        await admin.say("群发 发送 1")
        await admin.say("确认")
        assert "已取消群发 #1" in await admin.say("群发 取消 1")
        await asyncio.sleep(2.5)  # past the time it was set for
        assert stack.calls(SENDALL) == []
        assert "已取消" in await admin.say("群发 查看 1")
        assert "不能取消" in await admin.say("群发 取消 1")


async def test_a_call_that_timed_out_but_went_through_is_not_sent_twice(
    tmp_path: Path, db_url: str
) -> None:
    env = {**FAST, "OPSBOT_DELIVERY__API_TIMEOUT_SECONDS": "0.5"}
    async with running_stack(
        tmp_path, db_url, config={"demo": CONFIG}, staff=True, env=env
    ) as stack:
        openids = [stack.platform.add_follower("demo") for _ in range(2)]
        # The platform takes the first call in, but answers after our client gave up.
        stack.platform.inject_fault(SENDALL, delay=1.0)
        admin = WecomPerson(stack, "lilei")
        await build(admin, "只发一次", "全部", "现在")
        await admin.say("群发 发送 1")
        _, done = await confirm(admin, within=15)
        assert "群发 #1 已完成" in done
        calls = stack.calls(SENDALL)
        assert len(calls) == 2  # the call that timed out, and its retry
        assert len(stack.platform.state("demo").mass_jobs) == 1  # one send on the platform
        for openid in openids:
            assert len(mass_seen(stack, openid)) == 1


async def test_a_platform_that_keeps_failing_is_retried_then_reported(
    tmp_path: Path, db_url: str
) -> None:
    async with running_stack(
        tmp_path, db_url, config={"demo": CONFIG}, staff=True, env=FAST
    ) as stack:
        stack.platform.add_follower("demo")
        stack.platform.inject_fault(SENDALL, errcode=-1, times=3)  # system busy, three times
        admin = WecomPerson(stack, "lilei")
        await build(admin, "忙碌时的群发", "全部", "现在")
        await admin.say("群发 发送 1")
        _, report = await confirm(admin, within=15)
        assert report.startswith("任务「群发 #1」执行失败：试了 3 次都没有成功")
        assert "失败" in await admin.say("群发 查看 1")
        assert len(stack.calls(SENDALL)) == 3


async def test_a_tag_audience_reaches_the_tagged_followers_only(
    tmp_path: Path, db_url: str
) -> None:
    async with running_stack(
        tmp_path, db_url, config={"demo": CONFIG}, staff=True, env=FAST
    ) as stack:
        vip = stack.platform.add_tag("demo", "VIP")
        members = [stack.platform.add_follower("demo", tags=[vip]) for _ in range(2)]
        other = stack.platform.add_follower("demo")
        admin = WecomPerson(stack, "lilei")
        await admin.say("群发 新建")
        await admin.say("会员日")
        assert "公众号没有名为「金卡」的标签" in await admin.say("标签:金卡")  # asked again
        assert "什么时候" in await admin.say("标签:VIP")
        saved = await admin.say("现在")
        assert "标签「VIP」的粉丝（约 2 人）" in saved
        await admin.say("群发 发送 1")
        _, done = await confirm(admin)
        assert "成功 2" in done
        (call,) = stack.calls(SENDALL)
        assert call["body"]["filter"] == {"is_to_all": False, "tag_id": vip}
        assert [len(mass_seen(stack, o)) for o in [*members, other]] == [1, 1, 0]
