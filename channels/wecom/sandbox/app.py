"""create_wecom_fake_app: the fake WeCom platform as an aiohttp application."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Final

import aiohttp
from aiohttp import web

from channels.wechat.sandbox.clock import Clock

from . import (
    api_contacts,
    api_group_msg,
    api_groups,
    api_join_ways,
    api_jssdk,
    api_media,
    api_message,
    api_tags,
    api_token,
    api_users,
)
from .api import Handler, endpoint
from .apps import FakeWecomApp
from .control import add_control_routes
from .group_routes import add_group_routes
from .limits import WecomLimits
from .qr import add_qr_routes
from .state import FakeWecom

WECOM_FAKE_STATE: Final = web.AppKey("WECOM_FAKE_STATE", FakeWecom)
"""`app[WECOM_FAKE_STATE]` is the in-process FakeWecom of a fake app."""

JOIN_WAY: Final = "/cgi-bin/externalcontact/groupchat/"

API_ROUTES: Final[tuple[tuple[str, str, Handler, bool], ...]] = (
    ("GET", "/cgi-bin/gettoken", api_token.gettoken, False),
    ("POST", "/cgi-bin/message/send", api_message.message_send, True),
    ("POST", "/cgi-bin/media/upload", api_media.media_upload, True),
    ("GET", "/cgi-bin/media/get", api_media.media_get, True),
    ("GET", "/cgi-bin/get_jsapi_ticket", api_jssdk.get_jsapi_ticket, True),
    ("GET", "/cgi-bin/ticket/get", api_jssdk.ticket_get, True),
    ("GET", "/cgi-bin/auth/getuserinfo", api_jssdk.getuserinfo, True),
    ("GET", "/connect/oauth2/authorize", api_jssdk.authorize, False),
    ("POST", "/cgi-bin/externalcontact/groupchat/list", api_groups.groupchat_list, True),
    ("POST", "/cgi-bin/externalcontact/groupchat/get", api_groups.groupchat_get, True),
    ("POST", "/cgi-bin/externalcontact/add_msg_template", api_group_msg.add_msg_template, True),
    ("POST", "/cgi-bin/externalcontact/get_groupmsg_task", api_group_msg.get_groupmsg_task, True),
    (
        "POST",
        "/cgi-bin/externalcontact/get_groupmsg_send_result",
        api_group_msg.get_groupmsg_send_result,
        True,
    ),
    ("POST", "/cgi-bin/externalcontact/add_contact_way", api_contacts.add_contact_way, True),
    ("POST", "/cgi-bin/externalcontact/get_contact_way", api_contacts.get_contact_way, True),
    ("POST", "/cgi-bin/externalcontact/update_contact_way", api_contacts.update_contact_way, True),
    ("POST", "/cgi-bin/externalcontact/del_contact_way", api_contacts.del_contact_way, True),
    ("POST", "/cgi-bin/externalcontact/send_welcome_msg", api_contacts.send_welcome_msg, True),
    ("POST", "/cgi-bin/externalcontact/remark", api_contacts.remark, True),
    ("GET", "/cgi-bin/externalcontact/get", api_contacts.get_external_contact, True),
    ("POST", JOIN_WAY + "add_join_way", api_join_ways.add_join_way, True),
    ("POST", JOIN_WAY + "get_join_way", api_join_ways.get_join_way, True),
    ("POST", JOIN_WAY + "update_join_way", api_join_ways.update_join_way, True),
    ("POST", JOIN_WAY + "del_join_way", api_join_ways.del_join_way, True),
    ("POST", "/cgi-bin/externalcontact/get_corp_tag_list", api_tags.get_corp_tag_list, True),
    ("POST", "/cgi-bin/externalcontact/add_corp_tag", api_tags.add_corp_tag, True),
    ("POST", "/cgi-bin/externalcontact/mark_tag", api_tags.mark_tag, True),
    ("GET", "/cgi-bin/user/get", api_users.user_get, True),
)
"""(method, path, handler, needs access_token) of every WeCom API the fake serves."""


def create_wecom_fake_app(
    apps: Sequence[FakeWecomApp],
    *,
    clock: Clock | None = None,
    callback_timeout: float = 5.0,
    token_ttl: int = 7200,
    limits: WecomLimits | None = None,
) -> web.Application:
    """The fake WeCom for `apps`: /cgi-bin API, callbacks out, /sandbox control and QR pictures.

    Mount it with `parent.add_subapp("/wecom", fake)` (clients then use the base URL
    `http://host:port/wecom`) or serve it on its own (base URL = server root).
    """
    if not apps:
        raise ValueError("the fake needs at least one app")
    if callback_timeout <= 0 or token_ttl <= 0:
        raise ValueError("callback_timeout and token_ttl must be positive")
    wecom = FakeWecom(
        apps,
        clock=clock or Clock(),
        callback_timeout=callback_timeout,
        token_ttl=token_ttl,
        limits=limits or WecomLimits(),
    )
    app = web.Application()
    app[WECOM_FAKE_STATE] = wecom
    for method, path, handler, auth in API_ROUTES:
        app.router.add_route(method, path, endpoint(wecom, path, handler, auth=auth))
    add_control_routes(app.router, wecom)
    add_group_routes(app.router, wecom)
    add_qr_routes(app.router, wecom)
    app.on_shutdown.append(_release_hangs)
    app.cleanup_ctx.append(_callback_session)
    return app


async def _release_hangs(app: web.Application) -> None:
    app[WECOM_FAKE_STATE].release_hangs()


async def _callback_session(app: web.Application) -> AsyncIterator[None]:
    wecom = app[WECOM_FAKE_STATE]
    async with aiohttp.ClientSession() as session:
        wecom.start(session)
        yield
        wecom.close()
