"""Sending neutral messages to Telegram chats: the outbox's sender (platform-facts.md §6.3).

Lengths are measured in UTF-16 code units (what Telegram counts in entities; never more than
the character count), so a piece within the limit here is within it on Telegram too.

A message that needs several requests (a long text, a picture or a clip with a long caption) may
fail half-way. Only a failure of the first request can be retried; after that, retrying would
send the first part again, so a later failure is final (in doubt when the part may have gone
out), with what was sent in the reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp

from channels.download import DownloadFailed, DownloadRefused, fetch_limited
from channels.errors import (
    OutcomeUnknown,
    PlatformError,
    PlatformRejected,
    PlatformUnavailable,
    RateLimited,
)
from channels.telegram.client import TelegramClient
from handlers.delivery import DeliveryError, DeliveryInDoubt, RetryLater, Undeliverable
from handlers.messages import Clip, Message, Picture, Text

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
MAX_PICTURE_BYTES = 10 * 1024 * 1024  # sendPhoto upload limit
MAX_VIDEO_BYTES = 50 * 1024 * 1024  # sendVideo upload limit (any multipart upload)
# A flood-control pause asked for between two pieces of one message is waited out here, when it
# is this short; the first piece's pause goes back to the outbox instead.
MAX_INLINE_WAIT = 5.0

Step = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class MediaRule:
    """What a download must be to be uploaded: ``what`` names it in reasons, ``accepts`` checks
    the content type (``wanted`` says what it should have been), ``timeout`` bounds the fetch."""

    what: str
    wanted: str
    limit: int
    accepts: Callable[[str], bool]
    timeout: float


PICTURE = MediaRule(
    "picture", "an image", MAX_PICTURE_BYTES, lambda t: t.startswith("image/"), timeout=30.0
)
VIDEO = MediaRule("video", "video/mp4", MAX_VIDEO_BYTES, lambda t: t == "video/mp4", timeout=120.0)


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
            data = await fetch_media(self._session, message.url, PICTURE)
            caption = message.caption.strip()
            if utf16_len(caption) <= CAPTION_LIMIT:
                await _in_order([_photo(client, recipient, data, caption)])
            else:
                steps = [_photo(client, recipient, data, "")]
                steps += [_text(client, recipient, p) for p in split_text(caption)]
                await _in_order(steps)
        elif isinstance(message, Clip):
            data = await fetch_media(self._session, message.url, VIDEO)
            caption, rest = split_caption(clip_caption(message))
            await _in_order(
                [_video(client, recipient, data, caption)]
                + [_text(client, recipient, p) for p in rest]
            )
        else:
            raise Undeliverable(f"{type(message).__name__} cannot be sent to a Telegram chat")


def _text(client: TelegramClient, chat: str, text: str) -> Step:
    return lambda: client.send_text(chat, text)


def _photo(client: TelegramClient, chat: str, data: bytes, caption: str) -> Step:
    return lambda: client.send_photo(chat, data, caption)


def _video(client: TelegramClient, chat: str, data: bytes, caption: str) -> Step:
    return lambda: client.send_video(chat, data, caption)


def clip_caption(clip: Clip) -> str:
    """The title, then the caption on the next line (either may be empty)."""
    return "\n".join(part for part in (clip.title.strip(), clip.caption.strip()) if part)


def split_caption(text: str) -> tuple[str, list[str]]:
    """A caption of at most ``CAPTION_LIMIT`` UTF-16 units (cut as :func:`split_text` cuts)
    and the texts that carry the rest."""
    caption, rest = _first_piece(text, CAPTION_LIMIT)
    return caption, split_text(rest)


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


async def fetch_media(session: aiohttp.ClientSession, url: str, rule: MediaRule) -> bytes:
    """The file to upload; a wrong answer is final, a network failure is retried."""
    what = rule.what
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Undeliverable(f"the {what} URL is not an http(s) URL: {url!r}")
    timeout = aiohttp.ClientTimeout(total=rule.timeout, connect=5)
    try:
        data, _ = await fetch_limited(
            session, url, limit=rule.limit, client_timeout=timeout, accepts=rule.accepts
        )
    except DownloadRefused as exc:
        reasons = {
            "status": f"fetching the {what} answered HTTP {exc.status}",
            "type": f"the {what} URL served {exc.content_type}, not {rule.wanted}",
            "size": f"the {what} is larger than {rule.limit} bytes",
        }
        raise Undeliverable(reasons[exc.why]) from exc
    except DownloadFailed as exc:
        raise RetryLater(f"fetching the {what} failed: {exc}") from exc
    if not data:
        raise Undeliverable(f"the {what} is empty")
    return data


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Pieces of at most ``limit`` UTF-16 units, cut after a newline when there is one in the
    last quarter of a piece; blank pieces are dropped (Telegram refuses empty text)."""
    pieces: list[str] = []
    rest = text
    while rest:
        piece, rest = _first_piece(rest, limit)
        pieces.append(piece)
    return [p for p in pieces if p.strip()]


def _first_piece(text: str, limit: int) -> tuple[str, str]:
    """The first piece of ``text`` (see :func:`split_text`) and the rest after it."""
    cut = max(_fitting(text, limit), 1)
    if cut < len(text):
        newline = text.rfind("\n", 0, cut)
        if newline >= cut - cut // 4 and newline > 0:
            return text[:newline], text[newline + 1 :]
    return text[:cut], text[cut:]


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
