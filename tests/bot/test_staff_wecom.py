"""Admins and staff in the WeCom app chat, end to end: the fake WeCom platform posts signed,
encrypted callbacks to the bot's real route; the bot answers through the fake's message/send;
the tests read the answers from the member's chat as the fake recorded it."""

from __future__ import annotations

import base64
import time
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import update

from bot.app import BOOKS, ENGINE
from channels.wecom.sandbox import build_wecom_callback, wecom_text_xml
from storage import commands_repo
from storage.models import PendingActionRow
from tests.helpers.stack import running_stack
from tests.helpers.staff import WecomPerson

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


async def test_help_whoami_typos_and_usage(tmp_path: Path, db_url: str) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        admin = WecomPerson(stack, "lilei")
        top = await admin.say("帮助")
        assert "规则" in top and "菜单" in top and "管理" in top
        area = await admin.say("帮助 菜单")
        assert "菜单 发布" in area and "菜单 回滚" in area
        one = await admin.say("help rule add")
        assert "用法：规则 添加 <名称> <关键词> <回复…>" in one and "例子" in one
        me = await admin.say("我是谁")
        assert "lilei" in me and "管理员" in me and "企业微信" in me
        typo = await admin.say("规责 列表")
        assert "没有「规责」这个命令" in typo and "规则 列表" in typo
        usage = await admin.say("规则 添加 价格")
        assert "缺少「关键词」" in usage and "用法：规则 添加" in usage
        # Full-width letters and spaces typed on a phone read the same.
        assert "lilei" in await admin.say("ｗｈｏａｍｉ")

        staff = WecomPerson(stack, "hanmeimei")
        staff_help = await staff.say("帮助")
        assert "规则" in staff_help and "管理" not in staff_help and "菜单" not in staff_help


async def test_staff_refused_admin_command_and_the_refusal_is_audited(
    tmp_path: Path, db_url: str
) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        staff = WecomPerson(stack, "hanmeimei")
        refused = await staff.say("菜单 发布")
        assert "你没有权限" in refused and "管理员" in refused
        stranger = WecomPerson(stack, "wangwu")
        assert "还没有使用权限" in await stranger.say("帮助")
        admin = WecomPerson(stack, "lilei")
        log = await admin.say("审计")
        assert "wecom:corp:hanmeimei「菜单 发布」→ 拒绝" in log
        assert stack.calls("/cgi-bin/menu/create") == []


async def test_rules_by_chat_answer_customers(tmp_path: Path, db_url: str) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        admin = WecomPerson(stack, "lilei")
        added = await admin.say("规则 添加 价格 价格，多少钱 您好，价目表在菜单「服务」里")
        assert "已添加规则「价格」" in added and "包含「多少钱」" in added
        assert "精确「你好」" in await admin.say("rule add 你好 =你好 你好呀")
        listed = await admin.say("规则 列表")
        assert "1. 价格" in listed and "2. 你好" in listed
        tested = await admin.say("规则 测试 请问多少钱")
        assert "由规则「价格」回复" in tested and "价目表" in tested
        # The customer on the Official Account gets the new reply (config reloads by revision).
        customer = stack.customer("o_customer_1")
        await stack.until(lambda: stack.app[BOOKS].get("demo").revision > 0)
        await customer.follow()
        outcome = await customer.text("多少钱呀")
        assert outcome.reply is not None and "价目表" in outcome.reply["Content"]

        edited = await admin.say("规则 修改 价格 回复 新价目表见官网")
        assert "已修改规则「价格」" in edited
        assert "新价目表见官网" in await admin.say("规则 查看 价格")
        asked = await admin.say("规则 删除 价格")
        assert "将删除规则「价格」" in asked and "回复「确认」执行" in asked
        assert "已删除规则「价格」" in await admin.say("确认")
        assert "价格" not in await admin.say("规则 列表")
        # Undo brings it back.
        assert "已撤销" in await admin.say("撤销")
        assert "1. 价格" in await admin.say("规则 列表")


async def test_confirmation_expires_and_cancel_wins(tmp_path: Path, db_url: str) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        admin = WecomPerson(stack, "lilei")
        await admin.say("规则 添加 价格 价格 见菜单")
        assert "回复「确认」执行" in await admin.say("规则 删除 价格")
        assert "已取消" in await admin.say("取消")
        assert "没有等待确认的操作" in await admin.say("确认")

        assert "回复「确认」执行" in await admin.say("规则 删除 价格")
        # Time passes beyond the confirmation's expiry.
        async with stack.app[ENGINE].begin() as conn:
            await conn.execute(
                update(PendingActionRow).values(expires_at=datetime(2000, 1, 1, tzinfo=UTC))
            )
        expired = await admin.say("确认")
        assert "确认已过期" in expired
        assert "1. 价格" in await admin.say("规则 列表")
        assert "→ 已过期" in await admin.say("审计 3")


