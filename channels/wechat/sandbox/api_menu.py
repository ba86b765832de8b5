"""Custom menu: /cgi-bin/menu/create, /get, /delete with every limit of §2.3."""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlsplit

from .api import ApiContext, JsonResult, ok
from .errors import ApiError
from .limits import utf8_len
from .state import AccountState

KEY_TYPES: Final = frozenset(
    {
        "click",
        "scancode_push",
        "scancode_waitmsg",
        "pic_sysphoto",
        "pic_photo_or_album",
        "pic_weixin",
        "location_select",
    }
)
BUTTON_TYPES: Final = KEY_TYPES | {
    "view",
    "miniprogram",
    "media_id",
    "view_limited",
    "article_id",
    "article_view_limited",
}
_FIELDS: Final = ("type", "name", "key", "url", "appid", "pagepath", "media_id", "article_id")


def validate_menu(state: AccountState, body: dict[str, Any], now: float) -> list[dict[str, Any]]:
    """The normalised button list (every button gets `sub_button`), or the platform errcode."""
    buttons = body.get("button")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        raise ApiError(40016, "button must be a list of 1-3 top-level buttons")
    result = []
    for index, button in enumerate(buttons):
        where = f"button[{index}]"
        if not isinstance(button, dict):
            raise ApiError(47001, f"{where} must be an object")
        _name(button, where, 16)
        subs = button.get("sub_button")
        if isinstance(subs, list) and subs:
            if len(subs) > 5:
                raise ApiError(40017, f"{where} has {len(subs)} sub-buttons, at most 5")
            children = [
                _leaf(state, sub, f"{where}.sub_button[{i}]", 60, now) for i, sub in enumerate(subs)
            ]
            result.append({"name": button["name"], "sub_button": children})
        elif "type" in button:
            result.append(_leaf(state, button, where, 16, now))
        elif "sub_button" in button:
            raise ApiError(40017, f"{where} needs 1-5 sub-buttons or a type")
        else:
            raise ApiError(40015, f"{where} needs a type or sub_button")
    return result


def _name(button: dict[str, Any], where: str, limit: int) -> None:
    name = button.get("name")
    if not isinstance(name, str) or not name or utf8_len(name) > limit:
        size = utf8_len(name) if isinstance(name, str) else 0
        raise ApiError(40018, f"{where}.name must be 1-{limit} UTF-8 bytes, got {size}")


def _leaf(
    state: AccountState, button: Any, where: str, name_limit: int, now: float
) -> dict[str, Any]:
    if not isinstance(button, dict):
        raise ApiError(47001, f"{where} must be an object")
    _name(button, where, name_limit)
    if button.get("sub_button"):
        raise ApiError(40017, f"{where}: sub-menus cannot nest")
    kind = button.get("type")
    if kind not in BUTTON_TYPES:
        raise ApiError(40015, f"{where}.type {kind!r} is not a button type")
    if kind in KEY_TYPES:
        key = button.get("key")
        if not isinstance(key, str) or not key or utf8_len(key) > 128:
            raise ApiError(40019, f"{where}.key must be 1-128 UTF-8 bytes")
    if kind in ("view", "miniprogram"):
        _url(button, where, sub=name_limit == 60)
    if kind == "miniprogram":
        for field in ("appid", "pagepath"):
            if not isinstance(button.get(field), str) or not button[field]:
                raise ApiError(47001, f"{where}.{field} is required for miniprogram buttons")
    if kind in ("media_id", "view_limited"):
        media = state.media.get(
            button.get("media_id"),
            ("image", "voice", "video", "thumb", "news"),
            now,
            f"{where}.media_id",
        )
        if not media.permanent:
            raise ApiError(40007, f"{where}.media_id must be a permanent material")
    if kind in ("article_id", "article_view_limited") and not (
        isinstance(button.get("article_id"), str) and button["article_id"]
    ):
        raise ApiError(47001, f"{where}.article_id is required")
    leaf = {k: button[k] for k in _FIELDS if k in button}
    leaf["sub_button"] = []
    return leaf


def _url(button: dict[str, Any], where: str, *, sub: bool) -> None:
    url = button.get("url")
    if not isinstance(url, str) or not url or utf8_len(url) > 1024:
        raise ApiError(40020, f"{where}.url must be 1-1024 UTF-8 bytes")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ApiError(40054 if sub else 40055, f"{where}.url must be an http(s) URL")


async def menu_create(ctx: ApiContext) -> JsonResult:
    """Publish a menu (replaces the current one)."""
    buttons = validate_menu(ctx.state, await ctx.json(), ctx.now)
    ctx.state.menu = {"button": buttons}
    ctx.state.menu_id += 1
    return ok()


async def menu_get(ctx: ApiContext) -> JsonResult:
    """The published menu (46003 when there is none)."""
    if ctx.state.menu is None:
        raise ApiError(46003)
    return {"menu": {**ctx.state.menu, "menuid": ctx.state.menu_id}}


async def menu_delete(ctx: ApiContext) -> JsonResult:
    """Remove the menu (succeeds when there is none)."""
    ctx.state.menu = None
    return ok()
