"""Lead channels (引流渠道) end to end in the WeCom app chat: an admin builds one with a wizard (a
welcome naming the customer, an attachment, tags), a welcome with an unknown variable is asked
again, staff may read but not change, tags and welcomes are replaced, and the app's default
welcome is shown, set and cleared. The channel words never collide with the Official Account's
「渠道」 commands."""

from __future__ import annotations

from pathlib import Path

from bot.app import ENGINE
from bot.settings import CustomerSettings
from handlers.commands.areas import build_registry
from handlers.commands.words import split_words
from storage import commands_repo
from storage import contacts_repo as repo
from tests.helpers.stack import running_stack
from tests.helpers.staff import WecomPerson

WELCOME = "您好 {{ customer.name }}，我是{{ staff.name }}，春季活动请看海报"
POSTER = "https://cdn.example/poster.png"


async def test_an_admin_builds_a_lead_channel_with_welcome_attachment_and_tags(
    tmp_path: Path, db_url: str
) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        engine = stack.app[ENGINE]
        await commands_repo.add_material(engine, "demo", "海报", "image", "m1", POSTER, {}, "x")
        admin = WecomPerson(stack, "lilei")
        staff = WecomPerson(stack, "hanmeimei")

        asked = await admin.say("引流渠道 新建 春季海报")
        assert "【新建引流渠道】" in asked and "{{ customer.name }}（客户昵称）" in asked
        refused = await admin.say("您好 {{ customer.age }}")
        assert "欢迎语有误" in refused and "customer.age" in refused
        assert "欢迎语文字" in refused  # asked again
        assert "第 1/9 条" in await admin.say(WELCOME)
        refused = await admin.say("素材:没有这个")
        assert "没有名为「没有这个」的素材" in refused and "第 1/9 条" in refused
        assert "第 2/9 条" in await admin.say("素材:海报")
        assert "新客户打上的企业标签" in await admin.say("完成")
        too_long = await admin.say("标" * 31)
        assert "标签最多 30 个字" in too_long
        saved = await admin.say("高意向、华东，春季 高意向")
        assert "已创建引流渠道「春季海报」" in saved
        assert WELCOME in saved and "附件：[图片] 素材「海报」" in saved
        assert "标签：高意向、华东、春季" in saved

        channel = await repo.channel(engine, "corp", "春季海报")
        assert channel is not None and channel.tags == ("高意向", "华东", "春季")
        assert channel.welcome["text"] == WELCOME
        (attachment,) = channel.welcome["attachments"]
        assert attachment["source"] == "material" and attachment["ref"] == "海报"
        assert attachment["kind"] == "image"

        assert "已有名为「春季海报」的引流渠道" in await admin.say("引流渠道 新建 春季海报")
        listed = await staff.say("引流渠道 列表")
        assert "引流渠道（1 个）" in listed
        assert "· 春季海报｜自定义欢迎语（1 个附件）｜标签 高意向、华东、春季｜活码 0 个" in listed
        shown = await staff.say("引流渠道 查看 春季海报")
        assert WELCOME in shown and "渠道活码（0 个）：无" in shown
        assert "你没有权限" in await staff.say("引流渠道 标签 春季海报 无")

        cleared = await admin.say("引流渠道 标签 春季海报 无")
        assert "标签：无（原来：高意向、华东、春季）" in cleared
        channel = await repo.channel(engine, "corp", "春季海报")
        assert channel is not None and channel.tags == ()

        assert "欢迎语文字" in await admin.say("引流渠道 欢迎语 春季海报")
        assert "默认欢迎语" in await admin.say("默认")
        channel = await repo.channel(engine, "corp", "春季海报")
        assert channel is not None and channel.welcome == {}

        asked = await admin.say("引流渠道 删除 春季海报")
        assert "将删除引流渠道「春季海报」" in asked
        assert await repo.channel(engine, "corp", "春季海报") is not None
        assert "已删除引流渠道「春季海报」" in await admin.say("确认")
        assert await repo.channel(engine, "corp", "春季海报") is None
        assert "还没有引流渠道" in await staff.say("引流渠道 列表")


async def test_the_default_welcome_is_shown_set_and_cleared(tmp_path: Path, db_url: str) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        engine = stack.app[ENGINE]
        admin = WecomPerson(stack, "lilei")
        shown = await admin.say("欢迎语 默认")
        assert "customers.default_welcome" in shown
        assert CustomerSettings().default_welcome in shown

        refused = await admin.say("欢迎语 默认 您好 {{ customer.nick }}")
        assert "欢迎语有误" in refused and "customer.nick" in refused
        assert await repo.default_welcome(engine, "corp") == {}

        saved = await admin.say("欢迎语 默认 您好 {{ customer.name }}，欢迎来到小店")
        assert "已设置默认欢迎语" in saved
        assert await repo.default_welcome(engine, "corp") == {
            "text": "您好 {{ customer.name }}，欢迎来到小店",
            "attachments": [],
        }
        shown = await admin.say("欢迎语 默认")
        assert "管理员设置" in shown and "欢迎来到小店" in shown

        assert "已清除默认欢迎语" in await admin.say("欢迎语 清除默认")
        assert await repo.default_welcome(engine, "corp") == {}
        assert "没有用聊天设置过默认欢迎语" in await admin.say("欢迎语 清除默认")


async def test_channel_words_never_collide(tmp_path: Path, db_url: str) -> None:
    registry = build_registry()
    for typed, name in [
        ("渠道 列表", "channel.list"),
        ("渠道列表", "channel.list"),
        ("渠道 创建 spring", "channel.create"),
        ("引流渠道 列表", "lead.list"),
        ("引流渠道 新建 春季", "lead.add"),
        ("渠道活码 列表", "livecode.list"),
        ("渠道活码 新建 a b c", "livecode.add"),
        ("/livecode_list", "livecode.list"),
        ("/lead_list", "lead.list"),
        ("/channel_list", "channel.list"),
    ]:
        found = registry.find(split_words(typed))
        assert found is not None and found[0].name == name, typed
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        admin = WecomPerson(stack, "lilei")
        assert "还没有渠道活码" in await admin.say("渠道活码 列表")
        assert "还没有引流渠道" in await admin.say("引流渠道 列表")
        assert "还没有渠道。" in await admin.say("渠道 列表")
