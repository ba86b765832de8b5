"""Customer contact (§4.4, §4.6, §4.7): the 「联系我」 contact-way APIs, send_welcome_msg,
externalcontact/remark and externalcontact/get.

- add_contact_way: ``type`` is required (41037 when missing), 1 (one member: ``user`` holds
  exactly one userid, no ``party``) or 2 (several: ``user`` and/or ``party``); ``scene`` 1
  (mini-program button) or 2 (QR code, the answer then carries ``qr_code``); ``remark`` and
  ``state`` at most ``contact_way_remark_chars`` / ``contact_way_state_chars`` characters;
  ``skip_verify`` defaults to true. Userids must be members of the corp (40003). Any other bad
  value answers 40058 (the sheet names no code for an over-long state: the fake's choice).
- ``qr_code`` is a URL on the fake itself (``qr.py``): the picture can be fetched over loopback.
  A corp holds at most ``ways_max`` contact ways and join ways together; add answers 40058 at
  the quota (the fake's choice of code).
- get_contact_way / update_contact_way / del_contact_way take ``config_id``; one the corp does
  not have answers 40058 (**unconfirmed**). update changes only the fields it is given (remark,
  skip_verify, style, state, user, party), with add's rules; type and scene stay.
- send_welcome_msg: ``welcome_code`` from an add event, usable once within
  ``welcome_code_ttl`` seconds: a second use or a late one answers 41051; a code the fake never
  issued to this corp answers 40058. ``text.content`` (at most ``welcome_text_bytes``) and/or up
  to ``welcome_attachments`` attachments shaped like add_msg_template's (44004 when neither).
  The customer's ``received`` list records the welcome.
- externalcontact/remark: ``userid`` and ``external_userid`` required; an unknown customer
  answers 40096, a member who does not have them as customer 84061; ``remark`` and
  ``description`` at most ``external_remark_chars`` / ``external_description_chars`` (40058).
- externalcontact/get ``?external_userid=``: ``external_contact`` and ``follow_user`` (every
  member who has them, with remark, description, createtime, state and the corp ``tags`` the
  member marked, ``[{group_name, tag_name, type 1, tag_id}]``); 40096 when unknown, 84061
  when no member has them any more. ``next_cursor`` is always "" (no paging in the fake).
"""

from __future__ import annotations

from typing import Any

from .api import ApiContext, JsonResult, ok
from .api_group_msg import read_attachments
from .api_groups import text
from .contacts import ContactWay, new_config_id
from .errors import WecomApiError
from .limits import utf8_len
from .qr import base_url
from .state import USERID, AppState

TYPES = (1, 2)
SCENES = (1, 2)


def _chars(body: dict[str, Any], key: str, limit: int) -> str | None:
    """An optional string of at most `limit` characters (None when absent)."""
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise WecomApiError(40058, f"{key} must be a string")
    if len(value) > limit:
        raise WecomApiError(40058, f"{key} is longer than {limit} characters")
    return value


def _flag(body: dict[str, Any], key: str) -> bool | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise WecomApiError(40058, f"{key} must be true or false")
    return value


def _users(state: AppState, body: dict[str, Any]) -> list[str] | None:
    value = body.get("user")
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(u, str) and u for u in value):
        raise WecomApiError(40058, "user must be a list of userids")
    found: list[str] = []
    for userid in value:
        member = state.corp.find(userid) if USERID.fullmatch(userid) else None
        if member is None:
            raise WecomApiError(40003, f"{userid!r} is not a member of the corp")
        found.append(member.userid)
    return list(dict.fromkeys(found))


def _parties(body: dict[str, Any]) -> list[int] | None:
    value = body.get("party")
    if value is None:
        return None
    if not isinstance(value, list) or not all(
        isinstance(p, int) and not isinstance(p, bool) for p in value
    ):
        raise WecomApiError(40058, "party must be a list of department ids")
    return list(dict.fromkeys(value))


def _style(body: dict[str, Any]) -> int | None:
    value = body.get("style")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise WecomApiError(40058, "style must be an integer")
    return value


def _check_members(way_type: int, users: list[str], parties: list[int]) -> None:
    if way_type == 1 and (len(users) != 1 or parties):
        raise WecomApiError(40058, "a type 1 contact way names exactly one user and no party")
    if way_type == 2 and not users and not parties:
        raise WecomApiError(40058, "a type 2 contact way needs user or party")


def check_ways_quota(ctx: ApiContext) -> None:
    """40058 when the corp holds as many contact ways and join ways as it may."""
    ceiling = ctx.state.limits.ways_max
    if ctx.state.corp.contacts.way_count >= ceiling:
        raise WecomApiError(40058, f"the corp holds {ceiling} contact ways and join ways")


def _way(ctx: ApiContext, body: dict[str, Any]) -> ContactWay:
    way = ctx.state.corp.contacts.ways.get(text(body, "config_id"))
    if way is None:
        raise WecomApiError(40058, "invalid config_id")
    return way


