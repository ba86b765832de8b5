"""Sending neutral messages as customer-service messages (platform-facts.md §2.2)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from channels.errors import (
    OutcomeUnknown,
    PlatformRejected,
    PlatformUnavailable,
    RateLimited,
)
from channels.wechat.client import WechatClient
from channels.wechat.limits import CUSTOM_NEWS_ARTICLES
from handlers.delivery import DeliveryInDoubt, RetryLater, Undeliverable
from handlers.messages import Image, Message, Music, News, Text, TransferToAgent, Video, Voice


def custom_message(message: Message) -> tuple[str, dict[str, Any]]:
    """The ``msgtype`` and body of a customer-service message."""
    if isinstance(message, Text):
        return "text", {"content": message.content}
    if isinstance(message, Image):
        return "image", {"media_id": message.media_id}
    if isinstance(message, Voice):
        return "voice", {"media_id": message.media_id}
    if isinstance(message, Video):
        body = {
            "media_id": message.media_id,
            "title": message.title,
            "description": message.description,
        }
        if message.thumb_media_id:
            body["thumb_media_id"] = message.thumb_media_id
        return "video", body
    if isinstance(message, Music):
        return "music", {
            "title": message.title,
            "description": message.description,
            "musicurl": message.music_url,
            "hqmusicurl": message.hq_music_url,
            "thumb_media_id": message.thumb_media_id,
        }
    if isinstance(message, News):
        articles = message.articles[:CUSTOM_NEWS_ARTICLES]
        return "news", {
            "articles": [
                {"title": a.title, "description": a.description, "url": a.url, "picurl": a.picurl}
                for a in articles
            ]
        }
    if isinstance(message, TransferToAgent):
        raise Undeliverable("a hand-over to customer service can only be a passive reply")
    raise Undeliverable(f"{type(message).__name__} cannot be sent as a customer-service message")


class WechatSender:
    """The outbox's sender for Official Accounts: customer-service messages."""

    def __init__(self, clients: Mapping[str, WechatClient]) -> None:
        self._clients = clients

    async def send(self, account: str, recipient: str, message: Message) -> None:
        client = self._clients.get(account)
        if client is None:
            raise Undeliverable(f"no Official Account named {account!r} is configured")
        msgtype, body = custom_message(message)
        try:
            await client.send_custom_message(recipient, msgtype, body)
        except RateLimited as exc:
            raise RetryLater(str(exc), exc.retry_after) from exc
        except OutcomeUnknown as exc:
            raise DeliveryInDoubt(str(exc)) from exc
        except PlatformUnavailable as exc:
            raise RetryLater(str(exc)) from exc
        except PlatformRejected as exc:
            raise Undeliverable(str(exc)) from exc
