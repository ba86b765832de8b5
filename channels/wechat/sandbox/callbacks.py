"""Callbacks as WeChat builds them, and passive replies as WeChat reads them (pure functions).

Builders return the inner message XML (`text_xml`, `event_xml`, ...); `build_callback` turns it
into the query and body of the POST for the account's message mode. `decode_reply` checks a
passive reply the way the platform does and parses it into a dict.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any, Final, TypeAlias

from wechatpy.crypto import PrpCrypto

from .accounts import FakeAccount

XmlValue: TypeAlias = "str | int | float | Mapping[str, XmlValue] | list[Mapping[str, XmlValue]]"
REPLY_TYPES: Final = frozenset(
    {"text", "image", "voice", "video", "music", "news", "transfer_customer_service"}
)
_DECLARATION = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


class ReplyError(ValueError):
    """A passive reply the platform would not accept (the customer sees the error notice)."""


# XML rendering


def cdata(text: str) -> str:
    """Wrap text in CDATA, splitting any "]]>" it contains."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _element(name: str, value: XmlValue) -> str:
    if isinstance(value, bool):
        raise TypeError(f"{name}: booleans have no XML form here")
    if isinstance(value, str):
        inner = cdata(value)
    elif isinstance(value, int):
        inner = str(value)
    elif isinstance(value, float):
        inner = f"{value:.6f}"
    elif isinstance(value, Mapping):
        inner = "".join(_element(k, v) for k, v in value.items())
    else:
        inner = "".join(
            "<item>" + "".join(_element(k, v) for k, v in item.items()) + "</item>"
            for item in value
        )
    return f"<{name}>{inner}</{name}>"


def render_xml(fields: Mapping[str, XmlValue]) -> str:
    """`<xml>` document with CDATA strings and bare numbers, in the given field order."""
    return "<xml>" + "".join(_element(k, v) for k, v in fields.items()) + "</xml>"


def _head(
    account: FakeAccount, openid: str, create_time: int, msg_type: str
) -> dict[str, XmlValue]:
    return {
        "ToUserName": account.original_id,
        "FromUserName": openid,
        "CreateTime": create_time,
        "MsgType": msg_type,
    }


# inbound messages (§1.5)


def text_xml(account: FakeAccount, openid: str, content: str, msg_id: int, create_time: int) -> str:
    """A text message from a customer."""
    return render_xml(
        {**_head(account, openid, create_time, "text"), "Content": content, "MsgId": msg_id}
    )


def image_xml(
    account: FakeAccount, openid: str, pic_url: str, media_id: str, msg_id: int, create_time: int
) -> str:
    """An image message from a customer."""
    return render_xml(
        {
            **_head(account, openid, create_time, "image"),
            "PicUrl": pic_url,
            "MediaId": media_id,
            "MsgId": msg_id,
        }
    )


def voice_xml(
    account: FakeAccount,
    openid: str,
    media_id: str,
    msg_id: int,
    create_time: int,
    *,
    fmt: str = "amr",
    recognition: str | None = None,
) -> str:
    """A voice message; `Recognition` only when speech recognition produced text."""
    fields = {**_head(account, openid, create_time, "voice"), "MediaId": media_id, "Format": fmt}
    if recognition is not None:
        fields["Recognition"] = recognition
    fields["MsgId"] = msg_id
    return render_xml(fields)


def location_xml(
    account: FakeAccount,
    openid: str,
    lat: float,
    lng: float,
    scale: int,
    label: str,
    msg_id: int,
    create_time: int,
) -> str:
    """A location message (Location_X is the latitude)."""
    return render_xml(
        {
            **_head(account, openid, create_time, "location"),
            "Location_X": lat,
            "Location_Y": lng,
            "Scale": scale,
            "Label": label,
            "MsgId": msg_id,
        }
    )


def link_xml(
    account: FakeAccount,
    openid: str,
    title: str,
    description: str,
    url: str,
    msg_id: int,
    create_time: int,
) -> str:
    """A link message."""
    return render_xml(
        {
            **_head(account, openid, create_time, "link"),
            "Title": title,
            "Description": description,
            "Url": url,
            "MsgId": msg_id,
        }
    )


# events (§1.6)


