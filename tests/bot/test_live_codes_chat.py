"""Reception groups (接待组) and channel live codes (渠道活码) end to end: the WeCom fake holds the
corp's members and the 「联系我」 contact ways the bot makes. A group naming an unknown member is
refused; a live code becomes a type-2 contact way with our state, the group's members and
skip_verify, and its QR picture comes back into the admin's chat; changing the group's members
or the code's group changes the contact way; a refused platform call leaves a failed code; a
channel or group in use cannot be removed; removing a code (after confirmation) removes the
contact way."""

from __future__ import annotations

import hashlib
from pathlib import Path

from bot.app import ENGINE
from channels.wecom.sandbox.contacts import ContactWay
from storage import contacts_repo as repo
from tests.helpers.stack import Stack, running_stack
from tests.helpers.staff import WecomPerson, text_of

ADD_WAY = "/cgi-bin/externalcontact/add_contact_way"


def ways(stack: Stack) -> dict[str, ContactWay]:
    """The contact ways the fake corp holds, by config_id."""
    assert stack.wecom is not None
    return dict(stack.wecom.state("corp").corp.contacts.ways)


def way_with_state(stack: Stack, state: str) -> ContactWay:
    (found,) = [w for w in ways(stack).values() if w.state == state]
    return found


async def setup(stack: Stack) -> WecomPerson:
    """Members zhangsan, lisi and wangwu in the corp; a lead channel 春季海报."""
    assert stack.wecom is not None
    for userid, name in (("zhangsan", "张三"), ("lisi", "李四"), ("wangwu", "王五")):
        stack.wecom.member("corp", userid, name)
    await repo.add_channel(
        stack.app[ENGINE], "corp", "春季海报", welcome={}, tags=(), created_by="test"
    )
    return WecomPerson(stack, "lilei")


async def test_a_reception_group_names_only_members_of_the_corp(
    tmp_path: Path, db_url: str
) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        engine = stack.app[ENGINE]
        admin = await setup(stack)
        refused = await admin.say("接待组 新建 华东组 zhangsan nobody1 lisi ghost")
        assert "企业微信里没有这些成员：nobody1、ghost" in refused
        assert await repo.group(engine, "corp", "华东组") is None
        assert "不是企业微信账号" in await admin.say("接待组 新建 华东组 张三")

        made = await admin.say("接待组 新建 华东组 zhangsan，lisi ZhangSan")
        assert "已创建接待组「华东组」，2 位成员：zhangsan、lisi" in made
        group = await repo.group(engine, "corp", "华东组")
        assert group is not None and group.staff == ("zhangsan", "lisi") and group.remark == ""

        staff = WecomPerson(stack, "hanmeimei")
        shown = await staff.say("接待组 查看 华东组")
        assert "zhangsan（张三）、lisi（李四）" in shown
        assert "新客户备注：{昵称}-{渠道}（默认）" in shown
        assert "你没有权限" in await staff.say("接待组 备注 华东组 {昵称}")

        refused = await admin.say("接待组 备注 华东组 {姓名}-{渠道}")
        assert "不认识的占位：{姓名}" in refused
        remarked = await admin.say("接待组 备注 华东组 {渠道}·{昵称}")
        assert "新客户备注为「春季海报·张三」" in remarked
        group = await repo.group(engine, "corp", "华东组")
        assert group is not None and group.remark == "{渠道}·{昵称}"
        assert "（默认）" in await admin.say("接待组 备注 华东组 默认")
        group = await repo.group(engine, "corp", "华东组")
        assert group is not None and group.remark == ""


