"""One update, however it arrived (webhook or polling): decode, answer a button, handle."""

from __future__ import annotations

import logging

from telegram import Update

from channels.errors import PlatformError
from channels.telegram.bot import TelegramBot
from channels.telegram.client import TelegramClient
from channels.telegram.decode import decode_update
from handlers.staff import StaffHandler

log = logging.getLogger(__name__)


async def dispatch(
    bot: TelegramBot, client: TelegramClient, handler: StaffHandler, update: Update
) -> None:
    """Hand the update's staff message to ``handler``; raises what the handler raises (the
    update must then be delivered again)."""
    query = update.callback_query
    if query is not None:
        # Always answer a button press, or the person's app shows a spinner; a failure here
        # (already answered on a redelivery, network) does not stop the message itself.
        try:
            await client.answer_callback(query.id)
        except PlatformError as exc:
            log.warning("telegram %s: answering callback query failed: %s", bot.name, exc)
    message = decode_update(bot, client.username, update)
    if message is None:
        log.debug("telegram %s: update %d carries nothing for us", bot.name, update.update_id)
        return
    await handler.handle_staff(message)
