"""The /sandbox control routes: act as users, make groups, read timelines, steer the fake."""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiohttp import web

from .api import json_response
from .delivery import flush_webhook
from .errors import ActionRejected
from .state import FakeTelegram
from .users import FakeUser

MAX_BODY: Final = 64 * 1024
MAX_WAIT: Final = 30.0
MAX_USER_ID: Final = 2**52


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise ActionRejected(413, "body too large") from None
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


async def _raw(request: web.Request, limit: int) -> bytes:
    data = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        data.extend(chunk)
        if len(data) > limit:
            raise ActionRejected(413, f"photo larger than {limit} bytes")
    return bytes(data)


def _int(value: Any, name: str, *, optional: bool = False) -> Any:
    if value is None and optional:
        return None
    if isinstance(value, str) and value.lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ActionRejected(400, f"{name} must be an integer")
    return value


def _str(value: Any, name: str, *, optional: bool = False) -> Any:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise ActionRejected(400, f"{name} must be a non-empty string")
    return value


def _number(value: Any, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ActionRejected(400, f"{name} must be a number")
    if not low <= value <= high:
        raise ActionRejected(400, f"{name} must be between {low} and {high}")
    return float(value)


def _json_errors(
    handler: Callable[[web.Request], Awaitable[Any]],
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def run(request: web.Request) -> web.StreamResponse:
        try:
            return json_response(await handler(request))
        except ActionRejected as exc:
            return json_response({"error": exc.message}, status=exc.status)

    return run


def add_control_routes(router: web.UrlDispatcher, fake: FakeTelegram) -> None:
    """Register the /sandbox routes."""

    def user(request: web.Request, first_name: Any, username: Any) -> FakeUser:
        bot = request.match_info["bot"]
        user_id = _int(request.match_info["user_id"], "user_id")
        if not 0 < user_id < MAX_USER_ID:
            raise ActionRejected(400, "user_id must be a positive integer")
        known = fake.users.get(user_id)
        name = _str(first_name, "first_name", optional=True)
        name = name or (known.first_name if known else f"user{user_id}")
        return fake.user(bot, user_id, name, _str(username, "username", optional=True) or "")

    async def send(request: web.Request) -> Any:
        body = await _body(request)
        fake_user = user(request, body.get("first_name"), body.get("username"))
        delivery = await fake_user.send(
            _str(body.get("text"), "text"),
            chat_id=_int(body.get("chat_id"), "chat_id", optional=True),
            reply_to=_int(body.get("reply_to"), "reply_to", optional=True),
        )
        return delivery.as_json()

    async def photo(request: web.Request) -> Any:
        query = request.query
        fake_user = user(request, query.get("first_name"), query.get("username"))
        data = await _raw(request, fake.limits.photo_upload_bytes)
        delivery = await fake_user.send_photo(
            data,
            caption=query.get("caption", ""),
            chat_id=_int(query.get("chat_id"), "chat_id", optional=True),
        )
        return delivery.as_json()

    async def press(request: web.Request) -> Any:
        body = await _body(request)
        fake_user = user(request, body.get("first_name"), body.get("username"))
        delivery = await fake_user.press(
            _int(body.get("message_id"), "message_id"),
            _str(body.get("data"), "data"),
            chat_id=_int(body.get("chat_id"), "chat_id", optional=True),
        )
        return delivery.as_json()

    async def block(request: web.Request) -> Any:
        body = await _body(request)
        blocked = body.get("blocked", True)
        if not isinstance(blocked, bool):
            raise ActionRejected(400, "blocked must be true or false")
        user(request, None, None).block(blocked)
        return {"blocked": blocked}

    async def groups(request: web.Request) -> Any:
        body = await _body(request)
        members = body.get("members", [])
        if not isinstance(members, list):
            raise ActionRejected(400, "members must be a list of user ids")
        kind = body.get("type")
        if kind not in (None, "group", "supergroup"):
            raise ActionRejected(400, "type must be group or supergroup")
        chat = fake.group(
            request.match_info["bot"],
            _int(body.get("chat_id"), "chat_id"),
            _str(body.get("title"), "title"),
            [_int(member, "members[]") for member in members],
            kind=kind,
        )
        return {"chat": chat.as_chat(), "members": sorted(chat.members)}

    async def upgrade(request: web.Request) -> Any:
        body = await _body(request)
        chat = fake.upgrade_group(
            request.match_info["bot"],
            _int(request.match_info["chat_id"], "chat_id"),
            _int(body.get("new_chat_id"), "new_chat_id"),
        )
        return {"chat": chat.as_chat()}

    async def timeline(request: web.Request) -> Any:
        chat_id = _int(request.match_info["chat_id"], "chat_id")
        try:
            after = int(request.query.get("after", "0"))
            wait = float(request.query.get("wait", "0"))
        except ValueError:
            raise ActionRejected(400, "after must be an integer and wait a number") from None
        if after < 0 or not 0 <= wait <= MAX_WAIT:
            raise ActionRejected(400, f"after must be >= 0 and wait 0-{MAX_WAIT}")
        line = fake.chat(request.match_info["bot"], chat_id).timeline
        entries = await line.wait_after(after, wait)
        return {"entries": entries, "last": line.last}

    async def webhook(request: web.Request) -> Any:
        state = fake.bot(request.match_info["bot"])
        config = state.webhook
        return {
            "info": state.webhook_info(),
            "secret_token_set": bool(config and config.secret_token),
            "attempts": {
                str(update_id): [attempt.as_json() for attempt in attempts]
                for update_id, attempts in state.webhook_attempts.items()
            },
        }

    async def flush(request: web.Request) -> Any:
        state = fake.bot(request.match_info["bot"])
        await flush_webhook(fake, state)
        return {"info": state.webhook_info()}

    async def bots(request: web.Request) -> Any:
        return {
            "bots": [
                {"name": b.name, "id": b.id, "username": b.username, "first_name": b.first_name}
                for b in fake.bots
            ]
        }

    async def calls(request: web.Request) -> Any:
        method, bot = request.query.get("method"), request.query.get("bot")
        return {"calls": fake.calls_to(method or None, bot or None)}

    async def clock(request: web.Request) -> Any:
        body = await _body(request)
        fake.clock.advance(_number(body.get("advance"), "advance", 0, 10 * 365 * 86400))
        return {"now": fake.clock.now()}

    async def faults(request: web.Request) -> Any:
        body = await _body(request)
        try:
            fake.inject_fault(
                _str(body.get("method"), "method"),
                bot=_str(body.get("bot"), "bot", optional=True),
                error_code=_int(body.get("error_code"), "error_code", optional=True),
                description=_str(body.get("description"), "description", optional=True),
                retry_after=_int(body.get("retry_after"), "retry_after", optional=True),
                times=_int(body.get("times", 1), "times"),
                delay=_number(body.get("delay", 0), "delay", 0, 120),
            )
        except ValueError as exc:
            raise ActionRejected(400, str(exc)) from None
        return {"ok": True}

    users = "/sandbox/bots/{bot}/users/{user_id}"
    router.add_post(users + "/send", _json_errors(send))
    router.add_post(users + "/photo", _json_errors(photo))
    router.add_post(users + "/press", _json_errors(press))
    router.add_post(users + "/block", _json_errors(block))
    router.add_post("/sandbox/bots/{bot}/groups", _json_errors(groups))
    router.add_post("/sandbox/bots/{bot}/groups/{chat_id}/upgrade", _json_errors(upgrade))
    router.add_get("/sandbox/bots/{bot}/chats/{chat_id}/timeline", _json_errors(timeline))
    router.add_get("/sandbox/bots/{bot}/webhook", _json_errors(webhook))
    router.add_post("/sandbox/bots/{bot}/webhook/flush", _json_errors(flush))
    router.add_get("/sandbox/bots", _json_errors(bots))
    router.add_get("/sandbox/calls", _json_errors(calls))
    router.add_post("/sandbox/clock", _json_errors(clock))
    router.add_post("/sandbox/faults", _json_errors(faults))
