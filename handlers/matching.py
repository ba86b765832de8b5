"""Keyword matching whose cost does not grow with the number of rules.

A rule has keywords of three kinds:

- ``exact``: the whole message equals the keyword;
- ``contains``: the keyword appears in the message;
- ``regex``: a Python regular expression that matches somewhere in the message (``re.search``).

``exact`` and ``contains`` compare normalized text: Unicode NFKC (full-width letters and digits
become half-width), case-folded, surrounding spaces removed. Regexes see the message as sent.

Cost per message: one dict lookup for ``exact``; one Aho-Corasick pass for ``contains``; for
``regex``, a second Aho-Corasick pass over the literal text each pattern requires (found by
parsing the pattern), so only the patterns whose required literal occurs are run. Patterns with no
required literal (``^\\d+$``) are run on every message; ``unfiltered_patterns`` reports how many.

Among the rules that match, the winner has the highest priority, then the strongest kind
(exact, then regex, then contains), then comes first in the configuration.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import ahocorasick

MatchKind = Literal["exact", "contains", "regex"]
MATCH_KINDS: tuple[MatchKind, ...] = ("exact", "contains", "regex")
_STRENGTH = {"exact": 2, "regex": 1, "contains": 0}
MAX_PATTERN = 512


class PatternError(ValueError):
    """A keyword cannot be used: empty text, or a regex that does not compile."""


@dataclass(frozen=True, slots=True)
class Keyword:
    kind: MatchKind
    text: str


@dataclass(frozen=True, slots=True)
class KeywordRule:
    """What the index needs of a rule: an id to return, its priority and its keywords."""

    rule_id: int
    priority: int
    keywords: tuple[Keyword, ...]


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().strip()


def compile_regex(pattern: str) -> re.Pattern[str]:
    """Compile a keyword regex; refuse one that does not compile or could backtrack
    exponentially (a repetition inside a repetition, like ``(a+)+``), since rules run on every
    customer message."""
    if not pattern or len(pattern) > MAX_PATTERN:
        raise PatternError(f"a regex keyword must be 1 to {MAX_PATTERN} characters")
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise PatternError(f"regex {pattern!r} does not compile: {exc}") from None
    if _nested_repetition(_parsed(pattern), inside=False):
        raise PatternError(
            f"regex {pattern!r} repeats a repetition (like (a+)+), which can take exponential "
            "time on some messages; write it without the nesting"
        )
    return compiled


def _parsed(pattern: str) -> list[tuple[Any, Any]]:
    from re import _parser as parser  # type: ignore[attr-defined]

    return list(parser.parse(pattern))


def _nested_repetition(items: list[tuple[Any, Any]], inside: bool) -> bool:
    """Whether a repetition sits inside another without a separator between its rounds."""
    from re import _constants as c  # type: ignore[attr-defined]

    for op, av in items:
        if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
            unbounded = av[1] > 1
            if unbounded and inside:
                return True
            body = list(av[2])
            if unbounded and _separated(body):
                continue  # like (?:,\d+)*: each round starts at a "," the inner part never eats
            if _nested_repetition(body, inside or unbounded):
                return True
            continue
        if op is c.SUBPATTERN:
            groups = [list(av[-1])]
        elif op is c.ATOMIC_GROUP:
            groups = [list(av)]
        elif op is c.BRANCH:
            groups = [list(branch) for branch in av[1]]
        else:
            continue
        if any(_nested_repetition(group, inside) for group in groups):
            return True
    return False


# (priority, strength of the keyword kind, minus the rule's position, rule id): bigger wins.
Rank = tuple[int, int, int, int]


class KeywordIndex:
    """Finds the best rule for a message; built once per configuration revision."""

    def __init__(self, rules: Sequence[KeywordRule]) -> None:
        self._exact: dict[str, Rank] = {}
        self._unfiltered: list[tuple[re.Pattern[str], Rank]] = []
        contains: dict[str, Rank] = {}
        by_literal: dict[str, list[tuple[re.Pattern[str], Rank]]] = {}
        for order, rule in enumerate(rules):
            for kw in rule.keywords:
                rank = (rule.priority, _STRENGTH[kw.kind], -order, rule.rule_id)
                if kw.kind == "regex":
                    target = (compile_regex(kw.text), rank)
                    literal = required_literal(kw.text)
                    if literal:
                        by_literal.setdefault(literal, []).append(target)
                    else:
                        self._unfiltered.append(target)
                    continue
                key = normalize(kw.text)
                if not key:
                    raise PatternError(f"a {kw.kind} keyword must not be blank")
                table = self._exact if kw.kind == "exact" else contains
                if key not in table or rank > table[key]:
                    table[key] = rank
        self._contains = _automaton(contains)
        self._literals = _automaton(by_literal)

    @property
    def unfiltered_patterns(self) -> int:
        return len(self._unfiltered)

    def match(self, text: str) -> int | None:
        """The id of the best rule for ``text``, or None."""
        norm = normalize(text)
        best = self._exact.get(norm)
        if self._contains is not None and norm:
            for _end, rank in self._contains.iter(norm):
                if best is None or rank > best:
                    best = rank
        candidates: Iterable[tuple[re.Pattern[str], Rank]] = self._unfiltered
        if self._literals is not None:
            found = [group for _end, group in self._literals.iter(text.casefold())]
            if found:
                candidates = [*self._unfiltered, *(t for group in found for t in group)]
        for pattern, rank in candidates:
            if (best is None or rank > best) and pattern.search(text):
                best = rank
        return None if best is None else best[3]


def _automaton(table: dict[str, Any]) -> Any:
    if not table:
        return None
    automaton = ahocorasick.Automaton()
    for key, value in table.items():
        automaton.add_word(key, value)
    automaton.make_automaton()
    return automaton


def _separated(body: list[tuple[Any, Any]]) -> bool:
    """A required literal in ``body`` that none of the repetitions in ``body`` can match."""
    from re import _constants as c  # type: ignore[attr-defined]

    repeats = [av[2] for op, av in body if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT)]
    for op, av in body:
        if op is c.LITERAL:
            ch = chr(av)
            if not any(_can_match(list(inner), ch) for inner in repeats):
                return True
    return False


def _can_match(items: list[tuple[Any, Any]], ch: str) -> bool:
    """Whether the first element of ``items`` could match ``ch`` (True when unsure)."""
    from re import _constants as c  # type: ignore[attr-defined]

    if not items:
        return False
    op, av = items[0]
    if op is c.LITERAL:
        return chr(av) == ch
    if op is c.NOT_LITERAL:
        return chr(av) != ch
    if op is c.ANY:
        return ch != "\n"
    if op is c.CATEGORY:
        return _in_category(av, ch)
    if op is c.IN:
        negate = bool(av) and av[0][0] is c.NEGATE
        members = av[1:] if negate else av
        found = False
        for member_op, member in members:
            if member_op is c.LITERAL:
                found = found or chr(member) == ch
            elif member_op is c.RANGE:
                found = found or member[0] <= ord(ch) <= member[1]
            elif member_op is c.CATEGORY:
                found = found or _in_category(member, ch)
            else:
                return True
        return found != negate
    return True


def _in_category(category: Any, ch: str) -> bool:
    from re import _constants as c  # type: ignore[attr-defined]

    classes = {
        c.CATEGORY_DIGIT: r"\d",
        c.CATEGORY_NOT_DIGIT: r"\D",
        c.CATEGORY_SPACE: r"\s",
        c.CATEGORY_NOT_SPACE: r"\S",
        c.CATEGORY_WORD: r"\w",
        c.CATEGORY_NOT_WORD: r"\W",
    }
    escape = classes.get(category)
    return True if escape is None else re.fullmatch(escape, ch) is not None


def required_literal(pattern: str) -> str:
    """The longest text every match of ``pattern`` must contain, case-folded; '' if none is known.

    Used only as a prefilter: a message that lacks the literal cannot match, so the pattern is
    skipped. For case-insensitive patterns only characters without case variants are kept.
    """
    try:
        from re import _parser as parser  # type: ignore[attr-defined]

        parsed = parser.parse(pattern)
    except Exception:  # an unusual pattern just runs on every message
        return ""
    ignore_case = bool(parsed.state.flags & re.IGNORECASE)
    best = max(_literal_runs(list(parsed), ignore_case), key=len, default="")
    return best.casefold()


def _literal_runs(items: list[tuple[Any, Any]], ignore_case: bool) -> list[str]:
    """Runs of literal characters that every match of this sequence contains."""
    from re import _constants as c  # type: ignore[attr-defined]

    runs: list[str] = []
    current: list[str] = []

    def close() -> None:
        if current:
            runs.append("".join(current))
            current.clear()

    for op, av in items:
        if op is c.LITERAL:
            ch = chr(av)
            if ignore_case and ch.lower() != ch.upper():
                close()
            else:
                current.append(ch)
            continue
        close()
        if op is c.SUBPATTERN:
            sub_flags = av[1]
            runs.extend(_literal_runs(list(av[-1]), ignore_case or bool(sub_flags & re.I)))
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT) and av[0] >= 1:
            runs.extend(_literal_runs(list(av[2]), ignore_case))
        elif op is c.ATOMIC_GROUP:
            runs.extend(_literal_runs(list(av), ignore_case))
    close()
    return runs
