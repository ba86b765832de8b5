"""Callbacks as WeCom builds them, and passive replies as WeCom reads them (pure functions).

The builders return the inner message XML (`wecom_text_xml`, ...); `build_wecom_callback` seals
it into the query and body of the POST (always encrypted, receiver id = corp id).
`decode_wecom_reply` verifies and decrypts a passive reply. XML rendering and parsing, the
SHA-1 signature and ReplyError are the Official Account fake's (the envelope is the same).
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any, Final

from wechatpy.enterprise.crypto import PrpCrypto

from channels.wechat.sandbox.callbacks import (
    ReplyError,
    XmlValue,
    cdata,
    parse_xml,
    render_xml,
    sha1_signature,
)

from .apps import FakeWecomApp

REPLY_TYPES: Final = frozenset({"text", "image", "voice", "video", "news", "update_button"})
"""MsgTypes of passive replies WeCom accepts."""


# the AES envelope (§1.3, receiver id = corp id for self-built apps)


def wecom_encrypt(app: FakeWecomApp, xml: str) -> str:
    """Base64 AES envelope of a message for this app's corp."""
    return bytes(PrpCrypto(app.aes_key).encrypt(xml, app.corp_id)).decode("ascii")


def wecom_decrypt(app: FakeWecomApp, sealed: str) -> str:
    """The message inside an envelope; ReplyError if it is not for this app's corp."""
    try:
        return str(PrpCrypto(app.aes_key).decrypt(sealed, app.corp_id))
    except Exception as exc:
        raise ReplyError(f"cannot decrypt the envelope for corp {app.corp_id}") from exc


def new_nonce() -> str:
    """A random numeric nonce like the platform's."""
    return str(secrets.randbelow(10**10))


# inner message XML (§4.2)


def _head(app: FakeWecomApp, userid: str, create_time: int, msg_type: str) -> dict[str, XmlValue]:
    return {
        "ToUserName": app.corp_id,
        "FromUserName": userid,
        "CreateTime": create_time,
        "MsgType": msg_type,
    }


def wecom_text_xml(app: FakeWecomApp, userid: str, text: str, msg_id: int, create_time: int) -> str:
    """A text message from a member to the app."""
    return render_xml(
        {
            **_head(app, userid, create_time, "text"),
            "Content": text,
            "MsgId": msg_id,
            "AgentID": app.agent_id,
        }
    )


def wecom_image_xml(
    app: FakeWecomApp, userid: str, pic_url: str, media_id: str, msg_id: int, create_time: int
) -> str:
    """An image message from a member; MediaId can be fetched with media/get."""
    return render_xml(
        {
            **_head(app, userid, create_time, "image"),
            "PicUrl": pic_url,
            "MediaId": media_id,
            "MsgId": msg_id,
            "AgentID": app.agent_id,
        }
    )


def wecom_event_xml(app: FakeWecomApp, userid: str, event: str, key: str, create_time: int) -> str:
    """An event (no MsgId), e.g. enter_agent or a menu click with its EventKey."""
    return render_xml(
        {
            **_head(app, userid, create_time, "event"),
            "Event": event,
            "EventKey": key,
            "AgentID": app.agent_id,
        }
    )


def _inner(fields: Mapping[str, XmlValue]) -> str:
    return render_xml(fields).removeprefix("<xml>").removesuffix("</xml>")


def wecom_group_change_xml(
    app: FakeWecomApp,
    chat_id: str,
    change_type: str,
    create_time: int,
    *,
    detail: str = "",
    join_scene: int | None = None,
    quit_scene: int | None = None,
    count: int | None = None,
    changed: Sequence[str] | None = None,
    last_version: str = "",
    version: str = "",
) -> str:
    """A customer-group change (§4.10): Event change_external_chat from "sys", no AgentID.

    `detail` is the UpdateDetail of an update; member changes add JoinScene or QuitScene and
    MemChangeCnt, and the newer optional MemChangeList (one Item per member id, given as
    `changed`) with LastMemVer / CurMemVer (`last_version` / `version`).
    """
    fields: dict[str, XmlValue] = {
        **_head(app, "sys", create_time, "event"),
        "Event": "change_external_chat",
        "ChatId": chat_id,
        "ChangeType": change_type,
    }
    if detail:
        fields["UpdateDetail"] = detail
    if join_scene is not None:
        fields["JoinScene"] = join_scene
    if quit_scene is not None:
        fields["QuitScene"] = quit_scene
    if count is not None:
        fields["MemChangeCnt"] = count
    listing = ""
    if changed is not None:
        items = "".join(f"<Item>{cdata(userid)}</Item>" for userid in changed)
        listing = f"<MemChangeList>{items}</MemChangeList>"
    versions: dict[str, XmlValue] = {}
    if last_version:
        versions["LastMemVer"] = last_version
    if version:
        versions["CurMemVer"] = version
    return "<xml>" + _inner(fields) + listing + _inner(versions) + "</xml>"


