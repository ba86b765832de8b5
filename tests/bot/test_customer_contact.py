"""The seconds after a customer adds a staff member, end to end: the WeCom fake (20-second,
single-use welcome codes; remark length; corp tags) sends signed, encrypted
change_external_contact callbacks to the bot's real route; the bot welcomes first, then remarks,
tags and counts; retries send nothing more; deletions are counted to the add's code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.app import ENGINE, STAFF_CHAT
from channels.wecom.sandbox import FakeWecom, build_wecom_callback, wecom_contact_change_xml
from handlers.customers import remark_text
from storage import contacts_repo as repo
from storage.contacts_repo import ContactEvent, LiveCode
from tests.helpers.stack import Stack, running_stack

TZ = "Asia/Shanghai"
APP = "corp"


async def make_code(
    stack: Stack,
    name: str,
    *,
    channel: str,
    staff: list[str],
    welcome: dict[str, Any] | None = None,
    tags: tuple[str, ...] = (),
    remark: str = "",
) -> LiveCode:
    """A lead channel, a reception group and a live code with its contact way in the fake."""
    engine = stack.app[ENGINE]
    found = await repo.channel(engine, APP, channel)
    channel_id = (
        found.id
        if found
        else await repo.add_channel(
            engine, APP, channel, welcome=welcome or {}, tags=tags, created_by="t"
        )
    )
    group_id = await repo.add_group(
        engine, APP, f"{name}组", staff=staff, remark=remark, created_by="t"
    )
    assert channel_id is not None and group_id is not None
    code = await repo.add_code(
        engine,
        APP,
        name,
        channel_id=channel_id,
        group_id=group_id,
        skip_verify=True,
        created_by="t",
        chat="",
    )
    assert code is not None
    client = stack.app[STAFF_CHAT].wecom_clients[APP]
    config_id, qr_code = await client.add_contact_way(staff, multi=True, state=code.state)
    await repo.activate_code(engine, code.id, config_id, qr_code)
    active = await repo.code_by_id(engine, code.id)
    assert active is not None and active.config_id == config_id
    return active


async def events(stack: Stack, kind: str = "add") -> list[ContactEvent]:
    return list(reversed(await repo.recent_events(stack.app[ENGINE], APP, kind=kind, limit=100)))


def fake_of(stack: Stack) -> FakeWecom:
    assert stack.wecom is not None
    return stack.wecom


def welcome_calls(stack: Stack) -> int:
    return len(fake_of(stack).calls_to("/cgi-bin/externalcontact/send_welcome_msg"))


async def test_a_new_customer_is_welcomed_in_the_window_then_remarked_tagged_and_counted(
    tmp_path: Path, db_url: str
) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        wecom = fake_of(stack)
        wecom.member(APP, "zhangsan", "张三")
        code = await make_code(
            stack,
            "地推A",
            channel="春季海报",
            staff=["zhangsan"],
            welcome={
                "text": "{{ customer.name }}您好，我是{{ staff.name }}，欢迎来到春季活动！",
                "attachments": [],
            },
            tags=("春季", "海报"),
        )
        outcome = await wecom.scan_contact_way(APP, str(code.config_id), name="小王")
        assert (outcome.statuses, outcome.delivered) == ((200,), True), outcome
        assert outcome.state == code.state and outcome.welcome_code

        # The welcome went out while the callback was being answered, inside the window.
        customer = wecom.external_contact(APP, outcome.external_userid)
        assert [m["text"] for m in customer.received] == ["小王您好，我是张三，欢迎来到春季活动！"]
        [added] = await events(stack)
        assert (added.welcome_status, added.code_id, added.userid) == ("sent", code.id, "zhangsan")
        assert added.welcome_ms is not None and 0 <= added.welcome_ms < 20_000
        assert added.day == datetime.now(ZoneInfo(TZ)).date()

        async def followed() -> bool:
            [event] = await events(stack)
            return event.followup != "pending"

        await stack.until(followed)
        [added] = await events(stack)
        assert (added.followup, added.remark) == ("done", "小王-春季海报"), added.followup_detail
        follow = customer.follow["zhangsan"]
        assert follow.remark == "小王-春季海报"
        assert sorted(
            t["tag_name"] for t in follow.as_json(wecom.state(APP).corp.contacts.tags)["tags"]
        ) == ["春季", "海报"]

        # WeCom retries the callback (and a forged copy arrives): nothing more is sent.
        app = wecom.apps[0]
        url = f"{stack.bot_url}/wecom/{APP}"
        for _ in range(2):
            async with stack.http.post(url, **_request(app, outcome.xml)) as resp:
                assert resp.status == 200
        assert welcome_calls(stack) == 1
        assert len(customer.received) == 1
        assert len(await events(stack)) == 1


def _request(app: Any, xml: str) -> dict[str, Any]:
    query, body = build_wecom_callback(app, xml)
    return {"params": query, "data": body}


async def test_a_late_or_used_welcome_code_is_recorded_and_not_retried(
    tmp_path: Path, db_url: str
) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        wecom = fake_of(stack)
        wecom.member(APP, "lisi", "李四")
        code = await make_code(stack, "展会", channel="展会", staff=["lisi"])
        # The customer adds lisi; the event reaches us only after the code's 20 seconds.
        quiet = await wecom.scan_contact_way(APP, str(code.config_id), name="老赵", notify=False)
        wecom.clock.advance(21)
        at = int(wecom.clock.now())
        xml = wecom_contact_change_xml(
            wecom.apps[0],
            "add_external_contact",
            "lisi",
            quiet.external_userid,
            at,
            state=code.state,
            welcome_code=quiet.welcome_code,
        )
        async with stack.http.post(
            f"{stack.bot_url}/wecom/{APP}", **_request(wecom.apps[0], xml)
        ) as resp:
            assert resp.status == 200
        [added] = await events(stack)
        assert added.welcome_status == "used" and "41051" in added.welcome_detail
        assert added.welcome_ms is None
        assert welcome_calls(stack) == 1  # tried once, never again
        assert wecom.external_contact(APP, quiet.external_userid).received == []
        problems = await repo.recent_events(stack.app[ENGINE], APP, problems=True)
        assert [p.id for p in problems] == [added.id]


async def test_default_welcome_and_a_remark_cut_to_the_platform_limit(
    tmp_path: Path, db_url: str
) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        wecom = fake_of(stack)
        wecom.member(APP, "wangwu", "王五")
        long_channel = "二零二六年双十一线下门店海报渠道"
        code = await make_code(stack, "门店", channel=long_channel, staff=["wangwu"])
        nickname = "一位昵称非常长的老客户"
        outcome = await wecom.scan_contact_way(APP, str(code.config_id), name=nickname)
        customer = wecom.external_contact(APP, outcome.external_userid)
        # The channel has no welcome: the settings' default, with both names.
        [message] = customer.received
        assert message["text"] == (f"您好，{nickname}！我是王五，很高兴为您服务，有问题随时找我。")

        async def followed() -> bool:
            return all(e.followup != "pending" for e in await events(stack))

        await stack.until(followed)
        expected = f"{nickname}-{long_channel}"[:20]
        assert len(f"{nickname}-{long_channel}") > 20
        assert customer.follow["wangwu"].remark == expected
        [added] = await events(stack)
        assert (added.followup, added.remark) == ("done", expected)

        # Customers who add wangwu through a way that is none of our codes: the default
        # welcome (the app's, once admins set one), no remark, counted to no code.
        client = stack.app[STAFF_CHAT].wecom_clients[APP]
        other, _ = await client.add_contact_way(["wangwu"])
        stranger = await wecom.scan_contact_way(APP, other, name="路人")
        await repo.set_default_welcome(
            stack.app[ENGINE], APP, {"text": "欢迎{{ customer.name }}！", "attachments": []}, "t"
        )
        plain = await wecom.scan_contact_way(APP, other, name="阿花")
        got = [
            [m["text"] for m in wecom.external_contact(APP, o.external_userid).received]
            for o in (stranger, plain)
        ]
        assert got == [["您好，路人！我是王五，很高兴为您服务，有问题随时找我。"], ["欢迎阿花！"]]
        later = (await events(stack))[1:]
        assert [(e.code_id, e.followup, e.welcome_status) for e in later] == [
            (None, "done", "sent"),
            (None, "done", "sent"),
        ]
        assert wecom.external_contact(APP, plain.external_userid).follow["wangwu"].remark == ""


def test_remark_text_fills_the_pattern_and_cuts_it() -> None:
    assert remark_text("{昵称}-{渠道}", nickname="小王", channel="海报", group="", limit=20) == (
        "小王-海报"
    )
    assert remark_text("{昵称}-{渠道}", nickname="", channel="海报", group="", limit=20) == "海报"
    assert remark_text("{渠道}/{接待组}", nickname="x", channel="c", group="g", limit=3) == "c/g"
    assert remark_text("{昵称}{接待组}", nickname="张" * 30, channel="", group="", limit=20) == (
        "张" * 20
    )


async def test_stats_match_the_events_sent(tmp_path: Path, db_url: str) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        wecom = fake_of(stack)
        for userid in ("zhangsan", "lisi"):
            wecom.member(APP, userid, userid)
        a = await make_code(stack, "A码", channel="海报", staff=["zhangsan"])
        b = await make_code(stack, "B码", channel="直播", staff=["lisi"])
        added_a = [
            await wecom.scan_contact_way(APP, str(a.config_id), name=f"a{i}") for i in range(3)
        ]
        added_b = await wecom.scan_contact_way(APP, str(b.config_id), name="b0")
        gone = await wecom.delete_external_contact(APP, "zhangsan", added_a[0].external_userid)
        left = await wecom.delete_follow_user(APP, "lisi", added_b.external_userid)
        for outcome in [*added_a, added_b, gone, left]:
            assert outcome.statuses == (200,), outcome
        # A retried deletion is not counted twice.
        async with stack.http.post(
            f"{stack.bot_url}/wecom/{APP}", **_request(wecom.apps[0], gone.xml)
        ) as resp:
            assert resp.status == 200

        engine = stack.app[ENGINE]
        today = datetime.now(ZoneInfo(TZ)).date()
        week = today - timedelta(days=6)
        by_code = {r.key: r for r in await repo.stats(engine, APP, "code", week, today)}
        assert (by_code[a.id].adds, by_code[a.id].del_external, by_code[a.id].del_follow) == (
            3,
            1,
            0,
        )
        assert (by_code[b.id].adds, by_code[b.id].del_external, by_code[b.id].del_follow) == (
            1,
            0,
            1,
        )
        assert by_code[a.id].welcomes_sent == 3 and by_code[a.id].welcomes_missed == 0
        by_staff = {r.key: r.adds for r in await repo.stats(engine, APP, "staff", week, today)}
        assert by_staff == {"zhangsan": 3, "lisi": 1}
        by_channel = {r.key: r.adds for r in await repo.stats(engine, APP, "channel", week, today)}
        assert by_channel == {a.channel_id: 3, b.channel_id: 1}
        by_group = {
            r.key: (r.adds, r.del_external + r.del_follow)
            for r in await repo.stats(engine, APP, "group", week, today)
        }
        assert by_group == {a.group_id: (3, 1), b.group_id: (1, 1)}
        latencies = await repo.welcome_latencies(engine, APP, week, today)
        assert len(latencies) == 4 and latencies == sorted(latencies)
        yesterday = today - timedelta(days=1)
        assert await repo.stats(engine, APP, "code", week, yesterday) == []
        assert datetime.now(UTC) > (await events(stack))[0].at


async def test_the_full_add_after_a_half_add_is_not_counted_twice(
    tmp_path: Path, db_url: str
) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        wecom = fake_of(stack)
        wecom.member(APP, "zhaoliu", "赵六")
        code = await make_code(stack, "半加", channel="半加", staff=["zhaoliu"])
        quiet = await wecom.scan_contact_way(APP, str(code.config_id), name="阿明", notify=False)
        app = wecom.apps[0]
        at = int(wecom.clock.now())
        half = wecom_contact_change_xml(
            app,
            "add_half_external_contact",
            "zhaoliu",
            quiet.external_userid,
            at,
            state=code.state,
            welcome_code=quiet.welcome_code,
        )
        full = wecom_contact_change_xml(
            app, "add_external_contact", "zhaoliu", quiet.external_userid, at + 5, state=code.state
        )
        url = f"{stack.bot_url}/wecom/{APP}"
        for xml in (half, full):
            async with stack.http.post(url, **_request(app, xml)) as resp:
                assert resp.status == 200
        [added] = await events(stack)
        assert added.welcome_status == "sent" and added.state == code.state
        assert len(wecom.external_contact(APP, quiet.external_userid).received) == 1
        # After the customer deleted the member, adding again counts again.
        gone = await wecom.delete_follow_user(APP, "zhaoliu", quiet.external_userid)
        assert gone.delivered
        again = wecom_contact_change_xml(
            app, "add_external_contact", "zhaoliu", quiet.external_userid, at + 60, state=code.state
        )
        async with stack.http.post(url, **_request(app, again)) as resp:
            assert resp.status == 200
        assert len(await events(stack)) == 2
        assert [e.kind for e in await events(stack, "del_follow")] == ["del_follow"]
