"""What web pages in WeCom need: the JS-SDK tickets, the OAuth authorize page and
code -> userid.

- GET /cgi-bin/get_jsapi_ticket: the corp ticket (for ``wx.config``).
- GET /cgi-bin/ticket/get?type=agent_config: the app ticket (for ``wx.agentConfig``).
- GET /connect/oauth2/authorize: the page browsers are sent to (no access_token). It checks
  the link, issues a code for whoever is signed in on the app and answers 302 to
  ``redirect_uri`` with ``code`` and ``state`` added; a link it cannot use gets 400 and nobody
  signed in 403, each with a short text (the platform shows an error page).
- GET /cgi-bin/auth/getuserinfo?code=: ``userid`` for a member, ``openid`` for anyone else.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import urlencode, urlsplit, urlunsplit

from aiohttp import web

from .api import ApiContext, JsonResult, ok
from .apps import FakeWecomApp
from .errors import WecomApiError

AGENT_CONFIG: Final = "agent_config"
SCOPES: Final = ("snsapi_base",)
_STATE: Final = re.compile(r"[A-Za-z0-9]{0,128}")


async def get_jsapi_ticket(ctx: ApiContext) -> JsonResult:
    """The corp's ticket, fetched with the token of any of its apps."""
    ticket = ctx.wecom.jssdk.fetch(ctx.state.app, agent=False)
    return ok(ticket=ticket.value, expires_in=ticket.expires_in(ctx.now))


async def ticket_get(ctx: ApiContext) -> JsonResult:
    """The app's own ticket; ``type`` must be agent_config (40058 otherwise)."""
    kind = ctx.query("type")
    if kind != AGENT_CONFIG:
        raise WecomApiError(40058, f"type must be {AGENT_CONFIG}")
    ticket = ctx.wecom.jssdk.fetch(ctx.state.app, agent=True)
    return ok(ticket=ticket.value, expires_in=ticket.expires_in(ctx.now))


async def getuserinfo(ctx: ApiContext) -> JsonResult:
    """Who an OAuth code belongs to (the code is then used up)."""
    code = ctx.query("code")
    if not code:
        raise WecomApiError(41008)
    identity = ctx.wecom.jssdk.redeem(ctx.state.app, code)
    if identity.userid is not None:
        return ok(userid=identity.userid)
    return ok(openid=identity.openid)


async def authorize(ctx: ApiContext) -> JsonResult:
    """The OAuth page: 302 to ``redirect_uri`` with a new code, or a short refusal."""
    query = ctx.request.query
    app, problem = _app_of(ctx, query.get("appid", ""), query.get("agentid", ""))
    redirect_uri = query.get("redirect_uri", "")
    state = query.get("state", "")
    if problem is None:
        problem = _link_problem(redirect_uri, query.get("response_type"), query.get("scope"))
    if problem is None and not _STATE.fullmatch(state):
        problem = "state must be at most 128 letters and digits"
    if problem is not None or app is None:
        return web.Response(status=400, text=f"bad OAuth link: {problem}")
    code = ctx.wecom.jssdk.issue_code(app)
    if code is None:
        return web.Response(status=403, text=f"nobody is signed in to WeCom for app {app.name}")
    ctx.resolved = ctx.wecom.state(app.name)
    return web.Response(status=302, headers={"Location": with_query(redirect_uri, code, state)})


def _app_of(ctx: ApiContext, corp_id: str, agent_id: str) -> tuple[FakeWecomApp | None, str | None]:
    if not corp_id:
        return None, "appid missing"
    if ctx.wecom.corp(corp_id) is None:
        return None, "appid is not the id of a corp"
    if not agent_id:
        return None, "agentid missing (the fake needs it to know the app)"
    app = next(
        (a for a in ctx.wecom.apps if a.corp_id == corp_id and str(a.agent_id) == agent_id), None
    )
    if app is None:
        return None, "agentid is not an app of this corp"
    return app, None


def _link_problem(redirect_uri: str, response_type: str | None, scope: str | None) -> str | None:
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "redirect_uri must be an absolute http(s) URL"
    if response_type != "code":
        return "response_type must be code"
    if scope not in SCOPES:
        return f"scope must be one of {', '.join(SCOPES)}"
    return None


def with_query(url: str, code: str, state: str) -> str:
    """``url`` with ``code`` and ``state`` added after any query it already has (left as it is)
    and before any fragment."""
    parts = urlsplit(url)
    added = urlencode({"code": code, "state": state})
    query = f"{parts.query}&{added}" if parts.query else added
    return urlunsplit(parts._replace(query=query))
