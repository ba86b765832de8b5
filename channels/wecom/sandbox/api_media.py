"""Temporary media: POST /cgi-bin/media/upload and GET /cgi-bin/media/get."""

from __future__ import annotations

from aiohttp import web

from .api import ApiContext, JsonResult, ok
from .limits import MB
from .media import UPLOAD_KINDS, check_upload, size_limit, upload_kind


async def media_upload(ctx: ApiContext) -> JsonResult:
    """Store a temporary medium (3 days): {type, media_id, created_at as a string}."""
    kind = upload_kind(ctx.query("type"))
    limits = ctx.state.limits
    ceiling = max(size_limit(k, limits) for k in UPLOAD_KINDS) + MB
    upload = await ctx.upload("media", ceiling)
    fmt = check_upload(kind, upload.data, limits)
    media = ctx.state.corp.media.add(kind, upload.data, fmt, upload.filename, ctx.now)
    return ok(type=kind, media_id=media.media_id, created_at=str(int(media.created_at)))


async def media_get(ctx: ApiContext) -> JsonResult:
    """The medium's bytes with its content type; JSON 40007 when unknown or expired."""
    media = ctx.state.corp.media.get(ctx.query("media_id"), UPLOAD_KINDS, ctx.now)
    response = web.Response(body=media.data, content_type=media.content_type)
    filename = media.filename.replace('"', "").replace("\r", "").replace("\n", "")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
