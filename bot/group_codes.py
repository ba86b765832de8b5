"""Unlimited group codes (无限群活码): one stable QR code and landing page that always lead to a
customer group with room.

A code is a WeCom 「加入群聊」 join way (platform-facts.md §4.9) over at most 5 groups of its
``pool``, taken in pool order. A group is full when it has ``full_members`` members or was
dismissed; :meth:`GroupCodes.rebalance` keeps the join way on the first 5 groups of the pool with
room, appends to the pool the groups WeCom created for the way itself (auto create), and tells
the admin chat the code was made in once when few groups with room are left (``low_water``) and
once when none is (the join way is then left as it is). Two servers may rebalance one code at
once: the pool is written with a compare-and-set (storage/group_codes_repo.py) and the loser
decides again from what the winner wrote.

The customer-group sync (bot/group_sync.py) calls :meth:`GroupCodes.on_group_change` after each
change_external_chat event it applied and after each full sync: a customer who joined a group
of a code's join way by its QR code (JoinScene 3) is counted once per event, then the codes
holding that group are rebalanced. A group WeCom auto-created is not in any pool yet: its events
make the app's auto-create codes look at their join ways first.

``GET /groupcode/{slug}`` is the landing page: the code's current group and QR code, for
channels where the join way's QR code cannot be shown by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from aiohttp import web
from jinja2 import Environment, PackageLoader
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.group_sync import changed_members
from bot.settings import Settings
from bot.staff_chat import server_url
from bot.staff_ports import platform_call
from channels.errors import PlatformRejected
from channels.wecom.client import JOIN_WAY_BASE_NAME_CHARS, JOIN_WAY_CHATS, WecomClient
from channels.wecom.decode import GroupChange
from handlers.commands.base import CommandError, PlatformFailure, Queue, split_chat_key
from handlers.config import NAME_PATTERN
from handlers.messages import Text
from storage import group_codes_repo as repo
from storage.group_codes_repo import GroupCode, PoolGroup, Rebalanced
from storage.groups_repo import local_day

log = logging.getLogger(__name__)

QR_SCENE: Final = 3  # JoinScene of a customer who scanned a group QR code
INVALID_PARAMETER: Final = 40058  # e.g. a join way that no longer exists
SWAP_TRIES: Final = 5
FULL_MEMBERS_RANGE: Final = (2, 100_000)
FULL: Final = "群都已满员"  # ``detail`` of an active code whose admins were told it is full
SLUG: Final = re.compile(r"[A-Za-z0-9_-]{10,32}")
CSP: Final = "default-src 'none'; img-src https: http: data:; style-src 'unsafe-inline'"


@dataclass(frozen=True)
class _Plan:
    """What a code's join way should be, from the pool and what WeCom lists now."""

    pool: tuple[str, ...]
    listed: tuple[str, ...]  # the join way's groups on the platform now
    active: tuple[str, ...]  # what it should list
    added: tuple[str, ...]  # groups WeCom created that join the pool
    room: int  # groups of the pool with room


