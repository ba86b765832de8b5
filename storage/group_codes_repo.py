"""Unlimited group codes (无限群活码) and the customers who joined through them.

A code is found by name within a WeCom app, by ``slug`` (its landing page) and by ``state`` (the
join way's, which WeCom shows on members who joined through it). It is stored ``pending`` before
the platform call that makes its join way, then ``active`` or ``failed``; a removed (or failed)
code keeps its row (stats still name it) but gives up its name (renamed ``~<id>~<name>``).

``pool`` is every group of the code in order; ``active`` the (at most 5) groups in the join way
now. Whoever changes them (two servers may rebalance one code at once) writes with
:func:`set_pool_active`, a compare-and-set on ``version``: the loser reads again and decides anew.

A join is stored once per event (``dedupe_key`` is unique): :func:`record_join` returns False for
a retried callback.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import read_connection
from storage.models import CustomerGroupRow, GroupCodeJoinRow, GroupCodeRow, table_of, utcnow

_codes = table_of(GroupCodeRow)
_joins = table_of(GroupCodeJoinRow)
_groups = table_of(CustomerGroupRow)

LIVE: Final = ("pending", "active")
STATE_PREFIX: Final = "gc"
STATE_CHARS: Final = 30  # the platform's limit of a join way's state
SLUG_BYTES: Final = 12  # 16 url-safe characters
KEY_MAX: Final = 255  # group_code_joins.dedupe_key
NAME_MAX: Final = 64


@dataclass(frozen=True)
class GroupCode:
    id: int
    app: str
    name: str
    slug: str
    state: str
    config_id: str | None
    qr_code: str
    pool: tuple[str, ...]
    active: tuple[str, ...]
    auto_create: bool
    base_name: str
    base_id: int
    full_members: int
    low_water: int
    warned: bool
    status: str
    detail: str
    version: int
    created_by: str
    chat: str
    created_at: datetime
    updated_at: datetime

    @property
    def live(self) -> bool:
        return self.status in LIVE


@dataclass(frozen=True)
class PoolGroup:
    """A customer group of a pool as we know it (customer_groups)."""

    chat_id: str
    name: str
    member_count: int
    status: str

    @property
    def dismissed(self) -> bool:
        return self.status != "active"


@dataclass(frozen=True)
class JoinCount:
    """Customers who joined one group of one code on one day."""

    day: date
    code_id: int
    chat_id: str
    count: int


@dataclass(frozen=True)
class Rebalanced:
    """What one rebalance of a code did (``code``: the code afterwards)."""

    code: GroupCode
    added: tuple[str, ...] = ()  # groups WeCom created that joined the pool
    entered: tuple[str, ...] = ()  # groups that came into the join way
    left: tuple[str, ...] = ()  # groups taken out of it (full or dismissed)
    room: int = 0  # groups of the pool with room
    told: tuple[str, ...] = ()  # what admins were told

    @property
    def changed(self) -> bool:
        return bool(self.added or self.entered or self.left)


def new_state() -> str:
    """A fresh join-way state: ``gc`` and 16 random lowercase letters and digits."""
    alphabet = string.ascii_lowercase + string.digits
    return STATE_PREFIX + "".join(secrets.choice(alphabet) for _ in range(16))


def new_slug() -> str:
    """A fresh landing-page id: 16 random url-safe characters."""
    return secrets.token_urlsafe(SLUG_BYTES)


def _code(row: Any) -> GroupCode:
    m = row._mapping
    return GroupCode(
        id=m["id"],
        app=m["app"],
        name=m["name"],
        slug=m["slug"],
        state=m["state"],
        config_id=m["config_id"],
        qr_code=m["qr_code"] or "",
        pool=tuple(str(c) for c in m["pool"] or ()),
        active=tuple(str(c) for c in m["active"] or ()),
        auto_create=bool(m["auto_create"]),
        base_name=m["base_name"] or "",
        base_id=int(m["base_id"]),
        full_members=int(m["full_members"]),
        low_water=int(m["low_water"]),
        warned=bool(m["warned"]),
        status=m["status"],
        detail=m["detail"] or "",
        version=int(m["version"]),
        created_by=m["created_by"] or "",
        chat=m["chat"] or "",
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


async def _one(engine: AsyncEngine, query: Any) -> GroupCode | None:
    async with read_connection(engine) as conn:
        row = (await conn.execute(query)).first()
    return _code(row) if row is not None else None


async def add(
    engine: AsyncEngine,
    app: str,
    name: str,
    *,
    pool: Sequence[str],
    auto_create: bool,
    base_name: str,
    base_id: int = 1,
    full_members: int,
    low_water: int,
    created_by: str,
    chat: str,
) -> GroupCode | None:
    """Store a ``pending`` code with a fresh slug and state (before the platform call, so a
    crash in between leaves a visible pending code, never an unknown join way); None when the
    app has a code of that name."""
    now = utcnow()
    values = {
        "app": app,
        "name": name,
        "slug": new_slug(),
        "state": new_state(),
        "config_id": None,
        "qr_code": "",
        "pool": list(pool),
        "active": [],
        "auto_create": auto_create,
        "base_name": base_name,
        "base_id": base_id,
        "full_members": full_members,
        "low_water": low_water,
        "warned": False,
        "status": "pending",
        "detail": "",
        "version": 0,
        "created_by": created_by,
        "chat": chat,
        "created_at": now,
        "updated_at": now,
    }
    try:
        async with engine.begin() as conn:
            result = await conn.execute(_codes.insert().values(**values))
            (code_id,) = result.inserted_primary_key or (0,)
    except IntegrityError:
        return None
    return await by_id(engine, int(code_id))


async def activate(
    engine: AsyncEngine,
    code_id: int,
    config_id: str,
    qr_code: str,
    active: Sequence[str],
    *,
    warned: bool = False,
) -> None:
    """The platform made the code's join way: it is ``active`` over ``active``."""
    async with engine.begin() as conn:
        await conn.execute(
            update(_codes)
            .where(_codes.c.id == code_id)
            .values(
                config_id=config_id,
                qr_code=qr_code,
                active=list(active),
                warned=warned,
                status="active",
                detail="",
                version=_codes.c.version + 1,
                updated_at=utcnow(),
            )
        )


