"""From a decoded event to the passive reply, durably and inside the platform's deadline.

For each event: decide the reply (from memory), then record it with the inbound log, which
dedupes retries, stores the follower change, queues the follow-up messages in the outbox and
counts the keyword hit, all in one transaction. The request waits for that, up to the reply
deadline. If the deadline passes first, the request answers without a passive reply and the reply
is delivered through the platform API instead, once the record is committed.
"""

from __future__ import annotations

import logging
import time

from handlers.books import ReplyBooks
from handlers.events import Inbound
from handlers.messages import Message, message_from_dict, message_to_dict
from handlers.replies import FollowerLookup, decide
from storage.inbound import InboundLog, InboundRecord

log = logging.getLogger(__name__)


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

    async def handle(self, event: Inbound, started: float | None = None) -> Message | None:
        """The passive reply for ``event`` (None: answer without one).

        ``started`` is the ``time.monotonic()`` at which the request arrived. Errors in storing
        the event propagate, so the platform sees a failure and retries.
        """
        answer_by = (started if started is not None else time.monotonic()) + self._deadline
        # Half the time at most for reading the follower; the commit needs the rest.
        budget = max((answer_by - time.monotonic()) / 2, 0.0)
        decision = await decide(self._books.get(event.account), event, self._lookup, budget)
        messages = [message_to_dict(m) for m in decision.messages]
        outcome = await self._log.submit(
            InboundRecord(
                platform=event.platform,
                account=event.account,
                dedupe_key=event.dedupe_key,
                recipient=event.user,
                reply=messages[0] if messages else None,
                followups=messages[1:],
                follower=decision.follower,
                hit_rule=decision.hit_rule,
                answer_by=answer_by,
            )
        )
        if outcome.late:
            log.warning(
                "%s %s: reply not ready within %.1f s; answering without one, it follows "
                "through the API",
                event.account,
                event.dedupe_key,
                self._deadline,
            )
            return None
        if outcome.first:
            return decision.messages[0] if decision.messages else None
        return None if outcome.reply is None else message_from_dict(outcome.reply)
