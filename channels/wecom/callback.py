"""The WeCom app callback: ``GET`` and ``POST /wecom/{app}`` (platform-facts.md §4.2).

GET is the URL verification: the signed, encrypted ``echostr`` is decrypted and its plaintext
echoed (WeCom waits 1 second, so nothing here touches the database).
POST carries one encrypted message. Order of checks: known app, timestamp inside the window, body
size, envelope XML, ``msg_signature`` and decryption (receiver id = corp id), inner XML, addressee
(corp id and agent id), decoding. Anything refused gets a 4xx with a short reason, is logged, and
calls nothing. A failure of the handler answers 503 so that WeCom retries; success answers 200
with an empty body (no passive reply: answers go out through the API).

Customer-group changes (``Event=change_external_chat``, §4.10) are decoded to a
:class:`GroupChange` and handed to ``on_group_change`` when one is given (its failure answers
503 as well); without it they are acknowledged with 200 and logged. Customer changes
(``Event=change_external_contact``, §4.5) go the same way to ``on_contact_change`` as a
:class:`ContactChange`. Staff messages are unaffected.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from channels.wechat.verify import CallbackRejected, Envelope, check_timestamp, parse_xml
from channels.wecom.app import WecomApp
from channels.wecom.decode import (
    ContactChange,
    GroupChange,
    decode_contact_change,
    decode_group_change,
    decode_staff_message,
)
from handlers.staff import StaffHandler

log = logging.getLogger(__name__)

GroupChangeHandler = Callable[[GroupChange], Awaitable[None]]
ContactChangeHandler = Callable[[ContactChange], Awaitable[None]]


class _App:
    __slots__ = ("agent_id", "config", "envelope")

    def __init__(self, config: WecomApp) -> None:
        self.config = config
        self.agent_id = str(config.agent_id)
        self.envelope = Envelope(config.token, config.encoding_aes_key, config.corp_id)


class WecomCallback:
    def __init__(
        self,
        apps: Sequence[WecomApp],
        handler: StaffHandler,
        *,
        timestamp_window: int,
        max_body_bytes: int,
        clock: Callable[[], float] = time.time,
        on_group_change: GroupChangeHandler | None = None,
        on_contact_change: ContactChangeHandler | None = None,
    ) -> None:
        self._apps = {a.name: _App(a) for a in apps}
        self._handler = handler
        self._on_group_change = on_group_change
        self._on_contact_change = on_contact_change
        self._window = timestamp_window
        self._max_body = max_body_bytes
        self._clock = clock

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/wecom/{app}", self.verify_url),
            web.post("/wecom/{app}", self.receive),
        ]

    async def verify_url(self, request: web.Request) -> web.Response:
        """URL verification: answer the decrypted ``echostr`` when the signature is right."""
        try:
            app = self._app(request)
            query = parse_query(request.rel_url.raw_query_string)
            timestamp, nonce = self._fresh(query)
            echostr = _required(query, "echostr")
            plain = app.envelope.open(echostr, query.get("msg_signature"), timestamp, nonce)
        except CallbackRejected as exc:
            return _refuse(request, exc)
        log.info("URL verification of WeCom app %s answered", app.config.name)
        return web.Response(text=plain, content_type="text/plain")

    async def receive(self, request: web.Request) -> web.Response:
        try:
            app = self._app(request)
            query = parse_query(request.rel_url.raw_query_string)
            timestamp, nonce = self._fresh(query)
            fields = _open(app, query, await self._body(request), timestamp, nonce)
            change = decode_group_change(app.config, fields)
            contact = None if change is not None else decode_contact_change(app.config, fields)
            message = (
                None
                if change is not None or contact is not None
                else decode_staff_message(app.config, fields)
            )
        except CallbackRejected as exc:
            return _refuse(request, exc)
        if change is not None:
            return await self._group_change(change)
        if contact is not None:
            return await self._contact_change(contact)
        if message is None:
            log.info(
                "WeCom app %s: %s %s from %s needs no answer",
                app.config.name,
                fields.get("MsgType"),
                fields.get("Event", ""),
                fields.get("FromUserName"),
            )
            return web.Response()
        try:
            await self._handler.handle_staff(message)
        except Exception:
            log.exception("%s could not be handled; WeCom will retry", message.dedupe_key)
            return web.Response(status=503, text="temporarily unavailable")
        return web.Response()

    async def _group_change(self, change: GroupChange) -> web.Response:
        if self._on_group_change is None:
            log.info(
                "WeCom app %s: customer group %s %s %s acknowledged (no group handler)",
                change.account,
                change.chat_id,
                change.change_type,
                change.detail,
            )
            return web.Response()
        try:
            await self._on_group_change(change)
        except Exception:
            log.exception("%s could not be handled; WeCom will retry", change.dedupe_key)
            return web.Response(status=503, text="temporarily unavailable")
        return web.Response()

    async def _contact_change(self, change: ContactChange) -> web.Response:
        if self._on_contact_change is None:
            log.info(
                "WeCom app %s: customer %s %s of %s acknowledged (no contact handler)",
                change.account,
                change.external_userid,
                change.change_type,
                change.userid,
            )
            return web.Response()
        try:
            await self._on_contact_change(change)
        except Exception:
            log.exception("%s could not be handled; WeCom will retry", change.dedupe_key)
            return web.Response(status=503, text="temporarily unavailable")
        return web.Response()

    def _app(self, request: web.Request) -> _App:
        app = self._apps.get(request.match_info["app"])
        if app is None:
            raise CallbackRejected(404, "no such app")
        return app

    def _fresh(self, query: dict[str, str]) -> tuple[str, str]:
        timestamp, nonce = _required(query, "timestamp"), _required(query, "nonce")
        check_timestamp(timestamp, self._window, self._clock())
        return timestamp, nonce

    async def _body(self, request: web.Request) -> bytes:
        if request.content_length is not None and request.content_length > self._max_body:
            raise CallbackRejected(413, f"body larger than {self._max_body} bytes")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise CallbackRejected(413, f"body larger than {self._max_body} bytes") from None
        if len(body) > self._max_body:  # a chunked body has no Content-Length
            raise CallbackRejected(413, f"body larger than {self._max_body} bytes")
        return body


def _open(
    app: _App, query: dict[str, str], body: bytes, timestamp: str, nonce: str
) -> dict[str, Any]:
    """Verify, decrypt and parse the message; it must be addressed to this corp and app."""
    sealed = parse_xml(body).get("Encrypt")
    if not isinstance(sealed, str) or not sealed:
        raise CallbackRejected(400, "the message has no <Encrypt>")
    fields = parse_xml(app.envelope.open(sealed, query.get("msg_signature"), timestamp, nonce))
    if fields.get("ToUserName") != app.config.corp_id:
        raise CallbackRejected(403, "the message is addressed to another corp")
    agent_id = fields.get("AgentID")
    if agent_id is None and fields.get("MsgType") == "event":
        return fields  # customer-contact events carry no AgentID (§4.5); they need no answer
    if agent_id != app.agent_id:
        raise CallbackRejected(403, "the message is addressed to another app (AgentID)")
    return fields


def parse_query(query_string: str) -> dict[str, str]:
    """The callback's parameters from the raw (undecoded) query string, percent-decoded once.

    Unlike form decoding, a ``+`` stays a ``+``: WeCom's ``echostr`` is base64, and a ``+`` that
    reaches us unencoded is part of it, never a space. (aiohttp's ``request.query_string`` is
    already partly decoded, with ``+`` turned into a space, so it is not used.)"""
    query: dict[str, str] = {}
    for part in query_string.split("&"):
        key, _, value = part.partition("=")
        if key:
            query[unquote(key)] = unquote(value)
    return query


def _required(query: dict[str, str], name: str) -> str:
    value = query.get(name)
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
