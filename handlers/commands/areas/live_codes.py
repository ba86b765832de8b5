"""渠道活码 (channel live codes) of the caller's WeCom app: a 「联系我」 QR code (a contact way
with a state of its own) bound to a lead channel and a reception group. A customer who scans it
adds one of the group's members; the add event carries the state, so the add is counted to the
code, its channel and its group, and gets the channel's welcome, tags and the group's remark
(bot/customer_contact.py).

The code is stored ``pending`` before the platform is asked, then ``active`` with the platform's
config_id and QR picture (or ``failed`` with the reason), so a crash in between never leaves a
contact way nobody knows of. The QR picture is sent back into the admin's chat.
"""

from __future__ import annotations

from typing import Final

from handlers.commands.areas.lead_channels import (
    RECENT_DAYS,
    adds_by,
    check_name,
    contact_ways,
    shown_name,
)
from handlers.commands.base import CommandError, CommandSpec, Ctx, Outcome, Param, PlatformFailure
from handlers.commands.words import fold
from handlers.messages import Picture, Text
from storage import contacts_repo as repo
from storage.contacts_repo import LeadChannel, LiveCode, ReceptionGroup

AREA: Final = "渠道活码"
REMARK_CHARS: Final = 30  # a contact way's remark (platform-facts §4.4)
VERIFY_WORDS: Final = frozenset({"需验证", "验证", "verify"})
GROUP_WORDS: Final = frozenset({"接待组", "group", "reception"})
CHANNEL_WORDS: Final = frozenset({"渠道", "引流渠道", "channel", "lead"})
STATUS_NAMES: Final = {"pending": "创建中", "active": "", "failed": "创建失败", "removed": "已删除"}


async def _channel(ctx: Ctx, name: str) -> LeadChannel:
    found = await repo.channel(ctx.engine, ctx.wecom_app, name)
    if found is None or found.status == "removed":
        raise CommandError(f"没有名为「{name}」的引流渠道。发送「引流渠道 列表」查看。")
    return found


async def _group(ctx: Ctx, name: str) -> ReceptionGroup:
    found = await repo.group(ctx.engine, ctx.wecom_app, name)
    if found is None or found.status == "removed":
        raise CommandError(f"没有名为「{name}」的接待组。发送「接待组 列表」查看。")
    if not found.staff:
        raise CommandError(f"接待组「{name}」没有成员。先发送「接待组 成员 {name} <userid…>」。")
    return found


async def _code_of(ctx: Ctx) -> LiveCode:
    name = str(ctx.args["name"])
    code_id = ctx.args.get("code_id")
    found = (
        await repo.code_by_id(ctx.engine, int(code_id))
        if code_id is not None
        else await repo.code(ctx.engine, ctx.wecom_app, name)
    )
    if found is None or found.status not in ("pending", "active") or found.app != ctx.wecom_app:
        raise CommandError(f"没有名为「{name}」的渠道活码。发送「渠道活码 列表」查看。")
    return found


async def _names(ctx: Ctx, code: LiveCode) -> tuple[str, str]:
    """The code's channel and group names (a removed one marked so)."""
    channel = await repo.channel_by_id(ctx.engine, code.channel_id)
    group = await repo.group_by_id(ctx.engine, code.group_id)
    return (
        shown_name(channel.name) if channel else "未知",
        shown_name(group.name) if group else "未知",
    )


def _picture(code: LiveCode, channel: str) -> Picture:
    return Picture(
        code.qr_code,
        f"渠道活码「{code.name}」：扫码添加企业微信好友，计入引流渠道「{channel}」",
    )