class GroupCodes:
    """The group codes of every WeCom app, over the apps' clients (filled in at start-up), a
    queue into staff chats for the admins' warnings, and the settings (defaults, time zone,
    the server's address)."""

    def __init__(
        self,
        engine: AsyncEngine,
        clients: Mapping[str, WecomClient],
        queue: Queue,
        settings: Settings,
    ) -> None:
        self._engine = engine
        self._clients = clients
        self._queue = queue
        self._full_members = settings.customers.group_full_members
        self._low_water = settings.customers.group_low_water
        self._timezone = settings.scheduler.timezone
        self._base = server_url(settings)
        self._locks: dict[int, asyncio.Lock] = {}
        self._templates = Environment(loader=PackageLoader("bot", "templates"), autoescape=True)

    def landing_url(self, slug: str) -> str:
        return f"{self._base}/groupcode/{slug}"

    def _client(self, app: str) -> WecomClient:
        client = self._clients.get(app)
        if client is None:
            raise PlatformFailure(f"企业微信应用 {app} 还没有连接好，请稍后再试", transient=True)
        return client

    # Making, changing and removing codes

    async def _known(self, app: str, chat_ids: Sequence[str]) -> dict[str, PoolGroup]:
        """The groups, each a live customer group of the app we know (else CommandError)."""
        groups = await repo.pool_groups(self._engine, app, chat_ids)
        unknown = [c for c in chat_ids if c not in groups or groups[c].dismissed]
        if unknown:
            raise CommandError(
                f"这些不是应用 {app} 现有的客户群：{'、'.join(unknown)}。"
                "请先发送「群 同步」，再用「群 列表」查看群名。"
            )
        return groups

    async def create(
        self,
        app: str,
        name: str,
        chat_ids: Sequence[str],
        *,
        auto_create: bool = False,
        base_name: str = "",
        created_by: str = "",
        chat: str = "",
    ) -> GroupCode:
        """Make a code over the groups ``chat_ids`` (its pool, in this order) and its join way
        over the first 5 with room; with ``auto_create`` WeCom creates the next group (named
        ``base_name`` and a number) when they are all full."""
        if not NAME_PATTERN.fullmatch(name) or name.startswith("~"):
            raise CommandError("群活码名称是 1 到 64 个字符，不含空格和 /，不以 ~ 开头。")
        chat_ids = list(dict.fromkeys(chat_ids))
        if not chat_ids:
            raise CommandError("请至少写一个客户群（群名或 chat_id）。", usage=True)
        if len(base_name) > JOIN_WAY_BASE_NAME_CHARS:
            raise CommandError(f"自动建群的群名最多 {JOIN_WAY_BASE_NAME_CHARS} 个字。")
        groups = await self._known(app, chat_ids)
        full = self._full_members
        room = [c for c in chat_ids if groups[c].member_count < full]
        if not room and not auto_create:
            raise CommandError(
                f"这些群都已满员（{full} 人算满员）。请换有空位的群，或加上「自动建群 <群名>」。"
            )
        active = (room or chat_ids)[:JOIN_WAY_CHATS]
        code = await repo.add(
            self._engine,
            app,
            name,
            pool=chat_ids,
            auto_create=auto_create,
            base_name=base_name if auto_create else "",
            full_members=full,
            low_water=self._low_water,
            created_by=created_by,
            chat=chat,
        )
        if code is None:
            raise CommandError(f"已有名为「{name}」的群活码。发送「群活码 查看 {name}」查看。")
        client = self._client(app)
        config_id = ""
        try:
            async with platform_call("创建群活码"):
                config_id = await client.add_join_way(
                    active,
                    state=code.state,
                    remark=name,
                    auto_create=auto_create,
                    base_name=code.base_name,
                    base_id=code.base_id,
                )
                way = await client.get_join_way(config_id)
        except PlatformFailure as exc:
            if config_id:  # made but unreadable: do not leave a way nobody knows of
                with contextlib.suppress(Exception):
                    await client.del_join_way(config_id)
            await repo.fail(self._engine, code.id, str(exc))
            raise
        await repo.activate(
            self._engine,
            code.id,
            config_id,
            str(way.get("qr_code") or ""),
            active,
            warned=len(room) <= code.low_water,
        )
        made = await repo.by_id(self._engine, code.id)
        assert made is not None  # noqa: S101 - stored a moment ago
        log.info("group code %d (%s of %s) made over %s", code.id, name, app, active)
        return made

    async def add_groups(self, code: GroupCode, chat_ids: Sequence[str]) -> Rebalanced:
        """Append groups to the pool (those in it already are left out), then rebalance."""
        chat_ids = list(dict.fromkeys(chat_ids))
        if not chat_ids:
            raise CommandError("请至少写一个客户群（群名或 chat_id）。", usage=True)
        await self._known(code.app, chat_ids)
        for _ in range(SWAP_TRIES):
            current = await self._live(code)
            new = [c for c in chat_ids if c not in current.pool]
            if not new:
                raise CommandError(f"这些群已经在群活码「{current.name}」里了。")
            if await repo.set_pool_active(
                self._engine,
                current.id,
                current.version,
                pool=[*current.pool, *new],
                active=current.active,
            ):
                return await self.rebalance(current)
        raise _busy()

    async def set_full(self, code: GroupCode, members: int) -> Rebalanced:
        """From now on a group of the code is full at ``members`` members; then rebalance."""
        low, high = FULL_MEMBERS_RANGE
        if not low <= members <= high:
            raise CommandError(f"满员人数要在 {low} 到 {high} 之间。")
        for _ in range(SWAP_TRIES):
            current = await self._live(code)
            if await repo.set_full_members(self._engine, current.id, current.version, members):
                return await self.rebalance(current)
        raise _busy()

    async def remove(self, code: GroupCode) -> None:
        """Delete the join way (its QR code joins nobody any more), then the code."""
        current = await self._live(code)
        if current.config_id:
            async with platform_call("删除群活码"):
                try:
                    await self._client(current.app).del_join_way(current.config_id)
                except PlatformRejected as exc:
                    if exc.code != INVALID_PARAMETER:
                        raise
                    log.info("join way of group code %d was gone already", current.id)
        if not await repo.remove(self._engine, current.id):
            raise CommandError(f"群活码「{code.name}」已经删除了。")

    async def _live(self, code: GroupCode) -> GroupCode:
        current = await repo.by_id(self._engine, code.id)
        if current is None or current.status != "active":
            raise CommandError(f"群活码「{code.name}」已经不在使用了。")
        return current

    # Keeping the join way on groups with room

    async def _plan(self, code: GroupCode) -> _Plan:
        if not code.config_id:  # pragma: no cover - an active code has its join way
            raise CommandError(f"群活码「{code.name}」没有对应的加入群聊配置。")
        async with platform_call("读取群活码"):
            way = await self._client(code.app).get_join_way(code.config_id)
        found = way.get("chat_id_list")
        listed = tuple(str(c) for c in found) if isinstance(found, list) else code.active
        added = tuple(c for c in listed if c not in code.pool)
        pool = (*code.pool, *added)
        groups = await repo.pool_groups(self._engine, code.app, pool)

        def room(chat_id: str) -> bool:
            group = groups.get(chat_id)
            if group is None:  # not read yet: WeCom listing it means it was just created
                return chat_id in listed
            return not group.dismissed and group.member_count < code.full_members

        with_room = [c for c in pool if room(c)]
        active = tuple(with_room[:JOIN_WAY_CHATS]) or listed
        return _Plan(pool, listed, active, added, len(with_room))

    def _news(self, code: GroupCode, plan: _Plan) -> tuple[bool, str, list[str]]:
        """(warned, detail, what to tell the admins) after this plan."""
        name, full = code.name, code.full_members
        add = f"群活码 添加群 {name} <群名或chat_id>"
        if plan.room == 0 and not code.auto_create:
            if code.detail == FULL:
                return True, FULL, []
            return (
                True,
                FULL,
                [
                    f"群活码「{name}」的群都满了（{full} 人算满员），新客户扫码已无法入群。"
                    f"请添加新群：{add}；或调高满员人数：群活码 满员 {name} <人数>。"
                ],
            )
        if plan.room <= code.low_water:
            if code.warned:
                return True, "", []
            text = f"群活码「{name}」只剩 {plan.room} 个有空位的群（{full} 人算满员）。"
            if code.auto_create:
                text += (
                    "已开启自动建群：群都满了以后企业微信会自动创建新群"
                    f"「{code.base_name or '第一个群的群名'}+编号」，并加入这个群活码。"
                )
            else:
                text += f"请尽快添加新群：{add}"
            return True, "", [text]
        return False, "", []

    async def rebalance(self, code: GroupCode) -> Rebalanced:
        """Bring the code's join way onto the first 5 groups of its pool with room, take in
        the groups WeCom created for it, and tell the admins when few or none have room."""
        lock = self._locks.setdefault(code.id, asyncio.Lock())
        async with lock:
            for _ in range(SWAP_TRIES):
                current = await repo.by_id(self._engine, code.id)
                if current is None or current.status != "active":
                    return Rebalanced(current or code)
                plan = await self._plan(current)
                warned, detail, tell = self._news(current, plan)
                if plan.active != plan.listed:
                    async with platform_call("更新群活码"):
                        await self._client(current.app).update_join_way(
                            current.config_id or "", plan.active
                        )
                unchanged = (
                    plan.pool == current.pool
                    and plan.active == current.active
                    and warned == current.warned
                    and detail == current.detail
                )
                if not unchanged and not await repo.set_pool_active(
                    self._engine,
                    current.id,
                    current.version,
                    pool=plan.pool,
                    active=plan.active,
                    warned=warned,
                    detail=detail,
                ):
                    continue  # changed meanwhile (another server): decide again
                after = await repo.by_id(self._engine, current.id) or current
                result = Rebalanced(
                    after,
                    added=plan.added,
                    entered=tuple(c for c in plan.active if c not in plan.listed),
                    left=tuple(c for c in plan.listed if c not in plan.active),
                    room=plan.room,
                    told=tuple(tell),
                )
                if result.changed:
                    log.info(
                        "group code %d: join way now %s (added %s, out %s)",
                        current.id,
                        list(plan.active),
                        list(plan.added),
                        list(result.left),
                    )
                for text in tell:
                    await self._tell(after, text)
                return result
            raise _busy()

    async def _tell(self, code: GroupCode, text: str) -> None:
        where = split_chat_key(code.chat)
        if where is None:
            log.warning("group code %d (%s): %s", code.id, code.name, text)
            return
        await self._queue(*where, [Text(text)])

    # The customer-group sync's listener

    async def on_group_change(self, app: str, change: GroupChange | None) -> None:
        """After a group event was applied (or a full sync, ``change`` None): count a QR join
        to the codes whose join way holds the group, then rebalance the codes holding it.
        WeCom being busy is raised (the event is tried again); other platform refusals are
        logged."""
        if change is None:
            for code in await repo.codes(self._engine, app):
                await self._rebalance_quietly(code, transient_raises=False)
            return
        live = [c for c in await repo.codes(self._engine, app) if c.status == "active"]
        mine = [c for c in live if change.chat_id in c.pool]
        joined = change.detail == "add_member" and change.join_scene == QR_SCENE
        if not mine and (change.change_type == "create" or joined):
            # Maybe a group WeCom just created for a join way: let those codes look.
            for code in await self._creators(app, change.chat_id, live):
                await self._rebalance_quietly(code)
            mine = await repo.codes_with_chat(self._engine, app, change.chat_id)
        if joined:
            at = datetime.fromtimestamp(change.at, UTC)
            for code in mine:
                if change.chat_id in code.active:
                    await repo.record_join(
                        self._engine,
                        dedupe_key=f"{change.dedupe_key}:code:{code.id}",
                        code_id=code.id,
                        chat_id=change.chat_id,
                        count=changed_members(change),
                        day=local_day(at, self._timezone),
                        at=at,
                    )
        for code in mine:
            await self._rebalance_quietly(code)

    async def _creators(self, app: str, chat_id: str, live: Sequence[GroupCode]) -> list[GroupCode]:
        """The auto-create codes that may have made the group ``chat_id``: WeCom names the
        groups it creates ``room_base_name`` (default: the first group's name) and a number, so
        a group we know by another name was not made for them (customers joining the corp's
        other groups by their own QR codes do not make every code ask WeCom)."""
        auto = [c for c in live if c.auto_create]
        if not auto:
            return []
        firsts = [c.pool[0] for c in auto if c.pool]
        known = await repo.pool_groups(self._engine, app, [chat_id, *firsts])
        group = known.get(chat_id)
        if group is None or not group.name:
            return auto

        def base(code: GroupCode) -> str:
            first = known.get(code.pool[0]) if code.pool else None
            return code.base_name or (first.name if first is not None else "")

        return [c for c in auto if group.name.startswith(base(c))]

    async def _rebalance_quietly(self, code: GroupCode, *, transient_raises: bool = True) -> None:
        if code.status != "active":
            return
        try:
            await self.rebalance(code)
        except PlatformFailure as exc:
            if exc.transient and transient_raises:
                raise
            log.warning("group code %d (%s) not rebalanced: %s", code.id, code.name, exc)
        except CommandError as exc:
            log.warning("group code %d (%s) not rebalanced: %s", code.id, code.name, exc)

    # The landing page

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/groupcode/{slug}", self.landing)]

    async def landing(self, request: web.Request) -> web.Response:
        """The code's current group and QR code; 404 for an unknown or removed code."""
        slug = request.match_info["slug"]
        code = await repo.by_slug(self._engine, slug) if SLUG.fullmatch(slug) else None
        if code is None or code.status != "active":
            return self._page(404, missing=True)
        groups = await repo.pool_groups(self._engine, code.app, code.active)
        current = next(
            (
                groups[c]
                for c in code.active
                if c in groups and not groups[c].dismissed
                if groups[c].member_count < code.full_members
            ),
            None,
        )
        if current is None and not code.auto_create:
            return self._page(200, code=code, full=True)
        return self._page(200, code=code, group=current)

    def _page(self, status: int, **values: object) -> web.Response:
        html = self._templates.get_template("group_code.html").render(**values)
        return web.Response(
            status=status,
            text=html,
            content_type="text/html",
            charset="utf-8",
            headers={
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": CSP,
                "Referrer-Policy": "no-referrer",
            },
        )


def _busy() -> PlatformFailure:
    return PlatformFailure("群活码正在被同时修改，请稍后再试", transient=True)
