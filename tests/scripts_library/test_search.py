"""The script library's ranked search: tiers, filters, changes, and agreement with a naive scan."""

from __future__ import annotations

import random
import unicodedata
from dataclasses import replace

import pytest

from scripts_library import search
from scripts_library.search import TIERS, Entry, Hit, SearchIndex


def _ids(hits: list[Hit]) -> list[int]:
    return [hit.id for hit in hits]


CORPUS = [
    Entry(1, "welcome", "迎新", "新客户第一次进店"),
    Entry(2, "welcome2", "迎新二", "新客户第二次进店", usage=50),
    Entry(3, "", "Welcome message", "first contact", usage=5),
    Entry(4, "", "WELCOME back", "returning customer", usage=5),
    Entry(5, "hy01", "welcome new member", "会员入会礼", usage=9),
    Entry(6, "", "新人礼", "入会送礼", tags=("Welcome",), usage=99),
    Entry(7, "", "售后", "say welcome to the customer", usage=100),
    Entry(8, "welcme", "打招呼", "您好", usage=1000),
    Entry(9, "tk01", "退款流程", "请在订单页申请退款", tags=("售后",), usage=3),
    Entry(10, "tk-kd", "快递退回", "快递签收后申请", tags=("退款",), usage=7),
    Entry(11, "fh", "发货时间", "付款后48小时内发货，退款会原路返回", usage=20),
    Entry(12, "vip", "ＶＩＰ会员权益", "会员专享", category=2),
    Entry(13, "", "积分", "Ｖｉｐ 客户双倍积分", category=2, usage=2),
    Entry(14, "tk02", "私人退款话术", "我的退款模板", owner="alice", usage=500),
]


@pytest.fixture
def index() -> SearchIndex:
    return SearchIndex(CORPUS)


def test_tiers_rank_shortcode_title_tag_content_typo(index: SearchIndex) -> None:
    hits = index.search("welcome", viewer="bob")
    # Exact shortcode, then the longer one; titles by usage, then id (3 and 4 tie on usage); the
    # tag; the content; the shortcode one typo away, despite its usage.
    assert _ids(hits) == [1, 2, 5, 3, 4, 6, 7, 8]
    assert [hit.tier for hit in hits] == [0, 0, 1, 1, 1, 2, 3, 4]
    assert [hit.why for hit in hits] == [TIERS[hit.tier] for hit in hits]
    assert TIERS == ("快捷码", "标题", "标签", "内容", "快捷码（近似）")


def test_two_character_chinese_query_and_usage_order(index: SearchIndex) -> None:
    hits = index.search("退款", viewer="bob")
    # Title (9), tag (10), contents by usage (11 before nothing else); alice's script is hers.
    assert [(hit.id, hit.why) for hit in hits] == [(9, "标题"), (10, "标签"), (11, "内容")]


def test_every_term_must_match_and_the_worst_tier_counts(index: SearchIndex) -> None:
    assert _ids(index.search("退款 订单", viewer="bob")) == [9]
    assert index.search("退款 订单", viewer="bob")[0].tier == 3  # 订单 only in the content
    assert _ids(index.search("tk 退款", viewer="bob")) == [9, 10]
    assert [h.tier for h in index.search("tk 退款", viewer="bob")] == [1, 2]
    assert index.search("退款 不存在", viewer="bob") == []
    # The ideographic space separates terms too.
    assert _ids(index.search("退款\u3000订单", viewer="bob")) == [9]


def test_nfkc_and_case_insensitive(index: SearchIndex) -> None:
    assert _ids(index.search("ＶＩＰ", viewer="bob")) == [12, 13]
    assert _ids(index.search("vip", viewer="bob")) == [12, 13]
    assert _ids(index.search("  VIP  ", viewer="bob")) == [12, 13]
    assert _ids(index.search("ＴＫ０１", viewer="bob")) == [9]


def test_empty_query_finds_nothing(index: SearchIndex) -> None:
    assert index.search("", viewer="bob") == []
    assert index.search(" \u3000 ", viewer="bob") == []


def test_personal_scripts_only_for_their_owner(index: SearchIndex) -> None:
    assert 14 not in _ids(index.search("退款", viewer="bob"))
    assert 14 not in _ids(index.search("tk02", viewer=""))
    assert _ids(index.search("退款", viewer="alice")) == [14, 9, 10, 11]


def test_category_filter(index: SearchIndex) -> None:
    assert _ids(index.search("会员", viewer="bob", category=2)) == [12]
    assert _ids(index.search("会员", viewer="bob")) == [12, 5]
    assert index.search("会员", viewer="bob", category=3) == []


