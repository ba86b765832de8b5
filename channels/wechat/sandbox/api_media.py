"""Media and materials (§2.7): temporary upload/get, permanent materials, uploadimg."""

from __future__ import annotations

import json
from typing import Any, Final

from aiohttp import web

from .api import ApiContext, JsonResult, Multipart, ok
from .errors import ApiError
from .limits import MB
from .media import Media, check_upload, sniff, upload_kind
from .state import new_media_id
from .validation import integer, text

_MATERIAL_TYPES: Final = ("image", "video", "voice", "news")


def _file(form: Multipart) -> tuple[str, bytes]:
    upload = form.files.get("media")
    if upload is None:
        raise ApiError(41005, "the file must be in multipart field 'media'")
    return upload.filename, upload.data


async def media_upload(ctx: ApiContext) -> JsonResult:
    """Temporary media (3 days): {type, media_id, created_at}."""
    kind = upload_kind(ctx.query("type"))
    filename, data = _file(await ctx.multipart())
    fmt = check_upload(kind, data, permanent=False, limits=ctx.platform.limits)
    media = ctx.state.media.add(
        Media(new_media_id(False), kind, data, fmt, filename, ctx.now, permanent=False)
    )
    key = "thumb_media_id" if kind == "thumb" else "media_id"
    return {"type": kind, key: media.media_id, "created_at": int(media.created_at)}


def _binary(media: Media) -> web.Response:
    response = web.Response(body=media.data, content_type=media.content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{media.filename}"'
    return response


async def media_get(ctx: ApiContext) -> JsonResult:
    """Download temporary (or permanent) media as bytes; JSON 40007 when unknown or expired."""
    media = ctx.state.media.get(
        ctx.query("media_id"), ("image", "voice", "video", "thumb"), ctx.now, "media_id"
    )
    return _binary(media)


async def add_material(ctx: ApiContext) -> JsonResult:
    """Permanent material; video needs the `description` JSON field."""
    kind = upload_kind(ctx.query("type"))
    form = await ctx.multipart()
    filename, data = _file(form)
    description = None
    if kind == "video":
        description = _description(form.fields.get("description"))
    fmt = check_upload(kind, data, permanent=True, limits=ctx.platform.limits)
    media_id = new_media_id(True)
    url = f"http://mmbiz.qpic.cn/mmbiz_{fmt}/{media_id[:24]}/0" if kind == "image" else None
    ctx.state.media.add(
        Media(
            media_id,
            kind,
            data,
            fmt,
            filename,
            ctx.now,
            permanent=True,
            url=url,
            description=description,
        )
    )
    return {"media_id": media_id, "url": url} if url else {"media_id": media_id}


def _description(raw: str | None) -> dict[str, str]:
    if raw is None:
        raise ApiError(47001, "video materials need the form field description")
    try:
        value = json.loads(raw)
    except ValueError:
        raise ApiError(47001, "description must be JSON {title, introduction}") from None
    if not isinstance(value, dict):
        raise ApiError(47001, "description must be JSON {title, introduction}")
    return {
        "title": text(value, "title", "description."),
        "introduction": text(value, "introduction", "description.", required=False),
    }


def _permanent(ctx: ApiContext, body: dict[str, Any]) -> Media:
    media = ctx.state.media.get(
        body.get("media_id"), ("image", "voice", "video", "thumb", "news"), ctx.now, "media_id"
    )
    if not media.permanent:
        raise ApiError(40007, "media_id is temporary media, not a permanent material")
    return media


async def get_material(ctx: ApiContext) -> JsonResult:
    """Bytes for image/voice/thumb, JSON for video and news."""
    media = _permanent(ctx, await ctx.json())
    if media.kind == "video":
        description = media.description or {}
        return {
            "title": description.get("title", ""),
            "description": description.get("introduction", ""),
            "down_url": f"http://mmbiz.qpic.cn/video/{media.media_id[:24]}",
        }
    if media.kind == "news":
        return {"news_item": media.articles}
    return _binary(media)


async def del_material(ctx: ApiContext) -> JsonResult:
    """Delete a permanent material."""
    media = _permanent(ctx, await ctx.json())
    del ctx.state.media.items[media.media_id]
    return ok()


async def get_materialcount(ctx: ApiContext) -> JsonResult:
    """Counts of permanent materials by type (thumbs count as images)."""
    store = ctx.state.media
    return {
        "voice_count": len(store.permanent("voice")),
        "video_count": len(store.permanent("video")),
        "image_count": len(store.permanent("image")) + len(store.permanent("thumb")),
        "news_count": len(store.permanent("news")),
    }


async def batchget_material(ctx: ApiContext) -> JsonResult:
    """A page of permanent materials of one type; count 1..20."""
    body = await ctx.json()
    kind = body.get("type")
    if kind not in _MATERIAL_TYPES:
        raise ApiError(40004, f"type must be one of {', '.join(_MATERIAL_TYPES)}")
    offset, count = integer(body, "offset", errcode=40097), integer(body, "count", errcode=40097)
    if offset < 0 or not 1 <= count <= 20:
        raise ApiError(40097, "offset must be >= 0 and count 1-20")
    items = ctx.state.media.permanent(kind)
    if kind == "image":
        items += ctx.state.media.permanent("thumb")
    page = items[offset : offset + count]
    if kind == "news":
        entries = [
            {
                "media_id": m.media_id,
                "content": {"news_item": m.articles},
                "update_time": int(m.created_at),
            }
            for m in page
        ]
    else:
        entries = [
            {
                "media_id": m.media_id,
                "name": m.filename,
                "update_time": int(m.created_at),
                **({"url": m.url} if m.url else {}),
            }
            for m in page
        ]
    return {"total_count": len(items), "item_count": len(entries), "item": entries}


async def uploadimg(ctx: ApiContext) -> JsonResult:
    """Article-body image (< 1 MB, JPG/PNG); returns its URL, not a media_id."""
    _, data = _file(await ctx.multipart())
    if not data:
        raise ApiError(40006, "the media file is empty")
    if len(data) >= MB:
        raise ApiError(40009, f"image is {len(data)} bytes, must be below {MB}")
    fmt = sniff(data)
    if fmt not in ("jpeg", "png"):
        raise ApiError(40005, f"content is {fmt or 'unrecognised'}, only JPG/PNG")
    url = f"http://mmbiz.qpic.cn/mmbiz_{fmt}/{new_media_id(True)[:32]}/0"
    ctx.state.article_images.add(url)
    return {"url": url}
