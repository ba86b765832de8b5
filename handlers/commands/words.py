"""Reading what a person typed: normalizing and splitting it into words.

People type commands on phones with Chinese input methods, so the command words and names are
read with full-width forms folded (``ｒｕｌｅ`` is ``rule``, the ideographic space is a space,
``：`` is ``:``), and quotes of every usual kind group words: ``"..."``, ``“...”``, ``「...」``,
``『...』``, ``'...'``, ``‘...’``. The rest of a line (a reply text, for example) keeps exactly
what was typed, apart from the quotes around it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’", "「": "」", "『": "』", "＂": "＂"}
_SPACES = frozenset(" \t\n\r\u3000\u00a0")


class ParseError(ValueError):
    """The text cannot be split into words (an unclosed quote)."""


@dataclass(frozen=True, slots=True)
class Word:
    text: str  # as typed, without its quotes
    start: int  # where the word (or its opening quote) begins in the line
    quoted: bool

    @property
    def folded(self) -> str:
        """The word as a command word or name: full-width forms folded, lower case."""
        return fold(self.text)


def fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().strip()


def split_words(line: str) -> list[Word]:
    words: list[Word] = []
    i, n = 0, len(line)
    while i < n:
        if line[i] in _SPACES:
            i += 1
            continue
        start = i
        close = _QUOTES.get(line[i])
        if close is not None:
            end = line.find(close, i + 1)
            if end < 0:
                raise ParseError(f"引号没有配对：从「{line[i : i + 12]}」开始的引号没有结束")
            words.append(Word(line[i + 1 : end], start, True))
            i = end + 1
            continue
        while i < n and line[i] not in _SPACES:
            i += 1
        words.append(Word(line[start:i], start, False))
    return words


def rest_of_line(line: str, words: list[Word], index: int) -> str:
    """The text from word ``index`` to the end as typed (one quoted word: its inside)."""
    if index >= len(words):
        return ""
    if index == len(words) - 1 and words[index].quoted:
        return words[index].text
    return line[words[index].start :].strip()