async def add(ctx: Ctx) -> Outcome:
    name = str(ctx.args["name"])
    check_name(name, "渠道活码")
    verify = ctx.args.get("verify")
    if verify is not None and fold(str(verify)) not in VERIFY_WORDS:
        raise CommandError(
            f"最后一项只能写「需验证」（客户添加时需要成员通过），收到「{verify}」。", usage=True
        )
    port = contact_ways(ctx)
    channel = await _channel(ctx, str(ctx.args["channel"]))
    group = await _group(ctx, str(ctx.args["group"]))
    code = await repo.add_code(
        ctx.engine,
        ctx.wecom_app,
        name,
        channel_id=channel.id,
        group_id=group.id,
        skip_verify=verify is None,
        created_by=ctx.caller.person,
        chat=ctx.caller.chat_key,
    )
    if code is None:
        raise CommandError(
            f"已有名为「{name}」的渠道活码。发送「渠道活码 二维码 {name}」再看二维码。"
        )
    try:
        config_id, qr_code = await port.add_contact_way(
            ctx.wecom_app,
            group.staff,
            state=code.state,
            remark=name[:REMARK_CHARS],
            skip_verify=code.skip_verify,
        )
    except PlatformFailure as exc:
        await repo.fail_code(ctx.engine, code.id, str(exc))
        raise CommandError(f"渠道活码「{name}」没有创建：企业微信没有接受（{exc}）。") from None
    await repo.activate_code(ctx.engine, code.id, config_id, qr_code)
    active = await repo.code_by_id(ctx.engine, code.id)
    if active is None:  # pragma: no cover - just stored
        raise CommandError("渠道活码保存后没有找到。")
    verifying = "客户扫码后直接成为好友" if code.skip_verify else "客户扫码后需要成员通过验证"
    text = (
        f"已创建渠道活码「{name}」：引流渠道「{channel.name}」，接待组「{group.name}」"
        f"（{'、'.join(group.staff)} 轮流接待），{verifying}。\n"
        "扫码添加的客户计入这个活码、它的渠道和接待组，收到渠道的欢迎语和标签；"
        "发送「客户统计 按 活码」查看。"
    )
    return Outcome(
        [Text(text), _picture(active, channel.name)],
        detail=f"live code {code.id} state {code.state} config {config_id}",
    )


async def list_codes(ctx: Ctx) -> Outcome:
    codes = await repo.codes(ctx.engine, ctx.wecom_app)
    if not codes:
        return Outcome.say("还没有渠道活码。发送「渠道活码 新建 <名称> <引流渠道> <接待组>」创建。")
    adds = await adds_by(ctx, "code")
    lines = [f"渠道活码（{len(codes)} 个）：引流渠道｜接待组｜今日 / 近 {RECENT_DAYS} 天新增"]
    for code in codes:
        channel, group = await _names(ctx, code)
        now, total = adds.get(code.id, (0, 0))
        status = STATUS_NAMES.get(code.status, code.status)
        verify = "" if code.skip_verify else "｜需验证"
        lines.append(
            f"· {code.name}{f'（{status}）' if status else ''}｜渠道 {channel}｜接待组 {group}"
            f"{verify}｜+{now} / +{total}"
        )
    lines.append("发送「渠道活码 二维码 <名称>」再看二维码。")
    return Outcome.say("\n".join(lines))


async def send_qr(ctx: Ctx) -> Outcome:
    code = await _code_of(ctx)
    if code.status != "active" or not code.qr_code:
        raise CommandError(f"渠道活码「{code.name}」还在创建中，没有二维码。")
    channel, _ = await _names(ctx, code)
    return Outcome([_picture(code, channel)])


async def change(ctx: Ctx) -> Outcome:
    code = await _code_of(ctx)
    field, value = fold(str(ctx.args["field"])), str(ctx.args["value"])
    if field in CHANNEL_WORDS:
        channel = await _channel(ctx, value)
        if channel.id == code.channel_id:
            raise CommandError(f"渠道活码「{code.name}」已经属于引流渠道「{channel.name}」。")
        before, _ = await _names(ctx, code)
        if not await repo.update_code(ctx.engine, code.id, channel_id=channel.id):
            raise CommandError(f"渠道活码「{code.name}」刚刚被删除了。")
        return Outcome.say(
            f"渠道活码「{code.name}」改为引流渠道「{channel.name}」（原来：{before}）。"
            "之后扫码添加的客户计入新渠道，收到它的欢迎语和标签；二维码不变。",
            detail=f"live code {code.id} channel {code.channel_id} -> {channel.id}",
        )
    if field not in GROUP_WORDS:
        raise CommandError("可以修改的是「接待组」或「渠道」。", usage=True)
    group = await _group(ctx, value)
    if group.id == code.group_id:
        raise CommandError(f"渠道活码「{code.name}」已经由接待组「{group.name}」接待。")
    if code.status == "active" and code.config_id:
        try:
            await contact_ways(ctx).update_contact_way(ctx.wecom_app, code.config_id, group.staff)
        except PlatformFailure as exc:
            raise CommandError(f"没有修改：企业微信没有接受（{exc}）。") from None
    _, before = await _names(ctx, code)
    if not await repo.update_code(ctx.engine, code.id, group_id=group.id):
        raise CommandError(f"渠道活码「{code.name}」刚刚被删除了。")
    return Outcome.say(
        f"渠道活码「{code.name}」改由接待组「{group.name}」接待"
        f"（{'、'.join(group.staff)}；原来：{before}）。二维码不变。",
        detail=f"live code {code.id} group {code.group_id} -> {group.id}",
    )


