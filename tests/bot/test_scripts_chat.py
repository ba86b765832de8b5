"""The script library in the staff chats, end to end: admins build it by typed commands, staff
search it, reply with a number and receive the script as the platform fake records it."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from sqlalchemy import func, select

from bot.app import ENGINE, LIBRARY
from storage.models import ScriptRow, ScriptUseRow
from tests.helpers.stack import Stack, running_stack
from tests.helpers.staff import TelegramPerson, WecomPerson

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
CSV_GOOD = (
    "标题,类型,快捷码,分类,标签,内容,链接,描述\n"
    "退款流程,文本,tk01,售后/退款,售后,{{ customer.name }}您好，退款 3 天内原路退回。,,\n"
    "发货时间,文本,fh01,售后/物流,物流,我是{{ staff.name }}，订单 48 小时内发货。,,\n"
    "会员权益,链接,hy01,会员,,,https://shop.example/vip,开通会员享 95 折\n"
)


async def _count(stack: Stack, model: type[ScriptRow] | type[ScriptUseRow]) -> int:
    async with stack.app[ENGINE].connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(model)) or 0)


async def test_admin_adds_a_script_and_staff_find_and_send_it(tmp_path: Path, db_url: str) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        admin = WecomPerson(stack, "lilei")
        assert "添加话术" in await admin.say("话术 添加 文本 退款流程")
        refused = await admin.say("{{ customer.phone }}您好，退款 3 天到账")
        assert "未知的变量：customer.phone" in refused and "customer.name" in refused
        assert "快捷码" in await admin.say(
            "{{ customer.name }}您好，我是{{ staff.name }}，退款 3 天到账"
        )
        assert "分类" in await admin.say("TK01")
        assert "标签" in await admin.say("售后 / 退款")
        assert "共享" in await admin.say("售后，退款")
        saved = await admin.say("共享")
        assert "已保存共享话术" in saved and "tk01" in saved

        staff = WecomPerson(stack, "hanmeimei")
        found = await staff.say("话术 退款")
        assert "1. 退款流程 [tk01]（文本）" in found and "回复序号" in found
        sent = await staff.say("1")
        # Sent to the staff member to forward: the customer's name is not known in this chat.
        assert sent == "您好，我是hanmeimei，退款 3 天到账"
        assert "退款流程" in await staff.say("话术 tk")  # shortcode prefix
        assert "退款流程" in await staff.say("话术 tk10")  # a typo in the shortcode
        assert "已收藏：退款流程" in await staff.say("收藏 1")
        assert "1. 退款流程" in await staff.say("我的收藏")
        assert "1. 退款流程" in await staff.say("最近使用")
        browse = await staff.say("话术 分类")
        assert "· 售后" in browse and "　· 退款" in browse
        assert "1. 退款流程" in await staff.say("话术 分类 售后/退款")
        assert await _count(stack, ScriptUseRow) == 1
        # Staff may not change a shared script.
        assert "只有管理员" in await staff.say("话术 修改 1 标题 新标题")


async def test_personal_scripts_are_invisible_to_others(tmp_path: Path, db_url: str) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        staff = WecomPerson(stack, "hanmeimei")
        await staff.say("话术 添加 文本 我的开场白")
        await staff.say("您好，我是小韩，很高兴为您服务")
        for _ in range(3):
            await staff.say("跳过")  # shortcode, category, tags; no scope question for staff
        assert "已保存个人话术" in staff.member.timeline[-1]["content"]
        assert "我的开场白" in await staff.say("话术 开场白")
        admin = WecomPerson(stack, "lilei")
        assert "没有找到" in await admin.say("话术 开场白")
        assert "已经不存在了" in await admin.say("发送话术 #1")
        assert "没有找到" in await WecomPerson(stack, "lilei").say("话术 小韩")


async def test_a_half_bad_import_is_rejected_whole(tmp_path: Path, db_url: str) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        admin = WecomPerson(stack, "lilei")
        assert "请粘贴 CSV" in await admin.say("话术 导入")
        bad = CSV_GOOD + "坏行,文本,bad1,,,{{ order.id }},,\n会员权益2,链接,hy02,,,,ftp://x,\n"
        refused = await admin.say(bad)
        assert "导入被拒绝，什么都没有保存" in refused
        assert "第 5 行" in refused and "order" in refused and "第 6 行" in refused
        assert await _count(stack, ScriptRow) == 0
        await admin.say("话术 导入")
        assert "已导入 3 条话术" in await admin.say(CSV_GOOD)
        assert await _count(stack, ScriptRow) == 3
        exported = await admin.say("话术 导出", count=2)
        assert "共享话术 3 条" in exported and "退款流程,文本,tk01,售后/退款" in exported
        # Importing the export again replaces by shortcode: still 3 scripts.
        await admin.say("话术 导入")
        body = exported.split("\n", 1)[1]
        assert "已导入 3 条话术" in await admin.say(body)
        assert await _count(stack, ScriptRow) == 3

        staff = WecomPerson(stack, "hanmeimei")
        assert "1. 会员权益 [hy01]（链接）" in await staff.say("话术 会员")
        await staff.send("1")
        (card,) = await staff.answers()
        assert card["kind"] == "news"
        (article,) = card["articles"]
        assert article["title"] == "会员权益" and article["url"] == "https://shop.example/vip"


async def test_save_this_edit_move_and_remove(tmp_path: Path, db_url: str) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        admin = WecomPerson(stack, "lilei")
        assert "存为话术" in await admin.say_image(PNG)
        saved = await admin.say("存为话术 门店海报")
        assert "已保存共享话术 #1「门店海报」" in saved
        assert "没有可保存的消息" in await admin.say("存为话术 再来一次")
        long_text = "亲，本周末门店有满 199 减 30 的活动，欢迎到店"
        hint = await admin.say(long_text)
        assert "存为话术" in hint
        # A refused save keeps the message for the next try.
        assert "标题是 1 到 64 个字" in await admin.say("存为话术 " + "长" * 65)
        assert "#2「周末活动」" in await admin.say("存为话术 周末活动")

        staff = WecomPerson(stack, "hanmeimei")
        assert "1. 门店海报" in await staff.say("话术 海报")
        await staff.send("1")
        (picture,) = await staff.answers()
        assert picture["kind"] == "image" and picture["size"] == len(PNG)

        assert "已修改" in await admin.say("话术 修改 #2 快捷码 zm01")
        shown = await admin.say("话术 查看 zm01")
        assert "快捷码：zm01" in shown and "创建：lilei，" in shown and "满 199 减 30" in shown
        assert "已把「周末活动」移到「活动/门店」" in await admin.say("话术 移动 zm01 活动/门店")
        assert "1. 周末活动 [zm01]" in await admin.say("话术 分类 活动/门店")
        # What is confirmed is the script the preview showed, whatever list comes in between.
        await admin.say("话术 周末")
        asked = await admin.say("话术 删除 1")
        assert "将删除话术 #2「周末活动」" in asked
        assert "1. 门店海报" in await admin.say("话术 海报")
        assert "已删除话术「周末活动」" in await admin.say("确认")
        assert "1. 门店海报" in await admin.say("话术 海报")
        assert "没有找到" in await staff.say("话术 周末")
        assert "没有快捷码是「zm01」的话术" in await staff.say("发送话术 zm01")
        assert "没有快捷码" in await staff.say("发送话术 #99999999999999999999")


async def test_staff_on_telegram_search_and_send(tmp_path: Path, db_url: str) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        admin = WecomPerson(stack, "lilei")
        await admin.say("话术 导入")
        assert "已导入 3 条" in await admin.say(CSV_GOOD)
        staff = TelegramPerson(stack, 10002)
        found = await staff.say("/script 发货")
        assert "1. 发货时间 [fh01]" in found
        assert await staff.say("1") == "我是user10002，订单 48 小时内发货。"


# The smallest MP4 the fakes accept: an ftyp box is what marks it as video/mp4.
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64


async def test_video_and_mini_program_scripts_arrive_forwardable(
    tmp_path: Path, db_url: str
) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        library = stack.app[LIBRARY]
        video = await library.keep_file("video/mp4", MP4)
        cover = await library.keep_file("image/png", PNG)
        payload = json.dumps(
            [
                {"title": "安装教程", "kind": "video", "shortcode": "az01",
                 "body": {"video": video, "description": "三步装好"}},
                {"title": "小程序商城", "kind": "miniprogram", "shortcode": "sc01",
                 "body": {"appid": "wx1234567890abcdef", "page": "pages/index/index",
                          "cover": cover}},
            ],
            ensure_ascii=False,
        )  # fmt: skip
        admin = WecomPerson(stack, "lilei")
        await admin.say("话术 导入")
        assert "已导入 2 条话术" in await admin.say(payload)
        staff = WecomPerson(stack, "hanmeimei")
        await staff.say("话术 az01")
        await staff.send("1")
        (clip,) = await staff.answers()
        assert clip["kind"] == "video" and clip["size"] == len(MP4)
        assert clip["title"] == "安装教程" and clip["description"] == "三步装好"
        await staff.say("话术 商城")
        await staff.send("1")
        picture, caption = await staff.answers(2)
        assert picture["kind"] == "image" and picture["size"] == len(PNG)
        assert (
            "wx1234567890abcdef" in caption["content"] and "pages/index/index" in caption["content"]
        )
