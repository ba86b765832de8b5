"""「加入群聊」 join ways (§4.9): POST /cgi-bin/externalcontact/groupchat/add_join_way,
get_join_way, update_join_way and del_join_way.

- add_join_way: ``scene`` 1 (mini-program plugin) or 2 (QR code) is required (40058);
  ``chat_id_list`` is required, 1..``join_way_chats`` distinct chat ids (40058), each a live
  customer group of the corp, else 90501 "chat is not an external group chat" (the code
  groupchat/get answers for such ids; for join ways it is the fake's choice). ``remark`` longer
  than ``join_way_remark_chars`` is truncated, not refused; ``auto_create_room`` 0 or 1, default
  1; ``room_base_name`` at most ``join_way_base_name_chars`` characters; ``room_base_id`` an
  integer ≥ 0, default 1 (both only used with auto_create_room 1); ``state`` at most
  ``join_way_state_chars`` characters; ``mark_source`` a boolean (kept for nothing). Any other bad
  value answers 40058. The corp's ``ways_max`` quota is shared with contact ways (40058 at the
  quota). The answer is ``{config_id}``.
- get_join_way ``{config_id}`` → ``{join_way: {config_id, scene, remark, auto_create_room,
  room_base_name, room_base_id, chat_id_list, qr_code, state}}``; ``qr_code`` (a URL on the fake
  itself, see ``qr.py``) only for scene 2.
- update_join_way ``{config_id, scene, chat_id_list, ...}``: ``scene`` and ``chat_id_list`` are
  required as on add; the other fields replace the way's when given and stay otherwise.
- del_join_way ``{config_id}``: the way is gone (its QR picture answers 404).

An app reads and manages only the join ways it created: a config id of another app (of the same
corp or not) or one that does not exist answers 40058 (**unconfirmed**: the platform's code for
another app's way is not documented).
"""

from __future__ import annotations

from typing import Any

from .api import ApiContext, JsonResult, ok
from .api_contacts import check_ways_quota
from .api_groups import text
from .contacts import new_config_id
from .errors import WecomApiError
from .join_ways import JoinWay
from .limits import truncate_chars
from .qr import base_url

SCENES = (1, 2)


def _scene(body: dict[str, Any]) -> int:
    scene = body.get("scene")
    if scene not in SCENES or isinstance(scene, bool):
        raise WecomApiError(40058, "scene must be 1 or 2")
    return int(scene)


def _chat_ids(ctx: ApiContext, body: dict[str, Any]) -> list[str]:
    value = body.get("chat_id_list")
    ceiling = ctx.state.limits.join_way_chats
    if not isinstance(value, list) or not all(isinstance(c, str) and c for c in value):
        raise WecomApiError(40058, "chat_id_list must be a list of chat ids")
    if not 1 <= len(value) <= ceiling:
        raise WecomApiError(40058, f"chat_id_list holds 1-{ceiling} chat ids")
    if len(set(value)) != len(value):
        raise WecomApiError(40058, "chat_id_list names a chat id twice")
    groups = ctx.state.corp.groups
    for chat_id in value:
        if groups.live(chat_id) is None:
            raise WecomApiError(90501, f"{chat_id!r} is not a customer group of the corp")
    return list(value)


def _string(body: dict[str, Any], key: str, limit: int | None) -> str | None:
    """An optional string (None when absent); 40058 beyond `limit` characters."""
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise WecomApiError(40058, f"{key} must be a string")
    if limit is not None and len(value) > limit:
        raise WecomApiError(40058, f"{key} is longer than {limit} characters")
    return value


def _integer(body: dict[str, Any], key: str, allowed: tuple[int, ...] | None) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise WecomApiError(40058, f"{key} must be an integer")
    if allowed is not None and value not in allowed:
        raise WecomApiError(40058, f"{key} must be one of {', '.join(map(str, allowed))}")
    if value < 0:
        raise WecomApiError(40058, f"{key} must not be negative")
    return value


def _fields(ctx: ApiContext, body: dict[str, Any]) -> dict[str, Any]:
    """The optional fields given in `body`, checked (remark already truncated)."""
    limits = ctx.state.limits
    mark_source = body.get("mark_source")
    if mark_source is not None and not isinstance(mark_source, bool):
        raise WecomApiError(40058, "mark_source must be true or false")
    found: dict[str, Any] = {
        "remark": _string(body, "remark", None),
        "auto_create_room": _integer(body, "auto_create_room", (0, 1)),
        "room_base_name": _string(body, "room_base_name", limits.join_way_base_name_chars),
        "room_base_id": _integer(body, "room_base_id", None),
        "state": _string(body, "state", limits.join_way_state_chars),
    }
    if found["remark"] is not None:
        found["remark"], _ = truncate_chars(found["remark"], limits.join_way_remark_chars)
    return {key: value for key, value in found.items() if value is not None}


def _way(ctx: ApiContext, body: dict[str, Any]) -> JoinWay:
    way = ctx.state.corp.contacts.join_ways.get(text(body, "config_id"))
    if way is None or way.app != ctx.state.app.name:
        raise WecomApiError(40058, "invalid config_id")
    return way


async def add_join_way(ctx: ApiContext) -> JsonResult:
    """A new join way: {config_id}."""
    body = await ctx.json()
    scene = _scene(body)
    chat_ids = _chat_ids(ctx, body)
    fields = _fields(ctx, body)
    check_ways_quota(ctx)
    way = JoinWay(
        config_id=new_config_id(),
        app=ctx.state.app.name,
        scene=scene,
        chat_ids=chat_ids,
        create_time=int(ctx.now),
        **fields,
    )
    contacts = ctx.state.corp.contacts
    while way.config_id in contacts.ways or way.config_id in contacts.join_ways:
        way.config_id = new_config_id()  # pragma: no cover - 16**32 ids
    contacts.join_ways[way.config_id] = way
    return ok(config_id=way.config_id)


async def get_join_way(ctx: ApiContext) -> JsonResult:
    """One join way of the app: {join_way: {...}}."""
    way = _way(ctx, await ctx.json())
    return ok(join_way=way.as_json(base_url(ctx.request)))


async def update_join_way(ctx: ApiContext) -> JsonResult:
    """Replace the scene, groups and the given fields of a join way of the app."""
    body = await ctx.json()
    way = _way(ctx, body)
    scene = _scene(body)
    chat_ids = _chat_ids(ctx, body)
    fields = _fields(ctx, body)
    way.scene, way.chat_ids = scene, chat_ids
    for key, value in fields.items():
        setattr(way, key, value)
    return ok()


async def del_join_way(ctx: ApiContext) -> JsonResult:
    """Remove a join way of the app."""
    way = _way(ctx, await ctx.json())
    del ctx.state.corp.contacts.join_ways[way.config_id]
    return ok()
