"""The /sandbox control routes: act as a customer, read timelines, steer the fake."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiohttp import web

from .api import json_response
from .customer import FakeCustomer, Outcome, verify_url
from .errors import ActionRejected
from .state import FakePlatform

MAX_BODY: Final = 64 * 1024
MAX_TEXT: Final = 2048
MAX_WAIT: Final = 60.0
_OPENID = re.compile(r"[A-Za-z0-9_-]{1,64}")
Action = Callable[[FakeCustomer, dict[str, Any]], Awaitable[Outcome]]


async def _body(request: web.Request) -> dict[str, Any]:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ActionRejected(413, f"body larger than {MAX_BODY} bytes")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise ActionRejected(413, f"body larger than {MAX_BODY} bytes") from None
    if len(raw) > MAX_BODY:
        raise ActionRejected(413, f"body larger than {MAX_BODY} bytes")
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise ActionRejected(400, "body must be JSON") from None
    if not isinstance(body, dict):
        raise ActionRejected(400, "body must be a JSON object")
    return body


def _str(body: dict[str, Any], key: str, *, optional: bool = False, limit: int = MAX_TEXT) -> Any:
    value = body.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise ActionRejected(400, f"{key} must be a non-empty string")
    if len(value) > limit:
        raise ActionRejected(400, f"{key} is longer than {limit} characters")
    return value


def _scene(body: dict[str, Any], *, optional: bool) -> Any:
    value = body.get("scene")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _str(body, "scene", optional=optional, limit=64)


def _number(body: dict[str, Any], key: str, low: float, high: float) -> float:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ActionRejected(400, f"{key} must be a number")
    if not low <= value <= high:
        raise ActionRejected(400, f"{key} must be between {low} and {high}")
    return float(value)


ACTIONS: Final[dict[str, Action]] = {
    "follow": lambda c, b: c.follow(_scene(b, optional=True)),
    "unfollow": lambda c, b: c.unfollow(),
    "text": lambda c, b: c.text(_str(b, "content")),
    "click": lambda c, b: c.click(_str(b, "key", limit=128)),
    "view": lambda c, b: c.view(_str(b, "url", limit=1024)),
    "scan": lambda c, b: c.scan(_scene(b, optional=False)),
    "image": lambda c, b: c.image(),
    "voice": lambda c, b: c.voice(_str(b, "recognition", optional=True)),
    "location": lambda c, b: c.location(
        _number(b, "lat", -90, 90), _number(b, "lng", -180, 180), _str(b, "label", limit=256)
    ),
    "link": lambda c, b: c.link(
        _str(b, "title", limit=256), _str(b, "description"), _str(b, "url", limit=1024)
    ),
}


def _json_errors(
    handler: Callable[[web.Request], Awaitable[Any]],
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def run(request: web.Request) -> web.StreamResponse:
        try:
            return json_response(await handler(request))
        except ActionRejected as exc:
            return json_response({"error": exc.message}, status=exc.status)

    return run


def add_control_routes(router: web.UrlDispatcher, platform: FakePlatform) -> None:
    """Register the /sandbox routes."""

    def customer(request: web.Request) -> FakeCustomer:
        openid = request.match_info["openid"]
        if not _OPENID.fullmatch(openid):
            raise ActionRejected(400, "openid must be 1-64 of [A-Za-z0-9_-]")
        return FakeCustomer(platform, request.match_info["account"], openid)

    async def act(request: web.Request) -> Any:
        action = ACTIONS.get(request.match_info["action"])
        if action is None:
            raise ActionRejected(404, f"unknown action; one of {', '.join(ACTIONS)}")
        fake = customer(request)
        return (await action(fake, await _body(request))).as_json()

    async def timeline(request: web.Request) -> Any:
        fake = customer(request)
        try:
            after = int(request.query.get("after", "0"))
            wait = float(request.query.get("wait", "0"))
        except ValueError:
            raise ActionRejected(400, "after must be an integer and wait a number") from None
        if after < 0 or not 0 <= wait <= MAX_WAIT:
            raise ActionRejected(400, f"after must be >= 0 and wait 0-{MAX_WAIT}")
        line = fake.state.timeline(fake.openid)
        entries = await line.wait_after(after, wait)
        return {"entries": entries, "last": line.last}

    async def menu(request: web.Request) -> Any:
        return {"menu": platform.state(request.match_info["account"]).menu}

    async def accounts(request: web.Request) -> Any:
        return {
            "accounts": [
                {
                    "name": a.name,
                    "app_id": a.app_id,
                    "mode": a.mode,
                    "original_id": a.original_id,
                    "callback_url": a.callback_url,
                    "service_account": a.service_account,
                }
                for a in platform.accounts
            ]
        }

    async def calls(request: web.Request) -> Any:
        path, account = request.query.get("path"), request.query.get("account")
        return {"calls": platform.calls_to(path or None, account or None)}

    async def clock(request: web.Request) -> Any:
        platform.clock.advance(_number(await _body(request), "advance", 0, 10 * 365 * 86400))
        return {"now": platform.clock.now()}

    async def faults(request: web.Request) -> Any:
        body = await _body(request)
        errcode, times = body.get("errcode"), body.get("times", 1)
        delay = _number({"delay": body.get("delay", 0)}, "delay", 0, 60)
        if errcode is not None and (isinstance(errcode, bool) or not isinstance(errcode, int)):
            raise ActionRejected(400, "errcode must be an integer or null")
        if isinstance(times, bool) or not isinstance(times, int):
            raise ActionRejected(400, "times must be an integer")
        try:
            platform.inject_fault(
                _str(body, "path", limit=256), errcode=errcode, times=times, delay=delay
            )
        except ValueError as exc:
            raise ActionRejected(400, str(exc)) from None
        return {"ok": True}

    async def verify(request: web.Request) -> Any:
        return await verify_url(platform, platform.state(request.match_info["account"]))

    async def revoke(request: web.Request) -> Any:
        return {"revoked": platform.revoke_tokens(request.match_info["account"])}

    async def expire(request: web.Request) -> Any:
        return {"expired": platform.expire_tokens(request.match_info["account"])}

    async def reset(request: web.Request) -> Any:
        platform.reset()
        return {"ok": True}

    user = "/sandbox/{account}/users/{openid}"
    router.add_post(user + "/{action}", _json_errors(act))
    router.add_get(user + "/timeline", _json_errors(timeline))
    router.add_get("/sandbox/accounts", _json_errors(accounts))
    router.add_get("/sandbox/calls", _json_errors(calls))
    router.add_post("/sandbox/clock", _json_errors(clock))
    router.add_post("/sandbox/faults", _json_errors(faults))
    router.add_post("/sandbox/reset", _json_errors(reset))
    router.add_get("/sandbox/{account}/menu", _json_errors(menu))
    router.add_post("/sandbox/{account}/verify", _json_errors(verify))
    router.add_post("/sandbox/{account}/tokens/revoke", _json_errors(revoke))
    router.add_post("/sandbox/{account}/tokens/expire", _json_errors(expire))
