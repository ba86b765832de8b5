"""Delivering queued messages through the platform APIs: the outbox worker.

Channels implement :class:`Sender` and report failures with the exceptions below; the worker
decides what to do with them:

- :class:`RetryLater`: try again after a pause (``retry_after`` when the platform says);
- :class:`Undeliverable`: give up and record why (outside the window, unfollowed, refused);
- :class:`DeliveryInDoubt`: the request may have been carried out; record it, never resend.

A message goes out at most once: the row is marked ``sending`` (committed) before the call, and a
``sending`` row left behind by a crash becomes ``in_doubt`` rather than being sent again. Messages
to one recipient go out in the order they were queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Mapping
from typing import Protocol

from handlers.messages import Message, MessageFormatError, message_from_dict
from storage.outbox import Outbox, OutboxItem

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """Base of the failures a :class:`Sender` reports."""


class RetryLater(DeliveryError):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class Undeliverable(DeliveryError):
    """This message cannot be delivered to this recipient; trying again will not help."""


class DeliveryInDoubt(DeliveryError):
    """The platform may or may not have delivered the message."""


class Sender(Protocol):
    async def send(self, account: str, recipient: str, message: Message) -> None: ...


class DeliveryWorker:
    """Drains the outbox: claims due messages, sends them, records the result."""

    def __init__(
        self,
        outbox: Outbox,
        senders: Mapping[str, Sender],
        *,
        max_attempts: int,
        poll_seconds: float,
        batch: int = 50,
    ) -> None:
        self._outbox = outbox
        self._senders = senders
        self._max_attempts = max_attempts
        self._poll = poll_seconds
        self._batch = batch
        self._wakeup = asyncio.Event()

    def wake(self) -> None:
        """Look for due messages now instead of at the next poll."""
        self._wakeup.set()

    async def run(self) -> None:
        while True:
            try:
                await self._outbox.recover_expired()
                while await self.run_once():
                    pass
            except Exception:
                log.exception("outbox pass failed; will retry")
            # asyncio.timeout, not wait_for: on Python 3.11, wait_for loses a cancellation that
            # arrives as the wake-up does, and the worker would then never stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll):
                    await self._wakeup.wait()
            self._wakeup.clear()

    async def run_once(self) -> int:
        """Send what is due now; returns how many messages were handled."""
        items = await self._outbox.claim_due(self._batch)
        if items:
            # One recipient's messages are claimed one at a time (the oldest unsent first), so
            # these belong to different recipients and can go out together.
            await asyncio.gather(*(self._deliver(item) for item in items))
        return len(items)

    async def _deliver(self, item: OutboxItem) -> None:
        sender = self._senders.get(item.platform)
        try:
            message = message_from_dict(item.message)
        except MessageFormatError as exc:
            await self._outbox.fail(item, f"stored message is malformed: {exc}")
            return
        if sender is None:
            await self._outbox.fail(item, f"no sender for platform {item.platform!r}")
            return
        if not await self._outbox.mark_sending(item):
            return  # another process took it over after our lease ran out
        try:
            await sender.send(item.account, item.recipient, message)
        except RetryLater as exc:
            if item.attempts + 1 >= self._max_attempts:
                await self._outbox.fail(item, f"gave up after {item.attempts + 1} attempts: {exc}")
            else:
                delay = exc.retry_after or min(2**item.attempts * 2.0, 300.0)
                await self._outbox.retry(item, str(exc), delay * random.uniform(1.0, 1.2))  # noqa: S311
        except Undeliverable as exc:
            await self._outbox.fail(item, str(exc))
        except DeliveryInDoubt as exc:
            await self._outbox.in_doubt(item, str(exc))
        except Exception as exc:
            log.exception("sending outbox message %d failed unexpectedly", item.id)
            await self._outbox.in_doubt(item, f"unexpected error: {exc!r}")
        else:
            await self._outbox.sent(item)
