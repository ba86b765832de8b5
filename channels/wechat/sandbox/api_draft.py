"""The draft box (§2.6): /cgi-bin/draft/add, get, update, delete, batchget, count.

Also the retired news-material APIs (material/add_news, update_news), which answer 45103.
Errcodes of article fields are explained in articles.py. A draft leaves the box when it is
deleted or mass-sent as mpnews (api_mass.py); the fake does not model freepublish.
"""

from __future__ import annotations

from typing import Final

from .api import ApiContext, JsonResult, ok
from .articles import INVALID_ARGS, check_article, check_articles
from .drafts import Draft
from .errors import ApiError
from .state import new_media_id
from .validation import integer, text

MAX_PAGE: Final = 20


async def draft_add(ctx: ApiContext) -> JsonResult:
    """A new draft of 1-8 articles: {media_id}."""
    body = await ctx.json()
    articles = check_articles(body.get("articles"), ctx.state.media, ctx.platform.limits, ctx.now)
    draft = ctx.state.drafts.add(Draft(new_media_id(True), articles, ctx.now, ctx.now))
    return {"media_id": draft.media_id}


async def draft_get(ctx: ApiContext) -> JsonResult:
    """The articles of a draft, each with its preview URL (40007 when not in the box)."""
    draft = ctx.state.drafts.get((await ctx.json()).get("media_id"))
    return {"news_item": draft.news_item()}


async def draft_update(ctx: ApiContext) -> JsonResult:
    """Replace the article at 0-based `index` with `articles` (one article object)."""
    body = await ctx.json()
    draft = ctx.state.drafts.get(body.get("media_id"))
    index = integer(body, "index", errcode=INVALID_ARGS)
    if not 0 <= index < len(draft.articles):
        raise ApiError(
            INVALID_ARGS,
            f"index {index} is not an article of this draft (0-{len(draft.articles) - 1})",
        )
    draft.articles[index] = check_article(
        body.get("articles"),
        ctx.state.media,
        ctx.platform.limits,
        ctx.now,
        single=len(draft.articles) == 1,
    )
    draft.update_time = ctx.now
    return ok()


async def draft_delete(ctx: ApiContext) -> JsonResult:
    """Remove a draft; a media_id no longer (or never) in the box still answers 0."""
    ctx.state.drafts.remove(text(await ctx.json(), "media_id", errcode=40007))
    return ok()


async def draft_batchget(ctx: ApiContext) -> JsonResult:
    """A page of drafts, newest first; count 1-20, offset >= 0, no_content 0/1."""
    body = await ctx.json()
    offset = integer(body, "offset", errcode=INVALID_ARGS)
    count = integer(body, "count", errcode=INVALID_ARGS)
    if offset < 0 or not 1 <= count <= MAX_PAGE:
        raise ApiError(INVALID_ARGS, f"offset must be >= 0 and count 1-{MAX_PAGE}")
    no_content = body.get("no_content", 0)
    if isinstance(no_content, bool) or not isinstance(no_content, int) or no_content not in (0, 1):
        raise ApiError(INVALID_ARGS, "no_content must be 0 or 1")
    drafts = ctx.state.drafts.newest_first()
    page = [
        {
            "media_id": d.media_id,
            "content": {"news_item": d.news_item(content=not no_content)},
            "update_time": int(d.update_time),
        }
        for d in drafts[offset : offset + count]
    ]
    return {"total_count": len(drafts), "item_count": len(page), "item": page}


async def draft_count(ctx: ApiContext) -> JsonResult:
    """How many drafts are in the box (the body, if any, is not read)."""
    return {"total_count": len(ctx.state.drafts.items)}


async def news_material_retired(ctx: ApiContext) -> JsonResult:
    """material/add_news and update_news were taken offline in 2022."""
    raise ApiError(45103, "news materials were replaced by the draft box: use draft/add")
