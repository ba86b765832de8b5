"""The one pipeline every staff-chat message goes through:

dedupe -> rate limit -> (cancel | wizard answer | confirm) -> normalize and parse -> validate ->
authorize -> confirm -> execute -> audit.

Handlers only execute; everything around them is here. Answers are queued to the outbox, which
delivers them through the platform the message came from.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta

from handlers.commands.audit import config_diff, redact
from handlers.commands.base import (
    ROLE_NAMES,
    Caller,
    CommandError,
    CommandSpec,
    Ctx,
    Outcome,
    PlatformFailure,
    Services,
)
from handlers.commands.registry import Registry, describe
from handlers.commands.wizard import Answer, Wizard
from handlers.commands.words import ParseError, Word, fold, split_words
from handlers.config import ConfigError
from handlers.messages import Message, Text
from handlers.staff import StaffMessage
from storage import commands_repo as repo

log = logging.getLogger(__name__)

CANCEL_WORDS = frozenset({"取消", "cancel", "算了", "退出"})
CONFIRM_WORDS = frozenset({"确认", "confirm", "确定", "yes"})
PICK_NUMBER = re.compile(r"[1-9][0-9]?")
INTERNAL_ERROR = "出了点问题，这条命令没有完成（已记录）。请稍后再试。"


class RateLimiter:
    """At most ``per_minute`` commands per person in any 60 seconds (per process)."""

    def __init__(self, per_minute: int) -> None:
        self._limit = per_minute
        self._seen: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, person: str, now: float) -> bool:
        times = self._seen[person]
        while times and times[0] <= now - 60:
            times.popleft()
        if len(times) >= self._limit:
            return False
        times.append(now)
        return True


class CommandService:
    """Implements :class:`handlers.staff.StaffHandler` for every staff platform."""

    def __init__(
        self,
        registry: Registry,
        wizards: Mapping[str, Wizard],
        services: Services,
        *,
        admins: Sequence[str] = (),
        staff: Sequence[str] = (),
        pick: str | None = None,
    ) -> None:
        self.registry = registry
        self._wizards = wizards
        self.services = services
        self._bootstrap = [(p, "admin") for p in admins] + [(p, "staff") for p in staff]
        self._rate = RateLimiter(services.limits.rate_per_minute)
        # The command a bare number runs (e.g. "2" sends the 2nd script of the last list).
        self._pick = pick

    async def start(self) -> None:
        """Grant the roles the settings name (once; later changes are made by command)."""
        for person, role in self._bootstrap:
            if await repo.grant(self.services.engine, person, role, "settings"):
                log.info("granted %s to %s from the settings", role, person)

    async def handle_staff(self, message: StaffMessage) -> None:
        if not message.addressed:
            return
        if not await repo.first_time(self.services.engine, message.dedupe_key):
            log.info("staff update %s seen before: not handled again", message.dedupe_key)
            return
        try:
            replies = await self.respond(message)
        except Exception:
            log.exception("command from %s:%s failed", message.platform, message.user)
            replies = [Text(INTERNAL_ERROR)]
        if replies:
            await self.services.queue(message.platform, message.account, message.chat, replies)

    async def respond(self, message: StaffMessage) -> list[Message]:
        engine = self.services.engine
        person = f"{message.platform}:{message.account}:{message.user}"
        caller = Caller(
            message.platform,
            message.account,
            message.user,
            message.chat,
            message.direct,
            frozenset(await repo.roles_of(engine, person)),
            message.name,
        )
        if not caller.roles:
            return [Text(f"你还没有使用权限。请管理员发送「授权 {message.user} 员工」。")]
        if not self._rate.allow(person, self.services.clock().timestamp()):
            limit = self.services.limits.rate_per_minute
            return [Text(f"太快了：每人每分钟最多 {limit} 条命令，请稍后再试。")]
        text = message.text.strip()
        try:
            words = split_words(text)
        except ParseError as exc:
            return [Text(str(exc))]
        first = fold(words[0].text).lstrip("/") if words else ""
        if len(words) == 1 and first in CANCEL_WORDS:
            return await self._cancel(caller, text)
        wizard = await self._live(caller, "wizard")
        if wizard is not None:
            return await self._wizard_answer(caller, wizard, Answer(text, message.image))
        if message.image:
            await self._hold(caller, {"image": message.image})
            return [
                Text(
                    "收到图片。要存为话术：发送「存为话术 <标题>」；"
                    "要存为素材：先发送「素材 添加 <名称>」，再发这张图片。"
                )
            ]
        if len(words) == 1 and first in CONFIRM_WORDS:
            return await self._confirm(caller)
        if not words:
            return []
        if len(words) == 1 and PICK_NUMBER.fullmatch(first) and self._pick is not None:
            return await self.run(caller, self.registry.by_name(self._pick), {"ref": first}, text)
        try:
            match = self.registry.parse(text, words)
        except CommandError as exc:
            found = self.registry.find(words)
            usage = (
                f"\n用法：{found[0].usage}\n发送「帮助 {found[0].words[0]}」看例子。"
                if found
                else ""
            )
            return [Text(exc.message + usage)]
        if match is None:
            await self._hold(caller, {"text": text})
            hint = "\n要把这段文字存为话术，发送「存为话术 <标题>」。" if len(text) > 8 else ""
            return [Text(self._unknown(caller, words[0].text, words) + hint)]
        return await self.run(caller, match.spec, match.args, text)

    async def _hold(self, caller: Caller, data: dict[str, object]) -> None:
        """Keep the last message that was not a command, for 「存为话术」 ("save this")."""
        minutes = self.services.limits.wizard_minutes
        await repo.put_pending(
            self.services.engine,
            repo.Pending(
                caller.person,
                "held",
                caller.chat,
                "held",
                data,
                self.services.clock() + timedelta(minutes=minutes),
            ),
        )

    def _unknown(self, caller: Caller, typed: str, words: list[Word]) -> str:
        close = self.registry.suggestions(words, caller)
        hint = f"你是不是想用：{'、'.join(close)}？" if close else ""
        return f"没有「{typed}」这个命令。{hint}发送「帮助」看可用的命令。"

    async def run(
        self,
        caller: Caller,
        spec: CommandSpec,
        args: dict[str, object],
        text: str,
        *,
        confirmed: bool = False,
    ) -> list[Message]:
        services = self.services
        denied = self._denied(caller, spec)
        if denied:
            await self._audit(caller, spec.name, text, "denied", denied)
            return [Text(denied)]
        ctx = Ctx(caller, dict(args), text, services, confirmed)
        if spec.needs_confirmation and not confirmed:
            return await self._ask(ctx, spec)
        return await self._execute(ctx, spec, lambda: spec.run(ctx))

    def _denied(self, caller: Caller, spec: CommandSpec) -> str:
        if not caller.has(spec.role):
            mine = "、".join(ROLE_NAMES[r] for r in sorted(caller.roles)) or "无"
            return (
                f"你没有权限：「{spec.words[0]}」需要{ROLE_NAMES[spec.role]}身份"
                f"（你的身份：{mine}）。"
            )
        if (
            spec.role == "admin"
            and not caller.direct
            and caller.chat_key not in self.services.admin_chats
        ):
            return "管理命令只能在与我的私聊或指定的管理群里使用。"
        return ""

    async def _ask(self, ctx: Ctx, spec: CommandSpec) -> list[Message]:
        try:
            preview = await spec.preview(ctx) if spec.preview else f"将执行：{ctx.text}"
        except (CommandError, PlatformFailure, ConfigError) as exc:
            await self._audit(ctx.caller, spec.name, ctx.text, "refused", _message(exc))
            return [Text(_message(exc))]
        seconds = self.services.limits.confirm_seconds
        await repo.put_pending(
            self.services.engine,
            repo.Pending(
                ctx.caller.person,
                "confirm",
                ctx.caller.chat,
                spec.name,
                {"text": ctx.text, "args": ctx.args},
                self.services.clock() + timedelta(seconds=seconds),
            ),
        )
        await self._audit(ctx.caller, spec.name, ctx.text, "asked", preview)
        return [Text(f"{preview}\n\n回复「确认」执行，「取消」放弃（{seconds} 秒内有效）。")]

    async def _confirm(self, caller: Caller) -> list[Message]:
        pending = await repo.take_pending(self.services.engine, caller.person, "confirm")
        if pending is None:
            return [Text("没有等待确认的操作。")]
        text = str(pending.data.get("text", ""))
        if pending.expires_at <= self.services.clock():
            await self._audit(caller, pending.name, text, "expired", "confirmation expired")
            return [Text(f"确认已过期，没有执行「{text}」。需要的话请重新发送命令。")]
        match = self.registry.parse(text, split_words(text))
        if match is None:  # pragma: no cover - it parsed when it was stored
            return [Text("这条命令已不能执行，请重新发送。")]
        # The arguments as the preview left them (a preview may pin "1" to the script it showed).
        args = pending.data.get("args")
        bound = dict(args) if isinstance(args, dict) else match.args
        return await self.run(caller, match.spec, bound, text, confirmed=True)

    async def _cancel(self, caller: Caller, text: str) -> list[Message]:
        names = await repo.drop_pending(self.services.engine, caller.person)
        if not names:
            return [Text("没有进行中的操作。")]
        await self._audit(caller, names[0], text, "cancelled", ", ".join(names))
        return [Text("已取消，没有做任何更改。")]

    async def _live(self, caller: Caller, kind: str) -> repo.Pending | None:
        pending = await repo.get_pending(self.services.engine, caller.person, kind)
        if pending is not None and pending.expires_at <= self.services.clock():
            await repo.take_pending(self.services.engine, caller.person, kind)
            await self._audit(caller, pending.name, "", "expired", f"{kind} expired")
            await self.services.queue(
                caller.platform,
                caller.account,
                caller.chat,
                [Text("上一个向导已过期，之前填的内容没有保存。")],
            )
            return None
        return pending

    async def _wizard_answer(
        self, caller: Caller, pending: repo.Pending, answer: Answer
    ) -> list[Message]:
        wizard = self._wizards[pending.name]
        spec = self.registry.by_name(pending.name)
        denied = self._denied(caller, spec)
        if denied:
            await repo.drop_pending(self.services.engine, caller.person)
            await self._audit(caller, spec.name, answer.text, "denied", denied)
            return [Text(denied)]
        values = dict(pending.data.get("values", {}))
        text = str(pending.data.get("text", spec.words[0]))
        ctx = Ctx(caller, dict(pending.data.get("args", {})), text, self.services)
        try:
            finished = await wizard.advance(ctx, values, answer)
        except (CommandError, PlatformFailure) as exc:
            await self._save_wizard(ctx, wizard, values, pending.data)
            return [Text(f"{_message(exc)}\n{wizard.prompt(values)}")]
        if not finished:
            await self._save_wizard(ctx, wizard, values, pending.data)
            return [Text(wizard.prompt(values))]
        await repo.take_pending(self.services.engine, caller.person, "wizard")
        return await self._execute(ctx, spec, lambda: wizard.finish(ctx, values))

    async def _save_wizard(
        self, ctx: Ctx, wizard: Wizard, values: dict[str, object], data: Mapping[str, object]
    ) -> None:
        minutes = self.services.limits.wizard_minutes
        await repo.put_pending(
            self.services.engine,
            repo.Pending(
                ctx.caller.person,
                "wizard",
                ctx.caller.chat,
                wizard.name,
                {**data, "values": values},
                self.services.clock() + timedelta(minutes=minutes),
            ),
        )

    async def _execute(
        self, ctx: Ctx, spec: CommandSpec, work: Callable[[], Awaitable[Outcome]]
    ) -> list[Message]:
        caller = ctx.caller
        try:
            outcome = await work()
        except (CommandError, PlatformFailure, ConfigError) as exc:
            message = _message(exc)
            await self._audit(caller, spec.name, ctx.text, "refused", message)
            if isinstance(exc, CommandError) and exc.usage:
                message += f"\n{describe(spec)}"
            return [Text(message)]
        diff = None
        if outcome.change is not None:
            before, after = outcome.change
            diff = config_diff(before, after)
            await repo.record_change(
                self.services.engine, ctx.account, caller.person, spec.name, before, after
            )
        messages = list(outcome.messages)
        if outcome.wizard is not None:
            name, values = outcome.wizard
            wizard = self._wizards[name]
            await self._save_wizard(
                ctx, wizard, values, {"args": ctx.args, "text": ctx.text, "values": values}
            )
            messages.append(Text(f"【{wizard.title}】\n{wizard.prompt(values)}"))
            await self._audit(caller, spec.name, ctx.text, "wizard", outcome.detail)
            return messages
        await self._audit(caller, spec.name, ctx.text, "ok", outcome.detail, diff)
        return messages

    async def _audit(
        self,
        caller: Caller,
        command: str,
        text: str,
        outcome: str,
        detail: str = "",
        diff: dict[str, object] | None = None,
    ) -> None:
        await repo.audit(
            self.services.engine,
            person=caller.person,
            chat=caller.chat_key,
            command=command,
            text=redact(text),
            outcome=outcome,
            detail=redact(detail),
            diff=diff,
        )


def _message(exc: Exception) -> str:
    if isinstance(exc, CommandError):
        return exc.message
    if isinstance(exc, ConfigError):
        return f"配置不合法：{exc}"
    if isinstance(exc, PlatformFailure):
        return f"微信平台没有接受：{exc}"
    return str(exc)  # pragma: no cover
