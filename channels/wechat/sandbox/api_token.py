"""GET /cgi-bin/token and POST /cgi-bin/stable_token."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .api import ApiContext, JsonResult
from .errors import ApiError
from .state import AccountState, FakePlatform


def _credentials(platform: FakePlatform, params: Mapping[str, Any]) -> AccountState:
    if params.get("grant_type") != "client_credential":
        raise ApiError(40002, "grant_type must be client_credential")
    app_id, secret = params.get("appid"), params.get("secret")
    if not app_id:
        raise ApiError(41002)
    if not secret:
        raise ApiError(41004)
    state = platform.by_app_id(str(app_id))
    if state is None:
        raise ApiError(40013, "no account with this appid")
    if secret != state.account.secret:
        raise ApiError(40001, "AppSecret error or AppSecret does not belong to this appid")
    return state


async def get_token(ctx: ApiContext) -> JsonResult:
    """Classic token: every call issues a new one; the previous ones work 300 s more."""
    state = _credentials(ctx.platform, ctx.request.query)
    ctx.resolved = state
    token = ctx.platform.tokens.issue_classic(state.account.name)
    return {"access_token": token.value, "expires_in": token.expires_in(ctx.now)}


async def stable_token(ctx: ApiContext) -> JsonResult:
    """Stable token: the same token within validity unless force_refresh."""
    body = await ctx.json()
    state = _credentials(ctx.platform, body)
    ctx.resolved = state
    force = body.get("force_refresh", False)
    if not isinstance(force, bool):
        raise ApiError(47001, "force_refresh must be a boolean")
    token = ctx.platform.tokens.stable(state.account.name, force_refresh=force)
    return {"access_token": token.value, "expires_in": token.expires_in(ctx.now)}
