"""Official WeCom sample vectors (§9.2) and the pure builders, checked against wechatpy."""

from __future__ import annotations

import pytest
from wechatpy.enterprise import parse_message
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException

from channels.wechat.sandbox import ReplyError, parse_xml, sha1_signature
from channels.wecom.sandbox import (
    FakeWecomApp,
    build_wecom_callback,
    build_wecom_verification,
    decode_wecom_reply,
    wecom_decrypt,
    wecom_encrypt,
    wecom_event_xml,
    wecom_image_xml,
    wecom_text_xml,
)

SAMPLE_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCU"
    "pj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue"
    "06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3"
    "IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27"
    "Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07"
    "+qN+E7Q=="
)
SAMPLE_ECHOSTR = (
    "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
)
SAMPLE = FakeWecomApp(
    name="sample",
    corp_id="wx5823bf96d3bd56c7",
    agent_id=218,
    secret="unused",
    token="QDG6eK",
    encoding_aes_key="jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
    callback_url="http://127.0.0.1:1/wecom/sample",
)


def crypto(app: FakeWecomApp = SAMPLE) -> WeChatCrypto:
    return WeChatCrypto(app.token, app.encoding_aes_key, app.corp_id)


def test_sample_message_signature_matches_the_official_vector() -> None:
    signature = sha1_signature("QDG6eK", "1409659813", "1372623149", SAMPLE_ENCRYPT)
    assert signature == "477715d11cdb4164915debcba66cb864d751f3e6"


def test_sample_message_decrypts_to_the_text_from_mycreate() -> None:
    fields = parse_xml(wecom_decrypt(SAMPLE, SAMPLE_ENCRYPT))
    assert fields == {
        "ToUserName": "wx5823bf96d3bd56c7",
        "FromUserName": "mycreate",
        "CreateTime": "1409659813",
        "MsgType": "text",
        "Content": "hello",
        "MsgId": "4561255354251345929",
        "AgentID": "218",
    }


def test_sample_verification_signature_and_echo() -> None:
    signature = sha1_signature("QDG6eK", "1409659589", "263014780", SAMPLE_ECHOSTR)
    assert signature == "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
    assert wecom_decrypt(SAMPLE, SAMPLE_ECHOSTR) == "1616140317555161061"


def test_decrypt_refuses_another_corp() -> None:
    other = FakeWecomApp(
        name="x",
        corp_id="wwsomeothercorp",
        agent_id=1,
        secret="s",
        token=SAMPLE.token,
        encoding_aes_key=SAMPLE.encoding_aes_key,
        callback_url=SAMPLE.callback_url,
    )
    with pytest.raises(ReplyError, match="wwsomeothercorp"):
        wecom_decrypt(other, SAMPLE_ENCRYPT)


def test_text_xml_has_the_documented_shape() -> None:
    xml = wecom_text_xml(SAMPLE, "zhangsan", "hi <b>", 1234567890123456789, 1700000000)
    assert xml == (
        "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>"
        "<FromUserName><![CDATA[zhangsan]]></FromUserName><CreateTime>1700000000</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi <b>]]></Content>"
        "<MsgId>1234567890123456789</MsgId><AgentID>218</AgentID></xml>"
    )


def test_callback_verifies_and_decrypts_with_wechatpy() -> None:
    inner = wecom_text_xml(SAMPLE, "zhangsan", "你好", 42, 1700000000)
    query, body = build_wecom_callback(SAMPLE, inner, timestamp="1700000001", nonce="99")
    assert set(query) == {"msg_signature", "timestamp", "nonce"}
    assert (query["timestamp"], query["nonce"]) == ("1700000001", "99")
    outer = parse_xml(body)
    assert list(outer) == ["ToUserName", "AgentID", "Encrypt"]
    assert (outer["ToUserName"], outer["AgentID"]) == ("wx5823bf96d3bd56c7", "218")
    assert b"<AgentID><![CDATA[218]]></AgentID>" in body
    xml = crypto().decrypt_message(body, query["msg_signature"], "1700000001", "99")
    message = parse_message(xml)
    assert (message.type, message.source, message.content) == ("text", "zhangsan", "你好")
    assert (message.id, message.agent, message.target) == (42, 218, "wx5823bf96d3bd56c7")


