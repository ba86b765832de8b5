"""Corp tags (企业客户标签; the official API, not in the fact sheet): POST
/cgi-bin/externalcontact/get_corp_tag_list, add_corp_tag and mark_tag.

- get_corp_tag_list ``{tag_id: [...], group_id: [...]}`` → ``{tag_group: [{group_id,
  group_name, create_time, order, tag: [{id, name, create_time, order}]}]}``. Both lists empty
  (or absent): every group. ``group_id`` given: those groups with all their tags (``tag_id`` is
  then ignored, as on the platform). Only ``tag_id``: the groups of those tags, each with just
  those tags. Unknown ids are left out. A larger ``order`` comes first.
- add_corp_tag ``{group_id?, group_name?, order?, tag: [{name, order?}]}`` → ``{tag_group:
  {group_id, group_name, create_time, order, tag: [the new tags]}}``. With ``group_id`` the tags
  go into that group (40068 when it is unknown); otherwise into the group called
  ``group_name`` (required then, 40058), created with ``order`` when there is none. ``tag`` holds
  at least one tag; names are 1..``tag_name_chars`` characters (40058), as are group names. A
  name the group already has, or one given twice, answers 40071 and nothing is added.
- mark_tag ``{userid, external_userid, add_tag: [ids], remove_tag: [ids]}`` → ``{}``: both lists
  empty answers 40058, a tag id in both 40058, an unknown tag id 40068, an unknown customer
  40096 and a member who does not have that customer 84061. Tags already on (or not on) the
  customer are no error. The member's follow entry shows the tags in externalcontact/get. Like
  every API operation, marking sends no change_external_contact callback (§4.5).
"""

from __future__ import annotations

from typing import Any

from .api import ApiContext, JsonResult, ok
from .api_groups import text
from .errors import WecomApiError
from .tags import CorpTag, CorpTags, TagGroup, new_tag_id


def _ids(body: dict[str, Any], key: str) -> list[str]:
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise WecomApiError(40058, f"{key} must be a list of ids")
    return list(dict.fromkeys(value))


def _order(item: dict[str, Any], where: str) -> int:
    value = item.get("order", 0)
    if isinstance(value, bool) or not isinstance(value, int):
        raise WecomApiError(40058, f"{where}order must be an integer")
    return value


def _name(value: object, where: str, limit: int) -> str:
    if not isinstance(value, str) or not value:
        raise WecomApiError(40058, f"{where} must be a non-empty string")
    if len(value) > limit:
        raise WecomApiError(40058, f"{where} is longer than {limit} characters")
    return value


async def get_corp_tag_list(ctx: ApiContext) -> JsonResult:
    """The corp's tag groups, filtered by group ids or tag ids."""
    body = await ctx.json()
    tag_ids, group_ids = _ids(body, "tag_id"), _ids(body, "group_id")
    groups = ctx.state.corp.contacts.tags.ordered()
    if group_ids:
        wanted = set(group_ids)
        return ok(tag_group=[g.as_json() for g in groups if g.group_id in wanted])
    if tag_ids:
        wanted = set(tag_ids)
        shown = []
        for group in groups:
            tags = [t for t in group.tags if t.id in wanted]
            if tags:
                shown.append(group.as_json(tags))
        return ok(tag_group=shown)
    return ok(tag_group=[g.as_json() for g in groups])


def _target(tags: CorpTags, body: dict[str, Any], limit: int) -> tuple[TagGroup | None, str]:
    """The existing group the tags go into, or None and the name of the group to create."""
    group_id = body.get("group_id")
    if group_id not in (None, ""):
        group = tags.groups.get(group_id) if isinstance(group_id, str) else None
        if group is None:
            raise WecomApiError(40068, "unknown group_id")
        return group, group.group_name
    name = _name(body.get("group_name"), "group_name", limit)
    return tags.by_name(name), name


async def add_corp_tag(ctx: ApiContext) -> JsonResult:
    """New tags in an existing or a new tag group: {tag_group: {..., tag: [the new tags]}}."""
    body = await ctx.json()
    limit = ctx.state.limits.tag_name_chars
    tags = ctx.state.corp.contacts.tags
    group, group_name = _target(tags, body, limit)
    items = body.get("tag")
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        raise WecomApiError(40058, "tag must be a non-empty list of {name, order}")
    wanted = [
        (_name(item.get("name"), f"tag[{i}].name", limit), _order(item, f"tag[{i}]."))
        for i, item in enumerate(items)
    ]
    names = [name for name, _ in wanted]
    if len(set(names)) != len(names):
        raise WecomApiError(40071, "a tag name is given twice")
    if group is not None and any(group.named(name) for name in names):
        raise WecomApiError(40071, f"group {group.group_name!r} already has such a tag")
    now = int(ctx.now)
    if group is None:
        group = TagGroup(new_tag_id(), group_name, now, _order(body, ""))
        tags.groups[group.group_id] = group
    created = [CorpTag(new_tag_id(), name, now, order) for name, order in wanted]
    group.tags.extend(created)
    return ok(tag_group=group.as_json(created))


async def mark_tag(ctx: ApiContext) -> JsonResult:
    """Put tags on a member's customer and take others off."""
    body = await ctx.json()
    userid = text(body, "userid")
    external_userid = text(body, "external_userid")
    add, remove = _ids(body, "add_tag"), _ids(body, "remove_tag")
    if not add and not remove:
        raise WecomApiError(40058, "give add_tag or remove_tag")
    if set(add) & set(remove):
        raise WecomApiError(40058, "a tag id is in both add_tag and remove_tag")
    contacts = ctx.state.corp.contacts
    unknown = [tag_id for tag_id in add + remove if contacts.tags.find(tag_id) is None]
    if unknown:
        raise WecomApiError(40068, f"unknown tag id {unknown[0]!r}")
    customer = contacts.external(external_userid)
    if customer is None:
        raise WecomApiError(40096, "unknown external_userid")
    follow = customer.follow.get(userid.lower())
    if follow is None:
        raise WecomApiError(84061, f"{userid!r} does not have this customer")
    gone = set(remove)
    follow.tag_ids = [t for t in follow.tag_ids if t not in gone]
    follow.tag_ids += [t for t in add if t not in follow.tag_ids]
    return ok()
