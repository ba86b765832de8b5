"""The draft box (草稿箱, §2.6) of one account: drafts by media_id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import ApiError


@dataclass
class Draft:
    """One draft: 1-8 validated articles (stored as draft/get shows them, without "url")."""

    media_id: str
    articles: list[dict[str, Any]]
    created_at: float
    update_time: float

    def news_item(self, *, content: bool = True) -> list[dict[str, Any]]:
        """The articles as draft/get and draft/batchget answer them, each with its preview URL."""
        items = []
        for index, article in enumerate(self.articles):
            item = {k: v for k, v in article.items() if content or k != "content"}
            item["url"] = f"http://mp.weixin.qq.com/s?tempkey={self.media_id}&idx={index + 1}"
            items.append(item)
        return items


class DraftBox:
    """Drafts of one account. A draft leaves the box when deleted, mass-sent or published."""

    def __init__(self) -> None:
        self.items: dict[str, Draft] = {}

    def add(self, draft: Draft) -> Draft:
        """Store a draft."""
        self.items[draft.media_id] = draft
        return draft

    def get(self, media_id: object, field_name: str = "media_id") -> Draft:
        """A draft in the box, else 40007 naming the field."""
        draft = self.items.get(media_id) if isinstance(media_id, str) else None
        if draft is None:
            raise ApiError(40007, f"{field_name} {media_id!r} is not a draft in the box")
        return draft

    def remove(self, media_id: str) -> bool:
        """Take a draft out of the box; False when it was not there."""
        return self.items.pop(media_id, None) is not None

    def newest_first(self) -> list[Draft]:
        """Drafts by last update, newest first (the order of the console's draft box)."""
        order = list(self.items.values())
        order.reverse()  # among equal update times, the later-added first
        return sorted(order, key=lambda d: d.update_time, reverse=True)
