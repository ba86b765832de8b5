"""Official sample vectors (§9.1) and the pure callback builders, checked against wechatpy."""

from __future__ import annotations

import pytest
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import check_signature

from channels.wechat.sandbox import (
    FakeAccount,
    ReplyError,
    build_callback,
    build_verification,
    decode_reply,
    decrypt,
    encrypt,
    event_xml,
    open_envelope,
    parse_xml,
    render_xml,
    sha1_signature,
    subscribe_xml,
    text_xml,
    voice_xml,
)

SAMPLE_ENCRYPT = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQH"
    "FVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsV"
    "ticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0V"
    "xpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrc"
    "pCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
)
SAMPLE = FakeAccount(
    name="sample",
    app_id="wx2c2769f8efd9abc2",
    secret="unused",
    token="spamtest",
    encoding_aes_key="abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    mode="safe",
    original_id="gh_10f6c3c3ac5a",
    callback_url="http://127.0.0.1:1/wechat/sample",
)
OPENID = "oyORnuP8q7ou2gfYjqLzSIWZf0rs"


def with_mode(mode: str) -> FakeAccount:
    return FakeAccount(
        name=SAMPLE.name,
        app_id=SAMPLE.app_id,
        secret=SAMPLE.secret,
        token=SAMPLE.token,
        encoding_aes_key=SAMPLE.encoding_aes_key,
        mode=mode,
        original_id=SAMPLE.original_id,
        callback_url=SAMPLE.callback_url,
    )


def test_sample_msg_signature_matches_the_official_vector() -> None:
    assert sha1_signature("spamtest", "1409735669", "1320562132", SAMPLE_ENCRYPT) == (
        "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
    )
    assert sha1_signature("spamtest", "1409735669", "1320562132") == (
        "16120ec1b8dbb870f510d87ce6bc2463eae6ca1a"
    )


def test_sample_decrypts_to_the_documented_text_message() -> None:
    fields = parse_xml(decrypt(SAMPLE, SAMPLE_ENCRYPT))
    assert fields == {
        "ToUserName": "gh_10f6c3c3ac5a",
        "FromUserName": OPENID,
        "CreateTime": "1409735668",
        "MsgType": "text",
        "Content": "abcdteT",
        "MsgId": "6054768590064713728",
    }


def test_sample_envelope_opens_only_with_the_right_signature() -> None:
    envelope = render_xml(
        {
            "Encrypt": SAMPLE_ENCRYPT,
            "MsgSignature": "5d197aaffba7e9b25a30732f161a50dee96bd5fa",
            "TimeStamp": 1409735669,
            "Nonce": "1320562132",
        }
    ).encode()
    assert "<Content><![CDATA[abcdteT]]></Content>" in open_envelope(SAMPLE, envelope)
    with pytest.raises(ReplyError, match="MsgSignature"):
        open_envelope(SAMPLE, envelope.replace(b"5d197aaf", b"5d197aab"))


def test_decrypt_refuses_an_envelope_for_another_app_id() -> None:
    other = FakeAccount(
        name="o",
        app_id="wx0000000000000000",
        secret="s",
        token="spamtest",
        encoding_aes_key=SAMPLE.encoding_aes_key,
        mode="safe",
        original_id="gh_x",
        callback_url="http://127.0.0.1:1/",
    )
    with pytest.raises(ReplyError, match="app id"):
        decrypt(other, SAMPLE_ENCRYPT)


@pytest.mark.parametrize("mode", ["plaintext", "compatible", "safe"])
def test_build_callback_is_accepted_by_wechatpy(mode: str) -> None:
    account = with_mode(mode)
    inner = text_xml(account, OPENID, "你好 ]]> <b>", 42, 1700000000)
    query, body = build_callback(account, inner, timestamp=1700000001, nonce="123")
    check_signature("spamtest", query["signature"], "1700000001", "123")
    assert query["openid"] == OPENID
    if mode == "plaintext":
        assert "encrypt_type" not in query and "msg_signature" not in query
        xml = body.decode()
    else:
        assert query["encrypt_type"] == "aes"
        crypto = WeChatCrypto("spamtest", account.encoding_aes_key, account.app_id)
        xml = crypto.decrypt_message(body, query["msg_signature"], "1700000001", "123")
    outer = parse_xml(body)
    expected_outer = {
        "plaintext": {"ToUserName", "FromUserName", "CreateTime", "MsgType", "Content", "MsgId"},
        "compatible": {
            "ToUserName",
            "FromUserName",
            "CreateTime",
            "MsgType",
            "Content",
            "MsgId",
            "Encrypt",
        },
        "safe": {"ToUserName", "Encrypt"},
    }[mode]
    assert set(outer) == expected_outer
    message = parse_message(xml)
    assert (message.type, message.content, message.id) == ("text", "你好 ]]> <b>", 42)
    assert message.create_time.timestamp() == 1700000000


