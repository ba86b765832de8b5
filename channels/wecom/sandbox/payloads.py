"""Payload rules of /cgi-bin/message/send (§4.3), one per msgtype.

Each rule validates the payload object and returns what the member sees (the timeline fields)
and whether the platform truncated anything (text beyond 2048 bytes, titles beyond 128 bytes,
descriptions beyond 512 bytes, button texts beyond 4 characters are cut, not refused).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from .errors import WecomApiError
from .limits import (
    BTNTXT_CHARS,
    DEFAULT_BTNTXT,
    DESCRIPTION_BYTES,
    MAX_ARTICLES,
    TITLE_BYTES,
    truncate_chars,
    truncate_utf8,
)
from .state import AppState

Seen = tuple[dict[str, Any], bool]
Rule = Callable[[AppState, dict[str, Any], float], Seen]


def _string(payload: dict[str, Any], key: str, where: str, missing: int) -> str:
    """A required non-empty string (`missing` errcode when absent or empty, 40058 if no string)."""
    value = payload.get(key)
    if value is None or value == "":
        raise WecomApiError(missing, f"{where}{key} is required")
    if not isinstance(value, str):
        raise WecomApiError(40058, f"{where}{key} must be a string")
    return value


def _optional(payload: dict[str, Any], key: str, where: str) -> str:
    """An optional string field ("" when absent)."""
    value = payload.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise WecomApiError(40058, f"{where}{key} must be a string")
    return value


def _text_like(kind: str) -> Rule:
    def rule(state: AppState, payload: dict[str, Any], now: float) -> Seen:
        content = _string(payload, "content", f"{kind}.", 44004)
        content, cut = truncate_utf8(content, state.limits.text_bytes)
        return {"content": content, "truncated": cut}, cut

    return rule


def _media(kinds: tuple[str, ...], *, captioned: bool = False) -> Rule:
    def rule(state: AppState, payload: dict[str, Any], now: float) -> Seen:
        media = state.corp.media.get(payload.get("media_id"), kinds, now)
        seen = media.describe()
        if not captioned:
            return seen, False
        title, cut_title = truncate_utf8(_optional(payload, "title", "video."), TITLE_BYTES)
        description, cut_description = truncate_utf8(
            _optional(payload, "description", "video."), DESCRIPTION_BYTES
        )
        cut = cut_title or cut_description
        return {**seen, "title": title, "description": description, "truncated": cut}, cut

    return rule


def _textcard(state: AppState, payload: dict[str, Any], now: float) -> Seen:
    title, cut_title = truncate_utf8(_string(payload, "title", "textcard.", 41016), TITLE_BYTES)
    description, cut_description = truncate_utf8(
        _string(payload, "description", "textcard.", 41033), DESCRIPTION_BYTES
    )
    url = _string(payload, "url", "textcard.", 41010)
    btntxt, cut_button = truncate_chars(
        _optional(payload, "btntxt", "textcard.") or DEFAULT_BTNTXT, BTNTXT_CHARS
    )
    cut = cut_title or cut_description or cut_button
    return {
        "title": title,
        "description": description,
        "url": url,
        "btntxt": btntxt,
        "truncated": cut,
    }, cut


def _article(article: object, where: str) -> Seen:
    if not isinstance(article, dict):
        raise WecomApiError(40058, f"{where} must be an object")
    title, cut_title = truncate_utf8(_string(article, "title", where + ".", 41016), TITLE_BYTES)
    description, cut_description = truncate_utf8(
        _optional(article, "description", where + "."), DESCRIPTION_BYTES
    )
    url = _optional(article, "url", where + ".")
    appid = _optional(article, "appid", where + ".")
    pagepath = _optional(article, "pagepath", where + ".")
    if not url and not (appid and pagepath):
        raise WecomApiError(41010, f"{where} needs url, or appid and pagepath")
    seen = {
        "title": title,
        "description": description,
        "url": url,
        "picurl": _optional(article, "picurl", where + "."),
    }
    if appid and pagepath:  # a mini-program page overrides the url
        seen.update(appid=appid, pagepath=pagepath)
    return seen, cut_title or cut_description


def _news(state: AppState, payload: dict[str, Any], now: float) -> Seen:
    articles = payload.get("articles")
    if not isinstance(articles, list):
        raise WecomApiError(40058, "news.articles must be a list")
    if not 1 <= len(articles) <= MAX_ARTICLES:
        raise WecomApiError(45008, f"news carries 1-{MAX_ARTICLES} articles, got {len(articles)}")
    seen = [_article(a, f"news.articles[{i}]") for i, a in enumerate(articles)]
    cut = any(c for _, c in seen)
    return {"articles": [s for s, _ in seen], "truncated": cut}, cut


RULES: Final[dict[str, Rule]] = {
    "text": _text_like("text"),
    "markdown": _text_like("markdown"),
    "image": _media(("image",)),
    "voice": _media(("voice",)),
    "video": _media(("video",), captioned=True),
    "file": _media(("image", "voice", "video", "file")),
    "textcard": _textcard,
    "news": _news,
}
"""The msgtypes the fake delivers and the rule for each payload."""


def message_payload(state: AppState, body: dict[str, Any], now: float) -> tuple[str, Seen]:
    """The msgtype and what the member will see (40008 unknown type, 40007 bad media, ...)."""
    msgtype = body.get("msgtype")
    if not isinstance(msgtype, str) or msgtype not in RULES:
        raise WecomApiError(40008, f"msgtype must be one of {', '.join(RULES)}")
    payload = body.get(msgtype)
    if not isinstance(payload, dict):
        raise WecomApiError(40058, f"{msgtype} must be a JSON object")
    return msgtype, RULES[msgtype](state, payload, now)