def test_limit(index: SearchIndex) -> None:
    assert _ids(index.search("welcome", viewer="bob", limit=3)) == [1, 2, 5]
    assert index.search("welcome", viewer="bob", limit=0) == []


def test_typo_tolerance_on_shortcodes() -> None:
    index = SearchIndex([Entry(1, "welcome", "问候", "您好")])
    for typo in ("wlecome", "welcome", "welcom", "welcme", "welcomee", "welcoke", "WLECOME"):
        assert _ids(index.search(typo, viewer="x")) == [1], typo
    assert [h.why for h in index.search("wlecome", viewer="x")] == ["快捷码（近似）"]
    assert index.search("welcom", viewer="x")[0].why == "快捷码"  # a prefix, not a typo
    for two_typos in ("wlecme", "wecloem", "elcomex"):
        assert index.search(two_typos, viewer="x") == [], two_typos
    assert index.search("welcome" * 50, viewer="x") == []  # far longer than any shortcode
    short = SearchIndex([Entry(1, "tk", "问候", "您好"), Entry(2, "abc", "问候", "您好")])
    assert short.search("tj", viewer="x") == []  # typos count from three characters
    assert _ids(short.search("abd", viewer="x")) == [2]


def test_a_repeated_id_keeps_the_last_entry() -> None:
    index = SearchIndex([Entry(1, "old", "旧", "旧"), Entry(1, "new", "新", "新")])
    assert len(index) == 1
    assert index.search("old", viewer="x") == []
    assert index.search("旧", viewer="x") == []
    assert _ids(index.search("new", viewer="x")) == [1]


def test_put_replaces_remove_removes(index: SearchIndex) -> None:
    index.put(replace(CORPUS[8], title="换货流程", content="请在订单页申请换货"))
    assert _ids(index.search("退款", viewer="bob")) == [10, 11]
    assert _ids(index.search("换货", viewer="bob")) == [9]
    assert len(index) == len(CORPUS)
    index.put(Entry(99, "new", "新的退款说明", "内容"))
    assert _ids(index.search("退款", viewer="bob")) == [99, 10, 11]
    assert len(index) == len(CORPUS) + 1
    index.remove(10)
    index.remove(12345)  # absent: no error
    assert _ids(index.search("退款", viewer="bob")) == [99, 11]
    assert index.get(10) is None
    assert index.get(99) == Entry(99, "new", "新的退款说明", "内容")
    index.put(replace(CORPUS[10], shortcode="ship"))
    assert index.search("fh", viewer="bob") == []
    assert _ids(index.search("ship", viewer="bob")) == [11]
    index.put(replace(CORPUS[11], owner="carol"))  # owner only: still filtered right
    assert _ids(index.search("vip", viewer="bob")) == [13]
    assert _ids(index.search("vip", viewer="carol")) == [12, 13]


def test_bump_usage_reorders(index: SearchIndex) -> None:
    assert _ids(index.search("welcome", viewer="bob"))[3:5] == [3, 4]
    index.bump_usage(4)
    assert _ids(index.search("welcome", viewer="bob"))[3:5] == [4, 3]
    assert index.get(4) == replace(CORPUS[3], usage=6)
    index.bump_usage(3, by=2)
    assert _ids(index.search("welcome", viewer="bob"))[3:5] == [3, 4]
    index.bump_usage(12345)  # absent: no error
    fresh = SearchIndex(CORPUS)
    fresh.put(replace(CORPUS[3], usage=100))  # a usage saved elsewhere ranks the same
    assert _ids(fresh.search("welcome", viewer="bob", limit=3)) == [1, 2, 4]