def test_integers_are_bare_and_strings_cdata() -> None:
    xml = text_xml(SAMPLE, OPENID, "hi", 7, 1700000000)
    assert "<CreateTime>1700000000</CreateTime>" in xml and "<MsgId>7</MsgId>" in xml
    assert "<Content><![CDATA[hi]]></Content>" in xml


def test_event_builders_follow_the_event_table() -> None:
    plain = parse_xml(subscribe_xml(SAMPLE, OPENID, 1))
    assert plain["Event"] == "subscribe" and "EventKey" not in plain and "MsgId" not in plain
    qr = parse_xml(subscribe_xml(SAMPLE, OPENID, 1, scene="bind_42", ticket="T"))
    assert (qr["EventKey"], qr["Ticket"]) == ("qrscene_bind_42", "T")
    click = parse_message(event_xml(SAMPLE, OPENID, "CLICK", 1, event_key="K1"))
    assert (click.type, click.event, click.key) == ("event", "click", "K1")


def test_voice_recognition_only_when_given() -> None:
    assert "Recognition" not in voice_xml(SAMPLE, OPENID, "m", 1, 1)
    assert (
        parse_message(voice_xml(SAMPLE, OPENID, "m", 1, 1, recognition="你好")).recognition
        == "你好"
    )


def test_url_verification_query_is_signed_without_encrypt() -> None:
    query = build_verification(SAMPLE, timestamp=1409735669, nonce="1320562132", echostr="e")
    assert query["signature"] == "16120ec1b8dbb870f510d87ce6bc2463eae6ca1a"


def reply_xml(account: FakeAccount, **fields: object) -> str:
    base: dict[str, object] = {
        "ToUserName": OPENID,
        "FromUserName": account.original_id,
        "CreateTime": 1700000000,
        "MsgType": "text",
        "Content": "ok",
    }
    base.update(fields)
    return render_xml(base)


def test_decode_reply_reads_plain_and_encrypted_replies() -> None:
    compatible = with_mode("compatible")
    assert decode_reply(compatible, reply_xml(compatible).encode())["Content"] == "ok"
    crypto = WeChatCrypto("spamtest", SAMPLE.encoding_aes_key, SAMPLE.app_id)
    sealed = crypto.encrypt_message(reply_xml(SAMPLE, Content="密"), "n1").encode()
    reply = decode_reply(SAMPLE, sealed, openid=OPENID)
    assert reply is not None and reply["Content"] == "密" and reply["CreateTime"] == 1700000000
    assert decode_reply(SAMPLE, b"success") is None and decode_reply(SAMPLE, b"") is None


@pytest.mark.parametrize(
    ("mode", "body", "message"),
    [
        ("safe", "plain", "requires an encrypted"),
        ("plaintext", "sealed", "plaintext mode"),
        ("compatible", "json", "not well-formed"),
        ("compatible", "empty-text", "without Content"),
        ("compatible", "wrong-from", "FromUserName"),
        ("compatible", "news-count", "ArticleCount"),
        ("compatible", "doctype", "DOCTYPE"),
        ("safe", "tampered", "MsgSignature"),
    ],
)
def test_decode_reply_refuses_what_wechat_refuses(mode: str, body: str, message: str) -> None:
    account = with_mode(mode)
    crypto = WeChatCrypto("spamtest", SAMPLE.encoding_aes_key, SAMPLE.app_id)
    sealed = crypto.encrypt_message(reply_xml(account), "n1")
    bodies = {
        "plain": reply_xml(account),
        "sealed": sealed,
        "json": '{"msgtype": "text"}',
        "empty-text": reply_xml(account, Content=""),
        "wrong-from": reply_xml(account, FromUserName="gh_other"),
        "news-count": reply_xml(account, MsgType="news", ArticleCount=2, Articles=[{"Title": "a"}]),
        "doctype": '<!DOCTYPE xml [<!ENTITY a "b">]><xml><A>&a;</A></xml>',
        "tampered": sealed.replace("<TimeStamp>", "<TimeStamp>1"),
    }
    with pytest.raises(ReplyError, match=message):
        decode_reply(account, bodies[body].encode(), openid=OPENID)


def test_encrypt_round_trips() -> None:
    assert decrypt(SAMPLE, encrypt(SAMPLE, "<xml/>")) == "<xml/>"
