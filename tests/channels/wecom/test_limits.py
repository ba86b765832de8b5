"""Cutting texts to WeCom's byte limits without breaking characters."""

from __future__ import annotations

import pytest

from channels.wecom.limits import TEXT_BYTES, cut, split_text


def test_a_short_text_is_one_piece() -> None:
    assert split_text("你好\n世界") == ["你好\n世界"]


def test_pieces_fit_and_keep_every_character() -> None:
    text = "话术" * 1000 + "abc"  # 6003 bytes, no newline
    pieces = split_text(text)
    assert len(pieces) == 3
    assert all(len(p.encode()) <= TEXT_BYTES for p in pieces)
    assert "".join(pieces) == text
    assert len(pieces[0].encode()) == 2046  # 682 characters; the 683rd would cross 2048


def test_a_newline_in_the_last_quarter_ends_the_piece() -> None:
    first = "a" * 1800
    text = first + "\n" + "b" * 1000
    assert split_text(text) == [first, "b" * 1000]


def test_a_newline_early_in_the_piece_is_ignored() -> None:
    text = "a" * 100 + "\n" + "b" * 3000
    pieces = split_text(text)
    assert len(pieces[0].encode()) == TEXT_BYTES
    assert pieces[0].startswith("a" * 100 + "\nb")
    assert "".join(pieces) == text


def test_the_last_newline_of_the_last_quarter_is_chosen() -> None:
    text = "a" * 1600 + "\n" + "b" * 300 + "\n" + "c" * 1000
    assert split_text(text) == ["a" * 1600 + "\n" + "b" * 300, "c" * 1000]


def test_blank_pieces_are_left_out() -> None:
    assert split_text("") == []
    [piece] = split_text("x" * 2040 + "\n" * 20)  # the second piece would be newlines only
    assert piece.rstrip("\n") == "x" * 2040


@pytest.mark.parametrize("filler", ["é", "话", "😀"])
def test_no_cut_falls_inside_a_character(filler: str) -> None:
    text = "a" + filler * 3000
    pieces = split_text(text, limit=100)
    assert "".join(pieces) == text
    assert all(0 < len(p.encode()) <= 100 for p in pieces)


def test_cut_shortens_at_a_character_boundary() -> None:
    assert cut("标题很长", 7) == "标题"
    assert cut("short", 128) == "short"
