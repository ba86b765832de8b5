"""Channels: each has a permanent parametric QR code (scene = channel name); followers who scan
it are counted to the channel and get its follow reply."""

from __future__ import annotations

from typing import Any

from handlers.commands.base import CommandError, CommandSpec, Ctx, Outcome, Param
from handlers.commands.editing import current, edit
from handlers.config import CHANNEL_PATTERN
from handlers.messages import Picture, Text
from storage import commands_repo as repo
from storage import config_repo


def _find(doc: dict[str, Any], name: str) -> dict[str, Any]:
    for channel in doc.get("channels", []):
        if channel["name"] == name:
            return dict(channel)
    raise CommandError(f"没有名为「{name}」的渠道。发送「渠道 列表」查看。")


async def _qr_picture(ctx: Ctx, name: str, title: str) -> Picture:
    ticket = await config_repo.channel_qr_ticket(ctx.engine, ctx.account, name)
    if ticket is None:
        await ctx.progress(f"正在为渠道「{name}」生成二维码…")
        ticket, url = await ctx.oa.channel_qr(name)
        if not await config_repo.set_channel_qr(ctx.engine, ctx.account, name, ticket, url):
            ticket = await config_repo.channel_qr_ticket(ctx.engine, ctx.account, name) or ticket
    caption = f"渠道「{title or name}」的二维码：扫码关注即计入此渠道"
    return Picture(ctx.oa.qr_image_url(ticket), caption)


async def create_channel(ctx: Ctx) -> Outcome:
    name = ctx.args["name"]
    title = (ctx.args.get("title") or "").strip()
    if not CHANNEL_PATTERN.fullmatch(name):
        raise CommandError("渠道名用字母、数字和 _ - .（它会成为二维码的场景值），如 spring_2026。")

    def change(doc: dict[str, Any]) -> None:
        channels = doc.setdefault("channels", [])
        if any(c["name"] == name for c in channels):
            raise CommandError(f"已有渠道「{name}」。发送「渠道 二维码 {name}」再看二维码。")
        channels.append({"name": name, "title": title, "follow_reply": []})

    before, after = await edit(ctx, change)
    picture = await _qr_picture(ctx, name, title)
    return Outcome(
        [
            Text(
                f"已创建渠道「{title or name}」（{name}）。设置它的关注回复：关注回复 设置 {name}"
            ),
            picture,
        ],
        (before, after),
    )


async def send_qr(ctx: Ctx) -> Outcome:
    channel = _find(await current(ctx), ctx.args["name"])
    return Outcome([await _qr_picture(ctx, channel["name"], channel.get("title", ""))])


async def list_channels(ctx: Ctx) -> Outcome:
    channels = (await current(ctx)).get("channels", [])
    if not channels:
        return Outcome.say("还没有渠道。发送「渠道 创建 <名称> [标题]」创建。")
    counts = {
        c: (now, total)
        for c, now, total in await repo.followers_by_channel(ctx.engine, ctx.account)
    }
    lines = [f"渠道（{len(channels)} 个）：当前粉丝 / 累计关注"]
    for c in channels:
        now, total = counts.get(c["name"], (0, 0))
        replies = len(c.get("follow_reply", []))
        title = f"{c['title']}（{c['name']}）" if c.get("title") else c["name"]
        lines.append(f"· {title}：{now} / {total}，关注回复 {replies} 条")
    return Outcome.say("\n".join(lines))


async def preview_remove(ctx: Ctx) -> str:
    channel = _find(await current(ctx), ctx.args["name"])
    counts = {c: now for c, now, _ in await repo.followers_by_channel(ctx.engine, ctx.account)}
    return (
        f"将删除渠道「{channel['name']}」。已印出的二维码仍能关注，但不再计入渠道、"
        f"不再有渠道关注回复（现有 {counts.get(channel['name'], 0)} 位粉丝来自此渠道）。"
    )


async def remove_channel(ctx: Ctx) -> Outcome:
    name = ctx.args["name"]

    def change(doc: dict[str, Any]) -> None:
        _find(doc, name)
        doc["channels"] = [c for c in doc.get("channels", []) if c["name"] != name]

    before, after = await edit(ctx, change)
    return Outcome(Outcome.say(f"已删除渠道「{name}」。").messages, (before, after))


def specs() -> list[CommandSpec]:
    return [
        CommandSpec(
            name="channel.create",
            area="渠道",
            words=("渠道 创建", "channel create", "渠道 添加"),
            summary="创建渠道并生成带参数的二维码（图片发回聊天）",
            run=create_channel,
            params=(Param("name", "名称"), Param("title", "标题", "rest", required=False)),
            examples=("渠道 创建 spring_2026 春季海报",),
            effect="config",
        ),
        CommandSpec(
            name="channel.list",
            area="渠道",
            words=("渠道 列表", "channel list", "渠道列表"),
            summary="列出渠道和各渠道的粉丝数",
            run=list_channels,
            role="staff",
        ),
        CommandSpec(
            name="channel.qr",
            area="渠道",
            words=("渠道 二维码", "channel qr"),
            summary="再次发送渠道二维码",
            run=send_qr,
            params=(Param("name", "名称"),),
            examples=("渠道 二维码 spring_2026",),
            role="staff",
        ),
        CommandSpec(
            name="channel.remove",
            area="渠道",
            words=("渠道 删除", "channel remove"),
            summary="删除渠道",
            run=remove_channel,
            params=(Param("name", "名称"),),
            effect="destructive",
            preview=preview_remove,
        ),
    ]