def test_callback_signature_is_over_the_encrypt_element() -> None:
    query, body = build_wecom_callback(SAMPLE, wecom_text_xml(SAMPLE, "u", "x", 1, 1))
    with pytest.raises(InvalidSignatureException):
        crypto().decrypt_message(body, "0" * 40, query["timestamp"], query["nonce"])
    expected = sha1_signature(
        SAMPLE.token, query["timestamp"], query["nonce"], parse_xml(body)["Encrypt"]
    )
    assert query["msg_signature"] == expected


def test_image_and_event_xml_parse_with_wechatpy() -> None:
    image = parse_message(wecom_image_xml(SAMPLE, "u1", "https://p/x", "MEDIA", 7, 1700000000))
    assert (image.type, image.image, image.media_id, image.id) == (
        "image",
        "https://p/x",
        "MEDIA",
        7,
    )
    event = parse_xml(wecom_event_xml(SAMPLE, "u1", "click", "MENU_KEY", 1700000000))
    assert event["MsgType"] == "event" and event["Event"] == "click"
    assert event["EventKey"] == "MENU_KEY" and event["AgentID"] == "218" and "MsgId" not in event
    enter = parse_xml(wecom_event_xml(SAMPLE, "u1", "enter_agent", "", 1700000000))
    assert enter["EventKey"] == "" and enter["Event"] == "enter_agent"


def test_verification_query_decrypts_with_wechatpy() -> None:
    query = build_wecom_verification(SAMPLE, "123456789", timestamp="1700000000", nonce="5")
    echo = crypto().check_signature(
        query["msg_signature"], query["timestamp"], query["nonce"], query["echostr"]
    )
    assert echo == "123456789"
    assert wecom_encrypt(SAMPLE, "123456789") != query["echostr"]  # random prefix each time


def test_decode_reply_reads_a_wechatpy_sealed_reply() -> None:
    xml = (
        "<xml><ToUserName><![CDATA[zhangsan]]></ToUserName>"
        "<FromUserName><![CDATA[wx5823bf96d3bd56c7]]></FromUserName>"
        "<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        "<Content><![CDATA[ok]]></Content></xml>"
    )
    sealed = crypto().encrypt_message(xml, "77", "1700000000").encode()
    reply = decode_wecom_reply(SAMPLE, sealed, userid="zhangsan")
    assert reply is not None and reply["Content"] == "ok"
    assert decode_wecom_reply(SAMPLE, b"") is None
    with pytest.raises(ReplyError, match="ToUserName"):
        decode_wecom_reply(SAMPLE, sealed, userid="lisi")
    with pytest.raises(ReplyError, match="Encrypt"):
        decode_wecom_reply(SAMPLE, xml.encode())
    with pytest.raises(ReplyError, match="MsgSignature"):
        decode_wecom_reply(SAMPLE, sealed.replace(b"<TimeStamp>1700000000", b"<TimeStamp>1"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "bad name"}, "app name"),
        ({"agent_id": 0}, "agent_id"),
        ({"encoding_aes_key": "short"}, "encoding_aes_key"),
        ({"corp_id": ""}, "corp_id"),
        ({"callback_url": "ftp://x"}, "callback_url"),
    ],
)
def test_app_configuration_is_validated(change: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {
        "name": "a",
        "corp_id": "ww1",
        "agent_id": 1,
        "secret": "s",
        "token": "t",
        "encoding_aes_key": SAMPLE.encoding_aes_key,
        "callback_url": "http://127.0.0.1/",
    }
    with pytest.raises(ValueError, match=message):
        FakeWecomApp(**{**fields, **change})  # type: ignore[arg-type]
