"""Reading typed commands: quotes, full-width forms, aliases, arguments, did-you-mean, help."""

from __future__ import annotations

import pytest

from handlers.commands.areas import build_registry
from handlers.commands.audit import config_diff, redact
from handlers.commands.base import Caller, CommandError
from handlers.commands.service import RateLimiter
from handlers.commands.words import ParseError, split_words

ADMIN = Caller("wecom", "corp", "lilei", "lilei", True, frozenset({"admin"}))
STAFF = Caller("wecom", "corp", "hmm", "hmm", True, frozenset({"staff"}))


def test_quotes_of_every_kind_group_words() -> None:
    words = split_words("规则 添加 “价格 问题” 「多少 钱」 '回 复'")
    assert [w.text for w in words] == ["规则", "添加", "价格 问题", "多少 钱", "回 复"]
    assert all(w.quoted for w in words[2:])
    with pytest.raises(ParseError, match="引号没有配对"):
        split_words("规则 添加 “价格")


def test_ideographic_space_separates_words() -> None:
    assert [w.text for w in split_words("规则　列表")] == ["规则", "列表"]


def test_aliases_chinese_english_fullwidth_and_telegram_spellings() -> None:
    registry = build_registry()
    for line in (
        "规则 列表",
        "rule list",
        "RULE LIST",
        "ｒｕｌｅ ｌｉｓｔ",
        "/rule list",
        "/rule_list",
    ):
        match = registry.parse(line, split_words(line))
        assert match is not None and match.spec.name == "rule.list", line


def test_rest_argument_keeps_what_was_typed() -> None:
    registry = build_registry()
    line = "规则 添加 价格 价格，多少钱  您好，  价目表见 https://example.com/a?b=1"
    match = registry.parse(line, split_words(line))
    assert match is not None
    assert match.args == {
        "name": "价格",
        "keywords": "价格,多少钱",
        "reply": "您好，  价目表见 https://example.com/a?b=1",
    }


def test_missing_extra_and_non_numeric_arguments() -> None:
    registry = build_registry()
    with pytest.raises(CommandError, match="缺少「关键词」"):
        registry.parse("规则 添加 价格", split_words("规则 添加 价格"))
    with pytest.raises(CommandError, match="多了参数「x」"):
        registry.parse("规则 查看 价格 x", split_words("规则 查看 价格 x"))
    with pytest.raises(CommandError, match="要写数字"):
        registry.parse("菜单 回滚 一", split_words("菜单 回滚 一"))


def test_did_you_mean_only_offers_what_the_caller_may_run() -> None:
    registry = build_registry()
    assert "菜单 发布" in registry.suggestions(split_words("菜单 发不"), ADMIN)
    assert "菜单 发布" not in registry.suggestions(split_words("菜单 发不"), STAFF)


def test_help_is_layered_and_hides_admin_areas_from_staff() -> None:
    registry = build_registry()
    assert "管理" in registry.help(ADMIN, []) and "管理" not in registry.help(STAFF, [])
    assert "规则 测试" in registry.help(STAFF, ["规则"])
    assert "规则 添加" not in registry.help(STAFF, ["规则"])
    assert "没有这个帮助主题" in registry.help(STAFF, ["菜单", "发布"])
    assert "例子" in registry.help(ADMIN, ["菜单", "发布"]) or "执行前会请你确认" in registry.help(
        ADMIN, ["菜单", "发布"]
    )


def test_redact_hides_secrets_and_long_opaque_values() -> None:
    text = redact("设置 secret=abc123 密钥：xyz key ER58anUSJqyR2GXOA9Duoj3v9G2R3VRnfyXsBCQdkQl")
    assert "abc123" not in text and "xyz" not in text and "ER58an" not in text
    assert redact("规则 添加 价格 价格 您好") == "规则 添加 价格 价格 您好"


def test_config_diff_names_what_changed() -> None:
    before = {"keyword_rules": [{"name": "a", "reply": [1]}, {"name": "b", "reply": [1]}]}
    after = {
        "keyword_rules": [{"name": "a", "reply": [2]}, {"name": "c", "reply": [1]}],
        "menu": [{"name": "x"}],
    }
    diff = config_diff(before, after)
    assert diff["keyword_rules"] == {"added": ["c"], "removed": ["b"], "changed": ["a"]}
    assert diff["menu"] == {"added": ["x"], "removed": [], "changed": []}


def test_rate_limiter_counts_a_sliding_minute() -> None:
    limiter = RateLimiter(3)
    assert [limiter.allow("p", t) for t in (0, 1, 2, 3)] == [True, True, True, False]
    assert limiter.allow("other", 3)
    assert limiter.allow("p", 60.5)  # the first one left the window