async def test_follow_reply_wizard_survives_a_restart(tmp_path: Path, db_url: str) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        admin = WecomPerson(stack, "lilei")
        created = await admin.say("渠道 创建 spring 春季海报", count=4)
        assert "已创建渠道「春季海报」" in created and "二维码" in created
        qr = [e for e in admin.entries if e["kind"] == "image"]
        assert len(qr) == 1 and qr[0]["size"] > 100  # the QR image itself, uploaded to WeCom
        # The command and the background provisioner may both ask; the first stored code wins.
        assert 1 <= len(stack.calls("/cgi-bin/qrcode/create")) <= 2

        first = await admin.say("关注回复 设置 spring")
        assert "设置关注回复" in first and "第 1/3 条" in first
        assert "第 2/3 条" in await admin.say("欢迎来到春季活动！")
        await stack.restart()  # the wizard is in the database
        assert "第 3/3 条" in await admin.say("第二条：领取优惠券请回复 券")
        done = await admin.say("第三条：{{ follower.openid }} 祝你愉快")
        assert "已设置渠道「spring」的关注回复（3 条）" in done

        customer = stack.customer("o_follower_1")
        books = stack.app[BOOKS]
        await stack.until(lambda: books.get("demo").channels["spring"].follow_reply is not None)
        outcome = await customer.follow("spring")
        assert outcome.reply is not None and outcome.reply["Content"] == "欢迎来到春季活动！"
        await stack.until(lambda: len(stack.seen("o_follower_1")) == 3)
        assert stack.seen("o_follower_1")[2]["content"] == "第三条：o_follower_1 祝你愉快"
        listed = await admin.say("渠道 列表")
        assert "春季海报（spring）：1 / 1，关注回复 3 条" in listed


async def test_menu_limits_publish_undo_and_rollback(tmp_path: Path, db_url: str) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        admin = WecomPerson(stack, "lilei")
        assert "已添加菜单「活动」" in await admin.say("菜单 添加 活动 点击 本周满100减20")
        assert "已添加菜单「服务」" in await admin.say("菜单 添加 服务")
        await admin.say("菜单 添加 服务/官网 链接 https://example.com")
        await admin.say("菜单 添加 关于 链接 https://example.com/about")
        fourth = await admin.say("菜单 添加 第四个 链接 https://example.com/4")
        assert "一级菜单最多 3 个，现在有 4 个" in fourth
        too_long = await admin.say("菜单 修改 活动 名称 一二三四五六")
        assert "一级菜单名称最多 16 字节" in too_long and "现在 18 字节" in too_long

        asked = await admin.say("菜单 发布")
        assert "将把以下菜单发布" in asked and "0 位粉丝" in asked
        assert "菜单已发布（版本 1）" in await admin.say("确认", count=2)
        menu = stack.platform.state("demo").menu
        assert [b["name"] for b in menu["button"]] == ["活动", "服务", "关于"]

        await admin.say("菜单 删除 关于", count=1)
        assert "已删除菜单「关于」" in await admin.say("确认")
        assert "关于" not in await admin.say("菜单 查看")
        undone = await admin.say("撤销")
        assert "已撤销" in undone and "menu.remove" in undone
        assert "3. 关于" in await admin.say("菜单 查看")

        await admin.say("菜单 移动 关于 1")
        await admin.say("菜单 发布")
        assert "版本 2" in await admin.say("确认", count=2)
        assert stack.platform.state("demo").menu["button"][0]["name"] == "关于"
        asked = await admin.say("菜单 回滚 1")
        assert "回滚到版本 1" in asked
        assert "已回滚到版本 1" in await admin.say("确认", count=2)
        assert [b["name"] for b in stack.platform.state("demo").menu["button"]] == [
            "活动",
            "服务",
            "关于",
        ]
        # A click item answers the customer who clicks it.
        key = stack.platform.state("demo").menu["button"][0]["key"]
        await stack.until(lambda: key in stack.app[BOOKS].get("demo").menu)
        clicker = stack.customer("o_clicker")
        await clicker.follow()
        outcome = await clicker.click(key)
        assert outcome.reply is not None and outcome.reply["Content"] == "本周满100减20"


async def test_invalid_menu_is_refused_at_publish_with_the_limit(
    tmp_path: Path, db_url: str
) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        admin = WecomPerson(stack, "lilei")
        await admin.say("菜单 添加 服务")
        refused = await admin.say("菜单 发布")
        assert "菜单不能发布" in refused and "还没有设置动作" in refused
        preview = await admin.say("菜单 预览")
        assert "不能发布，因为" in preview
        assert stack.calls("/cgi-bin/menu/create") == []


