"""Getting updates to a bot: POST them to its webhook in order, with retries and backoff."""

from __future__ import annotations

import asyncio
import json

from .api import invoke, new_call
from .params import Params
from .state import BotState, FakeTelegram
from .webhook import post_update


async def flush_webhook(fake: FakeTelegram, bot: BotState) -> None:
    """POST pending updates oldest first while a webhook is set.

    Each update gets up to `webhook_attempts` tries with a short backoff; one that still fails
    stays pending (Telegram keeps it and tries again later: the next flush) and holds back
    the newer ones, so a bot never sees updates out of order.
    """
    limits = fake.limits
    async with bot.delivery_lock:
        while (config := bot.webhook) is not None:
            bot.updates.expire(fake.clock.now(), limits.updates_retention_seconds)
            pending = bot.updates.first()
            if pending is None:
                return
            attempts = bot.webhook_attempts.setdefault(pending.update_id, [])
            for number in range(limits.webhook_attempts):
                if number:
                    await asyncio.sleep(limits.webhook_backoff_seconds * number)
                attempt = await post_update(
                    fake.session, config, pending.body, fake.webhook_timeout
                )
                attempts.append(attempt)
                if attempt.ok:
                    bot.updates.remove(pending.update_id)
                    await _run_reply_method(fake, bot, attempt.reply)
                    break
                bot.record_webhook_error(fake.clock.now(), attempt.error or "unknown error")
            else:
                return


async def _run_reply_method(fake: FakeTelegram, bot: BotState, reply: bytes) -> None:
    """A webhook answer may itself be a method call, e.g. {"method": "sendMessage", ...}."""
    try:
        body = json.loads(reply) if reply.strip() else None
    except (UnicodeDecodeError, ValueError):
        return
    if not isinstance(body, dict) or not isinstance(body.get("method"), str):
        return
    method = body["method"]
    params = Params(values={k: v for k, v in body.items() if k != "method"})
    call = new_call(fake, bot, method, "webhook-reply")
    await invoke(fake, bot, method, params, call)
