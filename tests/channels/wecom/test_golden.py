"""Tencent's official WeCom sample vectors (platform-facts.md §9.2) as golden tests."""

from __future__ import annotations

from urllib.parse import quote

from pytest_aiohttp import AiohttpClient

from channels.wechat.verify import Envelope, parse_xml, signature
from channels.wecom.app import WecomApp
from channels.wecom.callback import WecomCallback
from channels.wecom.decode import decode_staff_message
from handlers.staff import StaffMessage
from tests.channels.wecom.wire import Recorder, web_app

TOKEN = "QDG6eK"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
CORP_ID = "wx5823bf96d3bd56c7"
SAMPLE = WecomApp(
    name="sample",
    corp_id=CORP_ID,
    agent_id=218,
    secret="unused",
    token=TOKEN,
    encoding_aes_key=AES_KEY,
)

VERIFY_SIGNATURE = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
VERIFY_TIMESTAMP = "1409659589"
VERIFY_NONCE = "263014780"
ECHOSTR = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
ECHO_PLAIN = "1616140317555161061"

MSG_SIGNATURE = "477715d11cdb4164915debcba66cb864d751f3e6"
MSG_TIMESTAMP = "1409659813"
MSG_NONCE = "1372623149"
ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911"
    "L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLx"
    "AUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9"
    "nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/u"
    "h9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)
BODY = (
    f"<xml><ToUserName>{CORP_ID}</ToUserName><Encrypt>{ENCRYPT}</Encrypt>"
    "<AgentID>218</AgentID></xml>"
)
EXPECTED = StaffMessage(
    platform="wecom",
    account="sample",
    user="mycreate",
    chat="mycreate",
    direct=True,
    addressed=True,
    text="hello",
    image="",
    dedupe_key="wecom:sample:msg:4561255354251345929",
)


def sample_callback(handler: Recorder, now: str) -> WecomCallback:
    """The callback with its clock set a few seconds after the sample's timestamp."""
    return WecomCallback(
        [SAMPLE], handler, timestamp_window=300, max_body_bytes=65536, clock=lambda: int(now) + 5.0
    )


def test_message_signature_matches_the_sample() -> None:
    assert signature(TOKEN, MSG_TIMESTAMP, MSG_NONCE, ENCRYPT) == MSG_SIGNATURE
    assert signature(TOKEN, VERIFY_TIMESTAMP, VERIFY_NONCE, ECHOSTR) == VERIFY_SIGNATURE


def test_the_sample_decrypts_and_decodes_to_the_documented_text_message() -> None:
    envelope = Envelope(TOKEN, AES_KEY, CORP_ID)
    fields = parse_xml(envelope.open(ENCRYPT, MSG_SIGNATURE, MSG_TIMESTAMP, MSG_NONCE))
    assert fields == {
        "ToUserName": CORP_ID,
        "FromUserName": "mycreate",
        "CreateTime": "1409659813",
        "MsgType": "text",
        "Content": "hello",
        "MsgId": "4561255354251345929",
        "AgentID": "218",
    }
    assert decode_staff_message(SAMPLE, fields) == EXPECTED


async def test_the_verification_sample_is_answered_through_the_route(
    aiohttp_client: AiohttpClient,
) -> None:
    client = await aiohttp_client(web_app(sample_callback(Recorder(), VERIFY_TIMESTAMP)))
    encoded = quote(ECHOSTR, safe="")
    assert "%2B" in encoded and "%2F" in encoded and "%3D" in encoded
    resp = await client.get(
        f"/wecom/sample?msg_signature={VERIFY_SIGNATURE}&timestamp={VERIFY_TIMESTAMP}"
        f"&nonce={VERIFY_NONCE}&echostr={encoded}"
    )
    assert resp.status == 200
    assert await resp.read() == ECHO_PLAIN.encode()  # the plaintext only: no quotes, no newline
    assert resp.content_type == "text/plain"


async def test_the_message_sample_reaches_the_handler_through_the_route(
    aiohttp_client: AiohttpClient,
) -> None:
    handler = Recorder()
    client = await aiohttp_client(web_app(sample_callback(handler, MSG_TIMESTAMP)))
    query = f"msg_signature={MSG_SIGNATURE}&timestamp={MSG_TIMESTAMP}&nonce={MSG_NONCE}"
    resp = await client.post(f"/wecom/sample?{query}", data=BODY.encode())
    assert (resp.status, await resp.read()) == (200, b"")
    assert handler.messages == [EXPECTED]


async def test_the_samples_are_stale_for_a_real_clock(aiohttp_client: AiohttpClient) -> None:
    handler = Recorder()
    callback = WecomCallback([SAMPLE], handler, timestamp_window=300, max_body_bytes=65536)
    client = await aiohttp_client(web_app(callback))
    query = f"msg_signature={MSG_SIGNATURE}&timestamp={MSG_TIMESTAMP}&nonce={MSG_NONCE}"
    resp = await client.post(f"/wecom/sample?{query}", data=BODY.encode())
    assert resp.status == 403
    assert handler.messages == []
