"""User tags (§2.8): /cgi-bin/tags/get, /tags/create, /tags/members/batchtagging and
/user/tag/get.

Limits: at most 100 tags per account (45056), names of 1-30 UTF-8 bytes (45158 too long, 45157
empty or already used), 1-50 OpenIDs per batch (40032), at most 20 tags per customer (45059).
Created tags get ids from 100 up; 0, 1 and 2 are the platform's reserved tags. An id that is not
a created tag is refused with 45159 (that code is not in the fact sheet).
"""

from __future__ import annotations

from typing import Any, Final

from .api import ApiContext, JsonResult, ok
from .errors import ApiError
from .limits import utf8_len
from .state import AccountState
from .validation import integer, obj

MAX_TAGS: Final = 100
MAX_TAGS_PER_USER: Final = 20
NAME_BYTES: Final = 30
BATCH: Final = 50
PAGE: Final = 10_000


def _tag_id(state: AccountState, body: dict[str, Any], key: str) -> int:
    tag_id = integer(body, key)
    if tag_id not in state.tags:
        raise ApiError(45159, f"{key} {tag_id} is not a tag of this account")
    return tag_id


async def tags_get(ctx: ApiContext) -> JsonResult:
    """Every created tag with the number of following customers carrying it."""
    state = ctx.state
    return {
        "tags": [
            {"id": tag_id, "name": name, "count": len(state.tagged(tag_id))}
            for tag_id, name in state.tags.items()
        ]
    }


async def tags_create(ctx: ApiContext) -> JsonResult:
    """A new tag: `{"tag": {"name"}}` -> `{"tag": {"id", "name"}}`."""
    state = ctx.state
    name = obj(await ctx.json(), "tag").get("name")
    if not isinstance(name, str):
        raise ApiError(47001, "tag.name must be a string")
    if utf8_len(name) > NAME_BYTES:
        raise ApiError(45158, f"tag.name is {utf8_len(name)} bytes, at most {NAME_BYTES}")
    if not name.strip():
        raise ApiError(45157, "tag.name is empty")
    if name in state.tags.values():
        raise ApiError(45157, f"a tag named {name!r} exists")
    if len(state.tags) >= MAX_TAGS:
        raise ApiError(45056, f"an account has at most {MAX_TAGS} tags")
    return {"tag": {"id": state.add_tag(name), "name": name}}


async def batch_tagging(ctx: ApiContext) -> JsonResult:
    """Put a tag on 1-50 customers: all of them, or none when one cannot carry it."""
    state = ctx.state
    body = await ctx.json()
    openids = body.get("openid_list")
    if not isinstance(openids, list) or not 1 <= len(openids) <= BATCH:
        raise ApiError(40032, f"openid_list must hold 1-{BATCH} OpenIDs")
    tag_id = _tag_id(state, body, "tagid")
    customers = []
    for openid in openids:
        customer = state.customers.get(openid) if isinstance(openid, str) else None
        if customer is None:
            raise ApiError(40003, f"{openid!r} is not an OpenID of this account")
        if tag_id not in customer.tagid_list:
            if len(customer.tagid_list) >= MAX_TAGS_PER_USER:
                raise ApiError(45059, f"{openid} already carries {MAX_TAGS_PER_USER} tags")
            customers.append(customer)
    for customer in customers:
        if tag_id not in customer.tagid_list:  # an OpenID may be listed twice
            customer.tagid_list.append(tag_id)
    return ok()


async def tag_members(ctx: ApiContext) -> JsonResult:
    """Following customers carrying a tag, in pages of 10000 continuing after next_openid."""
    state = ctx.state
    body = await ctx.json()
    members = [c.openid for c in state.tagged(_tag_id(state, body, "tagid"))]
    after = body.get("next_openid") or ""
    start = 0
    if after:
        if after not in members:
            raise ApiError(40003, "next_openid is not a member of this tag")
        start = members.index(after) + 1
    page = members[start : start + PAGE]
    more = start + PAGE < len(members)
    answer: dict[str, Any] = {"count": len(page)}
    if page:
        answer["data"] = {"openid": page}
    answer["next_openid"] = page[-1] if page and more else ""
    return answer
