"""Bot API: getMe and receiving updates (setWebhook, deleteWebhook, getWebhookInfo, getUpdates)."""

from __future__ import annotations

import asyncio
from typing import Any

from .api import MethodCall
from .delivery import flush_webhook
from .errors import BotApiError, bad_request
from .webhook import WebhookConfig, check_secret_token, check_webhook_url

CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
CONFLICT_OTHER_POLL = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)


async def get_me(call: MethodCall) -> dict[str, Any]:
    """The bot's `User` object with its capabilities."""
    return {
        **call.bot.bot.as_user(),
        "can_join_groups": True,
        "can_read_all_group_messages": not call.limits.group_privacy,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


def _allowed_updates(call: MethodCall) -> list[str] | None:
    value = call.params.json("allowed_updates")
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise bad_request("can't parse allowed updates: array of strings expected")
    return value


async def set_webhook(call: MethodCall) -> bool:
    """Set (or with an empty url remove) the webhook; pending updates then go there."""
    params, bot = call.params, call.bot
    url = params.string("url") or ""
    allowed = _allowed_updates(call)
    if url == "":
        bot.webhook = None
    else:
        check_webhook_url(url, call.limits)
        secret = params.string("secret_token")
        if secret is not None:
            check_secret_token(secret)
        max_connections = params.integer("max_connections")
        if max_connections is None:
            max_connections = 40
        if not 1 <= max_connections <= 100:
            raise bad_request("bad webhook: max_connections must be between 1 and 100")
        previous = bot.webhook
        bot.webhook = WebhookConfig(
            url=url,
            secret_token=secret,
            max_connections=max_connections,
            ip_address=params.string("ip_address"),
            has_custom_certificate="certificate" in params.files,
        )
        if previous is None or previous.url != url:
            bot.last_error_date = bot.last_error_message = None
    if allowed is not None:
        bot.allowed_updates = allowed
    if params.boolean("drop_pending_updates"):
        bot.updates.drop_all()
    bot.updates.wake()  # a waiting getUpdates now answers 409
    if bot.webhook is not None and bot.updates.first() is not None:
        call.fake.spawn(flush_webhook(call.fake, bot))
    return True


async def delete_webhook(call: MethodCall) -> bool:
    """Remove the webhook; pending updates stay for getUpdates unless dropped."""
    call.bot.webhook = None
    if call.params.boolean("drop_pending_updates"):
        call.bot.updates.drop_all()
    return True


async def get_webhook_info(call: MethodCall) -> dict[str, Any]:
    """The `WebhookInfo` object."""
    call.bot.updates.expire(call.now, call.limits.updates_retention_seconds)
    return call.bot.webhook_info()


async def get_updates(call: MethodCall) -> list[dict[str, Any]]:
    """Pending updates; waits up to `timeout` s (capped at 50) for one when there are none."""
    params, bot, fake = call.params, call.bot, call.fake
    if bot.webhook is not None:
        raise BotApiError(409, CONFLICT_WEBHOOK)
    offset = params.integer("offset")
    limit = params.integer("limit")
    limit = 100 if limit is None else limit
    if not 1 <= limit <= 100:
        raise bad_request("limit must be between 1 and 100")
    timeout = params.number("timeout") or 0.0
    if timeout < 0:
        raise bad_request("timeout must be non-negative")
    timeout = min(timeout, call.limits.max_poll_timeout)
    allowed = _allowed_updates(call)
    if allowed is not None:
        bot.allowed_updates = allowed
    if offset:
        bot.updates.confirm(offset)
    generation = bot.updates.begin_poll()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if bot.webhook is not None:
            raise BotApiError(409, CONFLICT_WEBHOOK)
        if not bot.updates.is_current_poll(generation):
            raise BotApiError(409, CONFLICT_OTHER_POLL)
        bot.updates.expire(fake.clock.now(), call.limits.updates_retention_seconds)
        updates = bot.updates.take(limit)
        remaining = deadline - loop.time()
        if updates or remaining <= 0 or fake.closing.is_set():
            return updates
        await bot.updates.wait_change(remaining)
