"""Plumbing shared by the /cgi-bin routes: faults, token check, body parsing, call recording."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Final

from aiohttp import BodyPartReader, web
from aiohttp.typedefs import Handler as WebHandler

from .errors import WRONG_JSON, WecomApiError
from .limits import MB
from .state import ApiCall, AppState, FakeWecom

MAX_JSON_BODY: Final = 2 * MB
_MASKED: Final = frozenset({"access_token", "corpsecret"})
JsonResult = dict[str, Any] | web.StreamResponse
Handler = Callable[["ApiContext"], Awaitable[JsonResult]]

json_response = partial(web.json_response, dumps=partial(json.dumps, ensure_ascii=False))


@dataclass(frozen=True)
class Upload:
    """The file part of a multipart upload."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class ApiContext:
    """One API request as handlers see it."""

    request: web.Request
    wecom: FakeWecom
    call: ApiCall
    resolved: AppState | None = None

    @property
    def state(self) -> AppState:
        """The app the access_token belongs to."""
        if self.resolved is None:
            raise RuntimeError("route is not authenticated")
        return self.resolved

    @property
    def now(self) -> float:
        """Platform time."""
        return self.wecom.clock.now()

    def query(self, name: str) -> str | None:
        """A query parameter."""
        return self.request.query.get(name)

    async def json(self) -> dict[str, Any]:
        """The JSON object body; 40058 with "Warning: wrong json format." when it is not one."""
        raw = await _read_capped(self.request, MAX_JSON_BODY)
        if raw is None:
            raise WecomApiError(40058, f"body larger than {MAX_JSON_BODY} bytes")
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, ValueError):
            raise WecomApiError(40058, "the body is not JSON", prefix=WRONG_JSON + " ") from None
        if not isinstance(body, dict):
            raise WecomApiError(40058, "the body must be a JSON object", prefix=WRONG_JSON + " ")
        self.call["body"] = body
        return body

    async def upload(self, field_name: str, limit: int) -> Upload:
        """The file in multipart field `field_name` (41005 when absent); 40006 beyond `limit`."""
        if not self.request.content_type.startswith("multipart/"):
            raise WecomApiError(41005, f"send multipart/form-data with the file in '{field_name}'")
        found: Upload | None = None
        total = 0
        try:
            reader = await self.request.multipart()
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader):
                    raise WecomApiError(40058, "nested multipart bodies are not supported")
                data = bytearray()
                while chunk := await part.read_chunk():
                    total += len(chunk)
                    if total > limit:
                        raise WecomApiError(40006, f"upload larger than {limit} bytes")
                    data.extend(chunk)
                if part.name == field_name and part.filename is not None and found is None:
                    content_type = part.headers.get("Content-Type", "application/octet-stream")
                    found = Upload(part.filename, content_type, bytes(data))
        except WecomApiError:
            raise
        except Exception as exc:
            raise WecomApiError(41005, f"malformed multipart body: {exc}") from None
        if found is None:
            raise WecomApiError(41005, f"no file in multipart field '{field_name}'")
        self.call["body"] = {"filename": found.filename, "size": len(found.data)}
        return found


async def _read_capped(request: web.Request, limit: int) -> bytes | None:
    """The raw body, or None when it is longer than `limit` (independent of any parent app)."""
    data = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        data.extend(chunk)
        if len(data) > limit:
            return None
    return bytes(data)


def endpoint(wecom: FakeWecom, path: str, handler: Handler, *, auth: bool = True) -> WebHandler:
    """Wrap a handler: faults, token check, errcode answers and call recording."""

    async def run(request: web.Request) -> web.StreamResponse:
        call = ApiCall(
            seq=0,
            time=wecom.clock.now(),
            app=wecom.tokens.owner(request.query.get("access_token")),
            method=request.method,
            path=path,
            query={k: "***" if k in _MASKED else v for k, v in request.query.items()},
            body=None,
            status=0,
            errcode=None,
            response=None,
        )
        wecom.record(call)  # on arrival; the answer is filled in when it is known
        ctx = ApiContext(request, wecom, call)
        try:
            fault = wecom.take_fault(path)
            if fault is not None:
                if fault.hang and not await wecom.hang(fault.hang):
                    return _answered(call, web.Response(status=503, text="fake shutting down"))
                if fault.http_status is not None:
                    failure = web.Response(status=fault.http_status, text="injected failure")
                    return _answered(call, failure)
                if fault.errcode is not None:
                    raise WecomApiError(fault.errcode, "injected fault")
            if auth:
                ctx.resolved = wecom.state(
                    wecom.tokens.authenticate(request.query.get("access_token"))
                )
            result = await handler(ctx)
        except WecomApiError as err:
            result = err.body()
        if ctx.resolved is not None:
            call["app"] = ctx.resolved.app.name
        if isinstance(result, web.StreamResponse):
            return _answered(call, result)
        call["status"] = 200
        call["errcode"] = int(result.get("errcode", 0))
        call["response"] = result
        return json_response(result)

    return run


def _answered(call: ApiCall, response: web.StreamResponse) -> web.StreamResponse:
    call["status"] = response.status
    body = response.body if isinstance(response, web.Response) else None
    call["response"] = {
        "content_type": response.content_type,
        "size": len(body) if isinstance(body, bytes) else None,
    }
    return response


def ok(**extra: Any) -> dict[str, Any]:
    """A success answer."""
    return {"errcode": 0, "errmsg": "ok", **extra}
