"""Async client of the WeCom server API for one self-built app (platform-facts.md §4.1, §4.3).

- The access token comes from :class:`channels.tokens.SharedToken` (database-shared), fetched
  with the app's secret from ``/cgi-bin/gettoken``.
- A call refused with 40014 / 42001 discards the token, refreshes it and is repeated once; a
  second refusal raises :class:`TokenRejected` (never a loop).
- Every request has a timeout. Network failures, HTTP statuses and ``errcode`` values (§4.12) are
  mapped once, here, to the exceptions of ``channels.errors``; callers never see an ``errcode``.
"""

from __future__ import annotations

import json as jsonlib
import logging
from typing import Any

import aiohttp

from channels.errors import (
    OutcomeUnknown,
    PlatformRejected,
    PlatformUnavailable,
    RecipientUnreachable,
)
from channels.http_api import ErrcodeTable, exchange
from channels.tokens import SharedToken, TokenStorePort
from channels.wecom.app import WecomApp

log = logging.getLogger(__name__)

TOKEN_REFUSED = frozenset({40014, 42001})
UNAVAILABLE = frozenset({-1, 6000})  # system busy; data version conflict
# API frequency limit (per minute), concurrent-call limit: seconds to wait, our own estimate.
RATE_LIMITED = {45009: 60.0, 45033: 5.0}
RECIPIENT_UNREACHABLE = frozenset({40003, 60011, 81013, 84061})
EVERY_RECIPIENT_INVALID = 81013


ERRCODES = ErrcodeTable(
    unavailable=UNAVAILABLE,
    rate_limited=RATE_LIMITED,
    token_refused=TOKEN_REFUSED,
    unreachable=RECIPIENT_UNREACHABLE,
)
raise_for_errcode = ERRCODES.raise_for


class WecomClient:
    def __init__(
        self,
        app: WecomApp,
        session: aiohttp.ClientSession,
        store: TokenStorePort,
        *,
        owner: str,
        timeout: float = 10.0,
    ) -> None:
        self.app = app
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=min(timeout, 5.0))
        self.token = SharedToken(f"wecom:{app.name}", store, self._fetch_token, owner=owner)

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
        data: aiohttp.FormData | None = None,
    ) -> dict[str, Any]:
        """Call an API with the access token; refresh it and repeat once if it is refused."""
        payload, _ = await self._authorized(method, path, params, json, data, binary=False)
        if payload is None:  # pragma: no cover - without ``binary`` the answer is always JSON
            raise PlatformUnavailable(f"{method} {path}: not JSON")
        return payload

    async def _authorized(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None,
        json: Any,
        data: aiohttp.FormData | None,
        *,
        binary: bool,
    ) -> tuple[dict[str, Any] | None, bytes]:
        """The JSON answer (None for a binary one) and the body. A binary answer is accepted
        only when ``binary`` is set; a JSON answer is checked for its ``errcode`` either way."""
        for attempt in (1, 2):
            token = await self.token.get()
            query = {**(params or {}), "access_token": token}
            status, content_type, body = await self._request(method, path, query, json, data)
            if binary and status == 200 and not _is_json(content_type, body):
                return None, body
            payload = _json_object(f"{method} {path}", status, body)
            if payload.get("errcode", 0) in TOKEN_REFUSED and attempt == 1:
                log.info(
                    "%s: token refused (%s) on %s; refreshing once",
                    self.app.name,
                    payload["errcode"],
                    path,
                )
                await self.token.discard(token)
                continue
            raise_for_errcode(payload)
            return payload, body
        raise AssertionError("unreachable")  # pragma: no cover

    async def _fetch_token(self) -> tuple[str, int]:
        params = {"corpid": self.app.corp_id, "corpsecret": self.app.secret}
        status, _, body = await self._request("GET", "/cgi-bin/gettoken", params, None, None)
        payload = _json_object("GET /cgi-bin/gettoken", status, body)
        raise_for_errcode(payload)  # 40001 (wrong secret), 40013 (wrong corp id): rejected
        token = payload.get("access_token")
        if not isinstance(token, str) or not token:
            raise PlatformRejected(0, "gettoken answered without an access_token")
        return token, int(payload.get("expires_in", 7200))

    async def _request(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None,
        json: Any,
        data: aiohttp.FormData | None,
    ) -> tuple[int, str, bytes]:
        """Status, content type and body of one request; network failures and 5xx raised."""
        url = self.app.api_base.rstrip("/") + path
        where = f"{method} {path}"  # never the query: it carries the token or the secret
        status, content_type, body = await exchange(
            self._session, method, url, where, self._timeout, params=params, json=json, data=data
        )
        if status >= 500:
            # A read changes nothing and can simply be repeated; a write may have taken effect.
            error = PlatformUnavailable if method == "GET" else OutcomeUnknown
            raise error(f"{where}: HTTP {status}")
        return status, content_type, body

    # The API calls opsbot makes.

    async def send_message(self, touser: str, msgtype: str, body: dict[str, Any]) -> dict[str, Any]:
        """An app message to members (``touser`` = "id1|id2"); the platform's answer.

        Recipients the platform lists as invalid were skipped; when that is every one of them,
        :class:`RecipientUnreachable` is raised."""
        answer = await self.call(
            "POST",
            "/cgi-bin/message/send",
            json={
                "touser": touser,
                "msgtype": msgtype,
                "agentid": self.app.agent_id,
                msgtype: body,
            },
        )
        invalid = str(answer.get("invaliduser") or "")
        if invalid:
            skipped = {u.lower() for u in invalid.split("|")}
            if {u.lower() for u in touser.split("|")} <= skipped:
                raise RecipientUnreachable(
                    EVERY_RECIPIENT_INVALID, f"every recipient is invalid: {invalid}"
                )
            log.warning("%s: message/send skipped invalid users %s", self.app.name, invalid)
        return answer

    async def upload_media(self, kind: str, filename: str, content: bytes) -> str:
        """A temporary media file (3 days) of ``kind`` image/voice/video/file; its media_id."""
        form = aiohttp.FormData()
        form.add_field("media", content, filename=filename)
        answer = await self.call("POST", "/cgi-bin/media/upload", params={"type": kind}, data=form)
        media_id = answer.get("media_id")
        if not isinstance(media_id, str) or not media_id:
            raise PlatformRejected(0, "media/upload answered without a media_id")
        return media_id

    async def get_media(self, media_id: str) -> bytes:
        """The content of a temporary media file (a picture a staff member sent)."""
        _, body = await self._authorized(
            "GET", "/cgi-bin/media/get", {"media_id": media_id}, None, None, binary=True
        )
        return body


def _is_json(content_type: str, body: bytes) -> bool:
    """Whether a media download answered with an error document instead of the file."""
    if "json" in content_type:
        return True
    return content_type == "text/plain" and body.lstrip().startswith(b"{")


def _json_object(where: str, status: int, body: bytes) -> dict[str, Any]:
    """The JSON answer; an HTTP 4xx without an ``errcode`` is a rejection (a wrong path or
    base URL: repeating it will not help)."""
    try:
        payload = jsonlib.loads(body)
    except ValueError:
        payload = None
    if isinstance(payload, dict) and (status < 400 or payload.get("errcode")):
        return payload
    if status >= 400:
        raise PlatformRejected(0, f"{where}: HTTP {status}")
    raise PlatformUnavailable(f"{where}: HTTP {status}, not a JSON object")