async def preview_remove(ctx: Ctx) -> str:
    code = await _code_of(ctx)
    ctx.args["code_id"] = code.id  # what is confirmed is the code shown
    channel, group = await _names(ctx, code)
    return (
        f"将删除渠道活码「{code.name}」（引流渠道「{channel}」，接待组「{group}」）。"
        "已印出或发出的二维码将不能再添加好友；统计记录保留。"
    )


async def remove(ctx: Ctx) -> Outcome:
    code = await _code_of(ctx)
    if code.config_id:
        try:
            await contact_ways(ctx).del_contact_way(ctx.wecom_app, code.config_id)
        except PlatformFailure as exc:
            raise CommandError(f"没有删除：企业微信没有接受（{exc}）。") from None
    if not await repo.remove_code(ctx.engine, code.id):
        raise CommandError(f"渠道活码「{code.name}」已经删除了。")
    return Outcome.say(
        f"已删除渠道活码「{code.name}」，它的二维码不再添加好友。",
        detail=f"live code {code.id} removed (config {code.config_id})",
    )


def specs() -> list[CommandSpec]:
    name = Param("name", "名称")
    return [
        CommandSpec(
            name="livecode.add",
            area=AREA,
            words=("渠道活码 新建", "livecode add", "livecode new", "渠道活码 添加"),
            summary="新建渠道活码：引流渠道 + 接待组的联系我二维码（图片发回聊天）",
            run=add,
            params=(
                name,
                Param("channel", "引流渠道"),
                Param("group", "接待组"),
                Param("verify", "需验证", required=False),
            ),
            examples=(
                "渠道活码 新建 门店A 春季海报 华东组",
                "渠道活码 新建 展会 春季海报 华东组 需验证",
            ),
            effect="config",
        ),
        CommandSpec(
            name="livecode.list",
            area=AREA,
            words=("渠道活码 列表", "livecode list", "livecodes"),
            summary="所有渠道活码：引流渠道、接待组、今日与近 30 天新增",
            run=list_codes,
            role="staff",
        ),
        CommandSpec(
            name="livecode.qr",
            area=AREA,
            words=("渠道活码 二维码", "livecode qr"),
            summary="再次发送渠道活码的二维码图片",
            run=send_qr,
            params=(name,),
            examples=("渠道活码 二维码 门店A",),
            role="staff",
        ),
        CommandSpec(
            name="livecode.edit",
            area=AREA,
            words=("渠道活码 修改", "livecode edit"),
            summary="改渠道活码的接待组或引流渠道（二维码不变）",
            run=change,
            params=(name, Param("field", "接待组|渠道"), Param("value", "新的名称")),
            examples=("渠道活码 修改 门店A 接待组 华南组", "渠道活码 修改 门店A 渠道 夏季海报"),
            effect="config",
        ),
        CommandSpec(
            name="livecode.remove",
            area=AREA,
            words=("渠道活码 删除", "livecode remove", "livecode delete"),
            summary="删除渠道活码：它的二维码不再添加好友（统计记录保留）",
            run=remove,
            params=(name,),
            examples=("渠道活码 删除 门店A",),
            effect="destructive",
            preview=preview_remove,
        ),
    ]
