"""引流渠道 (lead channels) of the caller's WeCom app: where new customers come from, the welcome
they get when they add a staff member through one of the channel's live codes, and the corp tags
they are given. Also the app's default welcome (欢迎语 默认), used by channels without one.

A welcome is stored like SOP content, ``{"text", "attachments": [...]}`` (attachments read by
``handlers/commands/attachments.py``); ``{}`` means "the default": the app's default set here,
else the settings file's ``customers.default_welcome``. Texts are templates of the script
language: ``{{ customer.name }}`` (the customer's nickname) and ``{{ staff.name }}``.

The helpers at the top are shared by the other customer-contact areas (reception.py,
live_codes.py, contact_stats.py).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any, Final

from handlers.commands.attachments import ATTACHMENT_PROMPT, MAX_ATTACHMENTS, read_attachment
from handlers.commands.base import (
    CommandError,
    CommandSpec,
    ContactWaysPort,
    Ctx,
    Outcome,
    Param,
)
from handlers.commands.wizard import Answer, Step, Wizard
from handlers.commands.words import fold
from handlers.config import NAME_PATTERN
from handlers.customers import ContactDefaults
from handlers.group_sop import describe_content
from handlers.schedules import zone
from scripts_library.model import ScriptError, check_template
from storage import contacts_repo as repo
from storage.contacts_repo import Dimension, LeadChannel

AREA: Final = "引流渠道"
WELCOME_TEXT_BYTES: Final = 4000  # send_welcome_msg text (unconfirmed, platform-facts §4.6)
MAX_TAGS: Final = 20
MAX_TAG_CHARS: Final = 30
TAG_SPLIT: Final = re.compile(r"[\s,，、;；]+")
RECENT_DAYS: Final = 30
DEFAULT_WORDS: Final = frozenset({"默认", "default"})
CLEAR_WORDS: Final = frozenset({"无", "清空", "none", "clear"})
WELCOME_HINT: Final = (
    "可用 {{ customer.name }}（客户昵称）和 {{ staff.name }}（员工姓名），"
    "如「您好 {{ customer.name }}，我是{{ staff.name }}」。"
)


# Shared by the customer-contact areas


def contact_ways(ctx: Ctx) -> ContactWaysPort:
    if ctx.services.contact_ways is None:
        raise CommandError("没有启用企业微信客户联系（联系我二维码）。")
    return ctx.services.contact_ways


def defaults(ctx: Ctx) -> ContactDefaults:
    return ctx.services.contact_defaults


def check_name(name: str, what: str) -> None:
    if not NAME_PATTERN.fullmatch(name) or name.startswith("~"):
        raise CommandError(f"{what}名称是 1 到 64 个字符，不含空格和 /，不以 ~ 开头。")


def today(ctx: Ctx) -> date:
    """The local day now, in the zone people read times in."""
    return ctx.services.clock().astimezone(zone(ctx.services.timezone)).date()


def local_time(ctx: Ctx, at: datetime, pattern: str = "%Y-%m-%d %H:%M") -> str:
    return at.astimezone(zone(ctx.services.timezone)).strftime(pattern)


async def adds_by(
    ctx: Ctx, by: Dimension, days: int = RECENT_DAYS
) -> dict[int | str | None, tuple[int, int]]:
    """New customers per channel / code / group / staff: (today, the last ``days`` days)."""
    last = today(ctx)
    counts: dict[int | str | None, tuple[int, int]] = {}
    rows = await repo.stats(ctx.engine, ctx.wecom_app, by, last - timedelta(days=days - 1), last)
    for row in rows:
        now, total = counts.get(row.key, (0, 0))
        counts[row.key] = (now + (row.adds if row.day == last else 0), total + row.adds)
    return counts


def shown_name(name: str) -> str:
    """A name as people read it: a removed row's ``~<id>~<name>`` as ``<name>（已删除）``."""
    if name.startswith("~"):
        return name.split("~", 2)[-1] + "（已删除）"
    return name


# Welcomes and tags


def check_welcome_text(text: str) -> str:
    """A welcome text as stored; CommandError when the platform or the template would fail."""
    size = len(text.encode("utf-8"))
    if size > WELCOME_TEXT_BYTES:
        raise CommandError(
            f"欢迎语太长：企业微信最多 {WELCOME_TEXT_BYTES} 字节"
            f"（约 {WELCOME_TEXT_BYTES // 3} 个汉字），收到 {size} 字节。"
        )
    try:
        check_template(text)
    except ScriptError as exc:
        raise CommandError(f"欢迎语有误：{exc}") from None
    return text


