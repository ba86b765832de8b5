"""Users (§2.8): /cgi-bin/user/info, /user/info/batchget and /user/get."""

from __future__ import annotations

from typing import Any, Final

from .api import ApiContext, JsonResult
from .errors import ApiError
from .state import AccountState
from .validation import text

PAGE: Final = 10_000
BATCH: Final = 100


def user_info(state: AccountState, openid: str) -> dict[str, Any]:
    """What user/info returns for one OpenID (40003 when unknown)."""
    customer = state.customers.get(openid)
    if customer is None:
        raise ApiError(40003, "not an OpenID of this account")
    if not customer.following:
        return {"subscribe": 0, "openid": openid}
    return {
        "subscribe": 1,
        "openid": openid,
        "subscribe_time": customer.subscribe_time,
        "remark": customer.remark,
        "groupid": 0,
        "tagid_list": list(customer.tagid_list),
        "subscribe_scene": customer.subscribe_scene,
        "qr_scene": customer.qr_scene,
        "qr_scene_str": customer.qr_scene_str,
    }


async def info(ctx: ApiContext) -> JsonResult:
    """One user's profile."""
    openid = ctx.query("openid")
    if not openid:
        raise ApiError(40003, "openid is required")
    return user_info(ctx.state, openid)


async def info_batchget(ctx: ApiContext) -> JsonResult:
    """Up to 100 profiles."""
    body = await ctx.json()
    users = body.get("user_list")
    if not isinstance(users, list) or not 1 <= len(users) <= BATCH:
        raise ApiError(40032, f"user_list must hold 1-{BATCH} entries")
    infos = []
    for index, entry in enumerate(users):
        if not isinstance(entry, dict):
            raise ApiError(47001, f"user_list[{index}] must be an object")
        infos.append(
            user_info(ctx.state, text(entry, "openid", f"user_list[{index}].", errcode=40003))
        )
    return {"user_info_list": infos}


async def user_get(ctx: ApiContext) -> JsonResult:
    """Followers in pages of 10000, continuing after next_openid."""
    followers = [c.openid for c in ctx.state.followers()]
    start = 0
    after = ctx.query("next_openid")
    if after:
        if after not in followers:
            raise ApiError(40003, "next_openid is not a follower of this account")
        start = followers.index(after) + 1
    page = followers[start : start + PAGE]
    more = start + PAGE < len(followers)
    answer: dict[str, Any] = {"total": len(followers), "count": len(page)}
    if page:
        answer["data"] = {"openid": page}
    answer["next_openid"] = page[-1] if page and more else ""
    return answer
