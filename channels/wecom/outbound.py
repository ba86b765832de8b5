"""Sending neutral messages as WeCom app messages to one member (platform-facts.md §4.3).

One neutral message may take several app messages: a long text goes out in pieces of at most
2048 bytes, a picture as an image followed by its caption. Once one of them was delivered, a
failure of a later one is reported as :class:`DeliveryInDoubt` (never "retry later"), so that the
outbox never sends the delivered part twice.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from channels.errors import (
    OutcomeUnknown,
    PlatformError,
    PlatformRejected,
    PlatformUnavailable,
    RateLimited,
)
from channels.wecom.client import WecomClient
from channels.wecom.limits import (
    IMAGE_BYTES,
    NEWS_ARTICLES,
    NEWS_DESCRIPTION_BYTES,
    NEWS_TITLE_BYTES,
    cut,
    split_text,
)
from handlers.delivery import DeliveryError, DeliveryInDoubt, RetryLater, Undeliverable
from handlers.messages import Image, Message, News, Picture, Text

log = logging.getLogger(__name__)

Part = tuple[str, dict[str, Any]]  # msgtype and its body
_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/bmp": "bmp"}


def text_parts(content: str) -> list[Part]:
    return [("text", {"content": piece}) for piece in split_text(content)]


def news_part(news: News) -> Part:
    if not news.articles:
        raise Undeliverable("a news message needs at least one article")
    if len(news.articles) > NEWS_ARTICLES:
        log.warning(
            "news with %d articles: only the first %d are sent", len(news.articles), NEWS_ARTICLES
        )
    articles = []
    for a in news.articles[:NEWS_ARTICLES]:
        article = {"title": cut(a.title, NEWS_TITLE_BYTES)}
        if a.description:
            article["description"] = cut(a.description, NEWS_DESCRIPTION_BYTES)
        if a.url:
            article["url"] = a.url
        if a.picurl:
            article["picurl"] = a.picurl
        articles.append(article)
    return "news", {"articles": articles}


class WecomSender:
    """The outbox's sender for WeCom app chats: ``recipient`` is the member's userid."""

    def __init__(
        self,
        clients: Mapping[str, WecomClient],
        session: aiohttp.ClientSession,
        *,
        download_timeout: float = 30.0,
    ) -> None:
        self._clients = clients
        self._session = session
        self._download_timeout = aiohttp.ClientTimeout(total=download_timeout)

    async def send(self, account: str, recipient: str, message: Message) -> None:
        client = self._clients.get(account)
        if client is None:
            raise Undeliverable(f"no WeCom app named {account!r} is configured")
        if not recipient or "|" in recipient or recipient.lower() == "@all":
            raise Undeliverable(f"{recipient!r} is not one member's userid")
        if isinstance(message, Text):
            parts = text_parts(message.content)
        elif isinstance(message, Image):
            parts = [("image", {"media_id": message.media_id})]
        elif isinstance(message, News):
            parts = [news_part(message)]
        elif isinstance(message, Picture):
            media_id = await self._upload_picture(client, message.url)
            parts = [("image", {"media_id": media_id}), *text_parts(message.caption)]
        else:
            raise Undeliverable(f"{type(message).__name__} cannot be sent in a WeCom app chat")
        if not parts:
            raise Undeliverable("the message is empty")
        for done, (msgtype, body) in enumerate(parts):
            try:
                await client.send_message(recipient, msgtype, body)
            except PlatformError as exc:
                raise _delivery_error(exc, done, len(parts)) from exc

    async def _upload_picture(self, client: WecomClient, url: str) -> str:
        content, filename = await self._download(url)
        try:
            return await client.upload_media("image", filename, content)
        except OutcomeUnknown as exc:  # at worst an unused upload: nothing reached the member
            raise RetryLater(f"uploading the picture: {exc}") from exc
        except PlatformError as exc:
            raise _delivery_error(exc, 0, 1) from exc

    async def _download(self, url: str) -> tuple[bytes, str]:
        """The picture at ``url`` and a file name for it; a picture that cannot be sent is
        :class:`Undeliverable`, a network failure worth another try :class:`RetryLater`."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise Undeliverable(f"the picture URL is not an http(s) URL: {url!r}")
        try:
            async with self._session.get(url, timeout=self._download_timeout) as resp:
                if resp.status != 200:
                    raise Undeliverable(f"the picture {url} answered HTTP {resp.status}")
                kind = resp.content_type
                if not kind.startswith("image/"):
                    raise Undeliverable(f"the picture {url} is {kind}, not an image")
                if resp.content_length is not None and resp.content_length > IMAGE_BYTES:
                    raise Undeliverable(f"the picture {url} is larger than {IMAGE_BYTES} bytes")
                chunks: list[bytes] = []
                size = 0
                async for chunk in resp.content.iter_chunked(65536):
                    size += len(chunk)
                    if size > IMAGE_BYTES:
                        raise Undeliverable(f"the picture {url} is larger than {IMAGE_BYTES} bytes")
                    chunks.append(chunk)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RetryLater(f"fetching the picture {url}: {type(exc).__name__}") from exc
        if size == 0:
            raise Undeliverable(f"the picture {url} is empty")
        subtype = kind.partition("/")[2]
        extension = _EXTENSIONS.get(kind) or "".join(c for c in subtype if c.isalnum()) or "img"
        return b"".join(chunks), f"picture.{extension}"


def _delivery_error(exc: PlatformError, done: int, total: int) -> DeliveryError:
    """The outbox's view of a failed app message, ``done`` of ``total`` parts already sent."""
    if isinstance(exc, PlatformRejected):
        if done:
            return Undeliverable(f"{done} of {total} parts delivered, then refused: {exc}")
        return Undeliverable(str(exc))
    if done or isinstance(exc, OutcomeUnknown):
        where = f"{done} of {total} parts delivered, then: " if done else ""
        return DeliveryInDoubt(f"{where}{exc}")
    if isinstance(exc, RateLimited):
        return RetryLater(str(exc), exc.retry_after)
    if isinstance(exc, PlatformUnavailable):
        return RetryLater(str(exc))
    return DeliveryInDoubt(str(exc))  # pragma: no cover - every PlatformError is one of those
