"""Keyword reply rules: add, list, show, edit, remove, and test which rule answers a text."""

from __future__ import annotations

import re
from typing import Any

from handlers.books import load_config
from handlers.commands.base import CommandError, CommandSpec, Ctx, Outcome, Param
from handlers.commands.editing import current, describe_message, edit, message_from_text
from handlers.commands.words import fold
from handlers.events import TextReceived
from handlers.messages import message_to_dict
from handlers.replies import compile_account, decide

_KIND_PREFIXES = (
    ("精确:", "exact"),
    ("exact:", "exact"),
    ("=", "exact"),
    ("正则:", "regex"),
    ("regex:", "regex"),
    ("~", "regex"),
    ("包含:", "contains"),
    ("contains:", "contains"),
)
KIND_NAMES = {"exact": "精确", "contains": "包含", "regex": "正则"}
_SEPARATORS = re.compile(r"[,，、;；|]")


def parse_keywords(text: str) -> list[dict[str, str]]:
    """``价格,多少钱`` (contains), ``=价格`` or ``精确:价格`` (exact), ``~^价`` or ``正则:^价``."""
    keywords = []
    for part in _SEPARATORS.split(text):
        part = part.strip()
        if not part:
            continue
        kind = "contains"
        for prefix, name in _KIND_PREFIXES:
            if part.lower().startswith(prefix):
                kind, part = name, part[len(prefix) :].strip()
                break
        if not part:
            raise CommandError("关键词不能为空。")
        keywords.append({kind: part})
    if not keywords:
        raise CommandError("至少要有 1 个关键词。", usage=True)
    return keywords


def _describe_keywords(keywords: list[dict[str, str]]) -> str:
    return "、".join(f"{KIND_NAMES[k]}「{v}」" for item in keywords for k, v in item.items())


def _find(document: dict[str, Any], name: str) -> dict[str, Any]:
    for rule in document.get("keyword_rules", []):
        if rule["name"] == name:
            return dict(rule)
    raise CommandError(f"没有名为「{name}」的规则。发送「规则 列表」查看。")


async def list_rules(ctx: Ctx) -> Outcome:
    rules = (await current(ctx)).get("keyword_rules", [])
    if not rules:
        return Outcome.say("还没有关键词规则。发送「帮助 规则 添加」看怎么加。")
    lines = [f"关键词规则（{len(rules)} 条，按匹配顺序）："]
    for i, r in enumerate(rules, 1):
        state = "" if r.get("enabled", True) else "（已停用）"
        lines.append(
            f"{i}. {r['name']}{state} 优先级 {r.get('priority', 0)}："
            f"{_describe_keywords(r['keywords'])} → {describe_message(r['reply'][0])[:30]}"
        )
    return Outcome.say("\n".join(lines))


async def show_rule(ctx: Ctx) -> Outcome:
    rule = _find(await current(ctx), ctx.args["name"])
    lines = [
        f"规则「{rule['name']}」" + ("" if rule.get("enabled", True) else "（已停用）"),
        f"关键词：{_describe_keywords(rule['keywords'])}",
        f"优先级：{rule.get('priority', 0)}",
        "回复：",
    ]
    lines += [f"  {i}. {describe_message(m)}" for i, m in enumerate(rule["reply"], 1)]
    return Outcome.say("\n".join(lines))


async def add_rule(ctx: Ctx) -> Outcome:
    name = ctx.args["name"]
    keywords = parse_keywords(ctx.args["keywords"])
    reply = await message_from_text(ctx, ctx.args["reply"])

    def change(doc: dict[str, Any]) -> None:
        rules = doc.setdefault("keyword_rules", [])
        if any(r["name"] == name for r in rules):
            raise CommandError(f"已有名为「{name}」的规则。改它请用「规则 修改」。")
        rules.append({"name": name, "keywords": keywords, "reply": [reply]})

    before, after = await edit(ctx, change)
    return Outcome(
        Outcome.say(
            f"已添加规则「{name}」：{_describe_keywords(keywords)} → {describe_message(reply)}"
        ).messages,
        (before, after),
    )


_FIELDS = {
    "回复": "reply",
    "reply": "reply",
    "关键词": "keywords",
    "keywords": "keywords",
    "优先级": "priority",
    "priority": "priority",
    "名称": "name",
    "name": "name",
    "启用": "enable",
    "enable": "enable",
    "停用": "disable",
    "disable": "disable",
}


