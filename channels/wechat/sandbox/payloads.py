"""Message payload rules of custom-service sends (§2.2) and mass sends (§2.5)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from .errors import ApiError
from .state import AccountState
from .validation import obj, text

Rule = Callable[[AccountState, dict[str, Any], float], None]
_THUMB: Final = ("thumb", "image")


def _media(kinds: tuple[str, ...], key: str = "media_id", *, required: bool = True) -> Rule:
    def rule(state: AccountState, payload: dict[str, Any], now: float) -> None:
        if key in payload or required:
            state.media.get(payload.get(key), kinds, now, key)

    return rule


def _strings(*keys: str, optional: tuple[str, ...] = ()) -> Rule:
    def rule(state: AccountState, payload: dict[str, Any], now: float) -> None:
        for key in keys:
            text(payload, key)
        for key in optional:
            text(payload, key, required=False)

    return rule


def _all(*rules: Rule) -> Rule:
    def rule(state: AccountState, payload: dict[str, Any], now: float) -> None:
        for each in rules:
            each(state, payload, now)

    return rule


def _text(state: AccountState, payload: dict[str, Any], now: float) -> None:
    content = payload.get("content")
    if not isinstance(content, str):
        raise ApiError(47001, "text.content must be a string")
    if not content:
        raise ApiError(44004, "text.content is empty")


def _news(state: AccountState, payload: dict[str, Any], now: float) -> None:
    articles = payload.get("articles")
    if not isinstance(articles, list):
        raise ApiError(47001, "news.articles must be a list")
    if len(articles) != 1:
        raise ApiError(45008, f"news must carry exactly 1 article, got {len(articles)}")
    article = articles[0]
    if not isinstance(article, dict):
        raise ApiError(47001, "news.articles[0] must be an object")
    for key in ("title", "description", "url", "picurl"):
        text(article, key, "news.articles[0].", required=False)


def _draft(state: AccountState, payload: dict[str, Any], now: float) -> None:
    state.drafts.get(payload.get("media_id"), "mpnews.media_id")


def _msgmenu(state: AccountState, payload: dict[str, Any], now: float) -> None:
    text(payload, "head_content", "msgmenu.", required=False)
    text(payload, "tail_content", "msgmenu.", required=False)
    items = payload.get("list")
    if not isinstance(items, list) or not items:
        raise ApiError(47001, "msgmenu.list must be a non-empty list")
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ApiError(47001, f"msgmenu.list[{index}] must be an object")
        text(item, "id", f"msgmenu.list[{index}].")
        text(item, "content", f"msgmenu.list[{index}].")


def _images(state: AccountState, payload: dict[str, Any], now: float) -> None:
    ids = payload.get("media_ids")
    if not isinstance(ids, list) or not ids:
        raise ApiError(47001, "images.media_ids must be a non-empty list")
    for media_id in ids:
        state.media.get(media_id, ("image",), now, "images.media_ids[]")


CUSTOM_RULES: Final[dict[str, Rule]] = {
    "text": _text,
    "image": _media(("image",)),
    "voice": _media(("voice",)),
    "video": _all(
        _media(("video",)),
        _media(_THUMB, "thumb_media_id", required=False),
        _strings(optional=("title", "description")),
    ),
    "music": _all(
        _strings("musicurl", "hqmusicurl", optional=("title", "description")),
        _media(_THUMB, "thumb_media_id"),
    ),
    "news": _news,
    "mpnews": _media(("news",)),
    "mpnewsarticle": _strings("article_id"),
    "msgmenu": _msgmenu,
    "wxcard": _strings("card_id"),
    "miniprogrampage": _all(
        _strings("title", "appid", "pagepath"), _media(_THUMB, "thumb_media_id")
    ),
}
"""Custom-service msgtypes and the rule for each payload."""

MASS_RULES: Final[dict[str, Rule]] = {
    "mpnews": _draft,  # a draft of the draft box (§2.6), not a legacy news material
    "text": _text,
    "voice": _media(("voice",)),
    "images": _images,
    "mpvideo": _media(("video",)),
    "wxcard": _strings("card_id"),
}
"""Mass-send msgtypes and the rule for each payload."""


def message_payload(
    rules: dict[str, Rule], state: AccountState, body: dict[str, Any], now: float
) -> tuple[str, dict[str, Any]]:
    """The msgtype and its validated payload (40008 unknown type, 40007 bad media_id, ...)."""
    msgtype = body.get("msgtype")
    if not isinstance(msgtype, str) or msgtype not in rules:
        raise ApiError(40008, f"msgtype must be one of {', '.join(rules)}")
    payload = obj(body, msgtype)
    rules[msgtype](state, payload, now)
    return msgtype, payload
