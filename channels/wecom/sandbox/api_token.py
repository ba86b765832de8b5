"""GET /cgi-bin/gettoken (§4.1)."""

from __future__ import annotations

from .api import ApiContext, JsonResult, ok
from .errors import WecomApiError


async def gettoken(ctx: ApiContext) -> JsonResult:
    """The app's token for corpid + corpsecret; the same one while it is valid."""
    corp_id, secret = ctx.query("corpid"), ctx.query("corpsecret")
    if not corp_id:
        raise WecomApiError(41002)
    if not secret:
        raise WecomApiError(41004)
    if ctx.wecom.corp(corp_id) is None:
        raise WecomApiError(40013, "no corp with this corpid")
    state = ctx.wecom.by_secret(corp_id, secret)
    if state is None:
        raise WecomApiError(40001, "corpsecret does not belong to any app of this corp")
    ctx.resolved = state
    token = ctx.wecom.tokens.issue(state.app.name)
    return ok(access_token=token.value, expires_in=token.expires_in(ctx.now))
