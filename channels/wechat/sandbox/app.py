"""create_fake_app: the fake OA platform as an aiohttp application."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Final

import aiohttp
from aiohttp import web

from . import (
    api_draft,
    api_mass,
    api_media,
    api_menu,
    api_message,
    api_qr,
    api_tags,
    api_token,
    api_users,
)
from .accounts import FakeAccount
from .api import MAX_JSON_BODY, Handler, endpoint
from .clock import Clock
from .control import add_control_routes
from .limits import Limits
from .state import FakePlatform

FAKE_STATE: Final = web.AppKey("FAKE_STATE", FakePlatform)
"""`app[FAKE_STATE]` is the in-process FakePlatform of a fake app."""

API_ROUTES: Final[tuple[tuple[str, str, Handler, bool], ...]] = (
    ("GET", "/cgi-bin/token", api_token.get_token, False),
    ("POST", "/cgi-bin/stable_token", api_token.stable_token, False),
    ("POST", "/cgi-bin/message/custom/send", api_message.custom_send, True),
    ("POST", "/cgi-bin/message/custom/typing", api_message.custom_typing, True),
    ("POST", "/cgi-bin/menu/create", api_menu.menu_create, True),
    ("GET", "/cgi-bin/menu/get", api_menu.menu_get, True),
    ("GET", "/cgi-bin/menu/delete", api_menu.menu_delete, True),
    ("POST", "/cgi-bin/qrcode/create", api_qr.qrcode_create, True),
    ("GET", "/cgi-bin/showqrcode", api_qr.show_qrcode, False),
    ("POST", "/cgi-bin/media/upload", api_media.media_upload, True),
    ("GET", "/cgi-bin/media/get", api_media.media_get, True),
    ("POST", "/cgi-bin/media/uploadimg", api_media.uploadimg, True),
    ("POST", "/cgi-bin/material/add_material", api_media.add_material, True),
    ("POST", "/cgi-bin/material/get_material", api_media.get_material, True),
    ("POST", "/cgi-bin/material/del_material", api_media.del_material, True),
    ("GET", "/cgi-bin/material/get_materialcount", api_media.get_materialcount, True),
    ("POST", "/cgi-bin/material/batchget_material", api_media.batchget_material, True),
    ("POST", "/cgi-bin/material/add_news", api_draft.news_material_retired, True),
    ("POST", "/cgi-bin/material/update_news", api_draft.news_material_retired, True),
    ("POST", "/cgi-bin/draft/add", api_draft.draft_add, True),
    ("POST", "/cgi-bin/draft/get", api_draft.draft_get, True),
    ("POST", "/cgi-bin/draft/update", api_draft.draft_update, True),
    ("POST", "/cgi-bin/draft/delete", api_draft.draft_delete, True),
    ("POST", "/cgi-bin/draft/batchget", api_draft.draft_batchget, True),
    ("POST", "/cgi-bin/draft/count", api_draft.draft_count, True),
    ("POST", "/cgi-bin/message/mass/sendall", api_mass.sendall, True),
    ("POST", "/cgi-bin/message/mass/send", api_mass.send, True),
    ("POST", "/cgi-bin/message/mass/preview", api_mass.preview, True),
    ("POST", "/cgi-bin/message/mass/get", api_mass.mass_get, True),
    ("POST", "/cgi-bin/message/mass/delete", api_mass.mass_delete, True),
    ("GET", "/cgi-bin/user/info", api_users.info, True),
    ("POST", "/cgi-bin/user/info/batchget", api_users.info_batchget, True),
    ("GET", "/cgi-bin/user/get", api_users.user_get, True),
    ("GET", "/cgi-bin/tags/get", api_tags.tags_get, True),
    ("POST", "/cgi-bin/tags/create", api_tags.tags_create, True),
    ("POST", "/cgi-bin/tags/members/batchtagging", api_tags.batch_tagging, True),
    ("POST", "/cgi-bin/user/tag/get", api_tags.tag_members, True),
)
"""(method, path, handler, needs access_token) of every OA API the fake serves."""


def create_fake_app(
    accounts: Sequence[FakeAccount],
    *,
    clock: Clock | None = None,
    callback_timeout: float = 5.0,
    token_ttl: int = 7200,
    limits: Limits | None = None,
) -> web.Application:
    """The fake OA platform for `accounts`: /cgi-bin API, callbacks out, /sandbox control."""
    if not accounts:
        raise ValueError("the fake needs at least one account")
    if callback_timeout <= 0 or token_ttl <= 0:
        raise ValueError("callback_timeout and token_ttl must be positive")
    platform = FakePlatform(
        accounts,
        clock=clock or Clock(),
        callback_timeout=callback_timeout,
        token_ttl=token_ttl,
        limits=limits or Limits(),
    )
    app = web.Application(client_max_size=MAX_JSON_BODY)
    app[FAKE_STATE] = platform
    for method, path, handler, auth in API_ROUTES:
        app.router.add_route(method, path, endpoint(platform, handler, auth=auth))
    add_control_routes(app.router, platform)
    app.cleanup_ctx.append(_callback_session)
    return app


async def _callback_session(app: web.Application) -> AsyncIterator[None]:
    platform = app[FAKE_STATE]
    async with aiohttp.ClientSession() as session:
        platform.start(session)
        yield
        await platform.close()
