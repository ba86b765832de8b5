"""Keeps the local list of WeCom customer groups (客户群) in step with the platform.

- ``sync`` (a full sync, also :class:`handlers.commands.base.GroupSyncPort`): groupchat/list to
  the last page, then groupchat/get of each group, a few at a time, all written in one
  transaction; known groups the listing no longer has are marked dismissed (see
  :mod:`storage.groups_repo`). One sync per app runs at a time in this process.
- ``on_change`` (a change_external_chat event, platform-facts.md §4.10): create and update re-read
  that one group, and a member change counts the members who joined or left (MemChangeCnt, else
  the members it names, else 1) on the event's day in the configured time zone; dismiss marks
  the group dismissed. Platform errors are raised, so the callback answers 503 and WeCom tries
  again; a chat id the platform says is no customer group (90501: dismissed meanwhile) is marked
  dismissed if we know it, and nothing is counted for it. Each event counts once however often
  it is delivered.
- ``run_periodically``: the server's background loop (``scheduler.group_sync_seconds``).
- ``listener`` (optional, e.g. the group codes of bot/group_codes.py) hears of each event after
  it was applied (``(app, change)``; its failure fails the event, so WeCom tries again) and of
  each full sync (``(app, None)``; its failure is logged).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.staff_ports import platform_call
from channels.errors import PlatformRejected
from channels.wecom.client import GROUPCHAT_PAGE_MAX, NOT_A_CUSTOMER_GROUP, WecomClient
from channels.wecom.decode import GroupChange
from handlers.commands.base import PlatformFailure
from storage import groups_repo as repo
from storage.groups_repo import GroupEvent, GroupInfo, SyncResult
from storage.models import utcnow

log = logging.getLogger(__name__)

READS_AT_ONCE: Final = 4  # groupchat/get calls in flight during a full sync
MEMBER_CHANGES: Final = ("add_member", "del_member")
# Hears of an applied event (app, change) or of a full sync of an app (app, None).
GroupListener = Callable[[str, GroupChange | None], Awaitable[None]]


def group_info(group: Mapping[str, Any]) -> GroupInfo:
    """Our view of a groupchat/get ``group_chat`` object."""
    members = group.get("member_list")
    created = group.get("create_time")
    return GroupInfo(
        chat_id=str(group.get("chat_id") or ""),
        name=str(group.get("name") or ""),
        owner=str(group.get("owner") or ""),
        notice=str(group.get("notice") or ""),
        member_count=len(members) if isinstance(members, list) else 0,
        created_at=(
            datetime.fromtimestamp(created, UTC)
            if isinstance(created, int | float) and not isinstance(created, bool) and created > 0
            else None
        ),
    )


def changed_members(change: GroupChange) -> int:
    """How many members an add_member or del_member event says changed (at least 1)."""
    return change.count or len(change.members) or 1


class GroupSync:
    """The local list of customer groups of every WeCom app, over the apps' clients (the dict
    is filled in at start-up) and the time zone that days are counted in."""

    def __init__(
        self,
        engine: AsyncEngine,
        clients: Mapping[str, WecomClient],
        timezone: str,
        *,
        page_size: int = GROUPCHAT_PAGE_MAX,
        reads_at_once: int = READS_AT_ONCE,
        listener: GroupListener | None = None,
    ) -> None:
        self._engine = engine
        self.listener = listener  # may be set after construction (at app start-up)
        self._clients = clients  # filled in at start-up
        self._timezone = timezone
        self._page_size = page_size
        self._reads_at_once = reads_at_once
        self._locks: dict[str, asyncio.Lock] = {}

    def _client(self, app: str) -> WecomClient:
        client = self._clients.get(app)
        if client is None:
            raise PlatformFailure(f"企业微信应用 {app} 还没有连接好，请稍后再试")
        return client

    async def sync(self, app: str) -> int:
        """Sync the groups of one WeCom app; how many active groups are known afterwards.
        Platform errors are raised as :class:`PlatformFailure` (nothing is marked dismissed
        then)."""
        return (await self.sync_all(app)).active

    async def sync_all(self, app: str) -> SyncResult:
        """A full sync of one app, with what it wrote and marked dismissed."""
        lock = self._locks.setdefault(app, asyncio.Lock())
        async with lock, platform_call("同步客户群"):
            client = self._client(app)
            started_at = utcnow()
            chat_ids = await client.groupchat_list(limit=self._page_size)
            groups = await self._read_all(client, chat_ids)
            result = await repo.save_synced(self._engine, app, groups, started_at=started_at)
        log.info(
            "customer groups of WeCom app %s synced: %d read, %d newly dismissed, %d active",
            app,
            result.saved,
            result.dismissed,
            result.active,
        )
        if self.listener is not None:
            try:
                await self.listener(app, None)
            except Exception:
                log.exception("the listener of the customer groups of %s failed after a sync", app)
        return result

    async def _read_all(self, client: WecomClient, chat_ids: Sequence[str]) -> list[GroupInfo]:
        gate = asyncio.Semaphore(self._reads_at_once)
        found: dict[str, GroupInfo] = {}

        async def read(chat_id: str) -> None:
            async with gate:
                try:
                    group = await client.groupchat_get(chat_id)
                except PlatformRejected as exc:
                    if exc.code != NOT_A_CUSTOMER_GROUP:
                        raise
                    return  # dismissed since it was listed: the sync marks it so
            found[chat_id] = group_info({**group, "chat_id": group.get("chat_id") or chat_id})

        try:
            async with asyncio.TaskGroup() as tasks:
                for chat_id in chat_ids:
                    tasks.create_task(read(chat_id))
        except ExceptionGroup as failed:  # the first failure stopped the others
            raise failed.exceptions[0] from None
        return [found[c] for c in chat_ids if c in found]

    async def on_event(self, change: GroupChange) -> None:
        """The WeCom callback's handler of customer-group changes."""
        await self.on_change(change.account, change)

    async def on_change(self, app: str, change: GroupChange) -> None:
        """Apply one change_external_chat event of ``app``."""
        day = repo.local_day(datetime.fromtimestamp(change.at, UTC), self._timezone)
        event = GroupEvent(app=app, chat_id=change.chat_id, key=change.dedupe_key, day=day)
        if change.change_type == "dismiss":
            event = replace(event, dismissed=True)
        elif change.change_type in ("create", "update"):
            try:
                group = await self._client(app).groupchat_get(change.chat_id)
            except PlatformRejected as exc:
                if exc.code != NOT_A_CUSTOMER_GROUP:
                    raise
                # Dismissed meanwhile (or never a customer group): nothing to count.
                log.info("customer group %s of %s is gone: marked dismissed", change.chat_id, app)
                event = replace(event, dismissed=True)
            else:
                event = replace(event, group=group_info({**group, "chat_id": change.chat_id}))
                if change.detail == "add_member":
                    event = replace(event, joins=changed_members(change))
                elif change.detail == "del_member":
                    event = replace(event, quits=changed_members(change))
        else:
            log.warning(
                "customer group %s of %s: unknown change %r ignored",
                change.chat_id,
                app,
                change.change_type,
            )
            return
        if not await repo.apply_event(self._engine, event):
            log.info("customer group event %s was applied before", change.dedupe_key)
        if self.listener is not None:
            await self.listener(app, change)

    async def run_periodically(self, apps: Sequence[str], every_seconds: float) -> None:
        """Sync each app now and then every ``every_seconds`` (0 or less: never), logging
        failures and carrying on."""
        if every_seconds <= 0:
            return
        while True:
            for app in apps:
                try:
                    await self.sync_all(app)
                except Exception:
                    log.exception(
                        "syncing the customer groups of WeCom app %s failed; next try in %g s",
                        app,
                        every_seconds,
                    )
            await asyncio.sleep(every_seconds)
