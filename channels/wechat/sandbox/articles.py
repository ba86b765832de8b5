"""Article rules of the draft box (§2.6, §7): field limits, cover and picture materials.

Errcodes. The fact sheet names no errcode for a bad article field, so the fake answers
40097 "invalid args" for every field-level problem (missing, wrong type, too long, not 0/1,
unknown article_type, bad index, bad paging) instead of guessing at 45002-45005. It keeps the
codes the sheet and the rest of the fake do use: 47001 when the body has the wrong shape
(`articles` not a list, an article not an object), 45008 for an article count outside 1-8,
40007 for a missing or unusable media_id (cover or picture).
"""

from __future__ import annotations

import html
import re
from typing import Any, Final

from .errors import ApiError
from .limits import Limits, utf8_len
from .media import MediaStore
from .validation import text

INVALID_ARGS: Final = 40097
MAX_ARTICLES: Final = 8
TITLE_CHARS: Final = 32
AUTHOR_CHARS: Final = 16
DIGEST_CHARS: Final = 128
DEFAULT_DIGEST_CHARS: Final = 54
SOURCE_URL_BYTES: Final = 1024
ARTICLE_TYPES: Final = ("news", "newspic")
_FLAGS: Final = ("need_open_comment", "only_fans_can_comment")
_CROPS: Final = ("pic_crop_235_1", "pic_crop_1_1")
_COVER_KINDS: Final = ("image", "thumb")  # both are image materials (materialcount agrees)
_TAG = re.compile(r"<[^>]*>")


def default_digest(content: str) -> str:
    """The digest WeChat fills in: the first 54 characters of the body text without tags."""
    return html.unescape(_TAG.sub("", content)).strip()[:DEFAULT_DIGEST_CHARS]


def check_articles(
    raw: object, media: MediaStore, limits: Limits, now: float
) -> list[dict[str, Any]]:
    """The normalised articles of a new draft (1-8), or the platform's errcode."""
    if not isinstance(raw, list):
        raise ApiError(47001, "articles must be a list")
    if not 1 <= len(raw) <= MAX_ARTICLES:
        raise ApiError(45008, f"a draft holds 1-{MAX_ARTICLES} articles, got {len(raw)}")
    single = len(raw) == 1
    return [
        check_article(a, media, limits, now, single=single, where=f"articles[{i}].")
        for i, a in enumerate(raw)
    ]


def check_article(
    article: object,
    media: MediaStore,
    limits: Limits,
    now: float,
    *,
    single: bool,
    where: str = "articles.",
) -> dict[str, Any]:
    """One article as the draft box stores it; `single` when it is the draft's only article."""
    if not isinstance(article, dict):
        raise ApiError(47001, f"{where.rstrip('.')} must be an object")
    kind = article.get("article_type", "news")
    if kind not in ARTICLE_TYPES:
        raise ApiError(INVALID_ARGS, f"{where}article_type must be news or newspic")
    title = _bounded(article, "title", where, TITLE_CHARS, required=True)
    author = _bounded(article, "author", where, AUTHOR_CHARS)
    digest = _bounded(article, "digest", where, DIGEST_CHARS)
    content = _content(article, where, limits)
    source_url = text(article, "content_source_url", where, required=False, errcode=INVALID_ARGS)
    if utf8_len(source_url) > SOURCE_URL_BYTES:
        raise ApiError(INVALID_ARGS, f"{where}content_source_url is over {SOURCE_URL_BYTES} bytes")
    result: dict[str, Any] = {
        "article_type": kind,
        "title": title,
        "author": author,
        # WeChat shows a digest only for single-article drafts; it ignores it otherwise.
        "digest": (digest or default_digest(content)) if single else "",
        "content": content,
        "content_source_url": source_url,
        "thumb_media_id": _cover(article, where, media, now, required=kind == "news"),
    }
    for flag in _FLAGS:
        value = article.get(flag, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value not in (0, 1):
            raise ApiError(INVALID_ARGS, f"{where}{flag} must be 0 or 1")
        result[flag] = value
    for crop in _CROPS:
        if crop in article:
            result[crop] = text(article, crop, where, required=False, errcode=INVALID_ARGS)
    if kind == "newspic":
        result["image_info"] = {"image_list": _pictures(article, where, media, now)}
    return result


def _bounded(
    article: dict[str, Any], key: str, where: str, limit: int, *, required: bool = False
) -> str:
    value = text(article, key, where, required=required, errcode=INVALID_ARGS)
    if len(value) > limit:
        raise ApiError(INVALID_ARGS, f"{where}{key} is {len(value)} characters, at most {limit}")
    return value


def _content(article: dict[str, Any], where: str, limits: Limits) -> str:
    content = text(article, "content", where, errcode=INVALID_ARGS)
    if len(content) >= limits.draft_content_chars:
        raise ApiError(
            INVALID_ARGS,
            f"{where}content is {len(content)} characters, must be below "
            f"{limits.draft_content_chars}",
        )
    size = utf8_len(content)
    if size >= limits.draft_content_bytes:
        raise ApiError(
            INVALID_ARGS,
            f"{where}content is {size} bytes, must be below {limits.draft_content_bytes}",
        )
    return content


def _permanent_image(media: MediaStore, media_id: object, now: float, name: str) -> str:
    found = media.get(media_id, _COVER_KINDS, now, name)
    if not found.permanent:
        raise ApiError(40007, f"{name} is temporary media, not a permanent image material")
    return found.media_id


def _cover(
    article: dict[str, Any], where: str, media: MediaStore, now: float, *, required: bool
) -> str:
    media_id = article.get("thumb_media_id")
    if media_id in (None, "") and not required:
        return ""
    return _permanent_image(media, media_id, now, f"{where}thumb_media_id")


def _pictures(
    article: dict[str, Any], where: str, media: MediaStore, now: float
) -> list[dict[str, str]]:
    info = article.get("image_info")
    images = info.get("image_list") if isinstance(info, dict) else None
    if not isinstance(images, list) or not images:
        raise ApiError(INVALID_ARGS, f"{where}image_info.image_list must be a non-empty list")
    result = []
    for index, image in enumerate(images):
        name = f"{where}image_info.image_list[{index}].image_media_id"
        media_id = image.get("image_media_id") if isinstance(image, dict) else None
        result.append({"image_media_id": _permanent_image(media, media_id, now, name)})
    return result