def event_xml(
    account: FakeAccount,
    openid: str,
    event: str,
    create_time: int,
    *,
    event_key: str | None = None,
    ticket: str | None = None,
    extra: Mapping[str, XmlValue] | None = None,
) -> str:
    """An event (no MsgId); EventKey and Ticket only when given."""
    fields = {**_head(account, openid, create_time, "event"), "Event": event}
    if event_key is not None:
        fields["EventKey"] = event_key
    if ticket is not None:
        fields["Ticket"] = ticket
    fields.update(extra or {})
    return render_xml(fields)


def subscribe_xml(
    account: FakeAccount,
    openid: str,
    create_time: int,
    *,
    scene: str | None = None,
    ticket: str | None = None,
) -> str:
    """A follow; through a parametric QR code EventKey is "qrscene_" + scene plus the Ticket."""
    if scene is None:
        return event_xml(account, openid, "subscribe", create_time)
    return event_xml(
        account, openid, "subscribe", create_time, event_key=f"qrscene_{scene}", ticket=ticket or ""
    )


def scan_xml(
    account: FakeAccount, openid: str, create_time: int, *, scene: str, ticket: str
) -> str:
    """An already-following customer scanned a parametric QR code (no prefix)."""
    return event_xml(account, openid, "SCAN", create_time, event_key=scene, ticket=ticket)


def mass_finish_xml(
    account: FakeAccount,
    openid: str,
    create_time: int,
    *,
    msg_id: int,
    status: str,
    total: int,
    filter_count: int,
    sent: int,
    errors: int,
) -> str:
    """The MASSSENDJOBFINISH event (note `MsgID` with a capital D)."""
    return event_xml(
        account,
        openid,
        "MASSSENDJOBFINISH",
        create_time,
        extra={
            "MsgID": msg_id,
            "Status": status,
            "TotalCount": total,
            "FilterCount": filter_count,
            "SentCount": sent,
            "ErrorCount": errors,
            "CopyrightCheckResult": {"Count": 0, "ResultList": [], "CheckState": 0},
            "ArticleUrlResult": {"Count": 0, "ResultList": []},
        },
    )


# signing and the AES envelope (§1.2, §1.3)


def sha1_signature(*parts: str) -> str:
    """SHA-1 hex of the lexicographically sorted parts joined without separator."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()  # noqa: S324


def encrypt(account: FakeAccount, xml: str) -> str:
    """Base64 AES envelope of a message for this account."""
    return bytes(PrpCrypto(account.aes_key).encrypt(xml, account.app_id)).decode("ascii")


def decrypt(account: FakeAccount, encrypted: str) -> str:
    """The message inside an envelope; ReplyError if it is not for this account."""
    try:
        return str(PrpCrypto(account.aes_key).decrypt(encrypted, account.app_id))
    except Exception as exc:
        raise ReplyError(f"cannot decrypt the envelope for app id {account.app_id}") from exc


def build_verification(
    account: FakeAccount, *, timestamp: int, nonce: str, echostr: str
) -> dict[str, str]:
    """Query of the GET URL verification (plain signature even in safe mode)."""
    ts = str(timestamp)
    return {
        "signature": sha1_signature(account.token, ts, nonce),
        "timestamp": ts,
        "nonce": nonce,
        "echostr": echostr,
    }


def build_callback(
    account: FakeAccount, inner_xml: str, *, timestamp: int, nonce: str
) -> tuple[dict[str, str], bytes]:
    """Query and body of the callback POST for the account's message mode."""
    fields = parse_xml(inner_xml)
    ts = str(timestamp)
    query = {
        "signature": sha1_signature(account.token, ts, nonce),
        "timestamp": ts,
        "nonce": nonce,
        "openid": str(fields.get("FromUserName", "")),
    }
    if not account.encrypted:
        return query, inner_xml.encode("utf-8")
    sealed = encrypt(account, inner_xml)
    query["encrypt_type"] = "aes"
    query["msg_signature"] = sha1_signature(account.token, ts, nonce, sealed)
    if account.mode == "compatible":
        cut = inner_xml.rindex("</xml>")
        body = inner_xml[:cut] + f"<Encrypt>{cdata(sealed)}</Encrypt></xml>"
    else:
        body = render_xml({"ToUserName": account.original_id, "Encrypt": sealed})
    return query, body.encode("utf-8")


# reading XML and replies (§1.7)


