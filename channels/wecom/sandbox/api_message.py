"""POST /cgi-bin/message/send (§4.3): envelope, recipients, duplicate check, per-member rate."""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any, Final

from .api import ApiContext, JsonResult, ok
from .errors import WecomApiError
from .payloads import message_payload
from .state import USERID, AppState, CorpState, DirectoryMember, DuplicateGuard, SendRecord

ROOT_DEPARTMENT: Final = "1"
"""The corp's root department: every member of the directory belongs to it."""
_FLAGS: Final = ("safe", "enable_id_trans", "enable_duplicate_check")


def _ids(body: dict[str, Any], key: str) -> list[str]:
    """A "a|b|c" recipient field as a list (absent or empty: no ids)."""
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, str):
        raise WecomApiError(40058, f'{key} must be a string like "id1|id2"')
    return [part for part in value.split("|") if part]


def _flag(body: dict[str, Any], key: str) -> int:
    value = body.get(key, 0)
    if isinstance(value, bool) or value not in (0, 1):
        raise WecomApiError(40058, f"{key} must be 0 or 1")
    return int(value)


def _check_agent(state: AppState, body: dict[str, Any]) -> None:
    if "agentid" not in body:
        raise WecomApiError(41011)
    agentid = body["agentid"]
    if isinstance(agentid, bool) or not isinstance(agentid, int):
        raise WecomApiError(40056, "agentid must be an integer")
    if agentid != state.app.agent_id:
        raise WecomApiError(40056, "agentid is not the app of this access_token")


def _interval(state: AppState, body: dict[str, Any]) -> int:
    value = body.get("duplicate_check_interval", state.limits.duplicate_interval_default)
    ceiling = state.limits.duplicate_interval_max
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= ceiling:
        raise WecomApiError(40058, f"duplicate_check_interval must be 1-{ceiling} seconds")
    return value


def _resolve(
    corp: CorpState, users: list[str], parties: list[str], tags: list[str]
) -> tuple[list[DirectoryMember], dict[str, str]]:
    """Recipients (each once) and the invalid* answer fields for the ids that match nobody."""
    found: dict[str, DirectoryMember] = {}
    invalid_users: list[str] = []
    if users == ["@all"]:
        found.update(corp.directory)
    else:
        for userid in users:
            member = corp.find(userid) if USERID.fullmatch(userid) else None
            if member is None:
                invalid_users.append(userid.lower())
            else:
                found.setdefault(member.userid.lower(), member)
    if ROOT_DEPARTMENT in parties:
        for key, member in corp.directory.items():
            found.setdefault(key, member)
    invalid = {
        "invaliduser": "|".join(invalid_users),
        "invalidparty": "|".join(p for p in parties if p != ROOT_DEPARTMENT),
        "invalidtag": "|".join(tags),  # the fake's corps define no tags
    }
    return list(found.values()), {k: v for k, v in invalid.items() if v}


def _duplicate_check(
    state: AppState, body: dict[str, Any], now: float, interval: int
) -> tuple[str, bool]:
    """(msgid, True) for an identical send within the interval, else a new msgid remembered."""
    state.recent = {k: g for k, g in state.recent.items() if g.until > now}
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    key = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    guard = state.recent.get(key)
    if guard is not None:
        return guard.msgid, True
    state.recent[key] = DuplicateGuard(new_msgid(), now + interval)
    return state.recent[key].msgid, False


def new_msgid() -> str:
    """An opaque msgid like the platform's (used for recall)."""
    return secrets.token_urlsafe(36)


async def message_send(ctx: ApiContext) -> JsonResult:
    """Validate, then deliver to each recipient's timeline within the per-member rate."""
    body = await ctx.json()
    state, limits, now = ctx.state, ctx.state.limits, ctx.now
    users, parties, tags = _ids(body, "touser"), _ids(body, "toparty"), _ids(body, "totag")
    if not (users or parties or tags):
        raise WecomApiError(81012, "give touser, toparty or totag")
    if users != ["@all"] and len(users) > limits.touser_max:
        raise WecomApiError(40032, f"touser lists {len(users)} ids, at most {limits.touser_max}")
    if len(parties) > limits.toparty_max or len(tags) > limits.totag_max:
        raise WecomApiError(40058, f"toparty and totag take at most {limits.toparty_max} ids")
    _check_agent(state, body)
    flags = {key: _flag(body, key) for key in _FLAGS}
    interval = _interval(state, body)
    msgtype, (seen, truncated) = message_payload(state, body, now)
    if msgtype == "news" and flags["safe"]:
        raise WecomApiError(40074, "news cannot be a safe (confidential) message")
    recipients, invalid = _resolve(state.corp, users, parties, tags)
    if not recipients:
        raise WecomApiError(81013, **invalid)
    record = SendRecord(
        msgid="",
        time=now,
        msgtype=msgtype,
        delivered=[],
        dropped=[],
        duplicate=False,
        invaliduser=[u for u in invalid.get("invaliduser", "").split("|") if u],
        truncated=truncated,
    )
    if flags["enable_duplicate_check"]:
        record["msgid"], record["duplicate"] = _duplicate_check(state, body, now, interval)
    else:
        record["msgid"] = new_msgid()
    if record["duplicate"]:
        state.sends.append(record)
        return ok(**invalid, msgid=record["msgid"])
    for member in recipients:
        if state.rate_allows(member.userid, now):
            fields = {"msgid": record["msgid"], **seen}
            state.timeline(member.userid).append(now, msgtype, "message/send", fields)
            record["delivered"].append(member.userid)
        else:
            record["dropped"].append(member.userid)
    state.sends.append(record)
    return ok(**invalid, msgid=record["msgid"])
