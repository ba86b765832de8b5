"""Decoding callbacks into neutral events, checked against wechatpy's own parse_message, and the
XML fast path checked against the expat parser."""

from __future__ import annotations

import random
from xml.etree import ElementTree

import pytest
from wechatpy import parse_message

from channels.wechat.decode import decode_event
from channels.wechat.sandbox import (
    FakeAccount,
    event_xml,
    image_xml,
    location_xml,
    scan_xml,
    subscribe_xml,
    text_xml,
    voice_xml,
)
from channels.wechat.verify import CallbackRejected, _flat, parse_xml
from handlers.events import (
    Followed,
    MediaReceived,
    MenuClicked,
    OtherEvent,
    Scanned,
    TextReceived,
    Unfollowed,
)

ACCOUNT = FakeAccount(
    name="demo",
    app_id="wxdecode",
    secret="s",
    token="t",
    encoding_aes_key="a" * 43,
    mode="safe",
    original_id="gh_decode",
    callback_url="http://127.0.0.1:1/x",
)
U = "oUser00000000000000000000001"

CASES = [
    (text_xml(ACCOUNT, U, "你好 ]]> <b>", 11, 100), TextReceived, "text", "你好 ]]> <b>"),
    (subscribe_xml(ACCOUNT, U, 100), Followed, "subscribe", None),
    (
        subscribe_xml(ACCOUNT, U, 100, scene="spring", ticket="T"),
        Followed,
        "subscribe_scan",
        "spring",
    ),
    (scan_xml(ACCOUNT, U, 100, scene="spring", ticket="T"), Scanned, "scan", "spring"),
    (event_xml(ACCOUNT, U, "unsubscribe", 100), Unfollowed, "unsubscribe", None),
    (
        event_xml(ACCOUNT, U, "CLICK", 100, event_key="MENU_ABOUT"),
        MenuClicked,
        "click",
        "MENU_ABOUT",
    ),
    (
        event_xml(ACCOUNT, U, "VIEW", 100, event_key="https://x.cn/a?b=1&c=2"),
        OtherEvent,
        "view",
        None,
    ),
    (voice_xml(ACCOUNT, U, "m1", 12, 100, recognition="价格"), TextReceived, "voice", "价格"),
    (voice_xml(ACCOUNT, U, "m1", 13, 100), MediaReceived, "voice", None),
    (image_xml(ACCOUNT, U, "http://p/1.jpg", "m2", 14, 100), MediaReceived, "image", None),
    (location_xml(ACCOUNT, U, 31.2, 121.5, 15, "上海", 15, 100), MediaReceived, "location", None),
]


@pytest.mark.parametrize(("xml", "kind", "wechatpy_type", "detail"), CASES)
def test_decoding_agrees_with_wechatpy(
    xml: str, kind: type, wechatpy_type: str, detail: str | None
) -> None:
    ours = decode_event("demo", parse_xml(xml))
    theirs = parse_message(xml)
    assert isinstance(ours, kind)
    assert getattr(theirs, "event", theirs.type) == wechatpy_type
    assert ours.user == theirs.source == U
    if isinstance(ours, TextReceived):
        assert ours.text == detail
        assert ours.dedupe_key == f"m:{theirs.id}"
    elif isinstance(ours, Followed | Scanned):
        assert ours.channel == detail == getattr(theirs, "scene_id", None)
    elif isinstance(ours, MenuClicked):
        assert ours.key == detail == theirs.key
    assert ours.opens_window == (kind not in (Unfollowed, OtherEvent))


def test_events_dedupe_on_sender_time_event_and_key() -> None:
    a = decode_event("demo", parse_xml(event_xml(ACCOUNT, U, "CLICK", 100, event_key="A")))
    b = decode_event("demo", parse_xml(event_xml(ACCOUNT, U, "CLICK", 100, event_key="A")))
    c = decode_event("demo", parse_xml(event_xml(ACCOUNT, U, "CLICK", 101, event_key="A")))
    d = decode_event("demo", parse_xml(event_xml(ACCOUNT, U, "CLICK", 100, event_key="B")))
    assert a.dedupe_key == b.dedupe_key
    assert len({a.dedupe_key, c.dedupe_key, d.dedupe_key}) == 3
    assert len(a.dedupe_key) <= 64


@pytest.mark.parametrize(
    "xml",
    [
        "<xml><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>",
        "<xml><ToUserName>g</ToUserName><FromUserName>o</FromUserName><CreateTime>soon"
        "</CreateTime><MsgType>text</MsgType><MsgId>1</MsgId></xml>",
        "<xml><ToUserName>g</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>"
        "<MsgType>text</MsgType><MsgId>x</MsgId></xml>",
        "<xml><ToUserName>g</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>"
        f"<MsgType>text</MsgType><MsgId>1</MsgId><Content>{'长' * 5000}</Content></xml>",
    ],
)
def test_malformed_messages_are_refused(xml: str) -> None:
    with pytest.raises(CallbackRejected) as info:
        decode_event("demo", parse_xml(xml))
    assert info.value.status == 400


def _expat(text: str) -> dict[str, object]:
    return {child.tag: child.text or "" for child in ElementTree.fromstring(text)}  # noqa: S314


PIECES = [
    "a",
    "价",
    " ",
    "\n",
    "]]>",
    "]]",
    "<",
    ">",
    "&",
    "&amp;",
    "\r",
    "\t",
    "\x01",
    "'",
    '"',
    "<![CDATA[",
    "</x>",
    "{{",
    "😀",
]


@pytest.mark.parametrize("seed", range(5))
def test_the_fast_path_never_disagrees_with_the_parser(seed: int) -> None:
    """Random flat documents with hostile content: the fast path yields what expat yields, or
    steps aside (None) for the parser to decide."""
    rng = random.Random(seed)
    agreed = stepped_aside = 0
    for _ in range(3000):
        children = []
        for i in range(rng.randint(0, 5)):
            value = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 6)))
            if rng.random() < 0.5:
                children.append(f"<F{i}><![CDATA[{value}]]></F{i}>")
            else:
                children.append(f"<F{i}>{value}</F{i}>")
        text = "<xml>" + rng.choice(["", "\n"]).join(children) + "</xml>"
        fast = _flat(text)
        try:
            expected = _expat(text)
        except ElementTree.ParseError:
            expected = None
        if fast is None:
            stepped_aside += 1
            continue
        assert expected is not None, text  # the fast path never accepts what the parser refuses
        assert fast == expected, text
        agreed += 1
    assert agreed > 500 and stepped_aside > 500  # both branches were really exercised
