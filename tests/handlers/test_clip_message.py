"""The neutral Clip message: its stored form, and that Official Account replies refuse it."""

from __future__ import annotations

from typing import Any

import pytest

from channels.wechat.limits import reply_problems
from channels.wechat.outbound import custom_message
from handlers.delivery import Undeliverable
from handlers.messages import (
    TEMPLATED_FIELDS,
    TYPE_NAMES,
    Clip,
    MessageFormatError,
    Picture,
    Text,
    message_from_dict,
    message_to_dict,
)

URL = "https://cdn.example.com/intro.mp4"


def test_the_stored_form_round_trips() -> None:
    clip = Clip(URL, title="产品介绍", caption="转发给客户前请先看一遍")
    stored = message_to_dict(clip)
    assert stored == {
        "clip": {"url": URL, "title": "产品介绍", "caption": "转发给客户前请先看一遍"}
    }
    assert message_from_dict(stored) == clip


def test_title_and_caption_default_to_empty() -> None:
    clip = message_from_dict({"clip": {"url": URL}})
    assert clip == Clip(URL)
    assert message_to_dict(clip) == {"clip": {"url": URL, "title": "", "caption": ""}}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"title": "t"}, "missing required field(s) url"),
        ({"url": URL, "description": "d"}, "unknown field(s) description"),
        ({"url": URL, "title": 3}, "title must be a string"),
        ("just a url", "expected a mapping"),
    ],
)
def test_a_malformed_clip_is_refused_with_the_reason(body: Any, reason: str) -> None:
    with pytest.raises(MessageFormatError) as info:
        message_from_dict({"clip": body})
    assert reason in str(info.value)
    assert str(info.value).startswith("clip:")


def test_clip_is_a_known_type_and_not_a_template() -> None:
    assert "clip" in TYPE_NAMES
    assert Clip not in TEMPLATED_FIELDS
    # A stored "{{ name }}" stays literal: nothing renders it.
    clip = message_from_dict({"clip": {"url": URL, "title": "{{ name }}"}})
    assert isinstance(clip, Clip) and clip.title == "{{ name }}"


def test_an_official_account_reply_cannot_carry_a_clip() -> None:
    problems = reply_problems([Text("看视频"), Clip(URL)], answers_message=True)
    assert problems == [(1, "an Official Account sends videos as materials (media_id)")]
    first = reply_problems([Clip(URL)], answers_message=False)
    assert [i for i, _ in first] == [0]
    # Pictures keep their own reason.
    assert "images" in reply_problems([Picture(URL)], answers_message=True)[0][1]


def test_a_customer_service_message_cannot_carry_a_clip() -> None:
    with pytest.raises(Undeliverable, match="Clip"):
        custom_message(Clip(URL))