def test_repacking_keeps_results(index: SearchIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    index.bump_usage(4, by=10)
    index.put(Entry(99, "welcome3", "新", "新"))
    index.remove(1)
    before = index.search("welcome", viewer="bob")
    monkeypatch.setattr(search, "REPACK_AFTER", 0)
    assert index.search("welcome", viewer="bob") == before  # this search repacked
    assert _ids(before) == [2, 99, 4, 5, 3, 6, 7, 8]


# -- agreement with a naive reference --------------------------------------------------------


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _distance(a: str, b: str) -> int:
    """Optimal string alignment distance (Damerau with adjacent swaps)."""
    rows = [list(range(len(b) + 1))] + [[i] + [0] * len(b) for i in range(1, len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            rows[i][j] = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                rows[i][j] = min(rows[i][j], rows[i - 2][j - 2] + 1)
    return rows[len(a)][len(b)]


def naive_search(
    entries: dict[int, Entry], query: str, *, viewer: str, limit: int, category: int | None
) -> list[Hit]:
    terms = _fold(query).split()
    if not terms:
        return []
    keys = []
    for entry in entries.values():
        if entry.owner not in ("", viewer) or category not in (None, entry.category):
            continue
        code = _fold(entry.shortcode)
        worst = 0
        for term in terms:
            if code and code.startswith(term):
                tier = 0
            elif term in _fold(entry.title):
                tier = 1
            elif any(term in _fold(tag) for tag in entry.tags):
                tier = 2
            elif term in _fold(entry.content):
                tier = 3
            elif code and len(term) >= 3 and _distance(code, term) == 1:
                tier = 4
            else:
                break
            worst = max(worst, tier)
        else:
            keys.append((worst, not (worst == 0 and code in terms), -entry.usage, entry.id))
    keys.sort()
    return [Hit(k[3], k[0], TIERS[k[0]]) for k in keys[:limit]]


# Full-width letters, characters NFKC or case folding expand (ß, ﬁ), a combining accent, and
# the index's own record separator.
CHARS = "退款发货会员ab-1 ＡＢßﬁ\u0301\x1e"
CODE_CHARS = "ab1-"


def _text(rng: random.Random, longest: int) -> str:
    return "".join(rng.choice(CHARS) for _ in range(rng.randint(0, longest)))


def _entry(rng: random.Random, script_id: int) -> Entry:
    return Entry(
        script_id,
        "".join(rng.choice(CODE_CHARS) for _ in range(rng.choice((0, 1, 2, 3, 4, 5)))),
        _text(rng, 5),
        _text(rng, 12),
        tags=tuple(_text(rng, 3) for _ in range(rng.randint(0, 2))),
        owner=rng.choice(("", "", "", "alice", "bob")),
        usage=rng.randint(0, 3),
        category=rng.choice((None, 1, 2)),
    )


def _query(rng: random.Random, entries: dict[int, Entry]) -> str:
    terms = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        if entries and rng.random() < 0.7:
            entry = rng.choice(list(entries.values()))
            source = rng.choice((entry.shortcode, entry.title, entry.content, *entry.tags))
            start = rng.randint(0, len(source))
            term = source[start : start + rng.randint(1, 4)]
            if len(term) >= 3 and rng.random() < 0.3:  # a typo
                i = rng.randrange(len(term))
                term = term[:i] + rng.choice(CODE_CHARS) + term[i + 1 :]
        else:
            term = "".join(rng.choice(CHARS + CODE_CHARS) for _ in range(rng.randint(1, 3)))
        terms.append(term.upper() if rng.random() < 0.2 else term)
    return rng.choice((" ", "\u3000", "  ")).join(terms)


@pytest.mark.parametrize("seed", range(40))
def test_agrees_with_a_naive_scan(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Random small corpora, changed as they are searched; the index answers as the naive scan."""
    rng = random.Random(seed)
    monkeypatch.setattr(search, "REPACK_AFTER", rng.choice((0, 3, 1000)))
    monkeypatch.setattr(search, "_BLOCK", rng.choice((1, 3, 64)))  # the contents' char filter
    entries = {i: _entry(rng, i) for i in range(1, rng.randint(0, 40) + 1)}
    index = SearchIndex(entries.values())
    for _ in range(60):
        change = rng.random()
        if change < 0.15:
            new = _entry(rng, rng.randint(1, 50))
            entries[new.id] = new
            index.put(new)
        elif change < 0.2 and entries:
            gone = rng.choice(list(entries))
            del entries[gone]
            index.remove(gone)
        elif change < 0.3 and entries:
            bumped = rng.choice(list(entries))
            entries[bumped] = replace(entries[bumped], usage=entries[bumped].usage + 1)
            index.bump_usage(bumped)
        query = _query(rng, entries)
        viewer = rng.choice(("alice", "bob", ""))
        limit = rng.choice((1, 3, 10, 100))
        category = rng.choice((None, None, 1, 2))
        expected = naive_search(entries, query, viewer=viewer, limit=limit, category=category)
        got = index.search(query, viewer=viewer, limit=limit, category=category)
        assert got == expected, (query, viewer, limit, category)
        assert len(index) == len(entries)


def test_a_cut_source_still_gives_true_matches_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past MAX_HITS a query is too vague to rank exactly; what it returns is still right."""
    rng = random.Random(7)
    entries = {i: _entry(rng, i) for i in range(1, 300)}
    index = SearchIndex(entries.values())
    monkeypatch.setattr(search, "MAX_HITS", 3)
    for _ in range(300):
        query = _query(rng, entries)
        everything = naive_search(entries, query, viewer="alice", limit=1000, category=None)
        tiers = {hit.id: hit for hit in everything}
        got = index.search(query, viewer="alice", limit=10)
        assert all(tiers[hit.id] == hit for hit in got), query
        ranks = [everything.index(hit) for hit in got]
        assert ranks == sorted(ranks), query