async def _rename(engine: AsyncEngine, code_id: int, status: str, detail: str | None) -> bool:
    """Give the code ``status`` and free its name; False when it was not live."""
    async with engine.begin() as conn:
        row = (
            await conn.execute(
                select(_codes.c.name).where(_codes.c.id == code_id, _codes.c.status.in_(LIVE))
            )
        ).first()
        if row is None:
            return False
        values: dict[str, Any] = {
            "status": status,
            "name": f"~{code_id}~{row[0]}"[:NAME_MAX],
            "version": _codes.c.version + 1,
            "updated_at": utcnow(),
        }
        if detail is not None:
            values["detail"] = detail
        await conn.execute(update(_codes).where(_codes.c.id == code_id).values(**values))
        return True


async def fail(engine: AsyncEngine, code_id: int, detail: str) -> None:
    """A code the platform did not make: it gives up its name, the reason is kept."""
    await _rename(engine, code_id, "failed", detail)


async def remove(engine: AsyncEngine, code_id: int) -> bool:
    """Mark a code removed and free its name; False when it was not live."""
    return await _rename(engine, code_id, "removed", None)


async def by_name(engine: AsyncEngine, app: str, name: str) -> GroupCode | None:
    return await _one(engine, select(_codes).where(_codes.c.app == app, _codes.c.name == name))


async def by_id(engine: AsyncEngine, code_id: int) -> GroupCode | None:
    return await _one(engine, select(_codes).where(_codes.c.id == code_id))


async def by_slug(engine: AsyncEngine, slug: str) -> GroupCode | None:
    return await _one(engine, select(_codes).where(_codes.c.slug == slug))


async def by_state(engine: AsyncEngine, app: str, state: str) -> GroupCode | None:
    """The code whose join way has this state (removed codes too)."""
    return await _one(engine, select(_codes).where(_codes.c.app == app, _codes.c.state == state))


async def codes(engine: AsyncEngine, app: str) -> list[GroupCode]:
    """The app's live codes (pending or active), oldest first."""
    async with read_connection(engine) as conn:
        rows = await conn.execute(
            select(_codes)
            .where(_codes.c.app == app, _codes.c.status.in_(LIVE))
            .order_by(_codes.c.id)
        )
        return [_code(r) for r in rows]