async def edit_rule(ctx: Ctx) -> Outcome:
    name = ctx.args["name"]
    what = _FIELDS.get(fold(ctx.args["field"]))
    value = (ctx.args.get("value") or "").strip()
    if what is None:
        raise CommandError("可以修改：回复、关键词、优先级、名称、启用、停用。", usage=True)
    if what not in ("enable", "disable") and not value:
        raise CommandError(f"请写出新的{ctx.args['field']}。", usage=True)
    updates: dict[str, Any] = {}
    if what == "reply":
        updates["reply"] = [await message_from_text(ctx, value)]
    elif what == "keywords":
        updates["keywords"] = parse_keywords(value)
    elif what == "priority":
        if not value.lstrip("-").isdigit():
            raise CommandError("优先级是 -1000 到 1000 的整数。")
        updates["priority"] = int(value)
    elif what == "name":
        updates["name"] = value
    else:
        updates["enabled"] = what == "enable"

    def change(doc: dict[str, Any]) -> None:
        rules = doc.get("keyword_rules", [])
        _find(doc, name)
        if "name" in updates and any(r["name"] == updates["name"] for r in rules):
            raise CommandError(f"已有名为「{updates['name']}」的规则。")
        doc["keyword_rules"] = [{**r, **updates} if r["name"] == name else r for r in rules]

    before, after = await edit(ctx, change)
    return Outcome(
        Outcome.say(f"已修改规则「{name}」的{ctx.args['field']}。").messages, (before, after)
    )


async def preview_remove(ctx: Ctx) -> str:
    rule = _find(await current(ctx), ctx.args["name"])
    return f"将删除规则「{rule['name']}」（{_describe_keywords(rule['keywords'])}）。"


async def remove_rule(ctx: Ctx) -> Outcome:
    name = ctx.args["name"]

    def change(doc: dict[str, Any]) -> None:
        _find(doc, name)
        doc["keyword_rules"] = [r for r in doc.get("keyword_rules", []) if r["name"] != name]

    before, after = await edit(ctx, change)
    return Outcome(
        Outcome.say(f"已删除规则「{name}」。发送「撤销」可以恢复。").messages, (before, after)
    )


async def test_rule(ctx: Ctx) -> Outcome:
    text = ctx.args["text"]
    config, revision, ids = await load_config(ctx.engine, ctx.account)
    book = compile_account(config, revision, ids)
    event = TextReceived("test", ctx.account, "test-openid", "", True, text)

    async def no_follower(_account: str, _openid: str) -> None:
        return None

    decision = await decide(book, event, no_follower)
    names = {rule_id: name for name, rule_id in ids.items()}
    if decision.hit_rule is None:
        head = "没有规则匹配「" + text + "」。"
        if not decision.messages:
            return Outcome.say(head + "粉丝不会收到自动回复。")
        head += "会发送「无匹配回复」："
    else:
        head = f"「{text}」由规则「{names.get(decision.hit_rule, '?')}」回复："
    lines = [head]
    lines += [
        f"  {i}. {describe_message(message_to_dict(m))}" for i, m in enumerate(decision.messages, 1)
    ]
    return Outcome.say("\n".join(lines))


def specs() -> list[CommandSpec]:
    return [
        CommandSpec(
            name="rule.list",
            area="规则",
            words=("规则 列表", "rule list", "规则列表"),
            summary="列出关键词规则",
            run=list_rules,
        ),
        CommandSpec(
            name="rule.show",
            area="规则",
            words=("规则 查看", "rule show"),
            summary="看一条规则的关键词与回复",
            run=show_rule,
            params=(Param("name", "名称"),),
            examples=("规则 查看 价格",),
        ),
        CommandSpec(
            name="rule.add",
            area="规则",
            words=("规则 添加", "rule add", "加规则"),
            summary="添加关键词规则（关键词用逗号分隔；=精确，~正则，默认包含）",
            run=add_rule,
            params=(
                Param("name", "名称"),
                Param("keywords", "关键词"),
                Param("reply", "回复", "rest"),
            ),
            examples=(
                "规则 添加 价格 价格,多少钱 您好，价格请看菜单「价目表」",
                "规则 添加 你好 =你好 你好呀 {{ follower.openid }}",
                "规则 添加 海报 海报 素材:春季海报",
            ),
            effect="config",
        ),
        CommandSpec(
            name="rule.edit",
            area="规则",
            words=("规则 修改", "rule edit"),
            summary="修改规则的回复、关键词、优先级、名称，或启用/停用",
            run=edit_rule,
            params=(
                Param("name", "名称"),
                Param("field", "回复|关键词|优先级|名称|启用|停用"),
                Param("value", "新内容", "rest", required=False),
            ),
            examples=("规则 修改 价格 回复 新的价格表已更新", "规则 修改 价格 停用"),
            effect="config",
        ),
        CommandSpec(
            name="rule.remove",
            area="规则",
            words=("规则 删除", "rule remove", "rule delete"),
            summary="删除一条规则",
            run=remove_rule,
            params=(Param("name", "名称"),),
            examples=("规则 删除 价格",),
            effect="destructive",
            preview=preview_remove,
        ),
        CommandSpec(
            name="rule.test",
            area="规则",
            words=("规则 测试", "rule test"),
            summary="测试一句话会被哪条规则回复、回复什么",
            run=test_rule,
            params=(Param("text", "文字", "rest"),),
            examples=("规则 测试 请问价格多少",),
            role="staff",
        ),
    ]
