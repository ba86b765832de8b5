"""Follow replies: up to 3 messages per channel (a wizard collects them), and the default."""

from __future__ import annotations

from typing import Any

from handlers.commands.base import CommandError, CommandSpec, Ctx, Outcome, Param
from handlers.commands.editing import current, describe_message, edit, message_from_text
from handlers.commands.wizard import Answer, Step, Wizard
from handlers.commands.words import fold
from handlers.config import MAX_FOLLOW_MESSAGES

DEFAULT_WORDS = frozenset({"默认", "default"})


def _target(word: str) -> str | None:
    """None for the default follow reply, else the channel name."""
    return None if fold(word) in DEFAULT_WORDS else word


def _channel(doc: dict[str, Any], name: str) -> dict[str, Any]:
    for channel in doc.get("channels", []):
        if channel["name"] == name:
            found: dict[str, Any] = channel
            return found
    raise CommandError(f"没有名为「{name}」的渠道。发送「渠道 列表」查看，或「渠道 创建」。")


def _label(target: str | None) -> str:
    return "默认关注回复" if target is None else f"渠道「{target}」的关注回复"


async def set_reply(ctx: Ctx) -> Outcome:
    target = _target(ctx.args["target"])
    if target is not None:
        _channel(await current(ctx), target)
    return Outcome(wizard=("follow.set", {}), detail=_label(target))


async def _read_message(ctx: Ctx, answer: Answer) -> Any:
    if answer.image:
        raise CommandError("关注回复里的图片请先存为素材，再写「素材:<名称>」。")
    return await message_from_text(ctx, answer.text)


async def _finish(ctx: Ctx, values: dict[str, Any]) -> Outcome:
    target = _target(ctx.args["target"])
    messages = list(values.get("messages") or [])

    def change(doc: dict[str, Any]) -> None:
        if target is None:
            doc["default_follow_reply"] = messages
        else:
            _channel(doc, target)["follow_reply"] = messages

    before, after = await edit(ctx, change)
    lines = [f"已设置{_label(target)}（{len(messages)} 条）："]
    lines += [f"  {i}. {describe_message(m)}" for i, m in enumerate(messages, 1)]
    lines.append("第 1 条随关注即时回复，其余依次通过客服消息发出。")
    return Outcome(Outcome.say("\n".join(lines)).messages, (before, after))


FOLLOW_WIZARD = Wizard(
    name="follow.set",
    title="设置关注回复",
    steps=(
        Step(
            "messages",
            "请发送一条回复内容（文字，可用 {{ follower.openid }} 等变量；"
            "图片写「素材:<名称>」）。",
            _read_message,
            repeat=MAX_FOLLOW_MESSAGES,
        ),
    ),
    finish=_finish,
)


async def show_reply(ctx: Ctx) -> Outcome:
    target = _target(ctx.args["target"])
    doc = await current(ctx)
    messages = (
        doc.get("default_follow_reply", [])
        if target is None
        else _channel(doc, target).get("follow_reply", [])
    )
    if not messages:
        fallback = "，关注时会用默认关注回复" if target is not None else ""
        return Outcome.say(f"{_label(target)}还没有设置{fallback}。")
    lines = [f"{_label(target)}："]
    lines += [f"  {i}. {describe_message(m)}" for i, m in enumerate(messages, 1)]
    return Outcome.say("\n".join(lines))


async def preview_clear(ctx: Ctx) -> str:
    target = _target(ctx.args["target"])
    if target is not None:
        _channel(await current(ctx), target)
    return f"将清空{_label(target)}。"


async def clear_reply(ctx: Ctx) -> Outcome:
    target = _target(ctx.args["target"])

    def change(doc: dict[str, Any]) -> None:
        if target is None:
            doc.pop("default_follow_reply", None)
        else:
            _channel(doc, target)["follow_reply"] = []

    before, after = await edit(ctx, change)
    return Outcome(Outcome.say(f"已清空{_label(target)}。").messages, (before, after))


def specs() -> list[CommandSpec]:
    target = Param("target", "渠道名|默认")
    return [
        CommandSpec(
            name="follow.set",
            area="关注回复",
            words=("关注回复 设置", "follow set"),
            summary=f"用向导设置渠道或默认的关注回复（最多 {MAX_FOLLOW_MESSAGES} 条）",
            run=set_reply,
            params=(target,),
            examples=("关注回复 设置 spring_campaign", "关注回复 设置 默认"),
            effect="config",
        ),
        CommandSpec(
            name="follow.show",
            area="关注回复",
            words=("关注回复 查看", "follow show"),
            summary="看渠道或默认的关注回复",
            run=show_reply,
            params=(target,),
            examples=("关注回复 查看 默认",),
        ),
        CommandSpec(
            name="follow.clear",
            area="关注回复",
            words=("关注回复 清空", "follow clear"),
            summary="清空渠道或默认的关注回复",
            run=clear_reply,
            params=(target,),
            examples=("关注回复 清空 spring_campaign",),
            effect="destructive",
            preview=preview_clear,
        ),
    ]
