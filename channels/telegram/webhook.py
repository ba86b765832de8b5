"""The Telegram webhook: ``POST /telegram/{bot}`` (platform-facts.md §6.2).

Order of checks: known bot in webhook mode (404), the secret-token header in constant time (403),
body size (413), the bot's client started (503), a JSON ``Update`` (400). Anything refused is
logged and reaches no handler. An update older than Telegram keeps updates is a replay:
answered 200 so that it is not sent again, logged and dropped. A handler failure answers 503 so
that Telegram delivers it again.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web
from telegram import Update

from channels.telegram.bot import TelegramBot
from channels.telegram.client import TelegramClient
from channels.telegram.dispatch import dispatch
from handlers.staff import StaffHandler

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
WEBHOOK = "webhook"


class WebhookRejected(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class TelegramWebhook:
    def __init__(
        self,
        bots: Sequence[TelegramBot],
        handler: StaffHandler,
        clients: Mapping[str, TelegramClient],
        *,
        max_body_bytes: int,
        max_age_seconds: int = 26 * 3600,
    ) -> None:
        self._bots = {b.name: b for b in bots if b.mode == WEBHOOK}
        self._handler = handler
        self._clients = clients
        self._max_body = max_body_bytes
        self._max_age = max_age_seconds

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/telegram/{bot}", self.receive)]

    async def receive(self, request: web.Request) -> web.Response:
        try:
            bot = self._bot(request)
            _check_secret(request, bot)
            body = await self._body(request)
            client = self._client(bot)
            update = _parse_update(body, client)
        except WebhookRejected as exc:
            return _refuse(request, exc)
        age = _age(update)
        if age is not None and age > self._max_age:
            log.warning(
                "telegram %s: update %d is %d s old, older than Telegram keeps updates; "
                "taken for a replay and ignored",
                bot.name,
                update.update_id,
                age,
            )
            return _ok()
        try:
            await dispatch(bot, client, self._handler, update)
        except Exception:
            log.exception(
                "telegram %s: update %d could not be handled; Telegram will retry",
                bot.name,
                update.update_id,
            )
            return web.Response(status=503, text="temporarily unavailable")
        return _ok()

    def _bot(self, request: web.Request) -> TelegramBot:
        bot = self._bots.get(request.match_info["bot"])
        if bot is None:
            raise WebhookRejected(404, "no such bot")
        return bot

    def _client(self, bot: TelegramBot) -> TelegramClient:
        # The clients are filled in at start-up, after the routes exist.
        client = self._clients.get(bot.name)
        if client is None:
            raise WebhookRejected(503, "the bot is not started yet")
        return client

    async def _body(self, request: web.Request) -> bytes:
        too_large = WebhookRejected(413, f"body larger than {self._max_body} bytes")
        if request.content_length is not None and request.content_length > self._max_body:
            raise too_large
        body = bytearray()
        try:
            async for chunk in request.content.iter_chunked(64 * 1024):
                body += chunk
                if len(body) > self._max_body:
                    raise too_large
        except web.HTTPRequestEntityTooLarge:
            raise too_large from None
        return bytes(body)


def _check_secret(request: web.Request, bot: TelegramBot) -> None:
    given = request.headers.get(SECRET_HEADER)
    if not bot.webhook_secret:
        raise WebhookRejected(403, "no webhook secret is configured for this bot")
    if given is None:
        raise WebhookRejected(403, "missing secret token")
    if not hmac.compare_digest(given.encode(), bot.webhook_secret.encode()):
        raise WebhookRejected(403, "wrong secret token")


def _parse_update(body: bytes, client: TelegramClient) -> Update:
    try:
        data: Any = json.loads(body)
    except ValueError:
        raise WebhookRejected(400, "the body is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        raise WebhookRejected(400, "the body is not a Telegram Update")
    try:
        return Update.de_json(data, client.bot)
    except Exception as exc:
        raise WebhookRejected(
            400, f"the body is not a Telegram Update ({type(exc).__name__})"
        ) from None


def _age(update: Update) -> int | None:
    """Seconds since the message was sent. Button presses have no date of their own (their
    message's date is when the bot sent the keyboard), so they are not aged."""
    message = update.message or update.edited_message
    if message is None:
        return None
    return int(time.time() - message.date.timestamp())


def _ok() -> web.Response:
    return web.json_response({})


def _refuse(request: web.Request, exc: WebhookRejected) -> web.Response:
    log.warning(
        "refused %s %s from %s: %d %s",
        request.method,
        request.path,
        request.remote,
        exc.status,
        exc.reason,
    )
    return web.Response(status=exc.status, text=exc.reason)
