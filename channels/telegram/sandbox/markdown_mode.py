"""parse_mode=MarkdownV2 and the legacy parse_mode=Markdown, with Telegram's parse errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .errors import FormattingError
from .formatting import Formatted, TextBuilder, byte_offset

RESERVED: Final = frozenset("_*[]()~`>#+-=|{}.!")
"""Characters MarkdownV2 requires to be escaped with '\\' outside entities."""

ENTITY_NAMES: Final = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}
TOGGLES: Final = (
    ("||", "spoiler"),
    ("__", "underline"),
    ("*", "bold"),
    ("_", "italic"),
    ("~", "strikethrough"),
)


@dataclass
class _Open:
    kind: str
    start: int
    index: int


class _MarkdownV2:
    """One parse of a MarkdownV2 text."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.out = TextBuilder()
        self.stack: list[_Open] = []
        self.quote_start: int | None = None
        self.quote_end = 0
        self.quote_kind = "blockquote"

    def parse(self) -> Formatted:
        source, index, line_start = self.source, 0, True
        while index < len(source):
            if line_start:
                index = self._line_start(index)
                line_start = False
                continue
            char = source[index]
            if char == "\n":
                if self.quote_start is not None:
                    self.quote_end = self.out.position
                self.out.add(char)
                index, line_start = index + 1, True
            elif char == "\\":
                index = self._escaped(index)
            elif char == "`":
                index = self._code(index)
            elif char == "[" or source.startswith("![", index):
                kind = "text_link" if char == "[" else "custom_emoji"
                self.stack.append(_Open(kind, self.out.position, index))
                index += 1 if char == "[" else 2
            elif char == "]":
                index = self._link_end(index)
            elif self._expandable_end(index):
                index += 2
            elif (toggle := self._toggle_at(index)) is not None:
                marker, kind = toggle
                self._toggle(kind, index)
                index += len(marker)
            elif char in RESERVED:
                raise FormattingError(
                    f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
                )
            else:
                self.out.add(char)
                index += 1
        if self.stack:
            first = self.stack[0]
            raise FormattingError(
                f"Can't find end of {ENTITY_NAMES[first.kind]} entity at byte offset "
                f"{byte_offset(source, first.index)}"
            )
        if self.quote_start is not None:
            self.out.entity(self.quote_kind, self.quote_start)
        return self.out.result()

    def _line_start(self, index: int) -> int:
        source = self.source
        if source.startswith("**>", index) and self.quote_start is None:
            self.quote_start, self.quote_kind = self.out.position, "expandable_blockquote"
            return index + 3
        if source.startswith(">", index):
            if self.quote_start is None:
                self.quote_start, self.quote_kind = self.out.position, "blockquote"
            return index + 1
        if self.quote_start is not None:
            self.out.entity(self.quote_kind, self.quote_start, self.quote_end)
            self.quote_start = None
        return index

    def _toggle_at(self, index: int) -> tuple[str, str] | None:
        for marker, kind in TOGGLES:
            if self.source.startswith(marker, index):
                return marker, kind
        return None

    def _expandable_end(self, index: int) -> bool:
        """Whether "||" here ends an expandable blockquote line rather than opening a spoiler."""
        return (
            self.quote_start is not None
            and self.quote_kind == "expandable_blockquote"
            and self.source.startswith("||", index)
            and self.source[index + 2 : index + 3] in ("", "\n")
            and not self._is_open("spoiler")
        )

    def _is_open(self, kind: str) -> bool:
        return any(item.kind == kind for item in self.stack)

    def _toggle(self, kind: str, index: int) -> None:
        for position in range(len(self.stack) - 1, -1, -1):
            if self.stack[position].kind == kind:
                opened = self.stack.pop(position)
                self.out.entity(kind, opened.start)
                return
        self.stack.append(_Open(kind, self.out.position, index))

    def _escaped(self, index: int) -> int:
        following = self.source[index + 1 : index + 2]
        if following and 1 <= ord(following) <= 126:
            self.out.add(following)
            return index + 2
        raise FormattingError(
            "Character '\\' is reserved and must be escaped with the preceding '\\'"
        )

    def _code(self, index: int) -> int:
        source = self.source
        pre = source.startswith("```", index)
        start = self.out.position
        position = index + (3 if pre else 1)
        language = ""
        if pre:
            first_line, newline, _ = source[position:].partition("\n")
            if newline and first_line and not any(c.isspace() for c in first_line):
                language = first_line
                position += len(first_line) + 1
        while position < len(source):
            char = source[position]
            following = source[position + 1 : position + 2]
            if char == "\\" and following and 1 <= ord(following) <= 126:
                self.out.add(source[position + 1])
                position += 2
            elif char == "`" and not pre:
                self.out.entity("code", start)
                return position + 1
            elif char == "`" and source.startswith("```", position):
                extra = {"language": language} if language else {}
                self.out.entity("pre", start, **extra)
                return position + 3
            elif char == "`":
                raise FormattingError(
                    "Character '`' is reserved and must be escaped with the preceding '\\'"
                )
            else:
                self.out.add(char)
                position += 1
        name = "Pre" if pre else "Code"
        raise FormattingError(
            f"Can't find end of {name} entity at byte offset {byte_offset(source, index)}"
        )

    def _link_end(self, index: int) -> int:
        source = self.source
        opened = next(
            (o for o in reversed(self.stack) if o.kind in ("text_link", "custom_emoji")), None
        )
        if opened is None:
            raise FormattingError(
                "Character ']' is reserved and must be escaped with the preceding '\\'"
            )
        if not source.startswith("(", index + 1):
            raise FormattingError(
                f"Can't find end of a URL at byte offset {byte_offset(source, index)}"
            )
        url: list[str] = []
        position = index + 2
        while position < len(source) and source[position] != ")":
            if source[position] == "\\" and position + 1 < len(source):
                position += 1
            url.append(source[position])
            position += 1
        if position >= len(source):
            raise FormattingError(
                f"Can't find end of a URL at byte offset {byte_offset(source, index)}"
            )
        self.stack.remove(opened)
        target = "".join(url)
        if opened.kind == "text_link":
            self.out.entity("text_link", opened.start, url=target)
        else:
            emoji_id = target.partition("id=")[2]
            self.out.entity("custom_emoji", opened.start, custom_emoji_id=emoji_id)
        return position + 1


