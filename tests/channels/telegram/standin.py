"""A minimal Bot API stand-in: enough of the API for the adapter's tests, with recorded calls and
one-shot faults. (The full fake lives in ``channels.telegram.sandbox``.)"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

from tests.channels.telegram.updates import OUR_BOT, TOKEN

FILE_PATH = "photos/file_7.jpg"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)


@dataclass
class StandIn:
    calls: list[Call] = field(default_factory=list)
    # method -> {the n-th call of it (1-based): (HTTP status, answer)}
    faults: dict[str, dict[int, tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    updates: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    webhook: str = ""
    reported_sizes: dict[str, int] = field(default_factory=dict)  # getFile's file_size override
    hang: set[str] = field(default_factory=set)  # methods that never answer
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def fail_next(
        self, method: str, status: int, description: str, *, later: int = 0, **parameters: int
    ) -> None:
        """Answer the next call of ``method`` (or the one ``later`` calls after it) with an
        error envelope."""
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        nth = len(self.called(method)) + 1 + later
        self.faults.setdefault(method, {})[nth] = (status, body)

    def push(self, update: dict[str, Any]) -> None:
        self.updates.append(update)
        self.arrived.set()

    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        return app

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != TOKEN:
            return _answer(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        method = request.match_info["method"]
        params, files = await _params(request)
        self.calls.append(Call(method, params, files))
        if method in self.hang:
            await asyncio.Event().wait()
        fault = self.faults.get(method, {}).pop(len(self.called(method)), None)
        if fault is not None:
            return _answer(*fault)
        result = await self._result(method, params, files)
        if isinstance(result, tuple):
            return _answer(result[0], result[1])
        return _answer(200, {"ok": True, "result": result})

    async def _result(self, method: str, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        if method == "getMe":
            return OUR_BOT
        if method in ("sendMessage", "sendPhoto"):
            chat = {"id": int(params["chat_id"]), "type": "private", "first_name": "x"}
            text = params.get("text", "")
            if method == "sendMessage" and not 1 <= len(text) <= 4096:
                return 400, {"ok": False, "error_code": 400, "description": "Bad Request: text"}
            return {"message_id": len(self.calls), "date": 1, "chat": chat, "from": OUR_BOT}
        if method == "getFile":
            data = self.files[params["file_id"]]
            return {
                "file_id": params["file_id"],
                "file_unique_id": "u",
                "file_size": self.reported_sizes.get(params["file_id"], len(data)),
                "file_path": FILE_PATH,
            }
        if method == "setWebhook":
            self.webhook = params["url"]
            return True
        if method == "deleteWebhook":
            self.webhook = ""
            return True
        if method == "getUpdates":
            return await self._updates(params)
        return True  # answerCallbackQuery and the rest

    async def _updates(self, params: dict[str, Any]) -> Any:
        if self.webhook:
            return 409, {"ok": False, "error_code": 409, "description": "Conflict: webhook"}
        offset = int(params.get("offset") or 0)
        self.updates = [u for u in self.updates if u["update_id"] >= offset]
        if not self.updates:
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), float(params.get("timeout") or 0))
            except TimeoutError:
                return []
        return list(self.updates)

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["path"] != FILE_PATH or not self.files:
            raise web.HTTPNotFound()
        return web.Response(body=next(iter(self.files.values())))


async def _params(request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
    params: dict[str, Any] = dict(request.query)
    files: dict[str, bytes] = {}
    if request.content_type == "application/json":
        params.update(await request.json())
    elif request.content_type.startswith("multipart/"):
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            if part.filename is not None:
                files[part.name] = bytes(await part.read())
            else:
                params[part.name] = await part.text()
    else:
        params.update(await request.post())
    # PTB sends lists and objects as JSON text.
    for key, value in params.items():
        if isinstance(value, str) and value[:1] in "[{":
            params[key] = json.loads(value)
    return params, files


def _answer(status: int, body: dict[str, Any]) -> web.Response:
    return web.json_response(body, status=status)