async def codes_with_chat(engine: AsyncEngine, app: str, chat_id: str) -> list[GroupCode]:
    """The app's live codes whose pool holds the group ``chat_id``."""
    return [c for c in await codes(engine, app) if chat_id in c.pool]


async def _swap(engine: AsyncEngine, code_id: int, version: int, values: dict[str, Any]) -> bool:
    async with engine.begin() as conn:
        result = await conn.execute(
            update(_codes)
            .where(
                _codes.c.id == code_id,
                _codes.c.version == version,
                _codes.c.status.in_(LIVE),
            )
            .values(**values, version=version + 1, updated_at=utcnow())
        )
        return bool(result.rowcount)


async def set_pool_active(
    engine: AsyncEngine,
    code_id: int,
    version: int,
    *,
    pool: Sequence[str],
    active: Sequence[str],
    warned: bool | None = None,
    detail: str | None = None,
) -> bool:
    """Write the code's pool and active groups (and ``warned`` / ``detail`` when given) if it
    is still live at ``version``; False when someone changed it since (read it again)."""
    values: dict[str, Any] = {"pool": list(pool), "active": list(active)}
    if warned is not None:
        values["warned"] = warned
    if detail is not None:
        values["detail"] = detail
    return await _swap(engine, code_id, version, values)


async def set_warned(engine: AsyncEngine, code_id: int, version: int, warned: bool) -> bool:
    """Compare-and-set ``warned`` (only the server that wins tells the admins)."""
    return await _swap(engine, code_id, version, {"warned": warned})


async def set_full_members(engine: AsyncEngine, code_id: int, version: int, members: int) -> bool:
    """Compare-and-set when a group of the code counts as full."""
    return await _swap(engine, code_id, version, {"full_members": members})


async def pool_groups(
    engine: AsyncEngine, app: str, chat_ids: Sequence[str]
) -> dict[str, PoolGroup]:
    """The groups among ``chat_ids`` that we know (customer_groups), by chat id."""
    if not chat_ids:
        return {}
    async with read_connection(engine) as conn:
        rows = await conn.execute(
            select(
                _groups.c.chat_id, _groups.c.name, _groups.c.member_count, _groups.c.status
            ).where(_groups.c.app == app, _groups.c.chat_id.in_(list(chat_ids)))
        )
        return {
            r.chat_id: PoolGroup(r.chat_id, r.name, int(r.member_count), r.status) for r in rows
        }


def _join_key(key: str) -> str:
    if len(key) <= KEY_MAX:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{key[: KEY_MAX - len(digest) - 1]}#{digest}"


async def record_join(
    engine: AsyncEngine,
    *,
    dedupe_key: str,
    code_id: int,
    chat_id: str,
    count: int,
    day: date,
    at: datetime,
) -> bool:
    """Count ``count`` customers who joined ``chat_id`` through the code; False when this
    event was counted before (a retried callback)."""
    try:
        async with engine.begin() as conn:
            await conn.execute(
                _joins.insert().values(
                    dedupe_key=_join_key(dedupe_key),
                    code_id=code_id,
                    chat_id=chat_id,
                    count=count,
                    day=day,
                    at=at,
                )
            )
    except IntegrityError:
        return False
    return True


async def join_stats(
    engine: AsyncEngine,
    first_day: date,
    last_day: date,
    *,
    code_id: int | None = None,
    app: str | None = None,
) -> list[JoinCount]:
    """Joins per day, code and group between two local days (both included), of one code or
    of every code of an app; by day, then code, then group."""
    if (code_id is None) == (app is None):
        raise ValueError("give code_id or app")
    query = (
        select(_joins.c.day, _joins.c.code_id, _joins.c.chat_id, func.sum(_joins.c.count))
        .where(_joins.c.day >= first_day, _joins.c.day <= last_day)
        .group_by(_joins.c.day, _joins.c.code_id, _joins.c.chat_id)
        .order_by(_joins.c.day, _joins.c.code_id, _joins.c.chat_id)
    )
    if code_id is not None:
        query = query.where(_joins.c.code_id == code_id)
    else:
        query = query.where(_joins.c.code_id.in_(select(_codes.c.id).where(_codes.c.app == app)))
    async with read_connection(engine) as conn:
        rows = await conn.execute(query)
        return [JoinCount(r[0], int(r[1]), str(r[2]), int(r[3] or 0)) for r in rows]