async def test_materials_from_a_picture_and_a_news_wizard(tmp_path: Path, db_url: str) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        admin = WecomPerson(stack, "lilei")
        assert "请发送这张图片" in await admin.say("素材 添加 海报")
        saved = await admin.say_image(PNG, count=2)
        assert "已保存图片素材「海报」" in saved
        assert len(stack.calls("/cgi-bin/material/add_material")) == 1
        assert "已添加规则「海报」" in await admin.say("规则 添加 海报 海报 素材:海报")
        assert "标题是什么" in await admin.say("素材 图文 春季介绍")
        await admin.say("春季活动来了")
        await admin.say("跳过")
        await admin.say("跳过")
        await admin.say("<p>全场满100减20</p>")
        done = await admin.say("海报", count=2)
        assert "已保存图文「春季活动来了」为素材「春季介绍」" in done
        assert "海报（图片）" in await admin.say("素材 列表")
        refused = await admin.say("素材 删除 海报")
        assert "还在回复或菜单中使用" in refused
        await admin.say("规则 删除 海报")
        await admin.say("确认")
        assert "将删除素材「海报」" in await admin.say("素材 删除 海报")
        assert "已删除素材「海报」" in await admin.say("确认")
        assert len(stack.calls("/cgi-bin/material/del_material")) == 1


async def test_forged_and_replayed_wecom_callbacks_change_nothing(
    tmp_path: Path, db_url: str
) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        assert stack.wecom is not None
        admin = WecomPerson(stack, "lilei")  # in the corp directory, so answers reach them
        app = stack.wecom.apps[0]
        xml = wecom_text_xml(app, "lilei", "规则 添加 坏 坏 坏", 7001, int(time.time()))
        query, body = build_wecom_callback(app, xml)
        url = f"{stack.bot_url}/wecom/corp"
        forged = {**query, "msg_signature": "0" * 40}
        async with stack.http.post(url, params=forged, data=body) as resp:
            assert resp.status == 403
        old = int(time.time()) - 3600
        stale_query, stale_body = build_wecom_callback(
            app, wecom_text_xml(app, "lilei", "规则 添加 坏 坏 坏", 7002, old), timestamp=str(old)
        )
        async with stack.http.post(url, params=stale_query, data=stale_body) as resp:
            assert resp.status == 403
        # The genuine message, delivered twice (a platform retry), runs once.
        for _ in range(2):
            async with stack.http.post(url, params=query, data=body) as resp:
                assert resp.status == 200
        answers = await admin.answers(1)
        assert "已添加规则「坏」" in answers[0]["content"]
        listed = await admin.say("规则 列表")
        assert listed.count("坏") == 3  # name and keyword of one rule, once


async def test_people_follow_replies_stats_and_versions_in_chinese(
    tmp_path: Path, db_url: str
) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        admin = WecomPerson(stack, "lilei")
        newcomer = WecomPerson(stack, "wangwu")
        assert "已授予 wecom:corp:wangwu 员工身份" in await admin.say("授权 wangwu 员工")
        assert "员工" in await newcomer.say("我是谁")
        assert "wecom:corp:wangwu — 员工" in await admin.say("人员")
        assert "已收回" in await admin.say("收回 wangwu 员工")
        assert "还没有使用权限" in await newcomer.say("帮助")
        assert "已收回" in await admin.say("收回 telegram:tg:10001 管理员")
        assert "最后一位管理员" in await admin.say("收回 lilei 管理员")

        await admin.say("渠道 创建 summer", count=4)
        created = len(stack.calls("/cgi-bin/qrcode/create"))
        assert "二维码" in await admin.say("渠道 二维码 summer", count=2)
        assert len(stack.calls("/cgi-bin/qrcode/create")) == created  # the stored code is reused
        await admin.say("关注回复 设置 默认")
        await admin.say("欢迎关注！")
        assert "已设置默认关注回复（1 条）" in await admin.say("完成")
        assert "欢迎关注！" in await admin.say("关注回复 查看 默认")
        await admin.say("关注回复 清空 默认")
        assert "已清空默认关注回复" in await admin.say("确认")
        assert "还没有设置" in await admin.say("关注回复 查看 默认")

        await stack.customer("o_stats_1").follow("summer")
        await stack.customer("o_stats_2").follow()
        stats = await admin.say("统计 粉丝 3")
        assert "summer：1 / 1" in stats and "无渠道（搜索、名片等）：1 / 1" in stats
        assert "+2 / -0" in stats
        await admin.say("规则 添加 价格 价格 见菜单")
        await stack.until(lambda: stack.app[BOOKS].get("demo").index.match("价格多少") is not None)
        await stack.customer("o_stats_1").text("价格多少")

        async def counted() -> bool:
            hits = await commands_repo.keyword_hits(stack.app[ENGINE], "demo", date(2000, 1, 1))
            return hits == [("价格", 1)]

        await stack.until(counted)
        assert "价格：1 次" in await admin.say("统计 关键词")

        await admin.say("菜单 添加 官网 链接 https://example.com")
        await admin.say("菜单 发布")
        await admin.say("确认", count=2)
        assert "版本 1" in await admin.say("菜单 版本")
        assert "渠道「summer」" in await admin.say("渠道 删除 summer")
        assert "已删除渠道「summer」" in await admin.say("确认")
