"""Multi-step wizards for inputs too long for one line (a news article, a menu item, a 3-message
follow reply). The state lives in the database (``pending_actions``, kind ``wizard``) with an
expiry, so a restart loses nothing; each answer moves it one step on."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from handlers.commands.base import CommandError, Ctx, Outcome
from handlers.commands.words import fold

DONE_WORDS = frozenset({"完成", "好了", "done", "finish"})
SKIP_WORDS = frozenset({"跳过", "skip", "无"})


@dataclass(frozen=True)
class Answer:
    text: str
    image: str = ""  # the platform's reference to a picture sent instead of text


# Turns an answer into the value stored for the step; raises CommandError to ask again.
Reader = Callable[[Ctx, Answer], Awaitable[Any]]


@dataclass(frozen=True)
class Step:
    key: str
    prompt: str
    read: Reader
    optional: bool = False  # "跳过" leaves it empty
    repeat: int = 1  # up to this many answers, ended early by "完成"
    when: Callable[[dict[str, Any]], bool] = lambda _values: True


@dataclass(frozen=True)
class Wizard:
    name: str  # the command it completes (audit and role come from there)
    title: str
    steps: tuple[Step, ...]
    finish: Callable[[Ctx, dict[str, Any]], Awaitable[Outcome]]

    def current(self, values: dict[str, Any]) -> Step | None:
        """The first step still waiting for an answer (None when all are answered)."""
        for step in self.steps:
            if not step.when(values):
                continue
            if step.repeat > 1:
                done = values.get(f"{step.key}__done") or len(values.get(step.key) or []) >= (
                    step.repeat
                )
                if not done:
                    return step
            elif step.key not in values:
                return step
        return None

    def prompt(self, values: dict[str, Any]) -> str:
        step = self.current(values)
        if step is None:  # pragma: no cover - callers finish first
            return ""
        hints = []
        if step.repeat > 1:
            count = len(values.get(step.key) or [])
            hints.append(f"第 {count + 1}/{step.repeat} 条；发送「完成」结束")
        if step.optional:
            hints.append("发送「跳过」略过")
        hints.append("「取消」放弃")
        return f"{step.prompt}\n（{'；'.join(hints)}）"

    async def advance(self, ctx: Ctx, values: dict[str, Any], answer: Answer) -> bool:
        """Take one answer into ``values``; True when every step is answered."""
        step = self.current(values)
        if step is None:
            return True
        word = fold(answer.text) if not answer.image else ""
        if step.repeat > 1 and word in DONE_WORDS:
            if not values.get(step.key):
                raise CommandError("还没有内容，至少发送 1 条。")
            values[f"{step.key}__done"] = True
        elif step.optional and word in SKIP_WORDS:
            values[step.key] = [] if step.repeat > 1 else None
            if step.repeat > 1:
                values[f"{step.key}__done"] = True
        else:
            value = await step.read(ctx, answer)
            if step.repeat > 1:
                values.setdefault(step.key, []).append(value)
            else:
                values[step.key] = value
        return self.current(values) is None


def text_reader(label: str, *, max_chars: int = 2000) -> Reader:
    async def read(_ctx: Ctx, answer: Answer) -> Any:
        text = answer.text.strip()
        if answer.image or not text:
            raise CommandError(f"请发送{label}（文字）。")
        if len(text) > max_chars:
            raise CommandError(f"{label}最多 {max_chars} 个字，收到 {len(text)} 个。")
        return text

    return read