def parse_markdown_v2(source: str) -> Formatted:
    """Plain text and entities of a MarkdownV2 text (FormattingError when malformed)."""
    return _MarkdownV2(source).parse()


LEGACY_MARKERS: Final = {"*": "bold", "_": "italic"}


def parse_markdown(source: str) -> Formatted:
    """The legacy Markdown mode: *bold*, _italic_, `code`, ```pre```, [text](url); no nesting."""
    out = TextBuilder()
    index = 0
    while index < len(source):
        char = source[index]
        if char == "\\" and source[index + 1 : index + 2] in ("_", "*", "`", "["):
            out.add(source[index + 1])
            index += 2
        elif char in LEGACY_MARKERS or char == "`":
            marker = "```" if source.startswith("```", index) else char
            end = source.find(marker, index + len(marker))
            if end < 0:
                raise FormattingError(
                    "Can't find end of the entity starting at byte offset "
                    f"{byte_offset(source, index)}"
                )
            start = out.position
            out.add(source[index + len(marker) : end])
            kind = {"```": "pre", "`": "code"}.get(marker) or LEGACY_MARKERS[marker]
            out.entity(kind, start)
            index = end + len(marker)
        elif char == "[" and (link := _legacy_link(source, index)) is not None:
            text, url, index = link
            start = out.position
            out.add(text)
            out.entity("text_link", start, url=url)
        else:
            out.add(char)
            index += 1
    return out.result()


def _legacy_link(source: str, index: int) -> tuple[str, str, int] | None:
    close = source.find("]", index + 1)
    if close < 0 or not source.startswith("(", close + 1):
        return None
    end = source.find(")", close + 2)
    if end < 0:
        return None
    return source[index + 1 : close], source[close + 2 : end], end + 1
