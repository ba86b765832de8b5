"""Sending neutral messages to Telegram chats: the outbox's sender (platform-facts.md §6.3).

Lengths are measured in UTF-16 code units (what Telegram counts in entities; never more than
the character count), so a piece within the limit here is within it on Telegram too.

A message that needs several requests (a long text, a picture with a long caption) may fail
half-way. Only a failure of the first request can be retried; after that, retrying would send
the first part again, so a later failure is final (in doubt when the part may have gone out),
with what was sent in the reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

import aiohttp

from channels.errors import (
    OutcomeUnknown,
    PlatformError,
    PlatformRejected,
    PlatformUnavailable,
    RateLimited,
)
from channels.telegram.client import TelegramClient
from handlers.delivery import DeliveryError, DeliveryInDoubt, RetryLater, Undeliverable
from handlers.messages import Message, Picture, Text

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
MAX_PICTURE_BYTES = 10 * 1024 * 1024  # sendPhoto upload limit
# A flood-control pause asked for between two pieces of one message is waited out here, when it
# is this short; the first piece's pause goes back to the outbox instead.
MAX_INLINE_WAIT = 5.0

Step = Callable[[], Awaitable[None]]


class TelegramSender:
    def __init__(
        self, clients: Mapping[str, TelegramClient], session: aiohttp.ClientSession
    ) -> None:
        self._clients = clients
        self._session = session

    async def send(self, account: str, recipient: str, message: Message) -> None:
        client = self._clients.get(account)
        if client is None:
            raise Undeliverable(f"no Telegram bot named {account!r} is configured")
        if isinstance(message, Text):
            pieces = split_text(message.content)
            if not pieces:
                raise Undeliverable("the text is empty")
            await _in_order([_text(client, recipient, p) for p in pieces])
        elif isinstance(message, Picture):
            data = await fetch_picture(self._session, message.url)
            caption = message.caption.strip()
            if utf16_len(caption) <= CAPTION_LIMIT:
                await _in_order([_photo(client, recipient, data, caption)])
            else:
                steps = [_photo(client, recipient, data, "")]
                steps += [_text(client, recipient, p) for p in split_text(caption)]
                await _in_order(steps)
        else:
            raise Undeliverable(f"{type(message).__name__} cannot be sent to a Telegram chat")


def _text(client: TelegramClient, chat: str, text: str) -> Step:
    return lambda: client.send_text(chat, text)


def _photo(client: TelegramClient, chat: str, data: bytes, caption: str) -> Step:
    return lambda: client.send_photo(chat, data, caption)


async def _in_order(steps: list[Step]) -> None:
    for index, step in enumerate(steps):
        try:
            await _with_short_wait(step, wait=index > 0)
        except PlatformError as exc:
            if index == 0:
                raise delivery_error(exc) from exc
            sent = f"{index} of {len(steps)} parts were sent, then: {exc}"
            if isinstance(exc, OutcomeUnknown):
                raise DeliveryInDoubt(sent) from exc
            raise Undeliverable(sent) from exc  # the rest was not sent and will not be


async def _with_short_wait(step: Step, *, wait: bool) -> None:
    try:
        await step()
    except RateLimited as exc:
        if not wait or exc.retry_after is None or exc.retry_after > MAX_INLINE_WAIT:
            raise
        await asyncio.sleep(exc.retry_after)
        await step()


def delivery_error(exc: PlatformError) -> DeliveryError:
    """What the outbox worker should do after a platform error (as for WeChat)."""
    if isinstance(exc, RateLimited):
        return RetryLater(str(exc), exc.retry_after)
    if isinstance(exc, OutcomeUnknown):
        return DeliveryInDoubt(str(exc))
    if isinstance(exc, PlatformUnavailable):
        return RetryLater(str(exc))
    if isinstance(exc, PlatformRejected):
        return Undeliverable(str(exc))
    return DeliveryInDoubt(str(exc))


async def fetch_picture(session: aiohttp.ClientSession, url: str) -> bytes:
    """The picture to upload; a wrong answer is final, a network failure is retried."""
    timeout = aiohttp.ClientTimeout(total=30, connect=5)
    try:
        async with session.get(url, timeout=timeout) as resp:
            if resp.status != 200:
                raise Undeliverable(f"fetching the picture answered HTTP {resp.status}")
            if not resp.content_type.startswith("image/"):
                raise Undeliverable(f"the picture URL served {resp.content_type}, not an image")
            too_large = Undeliverable(f"the picture is larger than {MAX_PICTURE_BYTES} bytes")
            if resp.content_length is not None and resp.content_length > MAX_PICTURE_BYTES:
                raise too_large
            data = bytearray()
            async for chunk in resp.content.iter_chunked(64 * 1024):
                data += chunk
                if len(data) > MAX_PICTURE_BYTES:
                    raise too_large
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise RetryLater(f"fetching the picture failed: {type(exc).__name__}") from exc
    if not data:
        raise Undeliverable("the picture is empty")
    return bytes(data)


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Pieces of at most ``limit`` UTF-16 units, cut after a newline when there is one in the
    last quarter of a piece; blank pieces are dropped (Telegram refuses empty text)."""
    pieces: list[str] = []
    rest = text
    while rest:
        cut = max(_fitting(rest, limit), 1)
        if cut < len(rest):
            newline = rest.rfind("\n", 0, cut)
            if newline >= cut - cut // 4 and newline > 0:
                pieces.append(rest[:newline])
                rest = rest[newline + 1 :]
                continue
        pieces.append(rest[:cut])
        rest = rest[cut:]
    return [p for p in pieces if p.strip()]


def _fitting(text: str, limit: int) -> int:
    """How many characters of ``text`` fit into ``limit`` UTF-16 units."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
