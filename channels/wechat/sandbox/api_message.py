"""Custom-service messages: /cgi-bin/message/custom/send and /typing (§2.2)."""

from __future__ import annotations

from .api import ApiContext, JsonResult, ok
from .errors import ApiError
from .limits import consume_window, window_open
from .payloads import CUSTOM_RULES, message_payload
from .state import Customer
from .validation import obj, text


def _recipient(ctx: ApiContext, touser: str) -> Customer:
    customer = ctx.state.customers.get(touser)
    if customer is None:
        raise ApiError(40003, "touser is not an OpenID of this account")
    return customer


async def custom_send(ctx: ApiContext) -> JsonResult:
    """Send within the customer's allowance; the message lands on their timeline."""
    body = await ctx.json()
    customer = _recipient(ctx, text(body, "touser", errcode=40003))
    msgtype, payload = message_payload(CUSTOM_RULES, ctx.state, body, ctx.now)
    if "customservice" in body:
        text(obj(body, "customservice"), "kf_account", "customservice.")
    if not customer.following:
        raise ApiError(45015, "the customer does not follow this account")
    consume_window(customer.grants, ctx.now)
    ctx.state.timeline(customer.openid).append(
        ctx.now, "out", "customer_service", {"type": msgtype, **payload}
    )
    return ok()


async def custom_typing(ctx: ApiContext) -> JsonResult:
    """Show or hide the typing indicator (needs an open window, uses no allowance)."""
    body = await ctx.json()
    customer = _recipient(ctx, text(body, "touser", errcode=40003))
    command = body.get("command")
    if command not in ("Typing", "CancelTyping"):
        raise ApiError(40097, "command must be Typing or CancelTyping")
    if not customer.following or not window_open(customer.grants, ctx.now):
        raise ApiError(45015, "no customer interaction within the allowed window")
    return ok()
