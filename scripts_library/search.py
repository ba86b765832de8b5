"""Ranked search over the enterprise script library (企业话术库), in process.

Staff type a few words (Chinese without spaces, English, or a shortcode) and get the best scripts.
The database holds the scripts; the server loads them into a :class:`SearchIndex` and keeps it
up to date with :meth:`SearchIndex.put`, :meth:`SearchIndex.remove` and
:meth:`SearchIndex.bump_usage`.

Why not the database's own text search: done here, the ranking is the same on SQLite and
PostgreSQL. SQLite FTS5's trigram tokenizer cannot use its index for queries shorter than three
characters, and most Chinese words are two. Checked with the stdlib ``sqlite3`` (SQLite 3.40.1,
FTS5 with ``tokenize='trigram'`` available): ``MATCH '退款流'`` finds "申请退款流程说明", but
``MATCH '退款'`` returns no rows, and on that version ``LIKE '%退款%'`` on the FTS5 table returned
no rows either (an ASCII ``'%ab%'`` did work); only a scan such as ``instr()`` finds the two
characters. pg_trgm ignores CJK characters unless the database locale classes them as
alphanumeric. Both would fall back to scans and rank differently, and neither gives shortcode
prefixes or typo tolerance directly.

Matching: the query and every field are compared after Unicode NFKC (full-width letters become
half-width) and case folding. The query is split on whitespace (the ideographic space too) into
terms; a script matches when every term matches it somewhere. For one term the tiers are, best
first (:data:`TIERS`):

0. the shortcode starts with the term (an exact shortcode sorts before the longer ones);
1. the title contains the term;
2. a tag contains (or equals) the term;
3. the content contains the term;
4. the shortcode is one typo away from the term (Damerau: one insertion, deletion, substitution
   or swap of neighbours), for terms of three or more characters.

A script's tier is the worst of its terms' best tiers. Within a tier: usage descending, then id.
Personal scripts (``owner`` set) are only found by their owner.

How it is fast. Each field of every script (shortcode, title, tags, content) is packed into one
big string, records separated by a separator character, with an array of where each record
starts: ``str.find`` scans in C and ``bisect`` maps a hit to its record. Records are packed in
rank order (usage descending, then id), so the hits of one field come out best first. The search
takes one "driver" term (the one with the fewest hits among the most used scripts), walks its
sources in tier order (shortcode prefixes: a find for separator + term; titles; tags; contents;
typo variants) and checks the other terms on each candidate only. It stops as soon as ``limit``
results are certain to outrank everything not yet seen: the rest of the current source ranks lower
(this tier at best, less used), later sources give worse tiers. So a common word costs a few
finds, and only a rare one scans a whole field. For the contents (most of the text) two things
make that scan cheaper: an all-ASCII term (a shortcode, an English word) searches an ASCII-only
projection, a few times shorter than Chinese text; any other term only searches the blocks of 64
records that contain all its characters (a bitmap of blocks per character). The worst case is
a term that occurs nowhere and whose characters are all common: the whole contents are scanned,
about 10 ms for 100,000 scripts of 130 characters on a 2-core test machine.

A source that yields more than :data:`MAX_HITS` candidates without meeting that condition (a very
vague query, or a filter that rejects most hits) is cut there: only then can the results differ
from the exact ranking, by missing less used scripts. They are still true matches, in order.

Changes do not repack at once. A changed, added or re-ranked (``bump_usage``) script is "loose":
its folded text waits in a dict that every search checks directly, and its packed copy is marked
dead (so are a removed script's). Once more than :data:`REPACK_AFTER` scripts are loose, or
packed copies dead, the next search repacks first: about a second for 100,000 scripts
(``python -m bench.search`` measures the first build, which takes about as long).

Memory: the folded text once more (two bytes a character for Chinese), the ASCII projection, the
block bitmaps, and a dict of positions: about 55 MB for 100,000 scripts of 130 characters.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import TypeVar

TIERS: tuple[str, ...] = ("快捷码", "标题", "标签", "内容", "快捷码（近似）")
"""Rank tiers, best first; ``Hit.tier`` indexes this tuple and ``Hit.why`` is the label."""

MAX_HITS = 2000
"""Candidates taken from one source (one tier, for one term) before the query counts as vague."""

REPACK_AFTER = 1000
"""Loose scripts, or dead packed copies, tolerated before the next search repacks the text."""

_BLOCK = 64  # records per block of the contents' character filter
_SAMPLE = 500  # best ranked records in which _driver counts the terms' hits
_TYPO_MIN = 3  # shortest term that may match a shortcode by a typo
_K = TypeVar("_K")
_CODE, _TITLE, _TAGS, _CONTENT = range(4)  # the fields of a _Text, in tier order
_FIELDS = 4

# Record and tag separators in the packed strings. Both are whitespace to ``str.split``, so no
# query term contains them and no hit spans two records or two tags.
_RS = "\x1e"
_US = "\x1f"
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
# Full-width ASCII and the ideographic space, and what NFKC makes of them.
_FULL_WIDTH = re.compile("[\u3000\uff01-\uff5e]+")
_HALF_WIDTH = str.maketrans(
    {chr(c): unicodedata.normalize("NFKC", chr(c)) for c in (0x3000, *range(0xFF01, 0xFF5F))}
)


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    shortcode: str  # lower-case [a-z0-9_-], "" when none
    title: str
    content: str  # the searchable text (template source, link description, ...)
    tags: tuple[str, ...] = ()
    owner: str = ""  # "" = shared with everyone; else the one person key who may see it
    usage: int = 0
    category: int | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    id: int
    tier: int  # index into TIERS
    why: str  # TIERS[tier]


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _fold_field(text: str) -> str:
    folded = _fold(text)
    # The record separator inside a text becomes a space: a term, which has no whitespace,
    # matches either the same.
    return folded.replace(_RS, " ") if _RS in folded else folded


def _fold_records(parts: list[str]) -> str:
    """The packed text of ``parts`` folded: the same as folding each part, in bulk.

    NFKC never composes across the separator (a control character) and case folding works
    character by character, so the whole can be folded at once. NFKC's full algorithm costs
    about 100 ns a character and uses several times the text's size in buffers, but is skipped
    when a quick check finds the text normalized. Chinese text usually is, but for its
    full-width punctuation: that is mapped first to what NFKC makes of it, and whatever is left
    is normalized record by record.
    """
    text = _RS + _RS.join(parts) + _RS if parts else _RS
    if text.count(_RS) != len(parts) + 1:  # the separator in a part: fold one by one
        return _RS + "".join(_fold_field(part) + _RS for part in parts)
    text = _FULL_WIDTH.sub(lambda m: m.group().translate(_HALF_WIDTH), text)
    if not unicodedata.is_normalized("NFKC", text):
        text = _RS.join(unicodedata.normalize("NFKC", part) for part in text.split(_RS))
    return text.casefold()


# The folded searchable fields of one script: shortcode, title, tags joined by _US, content.
_Text = tuple[str, str, str, str]


def _raw_fields(entry: Entry) -> _Text:
    return entry.shortcode, entry.title, _US.join(entry.tags), entry.content


def _fold_text(entry: Entry) -> _Text:
    tags = _US.join(_fold_field(tag) for tag in entry.tags)
    return _fold_field(entry.shortcode), _fold_field(entry.title), tags, _fold_field(entry.content)


class _Packed:
    """One field of every packed record: one string, and where each record starts.

    The string is ``_RS + record 0 + _RS + record 1 + ... + _RS`` (no record contains ``_RS``):
    record ``p`` is ``text[starts[p] : starts[p + 1] - 1]`` and every record follows a separator.
    """

    __slots__ = ("starts", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = array("q", (m.end() for m in re.finditer(_RS, text)))

    @classmethod
    def of(cls, parts: list[str], *, fold: bool = False) -> _Packed:
        if fold:
            return cls(_fold_records(parts))
        return cls(_RS + _RS.join(parts) + _RS if parts else _RS)

    def __len__(self) -> int:
        return len(self.starts) - 1

    def field(self, p: int) -> str:
        return self.text[self.starts[p] : self.starts[p + 1] - 1]

    def ascii_projection(self) -> _Packed:
        """The same records with every run of non-ASCII characters replaced by ``_US``.

        An all-ASCII term occurs in a record exactly when it occurs in its projection, which is
        far shorter for Chinese text and one byte per character: much faster to scan.
        """
        return _Packed(_NON_ASCII.sub(_US, self.text))

    def ids(
        self,
        term: str,
        prefix: bool,
        live: bytearray,
        order: array[int],
        spans: list[tuple[int, int]] | None = None,
    ) -> Iterator[int]:
        """The live records containing (or, if ``prefix``, starting with) ``term``, in order.

        ``spans``: only look in these ranges of positions (sorted, apart), not in all records.
        """
        text, starts = self.text, self.starts
        back = 1 if prefix else 0  # a prefix is found with the separator before the record
        needle = _RS + term if prefix else term
        for first, stop in [(0, len(self))] if spans is None else spans:
            end = starts[stop]
            at = text.find(needle, starts[first] - back, end)
            while at >= 0:
                p = bisect_right(starts, at + back) - 1
                if live[p]:
                    yield order[p]
                at = text.find(needle, starts[p + 1] - back, end)

    def nbytes(self) -> int:
        return sys.getsizeof(self.text) + sys.getsizeof(self.starts)


class _Blocks:
    """Which blocks of ``_BLOCK`` consecutive packed records contain each character.

    A term can only occur in the blocks that have all its characters, so the scan for a rare
    term skips the others. For a common term every block qualifies: a few bit operations lost.
    """

    __slots__ = ("count", "masks", "records")

    def __init__(self, packed: _Packed) -> None:
        text, starts, self.records = packed.text, packed.starts, len(packed)
        self.count = -(-self.records // _BLOCK)
        bits: dict[str, bytearray] = {}  # character -> bit b set if block b has it
        size = -(-self.count // 8)
        for block in range(self.count):
            first = block * _BLOCK
            byte, bit = block >> 3, 1 << (block & 7)
            for char in set(text[starts[first] : starts[min(first + _BLOCK, self.records)]]):
                flags = bits.get(char)
                if flags is None:
                    flags = bits[char] = bytearray(size)
                flags[byte] |= bit
        self.masks = {char: int.from_bytes(flags, "little") for char, flags in bits.items()}

    def spans(self, term: str) -> list[tuple[int, int]] | None:
        """Ranges of positions whose records may contain ``term``; None when all may."""
        every = (1 << self.count) - 1
        mask = every
        for char in set(term):
            mask &= self.masks.get(char, 0)
        if mask == every:
            return None
        bits = format(mask, "b")[::-1]  # character i is block i
        return [
            (run.start() * _BLOCK, min(run.end() * _BLOCK, self.records))
            for run in re.finditer("1+", bits)
        ]

    def nbytes(self) -> int:
        size = sys.getsizeof(self.masks)
        return size + sum(sys.getsizeof(c) + sys.getsizeof(m) for c, m in self.masks.items())


def _count(counts: dict[_K, int], key: _K, by: int) -> None:
    """Add ``by`` to a count, dropping it at zero (so the keys are the things counted)."""
    left = counts.get(key, 0) + by
    if left:
        counts[key] = left
    else:
        del counts[key]


class SearchIndex:
    """The scripts searchable by :meth:`search`; not thread-safe (use it from one event loop)."""

    def __init__(self, entries: Iterable[Entry] = ()) -> None:
        self._entries: dict[int, Entry] = {}
        # Shortcodes (folded) -> scripts, for exact codes and typo variants; the characters and
        # the lengths of the shortcodes, with counts: the variants' alphabet and longest length.
        self._codes: dict[str, list[int]] = {}
        self._code_chars: dict[str, int] = {}
        self._code_lengths: dict[int, int] = {}
        # The packed fields, in rank order: position -> id, id -> position, whether each
        # position is current (0 once its script is loose or removed), and how many are not.
        self._packed: tuple[_Packed, ...] = ()
        self._content_ascii = _Packed.of([])
        self._content_blocks = _Blocks(self._content_ascii)
        self._order: array[int] = array("q")
        self._pos: dict[int, int] = {}
        self._live = bytearray()
        self._dead = 0
        # Loose scripts: their folded text, not packed in rank order (changed, added, re-ranked).
        self._loose: dict[int, _Text] = {}
        for entry in entries:
            self._entries[entry.id] = entry  # the last one with an id wins, as with put()
        for entry in self._entries.values():
            self._link_code(entry.id, entry.shortcode)
        self._repack(raw=True)

    # -- changes ---------------------------------------------------------------------------

    def put(self, entry: Entry) -> None:
        """Add ``entry``, or replace the script with the same id."""
        old = self._entries.get(entry.id)
        self._entries[entry.id] = entry
        if old is not None:
            if _raw_fields(old) == _raw_fields(entry) and old.usage == entry.usage:
                return  # owner or category only: nothing packed changes
            self._unlink_code(old.id, old.shortcode)
        self._link_code(entry.id, entry.shortcode)
        self._kill_packed(entry.id)
        self._loose[entry.id] = _fold_text(entry)

    def remove(self, script_id: int) -> None:
        """Forget a script; nothing happens if it is not there."""
        entry = self._entries.pop(script_id, None)
        if entry is None:
            return
        self._unlink_code(script_id, entry.shortcode)
        self._kill_packed(script_id)
        self._loose.pop(script_id, None)

    def bump_usage(self, script_id: int, by: int = 1) -> None:
        """Count ``by`` more uses; the script's rank changes, so it becomes loose."""
        entry = self._entries.get(script_id)
        if entry is None:
            return
        self._entries[script_id] = replace(entry, usage=entry.usage + by)
        if script_id not in self._loose:
            self._loose[script_id] = self._packed_text(self._pos[script_id])
            self._kill_packed(script_id)

    def get(self, script_id: int) -> Entry | None:
        return self._entries.get(script_id)

    def __len__(self) -> int:
        return len(self._entries)

    def approx_bytes(self) -> int:
        """Rough size of the index's own structures (the Entry objects are the caller's)."""
        size = sum(packed.nbytes() for packed in (*self._packed, self._content_ascii))
        size += self._content_blocks.nbytes()
        size += sys.getsizeof(self._order) + sys.getsizeof(self._live)
        for mapping in (self._entries, self._pos, self._codes, self._code_chars, self._loose):
            size += sys.getsizeof(mapping)
        size += sys.getsizeof(2**40) * len(self._pos)  # the positions are int objects
        size += sum(sys.getsizeof(code) + sys.getsizeof(ids) for code, ids in self._codes.items())
        size += sum(sys.getsizeof(part) for text in self._loose.values() for part in text)
        return size

    def _link_code(self, script_id: int, shortcode: str) -> None:
        if not shortcode:
            return
        code = _fold_field(shortcode)
        ids = self._codes.get(code)
        if ids is None:
            self._codes[code] = [script_id]
            for char in code:
                _count(self._code_chars, char, 1)
            _count(self._code_lengths, len(code), 1)
        else:
            ids.append(script_id)

    def _unlink_code(self, script_id: int, shortcode: str) -> None:
        if not shortcode:
            return
        code = _fold_field(shortcode)
        ids = self._codes[code]
        ids.remove(script_id)
        if ids:
            return
        del self._codes[code]
        for char in code:
            _count(self._code_chars, char, -1)
        _count(self._code_lengths, len(code), -1)

    def _kill_packed(self, script_id: int) -> None:
        p = self._pos.pop(script_id, None)
        if p is not None:
            self._live[p] = 0
            self._dead += 1

    def _packed_text(self, p: int) -> _Text:
        code, title, tags, content = self._packed
        return code.field(p), title.field(p), tags.field(p), content.field(p)

    def _repack(self, *, raw: bool = False) -> None:
        """Pack every script in rank order; ``raw``: from the entries (the first time)."""
        entries = self._entries
        order = sorted(entries, key=lambda i: (-entries[i].usage, i))
        if raw:
            rows = [_raw_fields(entries[i]) for i in order]
        else:  # the loose scripts' text, and the others' cut out of the current packing
            loose, pos = self._loose, self._pos
            rows = [loose[i] if i in loose else self._packed_text(pos[i]) for i in order]
        columns = [[row[field] for row in rows] for field in range(_FIELDS)]
        del rows
        self._packed = tuple(_Packed.of(column, fold=raw) for column in columns)
        del columns
        self._content_ascii = self._packed[_CONTENT].ascii_projection()
        self._content_blocks = _Blocks(self._packed[_CONTENT])
        self._order = array("q", order)
        self._pos = {script_id: p for p, script_id in enumerate(order)}
        self._live = bytearray(b"\x01") * len(order)
        self._dead = 0
        self._loose = {}

    # -- search ----------------------------------------------------------------------------

    def search(
        self, query: str, *, viewer: str, limit: int = 10, category: int | None = None
    ) -> list[Hit]:
        """The best ``limit`` scripts for ``query`` that ``viewer`` may see, best first."""
        terms = _fold(query).split()
        if not terms or limit <= 0:
            return []
        if max(len(self._loose), self._dead) > REPACK_AFTER:
            self._repack()
        driver = self._driver(terms)
        others = list(terms)
        others.remove(driver)
        typos = {term: self._typo_ids(term) for term in terms}
        exact_codes = set(terms)
        entries = self._entries
        keys: list[tuple[int, bool, int, int]] = []  # (tier, not an exact shortcode, -usage, id)
        per_tier = [0] * len(TIERS)
        seen: set[int] = set()
        check = others  # the terms checked on each candidate: the driver too once a source is cut

        def consider(script_id: int, tier: int) -> int | None:
            """Rank a candidate the driver found at ``tier``: its final tier, or None."""
            seen.add(script_id)
            entry = entries[script_id]
            if entry.owner and entry.owner != viewer:
                return None
            if category is not None and entry.category != category:
                return None
            final = tier
            if check:
                worst = self._worst_tier(script_id, check, typos)
                if worst is None:
                    return None
                final = worst if check is not others else max(tier, worst)
            exact = final == 0 and self._field(script_id, _CODE) in exact_codes
            keys.append((final, not exact, -entry.usage, script_id))
            per_tier[final] += 1
            return final

        for tier in range(len(TIERS)):
            # Out-of-order candidates first: exact shortcodes, loose scripts, typo variants.
            for script_id in self._unordered(tier, driver, typos[driver]):
                if script_id not in seen:
                    consider(script_id, tier)
            # Then the packed records, in rank order. A record not seen yet ranks below the
            # current one (this tier at best, then less used or a larger id) or comes from a later
            # source (a worse tier): stop once `limit` results rank at or above the current one.
            better = sum(per_tier[:tier])  # results in better tiers
            earlier = sorted(key for key in keys if key[0] == tier)  # this tier, found before
            passed = 0  # how many of `earlier` rank at or above the current record
            current = 0  # results of this tier found by this scan
            done = False
            for taken, script_id in enumerate(self._ordered(tier, driver)):
                if taken == MAX_HITS:
                    check = [driver, *others]
                    break
                bound = (tier, True, -entries[script_id].usage, script_id)
                if script_id not in seen:
                    final = consider(script_id, tier)
                    if final == tier:
                        current += 1
                    elif final is not None and final < tier:  # only once a source was cut
                        better += 1
                while passed < len(earlier) and earlier[passed] <= bound:
                    passed += 1
                if better + passed + current >= limit:
                    done = True
                    break
            # Source exhausted: every result of this tier or better is known.
            if done or sum(per_tier[: tier + 1]) >= limit:
                break
        keys.sort()
        return [Hit(key[3], key[0], TIERS[key[0]]) for key in keys[:limit]]

    def _driver(self, terms: list[str]) -> str:
        """The term to scan for: the one with the fewest hits among the best ranked records.

        The others are only checked on its candidates, so the fewer it has, the less work, and
        the less likely a source is cut at MAX_HITS. Ties go to the longest, then the first.
        """
        if len(terms) == 1:
            return terms[0]

        def estimate(term: str) -> int:
            hits = 0
            for field, packed in enumerate(self._packed):
                if field == _CONTENT and term.isascii():
                    packed = self._content_ascii
                end = packed.starts[min(_SAMPLE, len(packed))]
                hits += packed.text.count(_RS + term if field == _CODE else term, 0, end)
            return hits

        return min(terms, key=lambda term: (estimate(term), -len(term)))

    def _unordered(self, tier: int, term: str, typo_ids: set[int]) -> Iterator[int]:
        """Candidates of ``tier`` that the packed order does not rank."""
        if tier == len(TIERS) - 1:
            yield from typo_ids
        elif tier == _CODE:
            yield from self._codes.get(term, ())
            yield from (i for i, text in self._loose.items() if text[_CODE].startswith(term))
        else:
            yield from (i for i, text in self._loose.items() if term in text[tier])

    def _ordered(self, tier: int, term: str) -> Iterator[int]:
        """Candidates of ``tier`` from the packed fields, best ranked first."""
        if tier == len(TIERS) - 1:
            return iter(())
        live, order = self._live, self._order
        if tier != _CONTENT:
            return self._packed[tier].ids(term, tier == _CODE, live, order)
        if term.isascii():
            return self._content_ascii.ids(term, False, live, order)
        spans = self._content_blocks.spans(term)
        return self._packed[_CONTENT].ids(term, False, live, order, spans)

    def _field(self, script_id: int, field: int) -> str:
        text = self._loose.get(script_id)
        return self._packed[field].field(self._pos[script_id]) if text is None else text[field]

    def _worst_tier(
        self, script_id: int, terms: list[str], typos: dict[str, set[int]]
    ) -> int | None:
        """The worst of the terms' best tiers for the script; None if a term does not match."""
        loose = self._loose.get(script_id)
        if loose is None:
            p = self._pos[script_id]
            spans = [(f.text, f.starts[p], f.starts[p + 1]) for f in self._packed]
        else:
            spans = [(field, 0, len(field)) for field in loose]
        (code, at, _), *fields = spans
        worst = 0
        for term in terms:
            if code.startswith(term, at):
                continue  # tier 0 (the term cannot run past the record: it has no separator)
            best = len(TIERS) - 1
            for tier, (text, start, end) in enumerate(fields, start=1):
                if text.find(term, start, end) >= 0:
                    best = tier
                    break
            else:
                if script_id not in typos[term]:
                    return None
            worst = max(worst, best)
        return worst

    def _typo_ids(self, term: str) -> set[int]:
        """Scripts whose shortcode is exactly one typo (Damerau) away from ``term``."""
        alphabet = self._code_chars
        if len(term) < _TYPO_MIN or len(term) - 1 > max(self._code_lengths, default=0):
            return set()
        if sum(char not in alphabet for char in term) > 1:
            return set()  # one edit cannot remove two characters that no shortcode has
        n = len(term)
        variants = {term[:i] + term[i + 1 :] for i in range(n)}
        variants.update(
            term[:i] + term[i + 1] + term[i] + term[i + 2 :]
            for i in range(n - 1)
            if term[i] != term[i + 1]
        )
        for char in alphabet:
            variants.update(term[:i] + char + term[i + 1 :] for i in range(n))
            variants.update(term[:i] + char + term[i:] for i in range(n + 1))
        found: set[int] = set()
        for variant in variants:
            found.update(self._codes.get(variant, ()))
        return found
