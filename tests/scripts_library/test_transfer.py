"""CSV and JSON import/export: a bad row is named by its line and nothing half-imports."""

from __future__ import annotations

import json

import pytest

from scripts_library.model import Script
from scripts_library.transfer import ImportProblems, export_csv, export_json, parse


def test_csv_rows_become_checked_drafts() -> None:
    drafts = parse(
        "标题,类型,快捷码,分类,标签,内容,链接,描述\n"
        '退款流程,文本,TK01,售后/退款,"售后,退款",您好 {{ customer.name }},,\n'
        "会员权益,链接,hy,会员,,,https://x.example/vip,权益说明\n"
    )
    assert [(d.title, d.kind, d.shortcode, d.category) for d in drafts] == [
        ("退款流程", "text", "tk01", "售后/退款"),
        ("会员权益", "link", "hy", "会员"),
    ]
    assert drafts[0].tags == ("售后", "退款")
    assert drafts[1].body == {"url": "https://x.example/vip", "description": "权益说明"}


def test_bad_rows_are_reported_by_line_and_nothing_is_returned() -> None:
    text = (
        "title,kind,shortcode,text\n"  # line 1
        "好的,text,ok1,fine\n"  # line 2
        '"多行",text,ok2,"第一行\n第二行"\n'  # lines 3-4
        "坏的,text,bad,{{ customer.phone }}\n"  # line 5
        "重复,text,ok1,again\n"  # line 6
        ",text,,no title\n"  # line 7
    )
    with pytest.raises(ImportProblems) as caught:
        parse(text)
    lines = [line for line, _ in caught.value.problems]
    assert lines == [5, 6, 7]
    described = caught.value.describe()
    assert "第 5 行" in described and "customer.phone" in described
    assert "与第 2 行重复" in described


def test_unknown_column_and_missing_title_column() -> None:
    with pytest.raises(ImportProblems, match="1 problem"):
        parse("标题,价格\n a,1\n")
    with pytest.raises(ImportProblems) as caught:
        parse("类型,内容\n文本,hi\n")
    assert caught.value.problems == [(1, "缺少「标题」列。")]


def test_json_items_are_numbered() -> None:
    data = [
        {"title": "a", "kind": "text", "body": {"text": "x"}},
        {"title": "b", "kind": "video", "body": {}},
        "not an object",
    ]
    with pytest.raises(ImportProblems) as caught:
        parse(json.dumps(data))
    assert [line for line, _ in caught.value.problems] == [2, 3]
    with pytest.raises(ImportProblems, match="1 problem"):
        parse("[{]")


def test_export_then_import_gives_the_same_scripts() -> None:
    scripts = [
        Script(1, "demo", "退款流程", "text", {"text": "您好，\n退款 3 天到账"}, "tk01",
               ("售后",), category="售后/退款"),
        Script(2, "demo", "小程序商城", "miniprogram",
               {"appid": "wx1234567890abcdef", "page": "pages/index", "title": "商城",
                "cover": "https://c.example/a.png"}, "shop"),
    ]  # fmt: skip
    for exported in (export_csv(scripts), export_json(scripts)):
        again = parse(exported)
        assert [(d.title, d.kind, d.body, d.shortcode, d.tags, d.category) for d in again] == [
            (s.title, s.kind, s.body, s.shortcode, s.tags, s.category) for s in scripts
        ]
