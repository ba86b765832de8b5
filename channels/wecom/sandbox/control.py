"""The /sandbox control routes: act as a member, read timelines, steer the fake, sign people in
for web pages and check JS-SDK signatures."""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiohttp import web

from channels.wechat.sandbox.errors import ActionRejected

from .api import json_response
from .member import FakeMember, verify_callback_url
from .state import USERID, FakeWecom

MAX_BODY: Final = 64 * 1024
MAX_WAIT: Final = 30.0
Action = Callable[[FakeMember, web.Request], Awaitable[Any]]


async def _raw(request: web.Request, limit: int) -> bytes:
    data = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        data.extend(chunk)
        if len(data) > limit:
            raise ActionRejected(413, f"body larger than {limit} bytes")
    return bytes(data)


async def _json(request: web.Request) -> dict[str, Any]:
    raw = await _raw(request, MAX_BODY)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise ActionRejected(400, "body must be JSON") from None
    if not isinstance(body, dict):
        raise ActionRejected(400, "body must be a JSON object")
    return body


def _str(body: dict[str, Any], key: str, *, default: str | None = None) -> str:
    value = body.get(key, default)
    if not isinstance(value, str) or (default is None and not value):
        raise ActionRejected(400, f"{key} must be a non-empty string")
    return value


def _number(body: dict[str, Any], key: str, low: float, high: float, default: float) -> float:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ActionRejected(400, f"{key} must be a number")
    if not low <= value <= high:
        raise ActionRejected(400, f"{key} must be between {low} and {high}")
    return float(value)


def _bool(body: dict[str, Any], key: str, default: bool) -> bool:
    value = body.get(key, default)
    if not isinstance(value, bool):
        raise ActionRejected(400, f"{key} must be true or false")
    return value


def _timestamp(body: dict[str, Any]) -> int | str:
    value = body.get("timestamp")
    if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
        raise ActionRejected(400, "timestamp must be an integer or a non-empty string")
    return value


