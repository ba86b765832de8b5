"""Plumbing shared by the /cgi-bin routes: auth, faults, body parsing and call recording."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Final

from aiohttp import BodyPartReader, web
from aiohttp.typedefs import Handler as WebHandler

from .errors import ApiError
from .state import AccountState, ApiCall, FakePlatform

MAX_JSON_BODY: Final = 4 * 1024 * 1024
"""Also the app's client_max_size; uploads are streamed and capped by MAX_UPLOAD_BODY."""
MAX_UPLOAD_BODY: Final = 24 * 1024 * 1024
_MASKED: Final = frozenset({"access_token", "secret"})
JsonResult = dict[str, Any] | web.StreamResponse
Handler = Callable[["ApiContext"], Awaitable[JsonResult]]

json_response = partial(web.json_response, dumps=partial(json.dumps, ensure_ascii=False))


@dataclass
class Upload:
    """One file part of a multipart body."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class Multipart:
    """A parsed multipart/form-data body."""

    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, Upload] = field(default_factory=dict)


@dataclass
class ApiContext:
    """One API request as handlers see it."""

    request: web.Request
    platform: FakePlatform
    call: ApiCall
    resolved: AccountState | None = None

    @property
    def state(self) -> AccountState:
        """The account the access_token belongs to."""
        if self.resolved is None:
            raise RuntimeError("route is not authenticated")
        return self.resolved

    @property
    def now(self) -> float:
        """Platform time."""
        return self.platform.clock.now()

    def query(self, name: str) -> str | None:
        """A query parameter."""
        return self.request.query.get(name)

    async def json(self) -> dict[str, Any]:
        """The JSON object body (44002 empty, 47001 not a JSON object)."""
        try:
            raw = await self.request.read()
        except web.HTTPRequestEntityTooLarge:
            raise ApiError(47001, f"body larger than {MAX_JSON_BODY} bytes") from None
        if not raw.strip():
            raise ApiError(44002, "the POST body is empty")
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, ValueError) as exc:
            raise ApiError(47001, f"body is not JSON: {exc}") from None
        if not isinstance(body, dict):
            raise ApiError(47001, "body must be a JSON object")
        self.call["body"] = _mask(body)
        return body

    async def multipart(self) -> Multipart:
        """The multipart body (41005 when it is not multipart)."""
        if not self.request.content_type.startswith("multipart/"):
            raise ApiError(41005, "send multipart/form-data with the file in field 'media'")
        result = Multipart()
        total = 0
        try:
            reader = await self.request.multipart()
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader):
                    raise ApiError(47001, "nested multipart bodies are not supported")
                data = bytearray()
                while chunk := await part.read_chunk():
                    total += len(chunk)
                    if total > MAX_UPLOAD_BODY:
                        raise ApiError(45001, f"upload larger than {MAX_UPLOAD_BODY} bytes")
                    data.extend(chunk)
                name = part.name or ""
                if part.filename is not None:
                    content_type = part.headers.get("Content-Type", "application/octet-stream")
                    result.files[name] = Upload(part.filename, content_type, bytes(data))
                else:
                    result.fields[name] = data.decode("utf-8", errors="replace")
        except ApiError:
            raise
        except Exception as exc:
            raise ApiError(47001, f"malformed multipart body: {exc}") from None
        self.call["body"] = {
            "fields": {k: v[:200] for k, v in result.fields.items()},
            "files": {
                k: {"filename": f.filename, "content_type": f.content_type, "size": len(f.data)}
                for k, f in result.files.items()
            },
        }
        return result


def endpoint(platform: FakePlatform, handler: Handler, *, auth: bool = True) -> WebHandler:
    """Wrap a handler: faults, token check, errcode answers and call recording."""

    async def run(request: web.Request) -> web.StreamResponse:
        owner = platform.tokens.owner(request.query.get("access_token"))
        call = ApiCall(
            seq=0,
            at=platform.clock.now(),
            account=owner,
            method=request.method,
            path=request.path,
            query=_mask(dict(request.query)),
            body=None,
            status=0,
            response=None,
        )
        platform.record(call)  # on arrival; status and response are filled in when answered
        ctx = ApiContext(request, platform, call)
        try:
            fault = platform.take_fault(request.path)
            if fault is not None:
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                if fault.errcode is not None:
                    raise ApiError(fault.errcode)
            if auth:
                ctx.resolved = platform.state(
                    platform.tokens.authenticate(request.query.get("access_token"))
                )
            result = await handler(ctx)
        except ApiError as err:
            result = err.body()
        if ctx.resolved is not None:
            call["account"] = ctx.resolved.account.name
        if isinstance(result, web.StreamResponse):
            call["status"] = result.status
            body = result.body if isinstance(result, web.Response) else None
            call["response"] = {
                "content_type": result.content_type,
                "size": len(body) if isinstance(body, bytes) else None,
            }
            return result
        call["status"] = 200
        call["response"] = result
        return json_response(result)

    return run


def ok(**extra: Any) -> dict[str, Any]:
    """The success answer of APIs that carry errcode 0."""
    return {"errcode": 0, "errmsg": "ok", **extra}


def _mask(values: dict[str, Any]) -> dict[str, Any]:
    return {k: "***" if k in _MASKED else v for k, v in values.items()}
