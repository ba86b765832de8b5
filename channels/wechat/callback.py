"""The Official Account callback: ``GET`` and ``POST /wechat/{account}``.

Order of checks for a POST: known account, timestamp inside the window, message mode, body size,
then per mode: ``msg_signature`` and decryption (AES modes), or ``signature`` and the replay
memory (plaintext); XML safety, addressee, decoding.
Anything refused gets a 4xx with a short reason, is logged, and changes nothing. A failure to store
the event answers 503 so that WeChat retries.

A MASSSENDJOBFINISH event passes the same checks, then goes to ``on_mass_finish`` instead of the
inbound processor: it is the platform's report on a mass send, not a follower's action (no
follower, no reply). It is answered ``success``, or 503 when the handler fails, so that WeChat
retries; the handler must therefore be idempotent (keyed by msg_id).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol
from urllib.parse import parse_qsl

from aiohttp import web

from channels.wechat.account import WechatAccount
from channels.wechat.decode import (
    MassFinish,
    decode_event,
    decode_mass_finish,
    replies_to_message,
)
from channels.wechat.passive import render_passive
from channels.wechat.verify import (
    CallbackRejected,
    Envelope,
    check_signature,
    check_timestamp,
    parse_xml,
    sealed_message,
)
from handlers.events import Inbound
from handlers.messages import Message

log = logging.getLogger(__name__)

SUCCESS = "success"
MassFinishHandler = Callable[[MassFinish], Awaitable[None]]


class InboundHandler(Protocol):
    async def handle(self, event: Inbound, started: float | None = None) -> Message | None: ...


class _Account:
    __slots__ = ("config", "envelope")

    def __init__(self, config: WechatAccount) -> None:
        self.config = config
        self.envelope = (
            Envelope(config.token, config.encoding_aes_key, config.app_id)
            if config.encoding_aes_key
            else None
        )


class WechatCallback:
    def __init__(
        self,
        accounts: Sequence[WechatAccount],
        handler: InboundHandler,
        *,
        timestamp_window: int,
        max_body_bytes: int,
        on_mass_finish: MassFinishHandler | None = None,
    ) -> None:
        self._accounts = {a.name: _Account(a) for a in accounts}
        self._handler = handler
        self._on_mass_finish = on_mass_finish
        self._window = timestamp_window
        self._max_body = max_body_bytes
        self._plaintext_replays = _ReplayMemory(timestamp_window)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/wechat/{account}", self.verify_url),
            web.post("/wechat/{account}", self.receive),
        ]

    async def verify_url(self, request: web.Request) -> web.Response:
        """URL verification: echo ``echostr`` when the signature is right."""
        try:
            account = self._account(request)
            query = parse_query(request.query_string)
            timestamp, nonce = _required(query, "timestamp"), _required(query, "nonce")
            echostr = _required(query, "echostr")
            check_timestamp(timestamp, self._window)
            check_signature(query.get("signature"), account.config.token, timestamp, nonce)
        except CallbackRejected as exc:
            return _refuse(request, exc)
        log.info("URL verification of %s answered", account.config.name)
        return web.Response(text=echostr)

    async def receive(self, request: web.Request) -> web.Response:
        started = time.monotonic()
        try:
            account = self._account(request)
            query = parse_query(request.query_string)
            timestamp, nonce = _required(query, "timestamp"), _required(query, "nonce")
            check_timestamp(timestamp, self._window)
            encrypted = query.get("encrypt_type", "raw").lower() == "aes"
            if not encrypted and account.config.mode != "plaintext":
                raise CallbackRejected(
                    400, f"the account is in {account.config.mode} mode: plaintext is refused"
                )
            body = await self._body(request)
            opened = self._sealed_fields if encrypted else self._plain_fields
            fields = opened(account, query, body, timestamp, nonce)
            original_id = account.config.original_id
            if original_id and fields.get("ToUserName") != original_id:
                raise CallbackRejected(403, "the message is addressed to another account")
            name = account.config.name
            decoded = decode_mass_finish(name, fields) or decode_event(name, fields)
        except CallbackRejected as exc:
            return _refuse(request, exc)
        if isinstance(decoded, MassFinish):
            return await self._mass_finished(decoded)
        event = decoded
        try:
            reply = await self._handler.handle(event, started)
        except Exception:
            log.exception(
                "%s %s could not be handled; WeChat will retry", event.account, event.dedupe_key
            )
            return web.Response(status=503, text="temporarily unavailable")
        if reply is None:
            return web.Response(text=SUCCESS)
        now = int(time.time())
        xml = render_passive(
            reply,
            to_user=event.user,
            from_user=str(fields["ToUserName"]),
            create_time=now,
            to_message=replies_to_message(event),
        )
        if encrypted and account.envelope is not None:
            xml = account.envelope.seal(xml, nonce, str(now))
        return web.Response(body=xml.encode(), content_type="application/xml")

    async def _mass_finished(self, finish: MassFinish) -> web.Response:
        if self._on_mass_finish is None:
            log.info(
                "%s: mass send %s finished (%s, %d of %d sent); no handler, answered success",
                finish.account,
                finish.msg_id,
                finish.status,
                finish.sent_count,
                finish.total,
            )
            return web.Response(text=SUCCESS)
        try:
            await self._on_mass_finish(finish)
        except Exception:
            log.exception(
                "%s: the result of mass send %s could not be handled; WeChat will retry",
                finish.account,
                finish.msg_id,
            )
            return web.Response(status=503, text="temporarily unavailable")
        return web.Response(text=SUCCESS)

    def _sealed_fields(
        self, account: _Account, query: dict[str, str], body: bytes, timestamp: str, nonce: str
    ) -> dict[str, Any]:
        """AES modes: ``msg_signature`` covers token, timestamp, nonce and the payload."""
        if account.envelope is None:
            raise CallbackRejected(400, "encrypted message, but no EncodingAESKey is set")
        sealed = sealed_message(body) or parse_xml(body).get("Encrypt")
        if not isinstance(sealed, str | bytes) or not sealed:
            raise CallbackRejected(400, "encrypted message without <Encrypt>")
        return parse_xml(
            account.envelope.open(sealed, query.get("msg_signature"), timestamp, nonce)
        )

    def _plain_fields(
        self, account: _Account, query: dict[str, str], body: bytes, timestamp: str, nonce: str
    ) -> dict[str, Any]:
        """Plaintext mode: ``signature`` covers token, timestamp and nonce, not the body."""
        check_signature(query.get("signature"), account.config.token, timestamp, nonce)
        self._plaintext_replays.check(account.config.name, timestamp, nonce, body)
        return parse_xml(body)

    def _account(self, request: web.Request) -> _Account:
        account = self._accounts.get(request.match_info["account"])
        if account is None:
            raise CallbackRejected(404, "no such account")
        return account

    async def _body(self, request: web.Request) -> bytes:
        if request.content_length is not None and request.content_length > self._max_body:
            raise CallbackRejected(413, f"body larger than {self._max_body} bytes")
        try:
            return await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise CallbackRejected(413, f"body larger than {self._max_body} bytes") from None


class _ReplayMemory:
    """Plaintext mode signs only token, timestamp and nonce, not the body: a captured query
    string could carry another body within the timestamp window. Each (timestamp, nonce) is
    remembered with its body's digest; WeChat's retries (same body) pass, another body does not.
    The memory is per process; safe mode needs none of this."""

    def __init__(self, window: int, limit: int = 100_000) -> None:
        self._window = window
        self._limit = limit
        self._seen: dict[tuple[str, str, str], tuple[float, bytes]] = {}

    def check(self, account: str, timestamp: str, nonce: str, body: bytes) -> None:
        now = time.monotonic()
        digest = hashlib.sha256(body).digest()
        key = (account, timestamp, nonce)
        seen = self._seen.get(key)
        if seen is not None and now - seen[0] < 2 * self._window:
            if seen[1] != digest:
                raise CallbackRejected(403, "this signature was already used for another body")
            return
        self._seen[key] = (now, digest)
        while len(self._seen) > self._limit or (
            self._seen and now - next(iter(self._seen.values()))[0] > 2 * self._window
        ):
            del self._seen[next(iter(self._seen))]


def parse_query(query_string: str) -> dict[str, str]:
    """The callback's query parameters. WeChat sends plain ``[A-Za-z0-9_-]`` values, split here
    directly; anything percent- or plus-encoded goes through the standard parser."""
    if "%" in query_string or "+" in query_string:
        return dict(parse_qsl(query_string))
    return {key: value for key, _, value in (p.partition("=") for p in query_string.split("&"))}


def _required(query: dict[str, str], name: str) -> str:
    value: str | None = query.get(name)
    if not value:
        raise CallbackRejected(400, f"missing query parameter {name}")
    return value


def _refuse(request: web.Request, exc: CallbackRejected) -> web.Response:
    log.warning(
        "refused %s %s from %s: %d %s",
        request.method,
        request.path,
        request.remote,
        exc.status,
        exc.reason,
    )
    return web.Response(status=exc.status, text=exc.reason)