def _optional_int(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ActionRejected(400, f"{key} must be an integer")
    return value


async def _say(member: FakeMember, request: web.Request) -> Any:
    return (await member.say(_str(await _json(request), "text"))).as_json()


async def _image(member: FakeMember, request: web.Request) -> Any:
    data = await _raw(request, member.state.limits.image_bytes)
    return (await member.send_image(data)).as_json()


async def _event(member: FakeMember, request: web.Request) -> Any:
    body = await _json(request)
    return (await member.event(_str(body, "event"), _str(body, "key", default=""))).as_json()


ACTIONS: Final[dict[str, Action]] = {"say": _say, "image": _image, "event": _event}


def _json_errors(
    handler: Callable[[web.Request], Awaitable[Any]],
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def run(request: web.Request) -> web.StreamResponse:
        try:
            return json_response(await handler(request))
        except ActionRejected as exc:
            return json_response({"error": exc.message}, status=exc.status)

    return run


def add_control_routes(router: web.UrlDispatcher, wecom: FakeWecom) -> None:
    """Register the /sandbox routes."""

    def member(request: web.Request) -> FakeMember:
        return wecom.member(request.match_info["app"], request.match_info["userid"])

    async def act(request: web.Request) -> Any:
        action = ACTIONS.get(request.match_info["action"])
        if action is None:
            raise ActionRejected(404, f"unknown action; one of {', '.join(ACTIONS)}")
        return await action(member(request), request)

    async def timeline(request: web.Request) -> Any:
        state, userid = wecom.state(request.match_info["app"]), request.match_info["userid"]
        if not USERID.fullmatch(userid):
            raise ActionRejected(400, "userid must be 1-64 of [A-Za-z0-9_.@-]")
        try:
            after = int(request.query.get("after", "0"))
            wait = float(request.query.get("wait", "0"))
        except ValueError:
            raise ActionRejected(400, "after must be an integer and wait a number") from None
        if after < 0 or not 0 <= wait <= MAX_WAIT:
            raise ActionRejected(400, f"after must be >= 0 and wait 0-{MAX_WAIT:g} seconds")
        line = state.timeline(userid)  # reading does not add the member to the directory
        return {"entries": await line.wait_after(after, wait), "last": line.last}

    async def apps(request: web.Request) -> Any:
        return {
            "apps": [
                {
                    "name": a.name,
                    "corp_id": a.corp_id,
                    "agent_id": a.agent_id,
                    "callback_url": a.callback_url,
                }
                for a in wecom.apps
            ]
        }

    async def sends(request: web.Request) -> Any:
        return {"sends": wecom.state(request.match_info["app"]).sends}

    async def calls(request: web.Request) -> Any:
        path, app = request.query.get("path"), request.query.get("app")
        return {"calls": wecom.calls_to(path or None, app or None)}

    async def clock(request: web.Request) -> Any:
        wecom.clock.advance(_number(await _json(request), "advance", 0, 10 * 365 * 86400, -1))
        return {"now": wecom.clock.now()}

    async def faults(request: web.Request) -> Any:
        body = await _json(request)
        times = _optional_int(body, "times")
        try:
            wecom.inject_fault(
                _str(body, "path"),
                errcode=_optional_int(body, "errcode"),
                http_status=_optional_int(body, "http_status"),
                hang=_number(body, "hang", 0, 600, 0),
                times=1 if times is None else times,
            )
        except ValueError as exc:
            raise ActionRejected(400, str(exc)) from None
        return {"ok": True}

    async def expire(request: web.Request) -> Any:
        return {"expired": wecom.expire_tokens(request.match_info["app"])}

    async def verify(request: web.Request) -> Any:
        return await verify_callback_url(wecom, wecom.state(request.match_info["app"]).app)

    async def sign_in(request: web.Request) -> Any:
        body = await _json(request)
        userid = _str(body, "userid")
        wecom.sign_in(request.match_info["app"], userid, member=_bool(body, "member", True))
        return {"signed_in": userid}

    async def sign_out(request: web.Request) -> Any:
        wecom.sign_out(request.match_info["app"])
        return {"signed_in": None}

    async def tickets(request: web.Request) -> Any:
        return wecom.tickets(request.match_info["app"])

    async def expire_tickets(request: web.Request) -> Any:
        return {"expired": wecom.expire_tickets(request.match_info["app"])}

    async def check_signature(request: web.Request) -> Any:
        body = await _json(request)
        valid = wecom.check_js_signature(
            request.match_info["app"],
            agent=_bool(body, "agent", False),
            url=_str(body, "url"),
            noncestr=_str(body, "noncestr"),
            timestamp=_timestamp(body),
            signature=_str(body, "signature"),
        )
        return {"valid": valid}

    user = "/sandbox/apps/{app}/members/{userid}"
    router.add_post(user + "/{action}", _json_errors(act))
    router.add_get(user + "/timeline", _json_errors(timeline))
    router.add_get("/sandbox/apps", _json_errors(apps))
    router.add_get("/sandbox/apps/{app}/sends", _json_errors(sends))
    router.add_post("/sandbox/apps/{app}/tokens/expire", _json_errors(expire))
    router.add_post("/sandbox/apps/{app}/verify", _json_errors(verify))
    router.add_post("/sandbox/apps/{app}/oauth/signin", _json_errors(sign_in))
    router.add_post("/sandbox/apps/{app}/oauth/signout", _json_errors(sign_out))
    router.add_get("/sandbox/apps/{app}/jssdk/tickets", _json_errors(tickets))
    router.add_post("/sandbox/apps/{app}/jssdk/tickets/expire", _json_errors(expire_tickets))
    router.add_post("/sandbox/apps/{app}/jssdk/check", _json_errors(check_signature))
    router.add_get("/sandbox/calls", _json_errors(calls))
    router.add_post("/sandbox/clock", _json_errors(clock))
    router.add_post("/sandbox/faults", _json_errors(faults))
