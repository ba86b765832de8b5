"""Basics for everyone: help and whoami. (确认 and 取消 are handled by the pipeline itself.)"""

from __future__ import annotations

from collections.abc import Callable

from handlers.commands.base import ROLE_NAMES, Caller, CommandSpec, Ctx, Outcome, Param

PLATFORM_NAMES = {"wecom": "企业微信", "telegram": "Telegram"}


def specs(help_text: Callable[[Caller, list[str]], str]) -> list[CommandSpec]:
    async def show_help(ctx: Ctx) -> Outcome:
        topic = str(ctx.args.get("topic") or "").split()
        return Outcome.say(help_text(ctx.caller, topic))

    async def whoami(ctx: Ctx) -> Outcome:
        c = ctx.caller
        roles = "、".join(ROLE_NAMES[r] for r in sorted(c.roles)) or "无"
        chat = "私聊" if c.direct else f"群聊 {c.chat}"
        return Outcome.say(
            f"平台：{PLATFORM_NAMES.get(c.platform, c.platform)}（{c.account}）\n"
            f"用户 ID：{c.user}\n身份：{roles}\n当前会话：{chat}\n管理的公众号：{ctx.account}"
        )

    return [
        CommandSpec(
            name="help",
            area="基础",
            words=("帮助", "help", "?"),
            summary="看我能做什么",
            run=show_help,
            params=(Param("topic", "区域或命令", "rest", required=False),),
            examples=("帮助", "帮助 规则", "帮助 规则 添加"),
            role="staff",
        ),
        CommandSpec(
            name="whoami",
            area="基础",
            words=("我是谁", "whoami"),
            summary="看你的平台、用户 ID 和身份",
            run=whoami,
            role="staff",
        ),
    ]
