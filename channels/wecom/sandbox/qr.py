"""QR pictures of contact ways and join ways, served by the fake itself.

The platform answers ``qr_code`` URLs on its picture CDN; the fake answers URLs on its own base
URL instead, ``{base}/sandbox/wwpic/{config_id}.png``, so that a bot under test can fetch the
picture over loopback (to send it into a chat or show it on a page). The base is taken from the
API request that asks for the URL (scheme, host and any mount prefix before ``/cgi-bin/``).

GET /sandbox/wwpic/{config_id}.png answers a real PNG of a live scene-2 contact way or join way
of any corp; an unknown, deleted or scene-1 config id answers 404.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Final

import segno
from aiohttp import web

if TYPE_CHECKING:
    from .state import FakeWecom

PICTURE_PATH: Final = "/sandbox/wwpic"


def base_url(request: web.Request) -> str:
    """The fake's base URL as the caller of an API request sees it."""
    path = request.path
    index = path.find("/cgi-bin/")
    prefix = path[:index] if index > 0 else ""
    return str(request.url.origin()) + prefix


def qr_url(base: str, config_id: str) -> str:
    """Where the fake at `base` serves the QR picture of `config_id`."""
    return f"{base}{PICTURE_PATH}/{config_id}.png"


def qr_png(content: str) -> bytes:
    """A PNG of a QR code encoding `content`."""
    buffer = io.BytesIO()
    segno.make(content, error="m").save(buffer, kind="png", scale=6, border=2)
    return buffer.getvalue()


def _link(wecom: FakeWecom, config_id: str) -> str | None:
    """What the QR code of a live scene-2 way encodes, searching every corp."""
    for corp_id in dict.fromkeys(a.corp_id for a in wecom.apps):
        corp = wecom.corp(corp_id)
        if corp is None:  # pragma: no cover - every app's corp exists
            continue
        contacts = corp.contacts
        for way in (contacts.ways.get(config_id), contacts.join_ways.get(config_id)):
            if way is not None and way.scene == 2:
                return way.qr_link
    return None


def add_qr_routes(router: web.UrlDispatcher, wecom: FakeWecom) -> None:
    """Register GET /sandbox/wwpic/{config_id}.png."""

    async def picture(request: web.Request) -> web.StreamResponse:
        link = _link(wecom, request.match_info["config_id"])
        if link is None:
            return web.Response(status=404, text="no such QR code")
        return web.Response(body=qr_png(link), content_type="image/png")

    router.add_get(PICTURE_PATH + "/{config_id}.png", picture)
