"""Plumbing of the Bot API routes: token, method lookup, faults, envelope and call recording."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Final

from aiohttp import web
from aiohttp.typedefs import Handler as WebHandler

from .errors import BotApiError
from .limits import TelegramLimits
from .params import Params, read_params
from .state import ApiCall, BotState, FakeTelegram

MASKED: Final = frozenset({"secret_token"})
MAX_RECORDED_CHARS: Final = 5000

json_response = partial(web.json_response, dumps=partial(json.dumps, ensure_ascii=False))


@dataclass
class MethodCall:
    """One Bot API call as method handlers see it."""

    fake: FakeTelegram
    bot: BotState
    params: Params

    @property
    def now(self) -> float:
        """Platform time."""
        return self.fake.clock.now()

    @property
    def limits(self) -> TelegramLimits:
        """The fake's limits."""
        return self.fake.limits


Handler = Callable[[MethodCall], Awaitable[Any]]


def new_call(fake: FakeTelegram, bot: BotState | None, method: str, via: str) -> ApiCall:
    """A call record, appended on arrival."""
    call = ApiCall(
        seq=0,
        at=fake.clock.now(),
        bot=bot.bot.name if bot else None,
        method=method,
        via=via,
        params=None,
        status=0,
        response=None,
    )
    fake.record(call)
    return call


def bot_api_handler(fake: FakeTelegram) -> WebHandler:
    """The handler of `/bot<token>/<method>` (GET or POST)."""

    async def handle(request: web.Request) -> web.StreamResponse:
        bot = fake.by_token(request.match_info["token"])
        method = request.match_info["method"]
        call = new_call(fake, bot, method, "http")
        if bot is None:
            return _answer(call, BotApiError(401, "Unauthorized"))
        if method.lower() not in fake.methods:
            return _answer(call, BotApiError(404, "Not Found"))
        try:
            params = await read_params(request, max_upload=fake.limits.upload_bytes)
        except BotApiError as err:
            return _answer(call, err)
        # Telegram carries out a call even when the client stops waiting: shield it from
        # the handler's cancellation on disconnect.
        work = fake.spawn(invoke(fake, bot, method, params, call))
        status, body = await asyncio.shield(work)
        return json_response(body, status=status)

    return handle


async def invoke(
    fake: FakeTelegram, bot: BotState, method: str, params: Params, call: ApiCall
) -> tuple[int, dict[str, Any]]:
    """Run one method with faults applied; returns (HTTP status, envelope) and records them."""
    call["params"] = summarize(params)
    handler = fake.methods.get(method.lower())
    try:
        if handler is None:
            raise BotApiError(404, "Not Found")
        fault = fake.take_fault(bot.bot.name, method)
        if fault is not None:
            if fault.delay:
                await fake.pause(fault.delay)
            error = fault.error()
            if error is not None:
                raise error
        result = await handler(MethodCall(fake, bot, params))
    except BotApiError as err:
        call["status"] = err.error_code
        call["response"] = err.body()
        return err.error_code, err.body()
    body = {"ok": True, "result": result}
    call["status"] = 200
    call["response"] = body
    return 200, body


def _answer(call: ApiCall, err: BotApiError) -> web.StreamResponse:
    call["status"] = err.error_code
    call["response"] = err.body()
    return json_response(err.body(), status=err.error_code)


def summarize(params: Params) -> dict[str, Any]:
    """Parameters as recorded: secrets masked, long strings cut, files by size and digest."""
    values: dict[str, Any] = {}
    for name, value in params.values.items():
        if name in MASKED:
            values[name] = "***"
        elif isinstance(value, str) and len(value) > MAX_RECORDED_CHARS:
            values[name] = value[:MAX_RECORDED_CHARS] + "..."
        else:
            values[name] = value
    for name, upload in params.files.items():
        values[name] = {
            "filename": upload.filename,
            "content_type": upload.content_type,
            "size": len(upload.data),
            "sha256": hashlib.sha256(upload.data).hexdigest(),
        }
    return values
