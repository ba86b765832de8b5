"""Checks on an inbound callback: signature, timestamp window, XML safety, AES envelope.

Signatures are computed with wechatpy's signer and compared in constant time; the AES envelope is
opened and sealed with wechatpy's ``PrpCrypto``. XML is parsed with the standard library's expat
parser after refusing any document type declaration (see :func:`parse_xml`).
"""

from __future__ import annotations

import base64
import hmac
import os
import re
import time
from typing import Any
from xml.parsers import expat

from wechatpy.crypto import PrpCrypto
from wechatpy.utils import WeChatSigner

MAX_DEPTH = 4
_SEALED = re.compile(
    rb"\s*<xml>\s*<ToUserName><!\[CDATA\[[^\]<>&]{0,64}\]\]></ToUserName>\s*"
    rb"<Encrypt><!\[CDATA\[([A-Za-z0-9+/=]{1,65536})\]\]></Encrypt>\s*</xml>\s*"
)
_LEAF = re.compile(r"\s*<([A-Za-z_][\w.-]*)>(?:<!\[CDATA\[(.*?)\]\]>|([^<&]*))</\1>", re.S)
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class CallbackRejected(Exception):
    """The callback is refused; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def signature(*parts: str | bytes) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    result: str = signer.signature
    return result


def check_signature(expected: str | None, *parts: str | bytes) -> None:
    if not expected or not hmac.compare_digest(signature(*parts).encode(), expected.encode()):
        raise CallbackRejected(403, "signature does not match")


def check_timestamp(timestamp: str, window: int, now: float | None = None) -> None:
    try:
        value = int(timestamp)
    except ValueError:
        raise CallbackRejected(400, "timestamp is not a number") from None
    if abs((time.time() if now is None else now) - value) > window:
        raise CallbackRejected(403, "timestamp outside the accepted window (replay?)")


def sealed_message(body: bytes) -> bytes | None:
    """The ``<Encrypt>`` text of a safe-mode body in exactly the shape WeChat sends
    (``<xml><ToUserName/><Encrypt/></xml>``, base64 only); None for anything else, which then
    goes through :func:`parse_xml`. Nothing here can expand or escape: the pattern is strict."""
    match = _SEALED.fullmatch(body)
    return match.group(1) if match else None


def parse_xml(body: bytes | str) -> dict[str, Any]:
    """Parse a WeChat XML document into a dict: leaves become text, elements with children dicts
    (repeated children, like news items, become lists).

    Flat documents (``<xml>`` then only leaf elements with CDATA or entity-free text; what
    WeChat sends for messages and most events) take a fast path that yields exactly what the
    parser would; any other document, and anything the fast path is unsure of, is parsed by
    expat with document type declarations, entity declarations and processing instructions
    refused as they are met, so no entity can be defined, expanded or fetched (the check
    defusedxml makes).
    """
    text = body if isinstance(body, str) else _utf8(body)
    if text is not None:
        flat = _flat(text)
        if flat is not None:
            return flat
    return _parse_strictly(body.encode() if isinstance(body, str) else body)


def _parse_strictly(data: bytes) -> dict[str, Any]:
    parser = expat.ParserCreate()
    # (tag, children, text) of the open elements; the root's value ends up in ``done``.
    open_elements: list[tuple[str, dict[str, Any], list[str]]] = []
    done: list[tuple[str, Any]] = []

    def refuse(*_: object) -> None:
        raise CallbackRejected(
            400, "XML with a document type, entity declaration or processing instruction is refused"
        )

    def start(tag: str, _attributes: dict[str, str]) -> None:
        if len(open_elements) > MAX_DEPTH:
            raise CallbackRejected(400, "XML nested too deeply")
        open_elements.append((tag, {}, []))

    def end(_tag: str) -> None:
        tag, children, text = open_elements.pop()
        value: Any = children if children else "".join(text)
        if not open_elements:
            done.append((tag, value))
            return
        siblings = open_elements[-1][1]
        if tag in siblings:
            previous = siblings[tag]
            siblings[tag] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            siblings[tag] = value

    def characters(chunk: str) -> None:
        if open_elements:
            open_elements[-1][2].append(chunk)

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ProcessingInstructionHandler = refuse
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise CallbackRejected(400, f"malformed XML: {exc}") from None
    if not done or done[0][0] != "xml" or not isinstance(done[0][1], dict):
        raise CallbackRejected(400, "the XML root element must be <xml>")
    result: dict[str, Any] = done[0][1]
    return result


def _utf8(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _flat(text: str) -> dict[str, Any] | None:
    """The fast path of :func:`parse_xml`, or None when the document is not plainly flat."""
    if not text.startswith("<xml>") or "\r" in text or _XML_FORBIDDEN.search(text):
        return None
    end = len(text.rstrip())
    if not text.endswith("</xml>", 0, end):
        return None
    end -= len("</xml>")
    fields: dict[str, Any] = {}
    position = len("<xml>")
    while True:
        match = _LEAF.match(text, position, end)
        if match is None:
            break
        tag, cdata, plain = match.groups()
        value = cdata if cdata is not None else plain
        if tag in fields or "]]>" in value:
            return None  # repeated elements, split CDATA, "]]>" in text: leave them to expat
        fields[tag] = value
        position = match.end()
    return fields if not text[position:end].strip() else None


class _Crypto(PrpCrypto):  # type: ignore[misc]
    """wechatpy's envelope crypto, with the 16-byte random prefix from the OS generator (wechatpy
    draws it letter by letter from ``random.sample``, neither fast nor unpredictable). The bytes
    are read 4 KB at a time: one system call per 256 replies instead of one per reply."""

    def __init__(self, key: bytes) -> None:
        super().__init__(key)
        self._pool = b""
        self._used = 0

    def get_random_string(self) -> bytes:
        if self._used + 16 > len(self._pool):
            self._pool, self._used = os.urandom(4096), 0
        self._used += 16
        return self._pool[self._used - 16 : self._used]


class Envelope:
    """The AES envelope of one account (wechatpy's crypto, key decoded once)."""

    def __init__(self, token: str, encoding_aes_key: str, receiver_id: str) -> None:
        key = base64.b64decode(encoding_aes_key + "=")
        if len(key) != 32:
            raise ValueError("EncodingAESKey must decode to 32 bytes")
        self._crypto = _Crypto(key)
        self._token = token.encode()  # bytes go through wechatpy's signer unconverted
        self._receiver_id = receiver_id

    def open(
        self, encrypted: str | bytes, msg_signature: str | None, timestamp: str, nonce: str
    ) -> str:
        """Verify ``msg_signature`` and decrypt; the plaintext must be addressed to us."""
        check_signature(msg_signature, self._token, timestamp, nonce, encrypted)
        try:
            plain: str = self._crypto.decrypt(encrypted, self._receiver_id)
        except Exception as exc:  # wechatpy raises many kinds on a wrong key or garbage
            if type(exc).__name__ == "InvalidAppIdException":
                raise CallbackRejected(403, "the message is addressed to another app id") from None
            raise CallbackRejected(400, "the message cannot be decrypted with this key") from None
        return plain

    def seal(self, xml: str, nonce: str, timestamp: str | None = None) -> str:
        """Encrypt and sign a reply into the encrypted reply envelope."""
        timestamp = timestamp or str(int(time.time()))
        encrypted: bytes = self._crypto.encrypt(xml.encode(), self._receiver_id)
        sig = signature(self._token, timestamp, nonce, encrypted)
        return (
            f"<xml><Encrypt><![CDATA[{encrypted.decode()}]]></Encrypt>"
            f"<MsgSignature><![CDATA[{sig}]]></MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp>"
            f"<Nonce><![CDATA[{cdata_safe(nonce)}]]></Nonce></xml>"
        )


def cdata_safe(text: str) -> str:
    """Text to place inside CDATA: split any ``]]>`` and drop characters XML 1.0 forbids."""
    if "]]>" not in text and _XML_FORBIDDEN.search(text) is None:
        return text
    return _XML_FORBIDDEN.sub("", text).replace("]]>", "]]]]><![CDATA[>")