def parse_xml(data: str | bytes) -> dict[str, Any]:
    """An `<xml>` document as a dict; nested elements become dicts, `<item>` lists become lists."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if _DECLARATION.search(raw):
        raise ReplyError("XML with DOCTYPE or ENTITY declarations is refused")
    try:
        root = ET.fromstring(raw)  # noqa: S314 - declarations refused above
    except ET.ParseError as exc:
        raise ReplyError(f"not well-formed XML: {exc}") from exc
    if root.tag != "xml":
        raise ReplyError(f"root element is <{root.tag}>, expected <xml>")
    return _children(root)


def _children(element: ET.Element) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for child in element:
        if len(child) and all(grand.tag == "item" for grand in child):
            result[child.tag] = [_children(item) for item in child]
        elif len(child):
            result[child.tag] = _children(child)
        else:
            result[child.tag] = child.text or ""
    return result


def open_envelope(account: FakeAccount, body: bytes) -> str:
    """Verify an encrypted reply's MsgSignature and return the decrypted XML."""
    envelope = parse_xml(body)
    missing = [k for k in ("Encrypt", "MsgSignature", "TimeStamp", "Nonce") if not envelope.get(k)]
    if missing:
        raise ReplyError(f"encrypted reply lacks {', '.join(missing)}")
    sealed, signature = str(envelope["Encrypt"]), str(envelope["MsgSignature"])
    expected = sha1_signature(
        account.token, str(envelope["TimeStamp"]), str(envelope["Nonce"]), sealed
    )
    if not hmac.compare_digest(expected, signature):
        raise ReplyError("MsgSignature does not match token, TimeStamp, Nonce and Encrypt")
    return decrypt(account, sealed)


def decode_reply(
    account: FakeAccount, body: bytes, *, openid: str | None = None
) -> dict[str, Any] | None:
    """A passive reply as a dict, None for "success" or an empty body, ReplyError if invalid.

    Encrypted replies are verified and decrypted; safe mode requires encryption and
    plaintext mode refuses it. `openid`, when given, must be the reply's ToUserName.
    """
    if body in (b"", b"success"):
        return None
    outer = parse_xml(body)
    if "Encrypt" in outer:
        if not account.encrypted:
            raise ReplyError("encrypted reply, but the account is in plaintext mode")
        reply = parse_xml(open_envelope(account, body))
    elif account.mode == "safe":
        raise ReplyError("safe mode requires an encrypted reply")
    else:
        reply = outer
    _check_reply(account, reply, openid)
    return reply


def _check_reply(account: FakeAccount, reply: dict[str, Any], openid: str | None) -> None:
    for key in ("ToUserName", "FromUserName", "CreateTime", "MsgType"):
        if not isinstance(reply.get(key), str) or not reply[key]:
            raise ReplyError(f"reply lacks {key}")
    if reply["FromUserName"] != account.original_id:
        raise ReplyError(f"FromUserName must be the OA original id {account.original_id}")
    if openid is not None and reply["ToUserName"] != openid:
        raise ReplyError(f"ToUserName must be the customer's OpenID {openid}")
    reply["CreateTime"] = _int(reply["CreateTime"], "CreateTime")
    kind = reply["MsgType"]
    if kind not in REPLY_TYPES:
        raise ReplyError(f"unknown reply MsgType {kind!r}")
    if kind == "text" and not (isinstance(reply.get("Content"), str) and reply["Content"]):
        raise ReplyError("text reply without Content (answer 'success' or an empty body instead)")
    block = {"image": "Image", "voice": "Voice", "video": "Video"}.get(kind)
    if block and not (isinstance(reply.get(block), dict) and reply[block].get("MediaId")):
        raise ReplyError(f"{kind} reply lacks {block}/MediaId")
    if kind == "music" and not isinstance(reply.get("Music"), dict):
        raise ReplyError("music reply lacks Music")
    if kind == "news":
        articles = reply.get("Articles")
        if not isinstance(articles, list) or not articles:
            raise ReplyError("news reply lacks Articles/item")
        count = _int(reply.get("ArticleCount", ""), "ArticleCount")
        if count != len(articles):
            raise ReplyError(f"ArticleCount {count} but {len(articles)} items")
        reply["ArticleCount"] = count


def _int(value: object, name: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise ReplyError(f"{name} must be an integer, got {value!r}") from None
