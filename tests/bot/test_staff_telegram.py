"""Admins and staff through Telegram, end to end: the fake Telegram delivers updates to the bot's
real webhook route with the secret header; the bot answers through the fake's sendMessage and
sendPhoto; the tests read the chat as the fake recorded it."""

from __future__ import annotations

import json
from pathlib import Path

from bot.app import BOOKS
from tests.helpers.stack import TELEGRAM_SECRET, running_stack
from tests.helpers.staff import TelegramPerson


async def test_admin_session_over_telegram(tmp_path: Path, db_url: str) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        assert stack.telegram is not None
        hook = stack.telegram.bot("tg").webhook_info()
        assert hook["url"].endswith("/telegram/tg")  # registered at start-up
        admin = TelegramPerson(stack, 10001)
        assert "可用的功能区" in await admin.say("/help")
        assert "10001" in await admin.say("我是谁") and "Telegram" in admin.entries[-1]["text"]
        added = await admin.say("/rule_add 价格 价格 价目表见菜单")
        assert "已添加规则「价格」" in added
        assert "由规则「价格」回复" in await admin.say("规则 测试 多少价格")
        created = await admin.say("渠道 创建 tg_channel Telegram 渠道", count=3)
        assert "已创建渠道" in created
        photos = [e for e in admin.entries if e["kind"] == "photo"]
        assert len(photos) == 1 and photos[0]["photo"]["size"] > 100
        assert "二维码" in (photos[0]["caption"] or "")
        await stack.until(lambda: stack.app[BOOKS].get("demo").revision >= 2)

        staff = TelegramPerson(stack, 10002)
        refused = await staff.say("菜单 发布")
        assert "你没有权限" in refused
        assert "tg_channel" in await staff.say("渠道 列表")


async def test_group_chat_addressing_and_admin_commands_only_in_admin_chats(
    tmp_path: Path, db_url: str
) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        assert stack.telegram is not None
        stack.telegram.group("tg", -5001, "运营群", [10001, 10002])
        admin = TelegramPerson(stack, 10001, chat_id=-5001)
        assert "lilei" not in await admin.say("/whoami@opsbot_test_bot")
        assert "群聊" in admin.entries[-1]["text"]
        refused = await admin.say("/rule_list@opsbot_test_bot")
        assert "管理命令只能在与我的私聊或指定的管理群里使用" in refused
        # A command addressed to another bot is not ours to answer.
        await admin.user.send("/help@some_other_bot", chat_id=-5001)
        assert "可用的功能区" in await admin.say("/help@opsbot_test_bot")
        assert len(admin.entries) == admin.read  # nothing answered the other bot's command


async def test_forged_and_replayed_telegram_updates_change_nothing(
    tmp_path: Path, db_url: str
) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        admin = TelegramPerson(stack, 10001)
        await admin.say("帮助")  # the chat exists; the bot may write to it
        update = {
            "update_id": 990001,
            "message": {
                "message_id": 77,
                "date": int(__import__("time").time()),
                "chat": {"id": 10001, "type": "private", "first_name": "user10001"},
                "from": {"id": 10001, "is_bot": False, "first_name": "user10001"},
                "text": "规则 添加 伪造 伪造 伪造",
            },
        }
        url = f"{stack.bot_url}/telegram/tg"
        body = json.dumps(update)
        headers = {"Content-Type": "application/json"}
        for secret in (None, "wrong-secret"):
            forged = dict(headers)
            if secret:
                forged["X-Telegram-Bot-Api-Secret-Token"] = secret
            async with stack.http.post(url, data=body, headers=forged) as resp:
                assert resp.status == 403
        genuine = {**headers, "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
        for _ in range(2):  # the same update twice: a replay
            async with stack.http.post(url, data=body, headers=genuine) as resp:
                assert resp.status == 200
        answers = await admin.answers(1)
        assert "已添加规则「伪造」" in answers[0]["text"]
        listed = await admin.say("规则 列表")
        assert listed.count("1. 伪造") == 1 and "2." not in listed
