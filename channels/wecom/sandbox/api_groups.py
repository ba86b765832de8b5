"""Customer groups (§4.8): POST /cgi-bin/externalcontact/groupchat/list and groupchat/get.

- list: ``status_filter`` 0 lists every group (no filter, the platform's default), 1-3 only
  groups with that handover status; ``owner_filter.userid_list`` (at most
  ``groupchat_owner_filter_max`` userids, case-insensitive) keeps the groups of those owners;
  without it (or with an empty list) a corp with more than ``groupchat_unfiltered_members``
  members answers 81017. ``limit`` is required, 1..``groupchat_list_max``. Groups come oldest
  first; ``next_cursor`` is "" after the last page. Dismissed groups are not listed.
- get: ``chat_id`` required; ``need_name`` 1 adds members' names. An unknown or dismissed chat
  id (or one of another corp) answers 90501 "chat is not an external group chat": the
  platform's code for a chat id that is not a customer group of the corp, which is what such an
  id is from the caller's side (§4.12).

Cursors are opaque strings; one the fake did not issue answers 40058.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Final

from .api import ApiContext, JsonResult, ok
from .errors import WecomApiError
from .groups import CustomerGroup

STATUS_FILTERS: Final = (0, 1, 2, 3)


def integer(body: dict[str, Any], key: str, default: int | None = None) -> int:
    """An integer field (40058 when absent without a default, or not an integer)."""
    value = body.get(key, default)
    if value is None:
        raise WecomApiError(40058, f"{key} is required")
    if isinstance(value, bool) or not isinstance(value, int):
        raise WecomApiError(40058, f"{key} must be an integer")
    return value


def text(body: dict[str, Any], key: str) -> str:
    """A required non-empty string field (40058 otherwise)."""
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise WecomApiError(40058, f"{key} must be a non-empty string")
    return value


def page_limit(body: dict[str, Any], default: int | None, ceiling: int) -> int:
    """`limit` within 1..ceiling (40058 otherwise)."""
    limit = integer(body, "limit", default)
    if not 1 <= limit <= ceiling:
        raise WecomApiError(40058, f"limit must be 1-{ceiling}")
    return limit


def make_cursor(kind: str, position: int) -> str:
    """An opaque cursor for position `position` of a `kind` of listing."""
    return base64.urlsafe_b64encode(f"{kind}:{position}".encode()).decode().rstrip("=")


def read_cursor(body: dict[str, Any], kind: str) -> int:
    """The position a `cursor` field points at (0 when absent or ""; 40058 if not ours)."""
    value = body.get("cursor", "")
    if value is None or value == "":
        return 0
    if not isinstance(value, str):
        raise WecomApiError(40058, "cursor must be a string")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    prefix, _, position = raw.partition(":")
    if prefix != kind or not position.isdigit():
        raise WecomApiError(40058, "invalid cursor")
    return int(position)


def _owners(ctx: ApiContext, body: dict[str, Any]) -> set[str] | None:
    """The lower-cased owner userids to keep, None for every owner."""
    owner_filter = body.get("owner_filter")
    if owner_filter is None:
        return None
    if not isinstance(owner_filter, dict):
        raise WecomApiError(40058, "owner_filter must be an object")
    userids = owner_filter.get("userid_list", [])
    if not isinstance(userids, list) or not all(isinstance(u, str) for u in userids):
        raise WecomApiError(40058, "owner_filter.userid_list must be a list of userids")
    ceiling = ctx.state.limits.groupchat_owner_filter_max
    if len(userids) > ceiling:
        raise WecomApiError(40058, f"owner_filter.userid_list takes at most {ceiling} userids")
    return {u.lower() for u in userids} or None


async def groupchat_list(ctx: ApiContext) -> JsonResult:
    """A page of the corp's customer groups: {group_chat_list: [{chat_id, status}], next_cursor}."""
    body = await ctx.json()
    limits = ctx.state.limits
    status_filter = integer(body, "status_filter", 0)
    if status_filter not in STATUS_FILTERS:
        raise WecomApiError(40058, "status_filter must be 0, 1, 2 or 3")
    owners = _owners(ctx, body)
    limit = page_limit(body, None, limits.groupchat_list_max)
    after = read_cursor(body, "groupchat")
    corp = ctx.state.corp
    if owners is None and len(corp.directory) > limits.groupchat_unfiltered_members:
        raise WecomApiError(
            81017, f"more than {limits.groupchat_unfiltered_members} members: use owner_filter"
        )

    def keep(group: CustomerGroup) -> bool:
        if status_filter and group.status != status_filter:
            return False
        return owners is None or group.owner.lower() in owners

    found, more = corp.groups.page(after, limit, keep)
    return ok(
        group_chat_list=[{"chat_id": g.chat_id, "status": g.status} for g in found],
        next_cursor=make_cursor("groupchat", found[-1].seq) if more else "",
    )


async def groupchat_get(ctx: ApiContext) -> JsonResult:
    """One group: {group_chat: {chat_id, name, owner, create_time, notice, member_list,
    admin_list, member_version}}."""
    body = await ctx.json()
    chat_id = text(body, "chat_id")
    need_name = integer(body, "need_name", 0)
    if need_name not in (0, 1):
        raise WecomApiError(40058, "need_name must be 0 or 1")
    group = ctx.state.corp.groups.live(chat_id)
    if group is None:
        raise WecomApiError(90501, f"no customer group {chat_id!r} in this corp")
    return ok(group_chat=group.as_json(bool(need_name)))
