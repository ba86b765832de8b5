"""parse_mode=HTML: the tags and entities Telegram supports, and its parse errors."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Final

from .errors import FormattingError
from .formatting import Formatted, TextBuilder, byte_offset

SIMPLE_TAGS: Final = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}
OTHER_TAGS: Final = frozenset({"a", "span", "blockquote", "tg-emoji"})
NAMED_ENTITIES: Final = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
"""Telegram decodes these four named entities and every numeric one; others stay as typed."""

_END_TAG: Final = re.compile(r"</([A-Za-z][A-Za-z0-9-]*)\s*>")
_ATTRIBUTES: Final = r"""(?:\s+[A-Za-z][A-Za-z0-9-]*(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+))?)*"""
_START_TAG: Final = re.compile(r"<([A-Za-z][A-Za-z0-9-]*)(" + _ATTRIBUTES + r")\s*>")
_ATTRIBUTE: Final = re.compile(
    r"""([A-Za-z][A-Za-z0-9-]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|(\S+)))?"""
)
_ENTITY: Final = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z]+);")


@dataclass
class _OpenTag:
    name: str
    start: int
    attributes: dict[str, str] = field(default_factory=dict)
    language: str | None = None


def parse_html(source: str) -> Formatted:
    """Plain text and entities of an HTML-formatted text (FormattingError when malformed)."""
    out = TextBuilder()
    stack: list[_OpenTag] = []
    index = 0
    while index < len(source):
        char = source[index]
        if char == "&":
            index = _entity(source, index, out)
        elif char != "<":
            next_special = _next_special(source, index)
            out.add(source[index:next_special])
            index = next_special
        elif (end := _END_TAG.match(source, index)) is not None:
            _close(source, index, end.group(1).lower(), stack, out)
            index = end.end()
        elif (start := _START_TAG.match(source, index)) is not None:
            name = start.group(1).lower()
            tag = _OpenTag(name, out.position, _attributes(start.group(2)))
            _check_start(source, index, tag, stack)
            stack.append(tag)
            index = start.end()
        else:
            word = re.match(r"</?([^\s>]*)", source[index:])
            name = word.group(1) if word else ""
            raise FormattingError(
                f'Unsupported start tag "{name}" at byte offset {byte_offset(source, index)}'
            )
    if stack:
        raise FormattingError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    return out.result()


def _next_special(source: str, index: int) -> int:
    found = [pos for pos in (source.find("<", index), source.find("&", index)) if pos >= 0]
    return min(found) if found else len(source)


def _entity(source: str, index: int, out: TextBuilder) -> int:
    match = _ENTITY.match(source, index)
    if match is None:
        out.add("&")
        return index + 1
    name = match.group(1)
    if name.startswith("#"):
        number = int(name[2:], 16) if name[1:2] in ("x", "X") else int(name[1:])
        if 0 < number < 0x110000 and not 0xD800 <= number <= 0xDFFF:
            out.add(chr(number))
            return match.end()
    elif name in NAMED_ENTITIES:
        out.add(NAMED_ENTITIES[name])
        return match.end()
    out.add(match.group(0))
    return match.end()


def _attributes(raw: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for match in _ATTRIBUTE.finditer(raw):
        value = next((v for v in match.group(2, 3, 4) if v is not None), "")
        values[match.group(1).lower()] = html.unescape(value)
    return values


def _check_start(source: str, index: int, tag: _OpenTag, stack: list[_OpenTag]) -> None:
    if tag.name not in SIMPLE_TAGS and tag.name not in OTHER_TAGS:
        raise FormattingError(
            f'Unsupported start tag "{tag.name}" at byte offset {byte_offset(source, index)}'
        )
    if tag.name == "span" and tag.attributes.get("class") != "tg-spoiler":
        raise FormattingError('Tag "span" must have class "tg-spoiler"')
    if tag.name == "tg-emoji" and not tag.attributes.get("emoji-id"):
        raise FormattingError('Tag "tg-emoji" must have attribute "emoji-id"')
    if tag.name == "code" and stack and stack[-1].name == "pre":
        language = tag.attributes.get("class", "")
        if language.startswith("language-") and len(language) > len("language-"):
            stack[-1].language = language[len("language-") :]


def _close(source: str, index: int, name: str, stack: list[_OpenTag], out: TextBuilder) -> None:
    where = byte_offset(source, index)
    if not stack:
        raise FormattingError(f"Unexpected end tag at byte offset {where}")
    tag = stack.pop()
    if tag.name != name:
        raise FormattingError(
            f'Unmatched end tag at byte offset {where}, expected "</{tag.name}>", found "</{name}>"'
        )
    if tag.name == "code" and stack and stack[-1].name == "pre":
        return  # <pre><code class="language-x"> is one pre entity with a language
    if tag.name in SIMPLE_TAGS:
        extra = {"language": tag.language} if tag.name == "pre" and tag.language else {}
        out.entity(SIMPLE_TAGS[tag.name], tag.start, **extra)
    elif tag.name == "span":
        out.entity("spoiler", tag.start)
    elif tag.name == "a" and tag.attributes.get("href"):
        out.entity("text_link", tag.start, url=tag.attributes["href"])
    elif tag.name == "blockquote":
        kind = "expandable_blockquote" if "expandable" in tag.attributes else "blockquote"
        out.entity(kind, tag.start)
    elif tag.name == "tg-emoji":
        out.entity("custom_emoji", tag.start, custom_emoji_id=tag.attributes["emoji-id"])
