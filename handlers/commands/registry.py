"""The registry of commands: matching typed words to a spec, argument checks, "did you mean",
and help in layers (areas, then one area, then one command) showing only what the caller may
run."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from handlers.commands.base import Caller, CommandError, CommandSpec
from handlers.commands.words import Word, fold, rest_of_line

AREA_SUMMARIES = {
    "基础": "帮助、我是谁、确认、取消",
    "规则": "关键词自动回复规则",
    "关注回复": "关注后自动回复（按渠道）",
    "渠道": "渠道二维码与粉丝来源",
    "菜单": "公众号自定义菜单",
    "素材": "图片素材与图文草稿",
    "群发": "公众号群发：新建、预览、发送、定时、取消与结果",
    "统计": "粉丝与关键词统计",
    "话术": "企业话术库：搜索、发送、收藏与维护",
    "客户群": "企业微信客户群：列表、查看、同步、标签",
    "SOP": "群SOP：定时为群主创建客户群群发任务并提醒确认",
    "引流渠道": "企业微信引流渠道：欢迎语、标签，及默认欢迎语",
    "接待组": "接待新客户的员工组与新客户备注",
    "渠道活码": "联系我二维码：按渠道和接待组统计加好友",
    "客户统计": "新增、删除客户与欢迎语时延，按渠道、活码、接待组、员工",
    "群活码": "无限群活码：群满自动换群、落地页、入群统计",
    "管理": "人员权限、审计、撤销",
}


@dataclass(frozen=True)
class Match:
    spec: CommandSpec
    args: dict[str, Any]


class Registry:
    def __init__(self, specs: Iterable[CommandSpec] = ()) -> None:
        self._specs: list[CommandSpec] = []
        self._phrases: dict[tuple[str, ...], CommandSpec] = {}
        for spec in specs:
            self.add(spec)

    def add(self, spec: CommandSpec) -> None:
        for phrase in spec.words:
            key = tuple(fold(w) for w in phrase.split())
            if key in self._phrases:
                raise ValueError(f"the words {phrase!r} name two commands")
            self._phrases[key] = spec
        self._specs.append(spec)

    @property
    def specs(self) -> list[CommandSpec]:
        return list(self._specs)

    def by_name(self, name: str) -> CommandSpec:
        for spec in self._specs:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def find(self, words: list[Word]) -> tuple[CommandSpec, int] | None:
        """The command the first words name (the longest phrase wins) and how many words it
        took; a leading ``/`` and Telegram's ``/rule_add`` spelling are accepted."""
        folded = [fold(w.text) for w in words]
        if folded and folded[0].startswith("/"):
            first = folded[0][1:]
            split = first.split("_")
            candidates = [(split + folded[1:], len(split) - 1), ([first, *folded[1:]], 0)]
        else:
            candidates = [(folded, 0)]
        for tokens, extra in candidates:
            for length in range(min(len(tokens), 4), 0, -1):
                spec = self._phrases.get(tuple(tokens[:length]))
                if spec is not None:
                    return spec, length - extra
        return None

    def parse(self, line: str, words: list[Word]) -> Match | None:
        found = self.find(words)
        if found is None:
            return None
        spec, used = found
        return Match(spec, bind(spec, line, words, used))

    def suggestions(self, words: list[Word], caller: Caller) -> list[str]:
        typed = " ".join(fold(w.text) for w in words[:2]).lstrip("/")
        phrases = {" ".join(k): s for k, s in self._phrases.items() if caller.has(s.role) and k}
        close = difflib.get_close_matches(typed, list(phrases), n=3, cutoff=0.5)
        if not close and words:
            first = fold(words[0].text).lstrip("/")
            close = difflib.get_close_matches(first, list(phrases), n=3, cutoff=0.5)
        return [phrases[c].words[0] for c in dict.fromkeys(close)]

    def help(self, caller: Caller, topic: list[str]) -> str:
        visible = [s for s in self._specs if caller.has(s.role)]
        if not topic:
            areas = dict.fromkeys(s.area for s in visible)
            lines = ["可用的功能区（发送「帮助 区域名」看其中的命令）："]
            lines += [f"· {a}：{AREA_SUMMARIES.get(a, '')}" for a in areas]
            lines.append("命令也可用英文，如 help、rule add。任何时候发送「取消」放弃当前操作。")
            return "\n".join(lines)
        wanted = [fold(t) for t in topic]
        area = next((a for a in dict.fromkeys(s.area for s in visible) if fold(a) == wanted[0]), "")
        if area and len(wanted) == 1:
            lines = [f"【{area}】"]
            lines += [f"· {s.usage} — {s.summary}" for s in visible if s.area == area]
            lines.append(
                "发送「帮助 <命令>」看用法和例子，如「帮助 " + _first(visible, area) + "」"
            )
            return "\n".join(lines)
        found = self.find([Word(t, 0, False) for t in topic])
        if found is not None and caller.has(found[0].role):
            return describe(found[0])
        return "没有这个帮助主题。发送「帮助」看可用的功能区。"


def _first(specs: list[CommandSpec], area: str) -> str:
    return next(s.words[0] for s in specs if s.area == area)


def describe(spec: CommandSpec) -> str:
    lines = [f"{spec.words[0]}：{spec.summary}", f"用法：{spec.usage}"]
    if len(spec.words) > 1:
        lines.append("也可写作：" + "、".join(spec.words[1:]))
    if spec.examples:
        lines.append("例子：")
        lines += [f"  {e}" for e in spec.examples]
    if spec.needs_confirmation:
        lines.append("执行前会请你确认。")
    return "\n".join(lines)


def bind(spec: CommandSpec, line: str, words: list[Word], used: int) -> dict[str, Any]:
    """Match the words after the command to its parameters; raise CommandError with usage."""
    args: dict[str, Any] = {}
    index = used
    for param in spec.params:
        if index >= len(words):
            if param.required:
                raise CommandError(f"缺少「{param.label}」。", usage=True)
            args[param.name] = None
            continue
        if param.kind == "rest":
            args[param.name] = rest_of_line(line, words, index)
            index = len(words)
            continue
        word = words[index]
        value: Any
        if param.kind == "int":
            text = fold(word.text)
            if not text.lstrip("-").isdigit():
                raise CommandError(f"「{param.label}」要写数字，收到「{word.text}」。", usage=True)
            value = int(text)
        else:
            # Names and links read with full-width forms folded; case is kept.
            value = _unfold_width(word.text)
        args[param.name] = value
        index += 1
    if index < len(words):
        extra = " ".join(w.text for w in words[index:])
        raise CommandError(f"多了参数「{extra}」。有空格的内容请加引号。", usage=True)
    return args


def _unfold_width(text: str) -> str:
    out = []
    for ch in text.strip():
        code = ord(ch)
        if 0xFF01 <= code <= 0xFF5E:
            out.append(chr(code - 0xFEE0))
        elif ch == "\u3000":
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)
