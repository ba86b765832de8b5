"""parse_mode handling: turn HTML / MarkdownV2 / Markdown markup into text plus entities."""

from __future__ import annotations

from typing import Any, Final

from .entities import Entity, utf16_len
from .errors import FormattingError, bad_request
from .formatting import Formatted
from .html_mode import parse_html
from .markdown_mode import parse_markdown, parse_markdown_v2

ENTITY_TYPES: Final = frozenset(
    {
        "mention",
        "hashtag",
        "cashtag",
        "bot_command",
        "url",
        "email",
        "phone_number",
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "blockquote",
        "expandable_blockquote",
        "code",
        "pre",
        "text_link",
        "text_mention",
        "custom_emoji",
    }
)


PARSERS: Final = {"html": parse_html, "markdownv2": parse_markdown_v2, "markdown": parse_markdown}


def parse_text(text: str, parse_mode: str | None, entities: Any = None) -> Formatted:
    """Apply `parse_mode` (or explicit `entities`, which take precedence) to `text`.

    Raises a 400 BotApiError "Bad Request: can't parse entities: ..." on bad markup.
    """
    if entities is not None:
        return Formatted(text, _checked_entities(text, entities))
    if not parse_mode:
        return Formatted(text)
    parser = PARSERS.get(parse_mode.lower())
    if parser is None:
        raise bad_request(f"unsupported parse_mode {parse_mode!r}")
    try:
        return parser(text)
    except FormattingError as exc:
        raise bad_request(f"can't parse entities: {exc}") from None


def _checked_entities(text: str, entities: Any) -> list[Entity]:
    if not isinstance(entities, list):
        raise bad_request("can't parse entities JSON object")
    size = utf16_len(text)
    checked: list[Entity] = []
    for entity in entities:
        if not isinstance(entity, dict) or entity.get("type") not in ENTITY_TYPES:
            raise bad_request("can't parse entities JSON object")
        offset, length = entity.get("offset"), entity.get("length")
        if not isinstance(offset, int) or not isinstance(length, int):
            raise bad_request("can't parse entities JSON object")
        if offset < 0 or length < 1 or offset + length > size:
            raise bad_request("entity beginning or end is out of the text")
        checked.append(dict(entity))
    return sorted(checked, key=lambda e: (e["offset"], -e["length"]))
