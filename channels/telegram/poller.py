"""Long polling with getUpdates, for a bot that cannot receive a webhook (platform-facts.md §6.2).

The offset moves past an update only after its handler returned, so an update whose handler
failed comes back in the next round (Telegram keeps unconfirmed updates for 24 hours); updates are
handled one at a time, in order.
"""

from __future__ import annotations

import asyncio
import logging

from channels.errors import PlatformError
from channels.telegram.bot import TelegramBot
from channels.telegram.client import TelegramClient
from channels.telegram.dispatch import dispatch
from handlers.staff import StaffHandler

log = logging.getLogger(__name__)

FIRST_PAUSE = 1.0
LONGEST_PAUSE = 30.0


class TelegramPoller:
    def __init__(
        self,
        client: TelegramClient,
        bot: TelegramBot,
        handler: StaffHandler,
        *,
        timeout: int = 25,
    ) -> None:
        self._client = client
        self._bot = bot
        self._handler = handler
        self._timeout = timeout
        self._offset: int | None = None
        self._pause = FIRST_PAUSE

    @property
    def offset(self) -> int | None:
        """The next update_id asked for (every update before it was handled)."""
        return self._offset

    async def run(self) -> None:
        """Poll until cancelled."""
        while not await self._webhook_deleted():
            await self._back_off()
        log.info("telegram %s: polling for updates", self._bot.name)
        while True:
            if await self.poll_once():
                self._pause = FIRST_PAUSE
            else:
                await self._back_off()

    async def poll_once(self) -> bool:
        """One getUpdates round; False when something failed and the caller should pause."""
        try:
            updates = await self._client.get_updates(self._offset, self._timeout)
        except PlatformError as exc:
            log.warning("telegram %s: getUpdates failed: %s", self._bot.name, exc)
            return False
        except Exception:
            log.exception("telegram %s: getUpdates failed unexpectedly", self._bot.name)
            return False
        for update in updates:
            try:
                await dispatch(self._bot, self._client, self._handler, update)
            except Exception:
                log.exception(
                    "telegram %s: update %d could not be handled; it will come again",
                    self._bot.name,
                    update.update_id,
                )
                return False
            self._offset = update.update_id + 1
        return True

    async def _webhook_deleted(self) -> bool:
        """getUpdates answers 409 while a webhook is set: remove it first."""
        try:
            await self._client.delete_webhook()
        except PlatformError as exc:
            log.warning("telegram %s: deleteWebhook failed: %s", self._bot.name, exc)
            return False
        return True

    async def _back_off(self) -> None:
        await asyncio.sleep(self._pause)
        self._pause = min(self._pause * 2, LONGEST_PAUSE)
