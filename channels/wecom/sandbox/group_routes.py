"""The /sandbox control routes of customer groups and group tasks (the HTTP face of the
FakeWecom group methods, for a fake running in another process).

- POST /sandbox/apps/{app}/groups ``{owner, name, members, admins, created_at, notify}``: create
  one group (the callback outcome and ``chat_id``).
- POST /sandbox/apps/{app}/groups/bulk ``{owners, count, members_per_group, created_at}``: many
  groups without callbacks (``chat_ids``).
- GET /sandbox/apps/{app}/groups/{chat_id}: the group as groupchat/get shows it, plus
  ``status``, ``dismissed`` and ``receipts``.
- POST /sandbox/apps/{app}/groups/{chat_id}/{action}: ``add_members {userids, scene, invitor,
  state}``, ``remove_members {userids, quit_scene}``, ``rename {name}``, ``notice {notice}``,
  ``owner {owner}``, ``dismiss {}``, ``status {status}``; each but status sends its callback
  unless ``notify`` is false.
- GET /sandbox/apps/{app}/group_tasks: the app's tasks; POST
  /sandbox/apps/{app}/group_tasks/{msgid}/confirm ``{userid}``: the sender sends one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiohttp import web

from channels.wechat.sandbox.errors import ActionRejected

from .control import _bool, _json, _json_errors, _number, _str
from .group_control import GroupOutcome
from .state import FakeWecom

GroupAction = Callable[[FakeWecom, str, str, dict[str, Any]], Awaitable[GroupOutcome | None]]


def _ids(body: dict[str, Any], key: str) -> list[str]:
    value = body.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ActionRejected(400, f"{key} must be a list of ids")
    return value


def _int(body: dict[str, Any], key: str, default: int) -> int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ActionRejected(400, f"{key} must be an integer")
    return value


def _created_at(body: dict[str, Any]) -> float | None:
    return None if body.get("created_at") is None else _number(body, "created_at", 0, 1e11, 0)


async def _add(wecom: FakeWecom, app: str, chat_id: str, body: dict[str, Any]) -> GroupOutcome:
    invitor = body.get("invitor")
    if invitor is not None and not isinstance(invitor, str):
        raise ActionRejected(400, "invitor must be a userid")
    return await wecom.add_group_members(
        app,
        chat_id,
        _ids(body, "userids"),
        scene=_int(body, "scene", 1),
        invitor=invitor,
        state=_str(body, "state", default=""),
        notify=_bool(body, "notify", True),
    )


async def _remove(wecom: FakeWecom, app: str, chat_id: str, body: dict[str, Any]) -> GroupOutcome:
    return await wecom.remove_group_members(
        app,
        chat_id,
        _ids(body, "userids"),
        quit_scene=_int(body, "quit_scene", 0),
        notify=_bool(body, "notify", True),
    )


async def _rename(wecom: FakeWecom, app: str, chat_id: str, body: dict[str, Any]) -> GroupOutcome:
    notify = _bool(body, "notify", True)
    return await wecom.rename_group(app, chat_id, _str(body, "name"), notify=notify)


async def _notice(wecom: FakeWecom, app: str, chat_id: str, body: dict[str, Any]) -> GroupOutcome:
    notice = _str(body, "notice", default="")
    return await wecom.change_group_notice(app, chat_id, notice, notify=_bool(body, "notify", True))


async def _owner(wecom: FakeWecom, app: str, chat_id: str, body: dict[str, Any]) -> GroupOutcome:
    notify = _bool(body, "notify", True)
    return await wecom.change_group_owner(app, chat_id, _str(body, "owner"), notify=notify)


async def _dismiss(wecom: FakeWecom, app: str, chat_id: str, body: dict[str, Any]) -> GroupOutcome:
    return await wecom.dismiss_group(app, chat_id, notify=_bool(body, "notify", True))


async def _status(wecom: FakeWecom, app: str, chat_id: str, body: dict[str, Any]) -> None:
    wecom.set_group_status(app, chat_id, _int(body, "status", 0))


GROUP_ACTIONS: Final[dict[str, GroupAction]] = {
    "add_members": _add,
    "remove_members": _remove,
    "rename": _rename,
    "notice": _notice,
    "owner": _owner,
    "dismiss": _dismiss,
    "status": _status,
}


def add_group_routes(router: web.UrlDispatcher, wecom: FakeWecom) -> None:
    """Register the /sandbox group routes."""

    async def create(request: web.Request) -> Any:
        body = await _json(request)
        outcome = await wecom.create_group(
            request.match_info["app"],
            _str(body, "owner"),
            _str(body, "name", default=""),
            _ids(body, "members"),
            admins=_ids(body, "admins"),
            created_at=_created_at(body),
            notify=_bool(body, "notify", True),
        )
        return outcome.as_json()

    async def bulk(request: web.Request) -> Any:
        body = await _json(request)
        chat_ids = wecom.create_groups(
            request.match_info["app"],
            _ids(body, "owners"),
            _int(body, "count", 0),
            members_per_group=_int(body, "members_per_group", 0),
            created_at=_created_at(body),
        )
        return {"chat_ids": chat_ids}

    async def read(request: web.Request) -> Any:
        group = wecom.group(request.match_info["app"], request.match_info["chat_id"])
        return {
            **group.as_json(need_name=True),
            "status": group.status,
            "dismissed": group.dismissed,
            "receipts": group.receipts,
        }

    async def act(request: web.Request) -> Any:
        action = GROUP_ACTIONS.get(request.match_info["action"])
        if action is None:
            raise ActionRejected(404, f"unknown action; one of {', '.join(GROUP_ACTIONS)}")
        app, chat_id = request.match_info["app"], request.match_info["chat_id"]
        outcome = await action(wecom, app, chat_id, await _json(request))
        return outcome.as_json() if outcome is not None else {"ok": True}

    async def tasks(request: web.Request) -> Any:
        return {"tasks": [t.as_json() for t in wecom.group_tasks(request.match_info["app"])]}

    async def confirm(request: web.Request) -> Any:
        body = await _json(request)
        app, msgid = request.match_info["app"], request.match_info["msgid"]
        return wecom.confirm_group_task(app, _str(body, "userid"), msgid).as_json()

    groups = "/sandbox/apps/{app}/groups"
    router.add_post(groups, _json_errors(create))
    router.add_post(groups + "/bulk", _json_errors(bulk))
    router.add_get(groups + "/{chat_id}", _json_errors(read))
    router.add_post(groups + "/{chat_id}/{action}", _json_errors(act))
    router.add_get("/sandbox/apps/{app}/group_tasks", _json_errors(tasks))
    router.add_post("/sandbox/apps/{app}/group_tasks/{msgid}/confirm", _json_errors(confirm))
