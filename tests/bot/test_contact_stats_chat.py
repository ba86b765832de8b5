"""Customer statistics (客户统计) and the welcome log (欢迎语 记录) in the WeCom app chat, over
contact events written straight into the store (bot/customer_contact.py writes them in
production): the day table and the totals per channel, code, reception group and staff member
equal the events, events outside the span are left out, and the log shows each add's welcome
and remark, or only the problems."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import ENGINE
from storage import contacts_repo as repo
from storage.contacts_repo import LiveCode
from tests.helpers.stack import running_stack
from tests.helpers.staff import WecomPerson

TZ = ZoneInfo("Asia/Shanghai")


class Events:
    """Writes contact events as bot/customer_contact.py does."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.count = 0

    async def add(
        self,
        code: LiveCode | None,
        userid: str,
        day: date,
        *,
        welcome: str = "sent",
        ms: int | None = None,
        detail: str = "",
        followup: str = "done",
        remark: str = "",
    ) -> str:
        self.count += 1
        customer = f"wmCustomer{self.count:06d}"
        at = datetime(day.year, day.month, day.day, 10, self.count, tzinfo=TZ).astimezone(UTC)
        event = await repo.claim_add(
            self.engine,
            dedupe_key=f"add-{self.count}",
            app="corp",
            userid=userid,
            external_userid=customer,
            state=code.state if code else "",
            code=code,
            at=at,
            day=day,
            received_at=at,
            welcome_status="sending" if welcome != "none" else "none",
            followup="pending",
        )
        assert event is not None
        if welcome != "none":
            await repo.finish_welcome(self.engine, event.id, welcome, detail, ms)
        await repo.finish_followup(self.engine, event.id, followup, detail, remark)
        return customer

    async def delete(self, kind: str, userid: str, customer: str, day: date) -> None:
        self.count += 1
        at = datetime(day.year, day.month, day.day, 18, tzinfo=TZ).astimezone(UTC)
        assert kind in ("del_external", "del_follow")
        stored = await repo.record_delete(
            self.engine,
            dedupe_key=f"del-{self.count}",
            app="corp",
            kind="del_external" if kind == "del_external" else "del_follow",
            userid=userid,
            external_userid=customer,
            at=at,
            day=day,
        )
        assert stored is not None


async def make_code(engine: AsyncEngine, name: str, channel: int, group: int) -> LiveCode:
    code = await repo.add_code(
        engine,
        "corp",
        name,
        channel_id=channel,
        group_id=group,
        skip_verify=True,
        created_by="test",
        chat="",
    )
    assert code is not None
    await repo.activate_code(engine, code.id, f"cfg{code.id}", f"https://qr.example/{code.id}")
    active = await repo.code_by_id(engine, code.id)
    assert active is not None
    return active


