"""The parse_mode parsers and entity helpers on their own."""

from __future__ import annotations

import pytest

from channels.telegram.sandbox import BotApiError, parse_text, user_entities, utf16_len


def test_utf16_length_counts_astral_characters_twice() -> None:
    assert utf16_len("a😀é") == 4


def test_html_links_pre_language_spoilers_and_numeric_entities() -> None:
    result = parse_text(
        '<a href="https://x.org/?a=1&amp;b=2">site</a> '
        '<pre><code class="language-python">x = 1</code></pre> '
        '<span class="tg-spoiler">s</span> &#128512;&#x41;',
        "HTML",
    )
    assert result.text == "site x = 1 s 😀A"
    assert result.entities == [
        {"type": "text_link", "offset": 0, "length": 4, "url": "https://x.org/?a=1&b=2"},
        {"type": "pre", "offset": 5, "length": 5, "language": "python"},
        {"type": "spoiler", "offset": 11, "length": 1},
    ]


@pytest.mark.parametrize(
    ("source", "detail"),
    [
        ("<b>x</i>", 'expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag"),
        ("<b>x", 'start tag "b"'),
        ("<marquee>x</marquee>", 'Unsupported start tag "marquee"'),
        ("<span>x</span>", "tg-spoiler"),
    ],
)
def test_html_errors(source: str, detail: str) -> None:
    with pytest.raises(BotApiError) as error:
        parse_text(source, "html")
    assert error.value.error_code == 400
    assert error.value.description.startswith("Bad Request: can't parse entities: ")
    assert detail in error.value.description


def test_markdown_v2_nesting_links_code_and_quotes() -> None:
    result = parse_text(
        "*bold _both_* __u__ ~s~ ||sp|| [a\\]b](https://x.org/\\)) `c\\`` \\!\n>quoted\nend",
        "MarkdownV2",
    )
    assert result.text == "bold both u s sp a]b c` !\nquoted\nend"
    types = [(e["type"], e["offset"], e["length"]) for e in result.entities]
    assert types == [
        ("bold", 0, 9),
        ("italic", 5, 4),
        ("underline", 10, 1),
        ("strikethrough", 12, 1),
        ("spoiler", 14, 2),
        ("text_link", 17, 3),
        ("code", 21, 2),
        ("blockquote", 26, 6),
    ]
    assert result.entities[5]["url"] == "https://x.org/)"


@pytest.mark.parametrize(
    ("source", "detail"),
    [
        ("1+1", "Character '+' is reserved"),
        ("*open", "Can't find end of Bold entity at byte offset 0"),
        ("ok `code", "Can't find end of Code entity at byte offset 3"),
        ("[text]", "Can't find end of a URL"),
    ],
)
def test_markdown_v2_errors(source: str, detail: str) -> None:
    with pytest.raises(BotApiError) as error:
        parse_text(source, "MarkdownV2")
    assert detail in error.value.description


def test_legacy_markdown_and_unknown_modes() -> None:
    result = parse_text("*b* _i_ [t](https://x.org) 1+1=2.", "Markdown")
    assert result.text == "b i t 1+1=2."
    assert [e["type"] for e in result.entities] == ["bold", "italic", "text_link"]
    with pytest.raises(BotApiError, match="unsupported parse_mode"):
        parse_text("x", "BBCode")


def test_plain_text_has_no_entities_and_explicit_entities_are_checked() -> None:
    assert parse_text("1+1=2.", None).entities == []
    bold = [{"type": "bold", "offset": 0, "length": 1}]
    assert parse_text("ab", None, bold).entities == bold
    with pytest.raises(BotApiError, match="out of the text"):
        parse_text("ab", None, [{"type": "bold", "offset": 1, "length": 5}])


def test_user_entities_find_commands_and_mentions() -> None:
    assert user_entities("/start") == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert user_entities("mail a@b.com or @ab") == []  # not mentions: an email, too short
    assert user_entities("ping @ops_bot") == [{"type": "mention", "offset": 5, "length": 8}]
