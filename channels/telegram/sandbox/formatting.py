"""Building blocks of the parse_mode parsers: the formatted result and a text builder."""

from __future__ import annotations

from dataclasses import dataclass, field

from .entities import Entity, utf16_len


@dataclass(frozen=True)
class Formatted:
    """A text as the recipient sees it: plain characters plus formatting entities."""

    text: str
    entities: list[Entity] = field(default_factory=list)


class TextBuilder:
    """Collects plain text and entities while a parser walks the markup."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._units = 0
        self.entities: list[Entity] = []

    @property
    def position(self) -> int:
        """Current length in UTF-16 code units."""
        return self._units

    def add(self, text: str) -> None:
        """Append plain text."""
        self._parts.append(text)
        self._units += utf16_len(text)

    def entity(self, kind: str, start: int, end: int | None = None, /, **extra: str) -> None:
        """Record an entity from `start` to `end` (default: here); empty ones are dropped."""
        stop = self._units if end is None else end
        if stop > start:
            self.entities.append({"type": kind, "offset": start, "length": stop - start, **extra})

    def result(self) -> Formatted:
        """The text and its entities ordered by offset (outer entities first)."""
        ordered = sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))
        return Formatted("".join(self._parts), ordered)


def byte_offset(source: str, index: int) -> int:
    """UTF-8 byte offset of `source[index]`, as Telegram reports parse errors."""
    return len(source[:index].encode("utf-8"))