def wecom_contact_change_xml(
    app: FakeWecomApp,
    change_type: str,
    userid: str,
    external_userid: str,
    create_time: int,
    *,
    state: str | None = None,
    welcome_code: str = "",
    source: str = "",
) -> str:
    """A customer change (§4.5): Event change_external_contact from "sys", no AgentID.

    Add events carry `State` (given as `state`, "" included) and a `WelcomeCode` when one can
    be sent; del_external_contact may carry `Source`.
    """
    fields: dict[str, XmlValue] = {
        **_head(app, "sys", create_time, "event"),
        "Event": "change_external_contact",
        "ChangeType": change_type,
        "UserID": userid,
        "ExternalUserID": external_userid,
    }
    if state is not None:
        fields["State"] = state
    if welcome_code:
        fields["WelcomeCode"] = welcome_code
    if source:
        fields["Source"] = source
    return render_xml(fields)


# the signed, encrypted requests


def build_wecom_callback(
    app: FakeWecomApp, inner_xml: str, *, timestamp: str | None = None, nonce: str | None = None
) -> tuple[dict[str, str], bytes]:
    """Query (msg_signature, timestamp, nonce) and encrypted body of a callback POST."""
    ts = timestamp if timestamp is not None else str(int(time.time()))
    nonce = nonce if nonce is not None else new_nonce()
    sealed = wecom_encrypt(app, inner_xml)
    query = {
        "msg_signature": sha1_signature(app.token, ts, nonce, sealed),
        "timestamp": ts,
        "nonce": nonce,
    }
    body = render_xml({"ToUserName": app.corp_id, "AgentID": str(app.agent_id), "Encrypt": sealed})
    return query, body.encode("utf-8")


def build_wecom_verification(
    app: FakeWecomApp, echo: str, *, timestamp: str | None = None, nonce: str | None = None
) -> dict[str, str]:
    """Query of the GET URL verification; `echostr` is `echo` encrypted (answer: `echo`)."""
    ts = timestamp if timestamp is not None else str(int(time.time()))
    nonce = nonce if nonce is not None else new_nonce()
    echostr = wecom_encrypt(app, echo)
    return {
        "msg_signature": sha1_signature(app.token, ts, nonce, echostr),
        "timestamp": ts,
        "nonce": nonce,
        "echostr": echostr,
    }


# passive replies (§1.3 envelope)


def open_wecom_envelope(app: FakeWecomApp, body: bytes) -> str:
    """Verify an encrypted reply's MsgSignature and return the decrypted XML."""
    envelope = parse_xml(body)
    missing = [k for k in ("Encrypt", "MsgSignature", "TimeStamp", "Nonce") if not envelope.get(k)]
    if missing:
        raise ReplyError(f"encrypted reply lacks {', '.join(missing)}")
    sealed, signature = str(envelope["Encrypt"]), str(envelope["MsgSignature"])
    expected = sha1_signature(app.token, str(envelope["TimeStamp"]), str(envelope["Nonce"]), sealed)
    if not hmac.compare_digest(expected, signature):
        raise ReplyError("MsgSignature does not match token, TimeStamp, Nonce and Encrypt")
    return wecom_decrypt(app, sealed)


def decode_wecom_reply(
    app: FakeWecomApp, body: bytes, *, userid: str | None = None
) -> dict[str, Any] | None:
    """A passive reply as a dict, None for an empty body, ReplyError if WeCom would refuse it.

    WeCom only reads encrypted replies; `userid`, when given, must be the reply's ToUserName.
    """
    if not body.strip():
        return None
    reply = parse_xml(open_wecom_envelope(app, body))
    for key in ("ToUserName", "FromUserName", "CreateTime", "MsgType"):
        if not isinstance(reply.get(key), str) or not reply[key]:
            raise ReplyError(f"reply lacks {key}")
    if reply["FromUserName"] != app.corp_id:
        raise ReplyError(f"FromUserName must be the corp id {app.corp_id}")
    if userid is not None and reply["ToUserName"].lower() != userid.lower():
        raise ReplyError(f"ToUserName must be the member's userid {userid}")
    kind = reply["MsgType"]
    if kind not in REPLY_TYPES:
        raise ReplyError(f"unknown reply MsgType {kind!r}")
    if kind == "text" and not (isinstance(reply.get("Content"), str) and reply["Content"]):
        raise ReplyError("text reply without Content (answer an empty body instead)")
    block = {"image": "Image", "voice": "Voice", "video": "Video"}.get(kind)
    if block and not (isinstance(reply.get(block), dict) and reply[block].get("MediaId")):
        raise ReplyError(f"{kind} reply lacks {block}/MediaId")
    if kind == "news" and not (isinstance(reply.get("Articles"), list) and reply["Articles"]):
        raise ReplyError("news reply lacks Articles/item")
    return reply
