"""What the Official Account platform refuses or cuts in a configured reply."""

from __future__ import annotations

from channels.wechat.limits import channel_name_problem, menu_key_problem, reply_problems
from handlers.messages import Article, News, Text, TransferToAgent

ONE = News((Article("a"),))
TWO = News((Article("a"), Article("b")))


def test_a_fine_reply_has_no_problem() -> None:
    assert reply_problems([TWO, ONE, Text("x")], answers_message=False) == []


def test_news_article_counts() -> None:
    nine = News(tuple(Article(str(i)) for i in range(9)))
    assert reply_problems([TWO], answers_message=True)[0][0] == 0  # 1 article answering a message
    assert reply_problems([nine], answers_message=False)[0][0] == 0  # 8 answering an event
    assert reply_problems([Text("x"), TWO], answers_message=False)[0][0] == 1  # 1 when pushed


def test_hand_over_only_first() -> None:
    assert reply_problems([TransferToAgent()], answers_message=True) == []
    assert reply_problems([Text("x"), TransferToAgent()], answers_message=True)[0][0] == 1


def test_customer_service_quota() -> None:
    assert reply_problems([Text("x")] * 6, answers_message=True) == []  # passive + 5
    assert reply_problems([Text("x")] * 7, answers_message=True)[0][0] == 6
    assert reply_problems([Text("x")] * 5, answers_message=False)[0][0] == 4  # passive + 3


def test_scene_and_menu_key_lengths() -> None:
    assert channel_name_problem("c" * 64) is None
    assert "64 characters" in (channel_name_problem("c" * 65) or "")
    assert menu_key_problem("键" * 42) is None  # 126 bytes
    assert "129" in (menu_key_problem("键" * 43) or "")
