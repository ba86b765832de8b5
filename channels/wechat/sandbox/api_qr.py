"""Parametric QR codes: /cgi-bin/qrcode/create and /cgi-bin/showqrcode (§2.4)."""

from __future__ import annotations

import base64
import io
import secrets
from typing import Any, Final

import segno
from aiohttp import web

from .api import ApiContext, JsonResult
from .errors import ApiError
from .state import QrCode

TEMPORARY: Final = frozenset({"QR_SCENE", "QR_STR_SCENE"})
PERMANENT: Final = frozenset({"QR_LIMIT_SCENE", "QR_LIMIT_STR_SCENE"})
DEFAULT_EXPIRE: Final = 60
MAX_EXPIRE: Final = 2_592_000


def _scene(action: str, body: dict[str, Any]) -> tuple[str, int | None]:
    info = body.get("action_info")
    scene = info.get("scene") if isinstance(info, dict) else None
    if not isinstance(scene, dict):
        raise ApiError(40053, "action_info.scene must be an object")
    if action.endswith("_STR_SCENE"):
        value = scene.get("scene_str")
        if not isinstance(value, str) or not 1 <= len(value) <= 64:
            raise ApiError(40053, "scene_str must be 1-64 characters")
        return value, None
    number = scene.get("scene_id")
    if isinstance(number, bool) or not isinstance(number, int):
        raise ApiError(40053, "scene_id must be an integer")
    low, high = (1, 100_000) if action in PERMANENT else (1, 2**32 - 1)
    if not low <= number <= high:
        raise ApiError(40053, f"scene_id must be {low}-{high} for {action}")
    return str(number), number


def _expire(body: dict[str, Any]) -> int:
    value = body.get("expire_seconds", DEFAULT_EXPIRE)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(40053, "expire_seconds must be an integer")
    if not 1 <= value <= MAX_EXPIRE:
        raise ApiError(40053, f"expire_seconds must be 1-{MAX_EXPIRE}")
    return value


async def qrcode_create(ctx: ApiContext) -> JsonResult:
    """Create a temporary or permanent code and return ticket, expiry and content URL."""
    body = await ctx.json()
    action = body.get("action_name")
    if action not in TEMPORARY | PERMANENT:
        raise ApiError(
            40053,
            "action_name must be QR_SCENE, QR_STR_SCENE, QR_LIMIT_SCENE or QR_LIMIT_STR_SCENE",
        )
    scene, scene_id = _scene(action, body)
    state = ctx.state
    if action in PERMANENT:
        same = next(
            (
                q
                for q in state.qrcodes.values()
                if q.expires_at is None and q.action_name == action and q.scene == scene
            ),
            None,
        )
        if same is not None:
            return {"ticket": same.ticket, "url": same.url}
        permanent = sum(1 for q in state.qrcodes.values() if q.expires_at is None)
        if permanent >= ctx.platform.limits.permanent_qr_codes:
            raise ApiError(45009, "permanent QR codes reached the account limit")
        expires_at = None
    else:
        expire = _expire(body)
        expires_at = ctx.now + expire
    ticket = base64.b64encode(b"\x81\x07" + secrets.token_bytes(30)).decode("ascii")
    url = f"http://weixin.qq.com/q/{secrets.token_urlsafe(18)}"
    state.qrcodes[ticket] = QrCode(ticket, action, scene, scene_id, url, ctx.now, expires_at)
    if expires_at is None:
        return {"ticket": ticket, "url": url}
    return {"ticket": ticket, "expire_seconds": expire, "url": url}


async def show_qrcode(ctx: ApiContext) -> JsonResult:
    """The QR image as PNG (no access_token); 404 for unknown or expired tickets."""
    ticket = ctx.query("ticket") or ""
    for state in ctx.platform.states():
        qr = state.qrcodes.get(ticket)
        if qr is not None and qr.alive(ctx.now):
            ctx.resolved = state
            buffer = io.BytesIO()
            segno.make(qr.url, error="m").save(buffer, kind="png", scale=6, border=2)
            return web.Response(body=buffer.getvalue(), content_type="image/png")
    return web.Response(status=404, text="ticket not found or expired")