async def test_a_live_code_is_a_contact_way_and_its_qr_comes_back(
    tmp_path: Path, db_url: str
) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        engine = stack.app[ENGINE]
        admin = await setup(stack)
        await admin.say("接待组 新建 华东组 zhangsan lisi")
        await admin.say("接待组 新建 华南组 wangwu")

        await admin.send("渠道活码 新建 门店A 春季海报 华东组")
        text, image, caption = await admin.answers(3)
        assert "已创建渠道活码「门店A」：引流渠道「春季海报」，接待组「华东组」" in text_of(text)
        assert "客户扫码后直接成为好友" in text_of(text)
        code = await repo.code(engine, "corp", "门店A")
        assert code is not None and code.status == "active" and code.config_id
        way = way_with_state(stack, code.state)
        assert way.config_id == code.config_id and way.type == 2 and way.scene == 2
        assert way.users == ["zhangsan", "lisi"] and way.skip_verify is True
        assert way.remark == "门店A"
        assert image["kind"] == "image" and image["content_type"] == "image/png"
        async with stack.http.get(code.qr_code) as resp:
            assert resp.status == 200
            assert image["sha256"] == hashlib.sha256(await resp.read()).hexdigest()
        assert "渠道活码「门店A」：扫码添加企业微信好友" in text_of(caption)

        await admin.send("渠道活码 新建 展会 春季海报 华东组 需验证")
        await admin.answers(3)
        fair = await repo.code(engine, "corp", "展会")
        assert fair is not None and way_with_state(stack, fair.state).skip_verify is False
        assert "已有名为「门店A」的渠道活码" in await admin.say(
            "渠道活码 新建 门店A 春季海报 华南组"
        )
        assert len(ways(stack)) == 2

        listed = await WecomPerson(stack, "hanmeimei").say("渠道活码 列表")
        assert "渠道活码（2 个）" in listed
        assert "· 门店A｜渠道 春季海报｜接待组 华东组｜+0 / +0" in listed
        assert "· 展会｜渠道 春季海报｜接待组 华东组｜需验证｜+0 / +0" in listed

        changed = await admin.say("接待组 成员 华东组 wangwu zhangsan")
        assert "2 个渠道活码已改为新成员接待：门店A、展会" in changed
        assert way_with_state(stack, code.state).users == ["wangwu", "zhangsan"]
        assert way_with_state(stack, fair.state).users == ["wangwu", "zhangsan"]

        moved = await admin.say("渠道活码 修改 门店A 接待组 华南组")
        assert "渠道活码「门店A」改由接待组「华南组」接待" in moved
        assert way_with_state(stack, code.state).users == ["wangwu"]
        assert way_with_state(stack, fair.state).users == ["wangwu", "zhangsan"]
        code = await repo.code(engine, "corp", "门店A")
        south = await repo.group(engine, "corp", "华南组")
        assert code is not None and south is not None and code.group_id == south.id

        refused = await admin.say("引流渠道 删除 春季海报")
        assert "还在被渠道活码使用：门店A、展会" in refused
        refused = await admin.say("接待组 删除 华南组")
        assert "还在被渠道活码使用：门店A" in refused

        await admin.send("渠道活码 二维码 展会")
        again, _ = await admin.answers(2)
        assert again["kind"] == "image"

        asked = await admin.say("渠道活码 删除 门店A")
        assert "将删除渠道活码「门店A」" in asked and "不能再添加好友" in asked
        assert code.config_id in ways(stack)  # nothing before the confirmation
        assert "已删除渠道活码「门店A」" in await admin.say("确认")
        assert code.config_id not in ways(stack) and fair.config_id in ways(stack)
        assert await repo.code(engine, "corp", "门店A") is None
        assert "没有名为「门店A」的渠道活码" in await admin.say("渠道活码 二维码 门店A")
        async with stack.http.get(code.qr_code) as resp:
            assert resp.status == 404  # the printed code adds nobody any more
        assert "将删除接待组「华南组」" in await admin.say("接待组 删除 华南组")
        assert "已删除接待组「华南组」" in await admin.say("确认")
        assert await repo.group(engine, "corp", "华南组") is None


async def test_a_refused_contact_way_leaves_a_failed_code(tmp_path: Path, db_url: str) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        engine = stack.app[ENGINE]
        assert stack.wecom is not None
        admin = await setup(stack)
        await admin.say("接待组 新建 华东组 zhangsan")
        stack.wecom.inject_fault(ADD_WAY, errcode=40058)
        refused = await admin.say("渠道活码 新建 门店A 春季海报 华东组")
        assert "渠道活码「门店A」没有创建" in refused and "40058" in refused
        assert await repo.code(engine, "corp", "门店A") is None
        assert await repo.codes(engine, "corp") == [] and ways(stack) == {}

        await admin.send("渠道活码 新建 门店A 春季海报 华东组")
        text, image, _ = await admin.answers(3)
        assert "已创建渠道活码「门店A」" in text_of(text) and image["kind"] == "image"
        assert len(ways(stack)) == 1
