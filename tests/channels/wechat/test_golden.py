"""Tencent's official Official Account sample vectors (platform-facts.md §9.1) as golden tests."""

from __future__ import annotations

from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto

from channels.wechat.decode import decode_event
from channels.wechat.passive import render_passive
from channels.wechat.verify import Envelope, parse_xml, signature
from handlers.events import TextReceived
from handlers.messages import Article, News, Text

TOKEN = "spamtest"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID = "wx2c2769f8efd9abc2"
TIMESTAMP = "1409735669"
NONCE = "1320562132"
MSG_SIGNATURE = "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
PLAIN_SIGNATURE = "16120ec1b8dbb870f510d87ce6bc2463eae6ca1a"
ENCRYPT = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAF"
    "mOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8"
    "dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd"
    "5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsN"
    "PfUM669WuMyVWQLCzpu9GhglF2PE="
)


def test_plain_signature_matches_the_sample() -> None:
    assert signature(TOKEN, TIMESTAMP, NONCE) == PLAIN_SIGNATURE


def test_message_signature_matches_the_sample() -> None:
    assert signature(TOKEN, TIMESTAMP, NONCE, ENCRYPT) == MSG_SIGNATURE


def test_the_sample_decrypts_to_the_documented_text_message() -> None:
    envelope = Envelope(TOKEN, AES_KEY, APP_ID)
    fields = parse_xml(envelope.open(ENCRYPT, MSG_SIGNATURE, TIMESTAMP, NONCE))
    assert fields == {
        "ToUserName": "gh_10f6c3c3ac5a",
        "FromUserName": "oyORnuP8q7ou2gfYjqLzSIWZf0rs",
        "CreateTime": "1409735668",
        "MsgType": "text",
        "Content": "abcdteT",
        "MsgId": "6054768590064713728",
    }
    event = decode_event("sample", fields)
    assert isinstance(event, TextReceived)
    assert (event.user, event.text, event.dedupe_key) == (
        "oyORnuP8q7ou2gfYjqLzSIWZf0rs",
        "abcdteT",
        "m:6054768590064713728",
    )


def test_the_compatible_mode_shape_of_the_sample_parses() -> None:
    outer = (
        "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>"
        "<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>"
        "<CreateTime>1409735668</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        "<Content><![CDATA[abcdteT]]></Content><MsgId>6054768590064713728</MsgId>"
        f"<Encrypt><![CDATA[{ENCRYPT}]]></Encrypt></xml>"
    )
    assert parse_xml(outer)["Encrypt"] == ENCRYPT


def test_a_reply_round_trips_through_wechatpy() -> None:
    """Our sealed reply opens with wechatpy's own crypto and parses as the same message."""
    envelope = Envelope(TOKEN, AES_KEY, APP_ID)
    xml = render_passive(
        Text("收到：abcdteT ]]> <b>&"),
        to_user="oyORnuP8q7ou2gfYjqLzSIWZf0rs",
        from_user="gh_10f6c3c3ac5a",
        create_time=1409735670,
        to_message=True,
    )
    sealed = envelope.seal(xml, NONCE, TIMESTAMP)
    fields = parse_xml(sealed)
    assert fields["MsgSignature"] == signature(TOKEN, TIMESTAMP, NONCE, fields["Encrypt"])
    plain = WeChatCrypto(TOKEN, AES_KEY, APP_ID).decrypt_message(
        sealed, fields["MsgSignature"], TIMESTAMP, NONCE
    )
    message = parse_message(plain)
    assert message.content == "收到：abcdteT ]]> <b>&"
    assert message.target == "oyORnuP8q7ou2gfYjqLzSIWZf0rs"


def test_news_reply_to_a_message_carries_one_article_and_to_an_event_eight() -> None:
    news = News(tuple(Article(f"第{i}篇", url=f"https://example.com/{i}") for i in range(10)))
    for to_message, count in ((True, 1), (False, 8)):
        xml = render_passive(
            news, to_user="o", from_user="gh", create_time=1, to_message=to_message
        )
        fields = parse_xml(xml)
        assert fields["ArticleCount"] == str(count)
        items = fields["Articles"]["item"]
        assert len(items if isinstance(items, list) else [items]) == count
