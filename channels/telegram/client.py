"""Async client of the Telegram Bot API (platform-facts.md §6) on python-telegram-bot.

PTB does the HTTP and the JSON; its exceptions are mapped once, here, to ``channels.errors``:
callers never see a PTB error, and no message carries the bot token.
"""

from __future__ import annotations

import datetime as dt
import logging
import warnings
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx
from telegram import Bot, Update
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from channels.errors import (
    OutcomeUnknown,
    PlatformError,
    PlatformRejected,
    PlatformUnavailable,
    RateLimited,
    RecipientUnreachable,
)
from channels.telegram.bot import TelegramBot

log = logging.getLogger(__name__)

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # getFile serves files up to 20 MB
# BadRequest descriptions that mean "this chat cannot be written to", not "our request is wrong".
_UNREACHABLE = ("chat not found", "user not found", "peer_id_invalid")
# Transport failures that happen before the request is on the wire: nothing was carried out.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.WriteTimeout)

T = TypeVar("T")


class TelegramClient:
    def __init__(self, bot: TelegramBot, *, timeout: float = 10.0) -> None:
        self.config = bot
        api = bot.api_base.rstrip("/")
        self._requests = (_request(timeout), _request(timeout, pool_size=1))
        self.bot = Bot(
            bot.token,
            base_url=f"{api}/bot",
            base_file_url=f"{api}/file/bot",
            request=self._requests[0],
            get_updates_request=self._requests[1],
        )
        self._username = bot.username.lstrip("@")

    @property
    def username(self) -> str:
        """The bot's @username without the ``@`` ("" until :meth:`start` when not configured)."""
        return self._username

    async def start(self) -> None:
        """Open the connections and check the token with getMe, which also tells the username
        (getMe's answer wins over a configured one that differs)."""
        await self._call("getMe", self.bot.initialize)
        actual = self.bot.username or ""
        if self._username.lower() != actual.lower():
            if self._username:
                log.warning(
                    "telegram %s: configured as @%s but getMe says @%s; using @%s",
                    self.config.name,
                    self._username,
                    actual,
                    actual,
                )
            self._username = actual
        log.info("telegram %s: the bot is @%s", self.config.name, self._username)

    async def close(self) -> None:
        # The connection pools exist from the start; PTB only closes them after initialize().
        await self.bot.shutdown()
        for request in self._requests:
            await request.shutdown()

    async def send_text(self, chat_id: str, text: str) -> None:
        """Plain text (no parse_mode: what we send is shown as written)."""
        await self._call("sendMessage", lambda: self.bot.send_message(chat_id=chat_id, text=text))

    async def send_photo(self, chat_id: str, data: bytes, caption: str = "") -> None:
        await self._call(
            "sendPhoto",
            lambda: self.bot.send_photo(chat_id=chat_id, photo=data, caption=caption or None),
        )

    async def send_video(self, chat_id: str, data: bytes, caption: str = "") -> None:
        """An MP4 video uploaded with an optional plain caption (sendVideo, at most 50 MB)."""
        await self._call(
            "sendVideo",
            lambda: self.bot.send_video(
                chat_id=chat_id,
                video=data,
                caption=caption or None,
                supports_streaming=True,
                filename="video.mp4",
            ),
        )

    async def answer_callback(self, callback_id: str, text: str = "") -> None:
        await self._call(
            "answerCallbackQuery",
            lambda: self.bot.answer_callback_query(callback_id, text=text or None),
        )

    async def download(self, file_id: str) -> bytes:
        """A file someone sent (getFile, then the file itself); at most 20 MB."""
        file = await self._call("getFile", lambda: self.bot.get_file(file_id))
        if file.file_size is not None and file.file_size > MAX_DOWNLOAD_BYTES:
            raise PlatformRejected(400, f"the file is larger than {MAX_DOWNLOAD_BYTES} bytes")
        # PTB reads a file_path that names an existing local file from disk; only fetch from our
        # own file URL.
        if not file.file_path or not file.file_path.startswith(self.bot.base_file_url + "/"):
            raise PlatformRejected(400, "getFile answered without a downloadable file_path")
        data = await self._call("file download", file.download_as_bytearray)
        if len(data) > MAX_DOWNLOAD_BYTES:
            raise PlatformRejected(400, f"the file is larger than {MAX_DOWNLOAD_BYTES} bytes")
        return bytes(data)

    async def set_webhook(self, url: str, secret: str) -> None:
        await self._call(
            "setWebhook",
            lambda: self.bot.set_webhook(
                url, secret_token=secret, allowed_updates=["message", "callback_query"]
            ),
        )

    async def delete_webhook(self) -> None:
        await self._call("deleteWebhook", self.bot.delete_webhook)

    async def get_updates(
        self,
        offset: int | None,
        timeout: int,  # noqa: ASYNC109 - getUpdates' long-polling parameter, not ours
    ) -> list[Update]:
        """Long polling: waits up to ``timeout`` seconds for updates after ``offset``."""
        updates = await self._call(
            "getUpdates",
            lambda: self.bot.get_updates(
                offset=offset, timeout=timeout, allowed_updates=["message", "callback_query"]
            ),
        )
        return list(updates)

    async def _call(self, method: str, call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await call()
        except TelegramError as exc:
            raise platform_error(exc, f"{self.config.name} {method}", self.config.token) from None


def platform_error(exc: TelegramError, where: str, token: str = "") -> PlatformError:
    """The ``channels.errors`` exception for a PTB error."""

    def said(default: str) -> str:
        text = str(exc) or default
        return text.replace(token, "<token>") if token else text

    if isinstance(exc, RetryAfter):
        seconds = _retry_after(exc)
        return RateLimited(f"{where}: flood control, retry after {seconds:g} s", seconds)
    if isinstance(exc, ChatMigrated):
        return PlatformRejected(
            400, f"{where}: the group became a supergroup, new chat id {exc.new_chat_id}"
        )
    if isinstance(exc, InvalidToken):
        return PlatformRejected(401, f"{where}: the bot token was refused")
    if isinstance(exc, Forbidden):
        return RecipientUnreachable(403, f"{where}: {said('forbidden')}")
    if isinstance(exc, Conflict):
        return PlatformRejected(409, f"{where}: {said('conflict')}")
    if isinstance(exc, EndPointNotFound):
        return PlatformRejected(404, f"{where}: {said('no such method')}")
    if isinstance(exc, BadRequest):
        message = said("bad request")
        if any(phrase in message.lower() for phrase in _UNREACHABLE):
            return RecipientUnreachable(400, f"{where}: {message}")
        return PlatformRejected(400, f"{where}: {message}")
    cause = exc.__cause__
    if isinstance(exc, NetworkError) and isinstance(cause, _NOT_SENT):
        return PlatformUnavailable(f"{where}: {type(cause).__name__}, nothing was sent")
    if isinstance(exc, TimedOut) or isinstance(cause, httpx.TransportError):
        # The request was on the wire and the answer is lost: it may have been carried out.
        return OutcomeUnknown(f"{where}: {said('timed out')} (no answer)")
    return PlatformUnavailable(f"{where}: {said('network error')}")


def _retry_after(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after  # an int today, a timedelta in a later PTB
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def _request(timeout: float, *, pool_size: int = 64) -> HTTPXRequest:
    return HTTPXRequest(
        connection_pool_size=pool_size,
        connect_timeout=min(timeout, 5.0),
        read_timeout=timeout,
        write_timeout=timeout,
        pool_timeout=timeout,
        media_write_timeout=max(timeout, 30.0),
    )