async def test_the_stats_count_the_events_by_every_dimension(tmp_path: Path, db_url: str) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        engine = stack.app[ENGINE]
        spring = await repo.add_channel(
            engine, "corp", "春季海报", welcome={}, tags=(), created_by="t"
        )
        east = await repo.add_group(
            engine, "corp", "华东组", staff=["zhangsan"], remark="", created_by="t"
        )
        south = await repo.add_group(
            engine, "corp", "华南组", staff=["lisi"], remark="", created_by="t"
        )
        assert spring is not None and east is not None and south is not None
        code_a = await make_code(engine, "门店A", spring, east)
        code_b = await make_code(engine, "门店B", spring, south)
        today = datetime.now(TZ).date()
        day1 = today - timedelta(days=1)
        events = Events(engine)
        # Day 1: code A adds 3 (2 by zhangsan, 1 by lisi), zhangsan deletes one of them.
        first = await events.add(code_a, "zhangsan", day1, ms=120)
        await events.add(code_a, "zhangsan", day1, ms=300)
        await events.add(code_a, "lisi", day1, welcome="used")
        await events.delete("del_external", "zhangsan", first, day1)
        # Today: code B adds 1 (lisi), who is then deleted by the customer; one add outside
        # any code (wangwu, no welcome code).
        second = await events.add(code_b, "lisi", today, ms=80)
        await events.delete("del_follow", "lisi", second, today)
        await events.add(None, "wangwu", today, welcome="none")
        # Ten days ago: outside the default 7 days.
        await events.add(code_b, "lisi", today - timedelta(days=10), ms=5000)

        staff = WecomPerson(stack, "hanmeimei")
        by_channel = await staff.say("客户统计")
        assert f"近 7 天（{today - timedelta(days=6):%Y-%m-%d} 至 {today:%Y-%m-%d}），按渠道" in (
            by_channel
        )
        assert f"{day1:%m-%d}｜3｜1｜0｜+2｜2/1" in by_channel
        assert f"{today:%m-%d}｜2｜0｜1｜+1｜1/0" in by_channel
        assert f"{today - timedelta(days=2):%m-%d}｜0｜0｜0｜+0｜0/0" in by_channel
        assert "合计：新增 5，员工删除 1，客户删除 1，净增 +3；欢迎语 已发 3，未发 1" in by_channel
        assert "· 春季海报：新增 4，员工删除 1，客户删除 1，净增 +2；欢迎语 已发 3，未发 1" in (
            by_channel
        )
        assert "· 未归属：新增 1，员工删除 0，客户删除 0，净增 +1；欢迎语 已发 0，未发 0" in (
            by_channel
        )
        assert "欢迎语耗时（3 条）：P50 120 ms，P95 300 ms，最长 300 ms" in by_channel

        by_code = await staff.say("客户统计 按 活码")
        assert "· 门店A：新增 3，员工删除 1，客户删除 0，净增 +2；欢迎语 已发 2，未发 1" in by_code
        assert "· 门店B：新增 1，员工删除 0，客户删除 1，净增 +0；欢迎语 已发 1，未发 0" in by_code
        assert "· 未归属：新增 1" in by_code

        by_group = await staff.say("客户统计 7天 按接待组")
        assert "· 华东组：新增 3，员工删除 1，客户删除 0" in by_group
        assert "· 华南组：新增 1，员工删除 0，客户删除 1" in by_group

        by_staff = await staff.say("客户统计 按 员工")
        assert "· zhangsan：新增 2，员工删除 1，客户删除 0，净增 +1" in by_staff
        assert "· lisi：新增 2，员工删除 0，客户删除 1，净增 +1" in by_staff
        assert "· wangwu：新增 1，员工删除 0，客户删除 0，净增 +1" in by_staff

        month = await staff.say("客户统计 30 按 活码")
        assert "· 门店B：新增 2，员工删除 0，客户删除 1" in month
        assert "最长 5000 ms" in month
        assert f"{today - timedelta(days=2):%m-%d}｜" not in month  # only days with changes

        assert "天数写 1 到 90" in await staff.say("客户统计 365")
        assert "「按」后面写" in await staff.say("客户统计 按 城市")


async def test_the_welcome_log_shows_each_add_and_the_problems(tmp_path: Path, db_url: str) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        engine = stack.app[ENGINE]
        spring = await repo.add_channel(
            engine, "corp", "春季海报", welcome={}, tags=(), created_by="t"
        )
        east = await repo.add_group(
            engine, "corp", "华东组", staff=["zhangsan"], remark="", created_by="t"
        )
        assert spring is not None and east is not None
        code = await make_code(engine, "门店A", spring, east)
        today = datetime.now(TZ).date()
        events = Events(engine)
        await events.add(code, "zhangsan", today, ms=150, remark="张三-春季海报")
        await events.add(code, "zhangsan", today, welcome="used")
        await events.add(code, "zhangsan", today, welcome="expired")
        await events.add(
            code, "zhangsan", today, welcome="failed", detail="企业微信拒绝（错误码 40058）"
        )
        await events.add(code, "zhangsan", today, welcome="sending")
        await events.add(code, "zhangsan", today, ms=90, followup="failed", detail="84061")

        staff = WecomPerson(stack, "hanmeimei")
        log = await staff.say("欢迎语 记录")
        assert "最近 6 位新增客户" in log
        lines = [line for line in log.splitlines() if line.startswith("· ")]
        assert len(lines) == 6
        newest, sending, failed, expired, used, sent = lines
        assert "活码 门店A" in sent and "欢迎语 已发送（150 ms）" in sent
        assert "备注「张三-春季海报」" in sent
        assert "已被使用或过期（41051）" in used
        assert "超时未发" in expired
        assert "失败：企业微信拒绝（错误码 40058）" in failed
        assert "发送中断" in sending
        assert "已发送（90 ms）" in newest and "备注失败：84061" in newest

        problems = await staff.say("欢迎语 记录 问题")
        shown = [line for line in problems.splitlines() if line.startswith("· ")]
        assert len(shown) == 5 and not any("150 ms" in line for line in shown)
        assert "只能写「问题」" in await staff.say("欢迎语 记录 全部")
