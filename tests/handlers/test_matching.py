"""Keyword matching: kinds, priority, normalization, and the regex prefilter."""

from __future__ import annotations

import pytest

from handlers.matching import Keyword, KeywordIndex, KeywordRule, PatternError, required_literal


def rule(rule_id: int, *keywords: tuple[str, str], priority: int = 0) -> KeywordRule:
    return KeywordRule(rule_id, priority, tuple(Keyword(k, t) for k, t in keywords))  # type: ignore[arg-type]


def test_exact_matches_only_the_whole_message() -> None:
    index = KeywordIndex([rule(1, ("exact", "价格"))])
    assert index.match("价格") == 1
    assert index.match(" 价格 ") == 1
    assert index.match("价格表") is None


def test_contains_matches_anywhere() -> None:
    index = KeywordIndex([rule(1, ("contains", "多少钱"))])
    assert index.match("这个多少钱啊") == 1
    assert index.match("多少") is None


def test_regex_searches_the_message_as_sent() -> None:
    index = KeywordIndex([rule(1, ("regex", r"^订单\s*\d{6,}$"))])
    assert index.match("订单 123456") == 1
    assert index.match("订单 12345") is None
    assert index.match("我的订单 123456") is None


def test_full_width_and_case_are_normalized_for_exact_and_contains() -> None:
    index = KeywordIndex([rule(1, ("exact", "VIP")), rule(2, ("contains", "wifi"))])
    assert index.match("ｖｉｐ") == 1
    assert index.match("店里的ＷＩＦＩ密码") == 2


def test_higher_priority_wins_over_an_earlier_rule() -> None:
    index = KeywordIndex([rule(1, ("contains", "价")), rule(2, ("contains", "价格"), priority=5)])
    assert index.match("价格多少") == 2


def test_at_equal_priority_exact_beats_regex_beats_contains() -> None:
    index = KeywordIndex(
        [
            rule(1, ("contains", "价格")),
            rule(2, ("regex", "价格$")),
            rule(3, ("exact", "价格")),
        ]
    )
    assert index.match("价格") == 3
    assert index.match("问价格") == 2
    assert index.match("价格表") == 1


def test_at_equal_priority_and_kind_the_first_rule_wins() -> None:
    index = KeywordIndex([rule(7, ("contains", "优惠")), rule(3, ("contains", "优惠券"))])
    assert index.match("有优惠券吗") == 7


def test_a_lower_priority_regex_is_not_preferred() -> None:
    index = KeywordIndex([rule(1, ("contains", "a"), priority=3), rule(2, ("regex", "a+"))])
    assert index.match("aaa") == 1


def test_regex_without_a_required_literal_still_runs() -> None:
    index = KeywordIndex([rule(1, ("regex", r"^\d{4}$"))])
    assert index.unfiltered_patterns == 1
    assert index.match("2026") == 1
    assert index.match("20260") is None


def test_case_insensitive_regex_is_found_through_the_prefilter() -> None:
    index = KeywordIndex([rule(1, ("regex", "(?i)hello"))])
    assert index.unfiltered_patterns == 1  # only cased letters: nothing safe to prefilter on
    assert index.match("say HeLLo") == 1
    index = KeywordIndex([rule(1, ("regex", "(?i)vip会员"))])
    assert index.unfiltered_patterns == 0
    assert index.match("VIP会员") == 1


@pytest.mark.parametrize(
    ("pattern", "literal"),
    [
        (r"订单(\d+)", "订单"),
        (r"^\d{6}$", ""),
        (r"abc|def", ""),
        (r"hello+ world", " world"),
        (r"(?:价格){2}", "价格"),
        (r"x*yz", "yz"),
        (r"ABC", "abc"),
        (r"a?bcd", "bcd"),
    ],
)
def test_required_literal(pattern: str, literal: str) -> None:
    assert required_literal(pattern) == literal


def test_prefilter_never_hides_a_match() -> None:
    patterns = [r"订单(\d+)", r"hello+ world", r"x*yz", r"(?:价格){2}", r"a?bcd", r"ABC"]
    texts = ["订单42", "hellooo world", "yz", "xxyz", "价格价格", "bcd", "abcd", "ABC", "abc"]
    index = KeywordIndex([rule(i, ("regex", p)) for i, p in enumerate(patterns)])
    import re

    for text in texts:
        expected = next((i for i, p in enumerate(patterns) if re.search(p, text)), None)
        assert index.match(text) == expected, text


def test_a_broken_regex_is_refused() -> None:
    with pytest.raises(PatternError, match="does not compile"):
        KeywordIndex([rule(1, ("regex", "(unclosed"))])


def test_the_right_rule_is_found_among_ten_thousand() -> None:
    rules = [rule(i, ("contains", f"关键词{i}号")) for i in range(10_000)]
    rules.append(rule(99_999, ("regex", r"订单(\d+)号")))
    index = KeywordIndex(rules)
    assert index.match("我想问关键词9876号的事") == 9876
    assert index.match("订单12号") == 99_999
    assert index.unfiltered_patterns == 0


@pytest.mark.parametrize(
    "pattern", [r"(a+)+$", r"(\w+\s?)*$", r"(?:x*)*y", r"(a|(b+))*", r"(?:.+,)+"]
)
def test_regexes_that_can_backtrack_exponentially_are_refused(pattern: str) -> None:
    with pytest.raises(PatternError, match="repeats a repetition"):
        KeywordIndex([rule(1, ("regex", pattern))])


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        (r"\d+(?:,\d+)*", "1,2,3"),
        (r"(?:[a-z]+-)+x", "ab-cd-x"),
        (r"(foo|bar)+", "foobar"),
        (r"^订单\s*\d{6,}$", "订单 123456"),
        (r"(ab){3}c+", "abababcc"),
    ],
)
def test_repetitions_with_a_separator_are_accepted(pattern: str, text: str) -> None:
    assert KeywordIndex([rule(1, ("regex", pattern))]).match(text) == 1
