"""MessageEntity helpers: UTF-16 offsets and the entities Telegram finds in what users type."""

from __future__ import annotations

import re
from typing import Any, Final

Entity = dict[str, Any]

_COMMAND: Final = re.compile(r"(?<![\w/@])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w/@])")
_MENTION: Final = re.compile(r"(?<![\w/@])@[A-Za-z][A-Za-z0-9_]{3,31}(?![\w@])")


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: what entity offsets and lengths count."""
    return len(text.encode("utf-16-le")) // 2


def user_entities(text: str) -> list[Entity]:
    """The bot_command and mention entities Telegram attaches to a user's text or caption.

    A command is `/name` or `/name@bot` at a word boundary; a mention is `@username`.
    """
    spans = [("bot_command", m.start(), m.end()) for m in _COMMAND.finditer(text)]
    spans += [("mention", m.start(), m.end()) for m in _MENTION.finditer(text)]
    spans.sort(key=lambda span: span[1])
    return [
        {
            "type": kind,
            "offset": utf16_len(text[:start]),
            "length": utf16_len(text[start:end]),
        }
        for kind, start, end in spans
    ]


def entity_text(text: str, entity: Entity) -> str:
    """The slice of `text` an entity covers (offsets in UTF-16 code units)."""
    encoded = text.encode("utf-16-le")
    start = int(entity["offset"]) * 2
    end = start + int(entity["length"]) * 2
    return encoded[start:end].decode("utf-16-le")


def command_of(text: str, entities: list[Entity]) -> tuple[str, str | None] | None:
    """(command, addressed bot username or None) when the text starts with a bot_command."""
    for entity in entities:
        if entity["type"] == "bot_command" and entity["offset"] == 0:
            name, _, bot = entity_text(text, entity)[1:].partition("@")
            return name, bot or None
    return None