async def add_contact_way(ctx: ApiContext) -> JsonResult:
    """A new contact way: {config_id, qr_code}."""
    body = await ctx.json()
    limits = ctx.state.limits
    way_type = body.get("type")
    if way_type is None:
        raise WecomApiError(41037, "type is required")
    if way_type not in TYPES or isinstance(way_type, bool):
        raise WecomApiError(40058, "type must be 1 or 2")
    scene = body.get("scene")
    if scene not in SCENES or isinstance(scene, bool):
        raise WecomApiError(40058, "scene must be 1 or 2")
    remark = _chars(body, "remark", limits.contact_way_remark_chars) or ""
    state = _chars(body, "state", limits.contact_way_state_chars) or ""
    skip_verify = _flag(body, "skip_verify")
    users = _users(ctx.state, body) or []
    parties = _parties(body) or []
    _check_members(way_type, users, parties)
    check_ways_quota(ctx)
    way = ContactWay(
        config_id=new_config_id(),
        app=ctx.state.app.name,
        type=way_type,
        scene=scene,
        users=users,
        parties=parties,
        skip_verify=True if skip_verify is None else skip_verify,
        state=state,
        remark=remark,
        style=_style(body),
        create_time=int(ctx.now),
    )
    ctx.state.corp.contacts.add_way(way)
    answer = ok(config_id=way.config_id)
    if way.scene == 2:
        answer["qr_code"] = way.qr_code(base_url(ctx.request))
    return answer


async def get_contact_way(ctx: ApiContext) -> JsonResult:
    """One contact way: {contact_way: {...}}."""
    return ok(contact_way=_way(ctx, await ctx.json()).as_json(base_url(ctx.request)))


async def update_contact_way(ctx: ApiContext) -> JsonResult:
    """Change the given fields of a contact way."""
    body = await ctx.json()
    limits = ctx.state.limits
    way = _way(ctx, body)
    remark = _chars(body, "remark", limits.contact_way_remark_chars)
    state = _chars(body, "state", limits.contact_way_state_chars)
    skip_verify = _flag(body, "skip_verify")
    style = _style(body)
    users = _users(ctx.state, body)
    parties = _parties(body)
    new_users = way.users if users is None else users
    new_parties = way.parties if parties is None else parties
    _check_members(way.type, new_users, new_parties)
    way.users, way.parties = new_users, new_parties
    if remark is not None:
        way.remark = remark
    if state is not None:
        way.state = state
    if skip_verify is not None:
        way.skip_verify = skip_verify
    if style is not None:
        way.style = style
    return ok()


async def del_contact_way(ctx: ApiContext) -> JsonResult:
    """Remove a contact way: its code no longer adds anyone."""
    way = _way(ctx, await ctx.json())
    del ctx.state.corp.contacts.ways[way.config_id]
    return ok()


async def send_welcome_msg(ctx: ApiContext) -> JsonResult:
    """The welcome of a new customer, once per welcome code and within its lifetime."""
    body = await ctx.json()
    state, now = ctx.state, ctx.now
    contacts = state.corp.contacts
    code = contacts.welcome_codes.get(text(body, "welcome_code"))
    if code is None:
        raise WecomApiError(40058, "invalid welcome_code")
    if code.used:
        raise WecomApiError(41051, "the welcome code was used already")
    if now - code.issued > state.limits.welcome_code_ttl:
        raise WecomApiError(41051, "the welcome code has expired")
    block = body.get("text")
    content = ""
    if block is not None:
        if not isinstance(block, dict) or not isinstance(block.get("content", ""), str):
            raise WecomApiError(40058, "text must be {content}")
        content = block.get("content", "")
        if utf8_len(content) > state.limits.welcome_text_bytes:
            raise WecomApiError(
                40058, f"text.content is longer than {state.limits.welcome_text_bytes} bytes"
            )
    attachments = read_attachments(state, body, now, state.limits.welcome_attachments)
    if not content and not attachments:
        raise WecomApiError(44004, "give text.content or attachments")
    code.used = True
    customer = contacts.external(code.external_userid)
    if customer is not None:
        customer.received.append(
            {
                "time": now,
                "kind": "welcome",
                "via": "send_welcome_msg",
                "userid": code.userid,
                "text": content,
                "attachments": attachments,
            }
        )
    return ok()


async def remark(ctx: ApiContext) -> JsonResult:
    """Set a member's remark and description of a customer."""
    body = await ctx.json()
    limits = ctx.state.limits
    userid = text(body, "userid")
    customer = ctx.state.corp.contacts.external(text(body, "external_userid"))
    if customer is None:
        raise WecomApiError(40096, "unknown external_userid")
    follow = customer.follow.get(userid.lower())
    if follow is None:
        raise WecomApiError(84061, f"{userid!r} does not have this customer")
    new_remark = _chars(body, "remark", limits.external_remark_chars)
    description = _chars(body, "description", limits.external_description_chars)
    if new_remark is not None:
        follow.remark = new_remark
    if description is not None:
        follow.description = description
    return ok()


async def get_external_contact(ctx: ApiContext) -> JsonResult:
    """A customer and the members who have them: {external_contact, follow_user, next_cursor}."""
    customer = ctx.state.corp.contacts.external(ctx.query("external_userid"))
    if customer is None:
        raise WecomApiError(40096, "unknown external_userid")
    if not customer.follow:
        raise WecomApiError(84061, "no member of the corp has this customer")
    tags = ctx.state.corp.contacts.tags
    return ok(
        external_contact=customer.as_json(),
        follow_user=[f.as_json(tags) for f in customer.follow.values()],
        next_cursor="",
    )
