"""From a decoded event to the passive reply, durably and inside the platform's deadline.

For each event: decide the reply (from memory), then record it with the inbound log, which
dedupes retries, stores the follower change, queues the follow-up messages in the outbox and
counts the keyword hit, all in one transaction. The request waits for that, up to the reply
deadline. If the deadline passes first, the request answers without a passive reply and the reply
is delivered through the platform API instead, once the work completes.
"""

from __future__ import annotations

import asyncio
import logging
import time

from handlers.books import ReplyBooks
from handlers.events import Inbound
from handlers.messages import Message, message_from_dict, message_to_dict
from handlers.replies import FollowerLookup, decide
from storage.inbound import InboundLog, InboundRecord, Outcome

log = logging.getLogger(__name__)


class _Work:
    """Shared between a request and the task doing its work."""

    __slots__ = ("late", "record")

    def __init__(self) -> None:
        self.late = False
        self.record: InboundRecord | None = None


class InboundProcessor:
    def __init__(
        self,
        books: ReplyBooks,
        inbound_log: InboundLog,
        lookup: FollowerLookup,
        *,
        deadline_seconds: float,
    ) -> None:
        self._books = books
        self._log = inbound_log
        self._lookup = lookup
        self._deadline = deadline_seconds
        self._background: set[asyncio.Task[Outcome]] = set()

    async def handle(self, event: Inbound, started: float | None = None) -> Message | None:
        """The passive reply for ``event`` (None: answer without one).

        ``started`` is the ``time.monotonic()`` at which the request arrived. Errors in storing
        the event propagate, so the platform sees a failure and retries.
        """
        remaining = self._deadline - (time.monotonic() - started if started is not None else 0.0)
        work = _Work()
        task = asyncio.ensure_future(self._process(event, work))
        done, _ = await asyncio.wait({task}, timeout=max(remaining, 0.0))
        if not done:
            work.late = True
            if work.record is not None:
                work.record.late = True
            self._background.add(task)
            task.add_done_callback(self._finished_late)
            log.warning(
                "%s %s: reply not ready within %.1f s; answering without one, the reply follows "
                "through the API",
                event.account,
                event.dedupe_key,
                self._deadline,
            )
            return None
        outcome = task.result()
        return None if outcome.reply is None else message_from_dict(outcome.reply)

    async def _process(self, event: Inbound, work: _Work) -> Outcome:
        decision = await decide(self._books.get(event.account), event, self._lookup)
        messages = [message_to_dict(m) for m in decision.messages]
        record = InboundRecord(
            platform=event.platform,
            account=event.account,
            dedupe_key=event.dedupe_key,
            recipient=event.user,
            reply=messages[0] if messages else None,
            followups=messages[1:],
            follower=decision.follower,
            hit_rule=decision.hit_rule,
            late=work.late,
        )
        work.record = record
        return await self._log.submit(record)

    def _finished_late(self, task: asyncio.Task[Outcome]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("late inbound work failed: %r", task.exception())

    async def drain(self) -> None:
        """Wait for work that outlived its request (at shutdown)."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
