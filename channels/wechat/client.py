"""Async client of the Official Account server API (platform-facts.md §2), on aiohttp.

- The access token comes from :class:`channels.tokens.SharedToken` (database-shared).
- A call refused with 40001 / 40014 / 42001 discards the token, refreshes it and is repeated
  once; a second refusal raises :class:`TokenRejected` (never a loop).
- Every request has a timeout. Network failures and ``errcode`` values are mapped once, here,
  to the exceptions of ``channels.errors``; callers never see an ``errcode``.
- Mass sends carry a ``clientmsgid``: a repeat within 24 hours is answered 45065 with the first
  send's msg_id, returned as ``MassSubmitted(duplicate=True)``, so a retry never sends twice.
"""

from __future__ import annotations

import json as jsonlib
import logging
from collections.abc import Callable, Collection, Sequence
from typing import Any, TypeGuard
from urllib.parse import quote

import aiohttp

from channels.errors import (
    OutcomeUnknown,
    PlatformRejected,
    PlatformUnavailable,
)
from channels.http_api import ErrcodeTable, exchange
from channels.tokens import SharedToken, TokenStorePort
from channels.wechat.account import WechatAccount
from channels.wechat.mass import CLIENTMSGID_BYTES, OPENIDS_MAX, OPENIDS_MIN, MassSubmitted

log = logging.getLogger(__name__)

TOKEN_REFUSED = frozenset({40001, 40014, 42001})
RECIPIENT_UNREACHABLE = frozenset({40003, 43004, 43101, 45015, 45047, 48002})
RATE_LIMITED = {45009: None, 45011: 60.0}  # daily quota (until reset), per-minute quota
SYSTEM_BUSY = -1
CLIENTMSGID_EXISTS = 45065  # a mass send with this clientmsgid was accepted within 24 hours


ERRCODES = ErrcodeTable(
    unavailable=frozenset({SYSTEM_BUSY}),
    rate_limited=RATE_LIMITED,
    token_refused=TOKEN_REFUSED,
    unreachable=RECIPIENT_UNREACHABLE,
)
raise_for_errcode = ERRCODES.raise_for