def describe_welcome(welcome: dict[str, Any]) -> str:
    if not (welcome.get("text") or welcome.get("attachments")):
        return "默认欢迎语"
    return describe_content(welcome)


def parse_tags(text: str) -> list[str]:
    tags = list(dict.fromkeys(t for t in TAG_SPLIT.split(text.strip()) if t))
    long = [t for t in tags if len(t) > MAX_TAG_CHARS]
    if long:
        raise CommandError(f"标签最多 {MAX_TAG_CHARS} 个字：{'、'.join(long)}。")
    if len(tags) > MAX_TAGS:
        raise CommandError(f"最多 {MAX_TAGS} 个标签，收到 {len(tags)} 个。")
    return tags


def describe_tags(tags: tuple[str, ...] | list[str]) -> str:
    return "、".join(tags) if tags else "无"


async def _read_welcome_text(_ctx: Ctx, answer: Answer) -> str:
    text = answer.text.strip()
    if answer.image or not text:
        raise CommandError("请发送欢迎语的文字；用默认欢迎语发送「默认」。")
    if fold(text) in DEFAULT_WORDS:
        return ""
    return check_welcome_text(text)


async def _read_tags(_ctx: Ctx, answer: Answer) -> list[str]:
    if answer.image or not answer.text.strip():
        raise CommandError("请发送标签，用空格、逗号或顿号分隔。")
    return parse_tags(answer.text)


def _welcome_of(values: dict[str, Any]) -> dict[str, Any]:
    text = values.get("text") or ""
    if not text:
        return {}
    return {"text": text, "attachments": list(values.get("attachments") or [])}


def _has_text(values: dict[str, Any]) -> bool:
    return bool(values.get("text"))


WELCOME_STEPS: Final = (
    Step(
        "text",
        "欢迎语文字：" + WELCOME_HINT + "发送「默认」或「跳过」使用默认欢迎语。",
        _read_welcome_text,
        optional=True,
    ),
    Step(
        "attachments",
        ATTACHMENT_PROMPT,
        read_attachment,
        optional=True,
        repeat=MAX_ATTACHMENTS,
        when=_has_text,
    ),
)


# Commands


async def _channel_of(ctx: Ctx) -> LeadChannel:
    name = str(ctx.args["name"])
    channel_id = ctx.args.get("channel_id")
    found = (
        await repo.channel_by_id(ctx.engine, int(channel_id))
        if channel_id is not None
        else await repo.channel(ctx.engine, ctx.wecom_app, name)
    )
    if found is None or found.status == "removed" or found.app != ctx.wecom_app:
        raise CommandError(f"没有名为「{name}」的引流渠道。发送「引流渠道 列表」查看。")
    return found


async def add(ctx: Ctx) -> Outcome:
    name = str(ctx.args["name"])
    check_name(name, "引流渠道")
    if await repo.channel(ctx.engine, ctx.wecom_app, name) is not None:
        raise CommandError(f"已有名为「{name}」的引流渠道。")
    return Outcome(wizard=("lead.add", {}), detail=f"lead channel wizard {name}")


async def _finish_add(ctx: Ctx, values: dict[str, Any]) -> Outcome:
    name = str(ctx.args["name"])
    check_name(name, "引流渠道")
    welcome = _welcome_of(values)
    if welcome:
        check_welcome_text(welcome["text"])
    tags = list(values.get("tags") or [])
    channel_id = await repo.add_channel(
        ctx.engine,
        ctx.wecom_app,
        name,
        welcome=welcome,
        tags=tags,
        created_by=ctx.caller.person,
    )
    if channel_id is None:
        raise CommandError(f"已有名为「{name}」的引流渠道，没有保存。")
    return Outcome.say(
        f"已创建引流渠道「{name}」。\n欢迎语：{describe_welcome(welcome)}\n"
        f"标签：{describe_tags(tags)}\n"
        f"下一步：发送「渠道活码 新建 <活码名称> {name} <接待组>」生成这个渠道的二维码。",
        detail=f"lead channel {channel_id}",
    )


LEAD_WIZARD: Final = Wizard(
    name="lead.add",
    title="新建引流渠道",
    steps=(
        *WELCOME_STEPS,
        Step(
            "tags",
            f"新客户打上的企业标签（最多 {MAX_TAGS} 个，用空格、逗号或顿号分隔）：",
            _read_tags,
            optional=True,
        ),
    ),
    finish=_finish_add,
)


async def set_welcome(ctx: Ctx) -> Outcome:
    channel = await _channel_of(ctx)
    return Outcome(wizard=("lead.welcome", {}), detail=f"lead channel {channel.id} welcome wizard")


