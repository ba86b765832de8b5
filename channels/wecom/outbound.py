"""Sending neutral messages as WeCom app messages to one member (platform-facts.md §4.3).

One neutral message may take several app messages: a long text goes out in pieces of at most
2048 bytes, a picture as an image followed by its caption, a clip as a video (its caption as the
description) followed by the whole caption when a description cannot hold it. Once one of them
was delivered, a failure of a later one is reported as :class:`DeliveryInDoubt` (never "retry
later"), so that the outbox never sends the delivered part twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
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
from handlers.messages import Clip, Image, Message, News, Picture, Text

log = logging.getLogger(__name__)

Part = tuple[str, dict[str, Any]]  # msgtype and its body
_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/bmp": "bmp",
    "video/mp4": "mp4",
}
# Video app messages (§4.3): temporary video media up to 10 MB, MP4 only; the title and the
# description are cut by the platform beyond these sizes (UTF-8 bytes).
VIDEO_BYTES = 10 * 1024 * 1024
VIDEO_TITLE_BYTES = 128
VIDEO_DESCRIPTION_BYTES = 512


@dataclass(frozen=True, slots=True)
class MediaRule:
    """What a download must be to be uploaded as media ``kind``: ``what`` names it in reasons,
    ``accepts`` checks the content type (``wanted`` says what it should have been)."""

    kind: str
    what: str
    wanted: str
    limit: int
    accepts: Callable[[str], bool]


PICTURE = MediaRule("image", "picture", "an image", IMAGE_BYTES, lambda t: t.startswith("image/"))
VIDEO = MediaRule("video", "video", "video/mp4", VIDEO_BYTES, lambda t: t == "video/mp4")


def text_parts(content: str) -> list[Part]:
    return [("text", {"content": piece}) for piece in split_text(content)]


def video_parts(media_id: str, clip: Clip) -> list[Part]:
    """The video app message of an uploaded clip, then the whole caption as text when the
    description had to be cut."""
    body = {"media_id": media_id}
    title, caption = clip.title.strip(), clip.caption.strip()
    if title:
        body["title"] = cut(title, VIDEO_TITLE_BYTES)
    if caption:
        body["description"] = cut(caption, VIDEO_DESCRIPTION_BYTES)
    parts: list[Part] = [("video", body)]
    if len(caption.encode()) > VIDEO_DESCRIPTION_BYTES:
        parts += text_parts(caption)
    return parts


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
            media_id = await self._upload(client, message.url, PICTURE)
            parts = [("image", {"media_id": media_id}), *text_parts(message.caption)]
        elif isinstance(message, Clip):
            parts = video_parts(await self._upload(client, message.url, VIDEO), message)
        else:
            raise Undeliverable(f"{type(message).__name__} cannot be sent in a WeCom app chat")
        if not parts:
            raise Undeliverable("the message is empty")
        for done, (msgtype, body) in enumerate(parts):
            try:
                await client.send_message(recipient, msgtype, body)
            except PlatformError as exc:
                raise _delivery_error(exc, done, len(parts)) from exc

    async def _upload(self, client: WecomClient, url: str, rule: MediaRule) -> str:
        content, filename = await self._download(url, rule)
        try:
            return await client.upload_media(rule.kind, filename, content)
        except OutcomeUnknown as exc:  # at worst an unused upload: nothing reached the member
            raise RetryLater(f"uploading the {rule.what}: {exc}") from exc
        except PlatformError as exc:
            raise _delivery_error(exc, 0, 1) from exc

    async def _download(self, url: str, rule: MediaRule) -> tuple[bytes, str]:
        """The file at ``url`` and a file name for it; a file that cannot be sent as ``rule``
        says is :class:`Undeliverable`, a network failure worth another try :class:`RetryLater`."""
        what, limit = rule.what, rule.limit
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise Undeliverable(f"the {what} URL is not an http(s) URL: {url!r}")
        try:
            content, kind = await fetch_limited(
                self._session,
                url,
                limit=limit,
                client_timeout=self._download_timeout,
                accepts=rule.accepts,
            )
        except DownloadRefused as exc:
            reasons = {
                "status": f"answered HTTP {exc.status}",
                "type": f"is {exc.content_type}, not {rule.wanted}",
                "size": f"is larger than {limit} bytes",
            }
            raise Undeliverable(f"the {what} {url} {reasons[exc.why]}") from exc
        except DownloadFailed as exc:
            raise RetryLater(f"fetching the {what} {url}: {exc}") from exc
        if not content:
            raise Undeliverable(f"the {what} {url} is empty")
        subtype = kind.partition("/")[2]
        extension = _EXTENSIONS.get(kind) or "".join(c for c in subtype if c.isalnum()) or "img"
        return content, f"{what}.{extension}"


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