class WechatClient:
    def __init__(
        self,
        account: WechatAccount,
        session: aiohttp.ClientSession,
        store: TokenStorePort,
        *,
        owner: str,
        timeout: float = 10.0,
    ) -> None:
        self.account = account
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=min(timeout, 5.0))
        self.token = SharedToken(f"wechat:{account.name}", store, self._fetch_token, owner=owner)

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
        form: Callable[[], aiohttp.FormData] | None = None,
        allow: Collection[int] = (),
    ) -> dict[str, Any]:
        """Call an API with the access token; refresh it and repeat once if it is refused.

        An answer whose ``errcode`` is in ``allow`` is returned to the caller, not raised.
        """
        for attempt in (1, 2):
            token = await self.token.get()
            query = {**(params or {}), "access_token": token}
            payload = await self._request(method, path, query, json, form() if form else None)
            code = payload.get("errcode", 0)
            if code in TOKEN_REFUSED and attempt == 1:
                log.info(
                    "%s: token refused (%s) on %s; refreshing once", self.account.name, code, path
                )
                await self.token.discard(token)
                continue
            if code not in allow:
                raise_for_errcode(payload)
            return payload
        raise AssertionError("unreachable")  # pragma: no cover

    async def _fetch_token(self) -> tuple[str, int]:
        a = self.account
        if a.token_endpoint == "classic":  # noqa: S105 - an endpoint name
            params = {"grant_type": "client_credential", "appid": a.app_id, "secret": a.secret}
            payload = await self._request("GET", "/cgi-bin/token", params, None, None)
        else:
            body = {
                "grant_type": "client_credential",
                "appid": a.app_id,
                "secret": a.secret,
                "force_refresh": False,
            }
            payload = await self._request("POST", "/cgi-bin/stable_token", None, body, None)
        if payload.get("errcode", 0) in TOKEN_REFUSED:  # here it means a wrong app secret
            raise PlatformRejected(int(payload["errcode"]), str(payload.get("errmsg", "")))
        raise_for_errcode(payload)
        token = payload.get("access_token")
        if not isinstance(token, str) or not token:
            raise PlatformRejected(0, "the token endpoint answered without an access_token")
        return token, int(payload.get("expires_in", 7200))

    async def _request(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None,
        json: Any,
        data: aiohttp.FormData | None,
    ) -> dict[str, Any]:
        url = self.account.api_base.rstrip("/") + path
        where = f"{method} {path}"  # never the query: it carries the token or the secret
        status, body = await self._exchange(method, url, where, params, json, data)
        if status >= 500:
            raise OutcomeUnknown(f"{where}: HTTP {status}")
        try:
            payload = jsonlib.loads(body)
        except ValueError:
            raise PlatformUnavailable(f"{where}: HTTP {status}, not JSON") from None
        if not isinstance(payload, dict):
            raise PlatformUnavailable(f"{where}: HTTP {status}, unexpected JSON")
        return payload

    async def _exchange(
        self,
        method: str,
        url: str,
        where: str,
        params: dict[str, str] | None = None,
        json: Any = None,
        data: aiohttp.FormData | None = None,
    ) -> tuple[int, bytes]:
        status, _type, body = await exchange(
            self._session, method, url, where, self._timeout, params=params, json=json, data=data
        )
        return status, body

    # The API calls opsbot makes. Each returns the platform's JSON answer.

    async def send_custom_message(self, openid: str, msgtype: str, body: dict[str, Any]) -> None:
        await self.call(
            "POST",
            "/cgi-bin/message/custom/send",
            json={"touser": openid, "msgtype": msgtype, msgtype: body},
        )

    async def user_info(self, openid: str) -> dict[str, Any]:
        return await self.call(
            "GET", "/cgi-bin/user/info", params={"openid": openid, "lang": "zh_CN"}
        )

    async def create_qrcode(
        self, scene: str, *, expire_seconds: int | None = None
    ) -> dict[str, Any]:
        """A string-scene QR code: temporary when ``expire_seconds`` is given, else permanent."""
        body: dict[str, Any] = {
            "action_name": "QR_STR_SCENE" if expire_seconds else "QR_LIMIT_STR_SCENE",
            "action_info": {"scene": {"scene_str": scene}},
        }
        if expire_seconds:
            body["expire_seconds"] = expire_seconds
        return await self.call("POST", "/cgi-bin/qrcode/create", json=body)

    def qr_image_url(self, ticket: str) -> str:
        """Where the image of a QR code is downloaded (no access token needed)."""
        base = self.account.qr_image_base.rstrip("/")
        return f"{base}/cgi-bin/showqrcode?ticket={quote(ticket, safe='')}"

    async def qr_image(self, ticket: str) -> bytes:
        """The image of a QR code; an unknown or expired ticket (HTTP 404) is PlatformRejected."""
        where = "GET /cgi-bin/showqrcode"
        status, body = await self._exchange("GET", self.qr_image_url(ticket), where)
        if status >= 500:
            raise PlatformUnavailable(f"{where}: HTTP {status}")
        if status != 200:
            raise PlatformRejected(status, f"{where}: HTTP {status}, ticket unknown or expired")
        return body

    async def upload_media(self, kind: str, filename: str, content: bytes) -> dict[str, Any]:
        """A temporary media file (3 days); returns ``{"type", "media_id", "created_at"}``."""
        form = _media_form(filename, content)
        return await self.call("POST", "/cgi-bin/media/upload", params={"type": kind}, form=form)

    async def add_material(
        self, kind: str, filename: str, content: bytes, *, title: str = "", introduction: str = ""
    ) -> dict[str, Any]:
        """A permanent material; returns ``{"media_id", "url"}`` (``url`` for images only).

        A video also carries ``title`` and ``introduction`` (the ``description`` form field).
        """
        fields: dict[str, str] = {}
        if kind == "video":
            description = {"title": title, "introduction": introduction}
            fields["description"] = jsonlib.dumps(description, ensure_ascii=False)
        form = _media_form(filename, content, fields)
        return await self.call(
            "POST", "/cgi-bin/material/add_material", params={"type": kind}, form=form
        )

    async def del_material(self, media_id: str) -> None:
        await self.call("POST", "/cgi-bin/material/del_material", json={"media_id": media_id})

    async def draft_add(self, articles: list[dict[str, Any]]) -> str:
        """A new draft of 1-8 articles (§2.6); returns its media_id."""
        answer = await self.call("POST", "/cgi-bin/draft/add", json={"articles": articles})
        media_id = answer.get("media_id")
        if not isinstance(media_id, str) or not media_id:
            raise PlatformRejected(0, "draft/add answered without a media_id")
        return media_id

    async def draft_delete(self, media_id: str) -> None:
        await self.call("POST", "/cgi-bin/draft/delete", json={"media_id": media_id})

    async def create_menu(self, buttons: list[dict[str, Any]]) -> None:
        await self.call("POST", "/cgi-bin/menu/create", json={"button": buttons})

    async def get_menu(self) -> dict[str, Any]:
        return await self.call("GET", "/cgi-bin/menu/get")

    async def delete_menu(self) -> None:
        await self.call("GET", "/cgi-bin/menu/delete")

    # Mass send (§2.5). ``message`` is the msgtype part of the body: see ``mass.mass_message``.

    async def mass_send_all(
        self, message: dict[str, Any], *, clientmsgid: str, tag_id: int | None = None
    ) -> MassSubmitted:
        """Send to every follower, or to the followers carrying ``tag_id``."""
        audience: dict[str, Any] = (
            {"is_to_all": True} if tag_id is None else {"is_to_all": False, "tag_id": tag_id}
        )
        return await self._mass_submit(
            "/cgi-bin/message/mass/sendall", {"filter": audience}, message, clientmsgid
        )

    async def mass_send_to(
        self, openids: Sequence[str], message: dict[str, Any], *, clientmsgid: str
    ) -> MassSubmitted:
        """Send to a list of 2..10,000 OpenIDs (ValueError otherwise, before any call)."""
        if isinstance(openids, str):
            raise ValueError("openids must be a sequence of OpenIDs, not one string")
        if not OPENIDS_MIN <= len(openids) <= OPENIDS_MAX:
            raise ValueError(
                f"a mass send by OpenID takes {OPENIDS_MIN}-{OPENIDS_MAX:,} OpenIDs, "
                f"got {len(openids):,}"
            )
        return await self._mass_submit(
            "/cgi-bin/message/mass/send", {"touser": list(openids)}, message, clientmsgid
        )

    async def _mass_submit(
        self, path: str, audience: dict[str, Any], message: dict[str, Any], clientmsgid: str
    ) -> MassSubmitted:
        if not clientmsgid or len(clientmsgid.encode()) > CLIENTMSGID_BYTES:
            raise ValueError(f"clientmsgid must be 1-{CLIENTMSGID_BYTES} bytes")
        body = {**audience, **message, "clientmsgid": clientmsgid}
        if message.get("msgtype") == "mpnews":
            body["send_ignore_reprint"] = 1  # go on when an article is judged a permitted reprint
        answer = await self.call("POST", path, json=body, allow={CLIENTMSGID_EXISTS})
        duplicate = answer.get("errcode", 0) == CLIENTMSGID_EXISTS
        msg_id = answer.get("msg_id")
        if isinstance(msg_id, bool) or not isinstance(msg_id, int | str) or not str(msg_id):
            # Without a msg_id nothing can be followed up; a 45065 still means "already sent".
            code = CLIENTMSGID_EXISTS if duplicate else 0
            raise PlatformRejected(code, f"{path} answered without a msg_id")
        if duplicate:
            log.info(
                "%s: clientmsgid %s was already sent as %s", self.account.name, clientmsgid, msg_id
            )
        return MassSubmitted(str(msg_id), duplicate)

    async def mass_preview(self, openid: str, message: dict[str, Any]) -> None:
        """Send ``message`` to one follower only, as a preview of a mass send."""
        await self.call("POST", "/cgi-bin/message/mass/preview", json={"touser": openid, **message})

    async def mass_status(self, msg_id: str) -> str:
        """``SENDING``, ``SEND_SUCCESS``, ``SEND_FAIL`` or ``DELETE``; 40059 for an unknown id."""
        answer = await self.call("POST", "/cgi-bin/message/mass/get", json={"msg_id": msg_id})
        status = answer.get("msg_status")
        if not isinstance(status, str) or not status:
            raise PlatformRejected(0, "mass/get answered without a msg_status")
        return status

    # Users and tags (§2.8)

    async def tags(self) -> list[dict[str, Any]]:
        """The account's tags as ``{"id", "name", "count"}`` (count: followers carrying it)."""
        answer = await self.call("GET", "/cgi-bin/tags/get")
        tags = answer.get("tags", [])
        if not isinstance(tags, list):
            raise PlatformRejected(0, "tags/get answered without a list of tags")
        result = []
        for tag in tags:
            if not isinstance(tag, dict) or not _is_int(tag.get("id")):
                raise PlatformRejected(0, "tags/get answered a tag without an id")
            count = tag.get("count", 0)
            result.append(
                {
                    "id": tag["id"],
                    "name": str(tag.get("name", "")),
                    "count": count if _is_int(count) else 0,
                }
            )
        return result

    async def follower_total(self) -> int:
        """How many users follow the account (``total`` of user/get)."""
        total = (await self.call("GET", "/cgi-bin/user/get")).get("total")
        if not _is_int(total):
            raise PlatformRejected(0, "user/get answered without a total")
        return total


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _media_form(
    filename: str, content: bytes, fields: dict[str, str] | None = None
) -> Callable[[], aiohttp.FormData]:
    """A multipart body with the file in field ``media``, built anew for each attempt."""

    def form() -> aiohttp.FormData:
        data = aiohttp.FormData()
        data.add_field("media", content, filename=filename)
        for name, value in (fields or {}).items():
            data.add_field(name, value)
        return data

    return form


class WechatQrIssuer:
    """Channel QR codes of one account: permanent codes with a string scene (§2.4)."""

    def __init__(self, client: WechatClient) -> None:
        self._client = client

    async def channel_qr(self, scene: str) -> tuple[str, str]:
        answer = await self._client.create_qrcode(scene)
        ticket, url = answer.get("ticket"), answer.get("url")
        if not isinstance(ticket, str) or not isinstance(url, str):
            raise PlatformRejected(0, "qrcode/create answered without ticket and url")
        return ticket, url