async def _finish_welcome(ctx: Ctx, values: dict[str, Any]) -> Outcome:
    channel = await _channel_of(ctx)
    welcome = _welcome_of(values)
    if not await repo.update_channel(ctx.engine, channel.id, welcome=welcome):
        raise CommandError(f"引流渠道「{channel.name}」刚刚被删除了。")
    return Outcome.say(
        f"已更新引流渠道「{channel.name}」的欢迎语：\n{describe_welcome(welcome)}",
        detail=f"lead channel {channel.id} welcome",
    )


WELCOME_WIZARD: Final = Wizard(
    name="lead.welcome",
    title="修改渠道欢迎语",
    steps=WELCOME_STEPS,
    finish=_finish_welcome,
)


async def list_channels(ctx: Ctx) -> Outcome:
    channels = await repo.channels(ctx.engine, ctx.wecom_app)
    if not channels:
        return Outcome.say("还没有引流渠道。发送「引流渠道 新建 <名称>」开始。")
    codes = await repo.codes(ctx.engine, ctx.wecom_app)
    adds = await adds_by(ctx, "channel")
    lines = [
        f"引流渠道（{len(channels)} 个）：欢迎语｜标签｜活码数｜今日 / 近 {RECENT_DAYS} 天新增"
    ]
    for c in channels:
        welcome = "自定义欢迎语" if c.welcome.get("text") else "默认欢迎语"
        attachments = len(c.welcome.get("attachments") or [])
        if attachments:
            welcome += f"（{attachments} 个附件）"
        used = sum(1 for code in codes if code.channel_id == c.id)
        now, total = adds.get(c.id, (0, 0))
        lines.append(
            f"· {c.name}｜{welcome}｜标签 {describe_tags(c.tags)}｜活码 {used} 个｜"
            f"+{now} / +{total}"
        )
    lines.append("发送「引流渠道 查看 <名称>」看详情。")
    return Outcome.say("\n".join(lines))


async def show(ctx: Ctx) -> Outcome:
    channel = await _channel_of(ctx)
    codes = await repo.codes(ctx.engine, ctx.wecom_app, channel_id=channel.id)
    now, total = (await adds_by(ctx, "channel")).get(channel.id, (0, 0))
    lines = [
        f"引流渠道「{channel.name}」",
        f"欢迎语：\n{describe_welcome(channel.welcome)}",
        f"标签：{describe_tags(channel.tags)}",
        f"渠道活码（{len(codes)} 个）：{'、'.join(c.name for c in codes) or '无'}",
        f"新增客户：今日 {now}，近 {RECENT_DAYS} 天 {total}",
        f"创建：{local_time(ctx, channel.created_at)} {channel.created_by}",
    ]
    return Outcome.say("\n".join(lines))


async def set_tags(ctx: Ctx) -> Outcome:
    channel = await _channel_of(ctx)
    text = str(ctx.args["tags"]).strip()
    tags = [] if fold(text) in CLEAR_WORDS else parse_tags(text)
    if not await repo.update_channel(ctx.engine, channel.id, tags=tags):
        raise CommandError(f"引流渠道「{channel.name}」刚刚被删除了。")
    return Outcome.say(
        f"已设置引流渠道「{channel.name}」的标签：{describe_tags(tags)}"
        f"（原来：{describe_tags(channel.tags)}）。之后通过它添加的新客户会打上这些标签。",
        detail=f"lead channel {channel.id} tags {list(channel.tags)} -> {tags}",
    )


async def _removable(ctx: Ctx) -> LeadChannel:
    channel = await _channel_of(ctx)
    codes = await repo.codes(ctx.engine, ctx.wecom_app, channel_id=channel.id)
    if codes:
        names = "、".join(c.name for c in codes)
        raise CommandError(
            f"引流渠道「{channel.name}」还在被渠道活码使用：{names}。"
            "先删除这些活码，或用「渠道活码 修改 <名称> 渠道 <引流渠道>」改到别的渠道。"
        )
    return channel


async def preview_remove(ctx: Ctx) -> str:
    channel = await _removable(ctx)
    ctx.args["channel_id"] = channel.id  # what is confirmed is the channel shown
    return f"将删除引流渠道「{channel.name}」。统计记录保留（显示为已删除的渠道）。"


async def remove(ctx: Ctx) -> Outcome:
    channel = await _removable(ctx)
    if not await repo.remove_channel(ctx.engine, channel.id):
        raise CommandError(f"引流渠道「{channel.name}」已经删除了。")
    return Outcome.say(
        f"已删除引流渠道「{channel.name}」。", detail=f"lead channel {channel.id} removed"
    )


