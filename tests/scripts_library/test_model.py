"""The rules a saved script follows, and how a script becomes forwardable messages."""

from __future__ import annotations

import pytest

from handlers.messages import Clip, News, Picture, Text
from scripts_library.model import (
    Draft,
    Script,
    ScriptError,
    chat_messages,
    check_draft,
    context,
    unknown_variables,
)


def _url(sha: str) -> str:
    return f"http://bot.example/library/files/{sha}"


def test_unknown_variable_is_refused_with_its_name() -> None:
    with pytest.raises(ScriptError, match=r"customer\.phone"):
        check_draft(Draft("退款", "text", {"text": "{{ customer.phone }} 您好"}))
    with pytest.raises(ScriptError, match="未知的变量：order"):
        check_draft(Draft("退款", "text", {"text": "订单 {{ order.id }}"}))
    with pytest.raises(ScriptError, match=r"customer\.mobile"):
        check_draft(Draft("退款", "text", {"text": "{{ customer['mobile'] }}"}))
    # Loop variables are the template's own.
    assert unknown_variables("{% for t in ['a'] %}{{ t }}{% endfor %}") == []
    good = check_draft(
        Draft("问候", "text", {"text": "{{ customer.name }}您好，我是{{ staff.name }}"})
    )
    assert good.body["text"].startswith("{{ customer.name }}")


def test_syntax_error_and_unsafe_template_are_refused() -> None:
    with pytest.raises(ScriptError, match="模板写法有误"):
        check_draft(Draft("坏", "text", {"text": "{{ customer.name "}))
    with pytest.raises(ScriptError, match="模板写法有误"):
        check_draft(Draft("坏", "text", {"text": "{% set x = 1 %}{{ x }}"}))


@pytest.mark.parametrize(
    ("draft", "message"),
    [
        (Draft("", "text", {"text": "a"}), "标题"),
        (Draft("t", "poem", {"text": "a"}), "话术类型"),
        (Draft("t", "text", {}), "缺少「内容」"),
        (Draft("t", "text", {"text": "a"}, shortcode="Tk 01"), "快捷码"),
        (Draft("t", "link", {"url": "ftp://x"}), "链接"),
        (Draft("t", "image", {"image": "not a url"}), "图片"),
        (Draft("t", "miniprogram", {"appid": "wx123", "page": "p", "cover": "http://c"}), "AppID"),
        (Draft("t", "miniprogram", {"appid": "wx1234567890abcdef", "page": "p"}), "封面"),
        (Draft("t", "text", {"text": "a", "url": "http://x"}), "没有这些字段"),
        (Draft("t", "text", {"text": "a"}, tags=tuple(str(i) for i in range(11))), "标签"),
        (Draft("t", "text", {"text": "a"}, category="a/b/c/d/e"), "分类"),
        (Draft("t", "text", {"text": "a"}, shortcode="007"), "不能全是数字"),
        (Draft("t", "image", {"image": "http://127.0.0.1:8080/healthz"}), "公网"),
        (Draft("t", "image", {"image": "http://localhost/a.png"}), "公网"),
        (Draft("t", "video", {"video": "http://169.254.169.254/latest"}), "公网"),
        (Draft("t", "link", {"url": "https://x", "cover": "http://10.0.0.8/c.png"}), "公网"),
    ],
)
def test_rules(draft: Draft, message: str) -> None:
    with pytest.raises(ScriptError, match=message):
        check_draft(draft)


def test_normalised_values() -> None:
    draft = check_draft(
        Draft(" 退款 ", "链接", {"url": "https://x.example/a"}, "TK01", ("售后", "#售后", "退款"))
    )
    assert (draft.title, draft.kind, draft.shortcode) == ("退款", "link", "tk01")
    assert draft.tags == ("售后", "退款")
    assert check_draft(Draft("t", "text", {"text": "a"}, category=" 售后 / 退款 ")).category == (
        "售后/退款"
    )


def _script(kind: str, body: dict[str, str]) -> Script:
    return Script(1, "demo", "会员权益", kind, body)


def test_chat_messages_are_forwardable_per_kind() -> None:
    variables = context(None, {"name": "李雷", "userid": "lilei"})
    text = chat_messages(_script("text", {"text": "我是{{ staff.name }}{{ customer.name }}"}),
                         variables, _url)  # fmt: skip
    assert text == [Text("我是李雷")]
    sha = "a" * 64
    assert chat_messages(_script("image", {"image": f"file:{sha}"}), variables, _url) == [
        Picture(_url(sha))
    ]
    link = chat_messages(
        _script("link", {"url": "https://x.example", "description": "d", "cover": "https://c"}),
        variables,
        _url,
    )
    assert isinstance(link[0], News)
    article = link[0].articles[0]
    assert (article.title, article.url, article.picurl) == (
        "会员权益",
        "https://x.example",
        "https://c",
    )
    mini = chat_messages(
        _script(
            "miniprogram", {"appid": "wx1234567890abcdef", "page": "pages/a", "cover": "https://c"}
        ),
        variables,
        _url,
    )
    assert isinstance(mini[0], Picture) and "wx1234567890abcdef" in mini[0].caption
    video = chat_messages(_script("video", {"video": "https://v.example/a.mp4"}), variables, _url)
    assert video == [Clip("https://v.example/a.mp4", "会员权益", "")]