async def default_welcome(ctx: Ctx) -> Outcome:
    text = str(ctx.args.get("text") or "").strip()
    app = ctx.wecom_app
    if not text:
        chosen = await repo.default_welcome(ctx.engine, app)
        if chosen.get("text") or chosen.get("attachments"):
            return Outcome.say(
                f"默认欢迎语（管理员设置）：\n{describe_content(chosen)}\n"
                "发送「欢迎语 清除默认」改回设置文件里的默认欢迎语。"
            )
        shown = defaults(ctx).default_welcome or "（见设置文件）"
        return Outcome.say(
            "默认欢迎语（设置文件 customers.default_welcome）：\n"
            f"{shown}\n发送「欢迎语 默认 <文字>」修改。" + WELCOME_HINT
        )
    welcome = {"text": check_welcome_text(text), "attachments": []}
    await repo.set_default_welcome(ctx.engine, app, welcome, ctx.caller.person)
    return Outcome.say(
        f"已设置默认欢迎语：\n{text}\n没有自己欢迎语的引流渠道都用它。",
        detail=f"default welcome of {app}",
    )


async def clear_default_welcome(ctx: Ctx) -> Outcome:
    app = ctx.wecom_app
    if not await repo.default_welcome(ctx.engine, app):
        raise CommandError("没有用聊天设置过默认欢迎语，现在用的就是设置文件里的。")
    await repo.set_default_welcome(ctx.engine, app, {}, ctx.caller.person)
    return Outcome.say(
        "已清除默认欢迎语，改用设置文件里的默认欢迎语。",
        detail=f"default welcome of {app} cleared",
    )


def wizards() -> tuple[Wizard, ...]:
    return (LEAD_WIZARD, WELCOME_WIZARD)


def specs() -> list[CommandSpec]:
    name = Param("name", "名称")
    return [
        CommandSpec(
            name="lead.add",
            area=AREA,
            words=("引流渠道 新建", "lead add", "lead new", "引流渠道 添加"),
            summary="用向导新建引流渠道：欢迎语（文字和附件）与新客户的标签",
            run=add,
            params=(name,),
            examples=("引流渠道 新建 春季海报",),
            effect="config",
        ),
        CommandSpec(
            name="lead.list",
            area=AREA,
            words=("引流渠道 列表", "lead list", "leads"),
            summary="所有引流渠道，各自的活码数和新增客户数",
            run=list_channels,
            role="staff",
        ),
        CommandSpec(
            name="lead.show",
            area=AREA,
            words=("引流渠道 查看", "lead show"),
            summary="一个引流渠道的欢迎语、标签、活码和新增客户数",
            run=show,
            params=(name,),
            examples=("引流渠道 查看 春季海报",),
            role="staff",
        ),
        CommandSpec(
            name="lead.welcome",
            area=AREA,
            words=("引流渠道 欢迎语", "lead welcome"),
            summary="用向导替换引流渠道的欢迎语",
            run=set_welcome,
            params=(name,),
            examples=("引流渠道 欢迎语 春季海报",),
            effect="config",
        ),
        CommandSpec(
            name="lead.tags",
            area=AREA,
            words=("引流渠道 标签", "lead tags"),
            summary="替换引流渠道给新客户打的标签（「无」清空）",
            run=set_tags,
            params=(name, Param("tags", "标签", "rest")),
            examples=("引流渠道 标签 春季海报 高意向 华东", "引流渠道 标签 春季海报 无"),
            effect="config",
        ),
        CommandSpec(
            name="lead.remove",
            area=AREA,
            words=("引流渠道 删除", "lead remove", "lead delete"),
            summary="删除引流渠道（没有活码使用它时；统计记录保留）",
            run=remove,
            params=(name,),
            examples=("引流渠道 删除 春季海报",),
            effect="destructive",
            preview=preview_remove,
        ),
        CommandSpec(
            name="welcome.default",
            area=AREA,
            words=("欢迎语 默认", "welcome default"),
            summary="查看或设置默认欢迎语（没有自己欢迎语的渠道用它）",
            run=default_welcome,
            params=(Param("text", "文字", "rest", required=False),),
            examples=("欢迎语 默认", "欢迎语 默认 您好 {{ customer.name }}，我是{{ staff.name }}"),
            effect="config",
        ),
        CommandSpec(
            name="welcome.clear",
            area=AREA,
            words=("欢迎语 清除默认", "welcome clear"),
            summary="清除聊天里设置的默认欢迎语，改用设置文件里的",
            run=clear_default_welcome,
            effect="config",
        ),
    ]
