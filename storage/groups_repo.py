"""WeCom customer groups (客户群) as we know them, and members joining and leaving them by day.

Rows come from the platform: a full sync (every group listed, then read), or one group re-read
after a change_external_chat event. ``tags`` are our own labels (for group SOP targeting) and are
never touched by either. ``group_daily`` counts joins and quits per group per day in the
configured time zone, from the events' member counts.

``synced_at`` is when we last learned a group's state from the platform. A full sync writes every
group it read with ``synced_at`` = the time it started, and does not overwrite a group learned of
later (an event handled meanwhile); then it marks the app's other active groups dismissed, again
except those learned of since it started: a group created while the sync was listing is not lost.

An event is applied once: its dedupe key goes into ``staff_updates`` (the dedupe store of the
WeCom app callback, pruned with the others) in the transaction that counts its joins or quits,
so a retry of an event that was handled re-reads the group but counts nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import Select, String, and_, desc, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from storage.db import read_connection, upsert
from storage.models import (
    CustomerGroupRow,
    GroupDailyRow,
    StaffUpdateRow,
    table_of,
    utcnow,
)

_groups = table_of(CustomerGroupRow)
_daily = table_of(GroupDailyRow)
_updates = table_of(StaffUpdateRow)

ACTIVE: Final = "active"
DISMISSED: Final = "dismissed"
SORTS: Final = ("members", "joins", "quits", "name", "created")
KEY_MAX = 128  # staff_updates.dedupe_key


@dataclass(frozen=True)
class GroupInfo:
    """One group as the platform describes it (groupchat/get)."""

    chat_id: str
    name: str
    owner: str
    notice: str
    member_count: int
    created_at: datetime | None


@dataclass(frozen=True)
class Group:
    """One group as we know it, with its joins and quits on the day asked about."""

    app: str
    chat_id: str
    name: str
    owner: str
    notice: str
    member_count: int
    created_at: datetime | None
    status: str
    tags: tuple[str, ...]
    synced_at: datetime | None
    updated_at: datetime
    joins: int = 0
    quits: int = 0

    @property
    def active(self) -> bool:
        return self.status == ACTIVE


@dataclass(frozen=True)
class GroupPage:
    groups: list[Group]
    total: int  # every group that matched, beyond the page too


@dataclass(frozen=True)
class SyncResult:
    saved: int  # groups written from this sync's reads
    dismissed: int  # known groups no longer listed, marked dismissed
    active: int  # active groups of the app afterwards


@dataclass(frozen=True)
class GroupEvent:
    """What one change_external_chat event does to our records."""

    app: str
    chat_id: str
    key: str  # equal for every retry of the event
    day: date  # the event's day in the configured time zone
    group: GroupInfo | None = None  # the group as re-read after the event
    dismissed: bool = False
    joins: int = 0
    quits: int = 0


@dataclass(frozen=True)
class DayCount:
    day: date
    joins: int
    quits: int


def local_day(at: datetime, timezone: str) -> date:
    """The calendar day of ``at`` (aware) in ``timezone``."""
    return at.astimezone(ZoneInfo(timezone)).date()


def _group(row: Any) -> Group:
    return Group(
        app=row.app,
        chat_id=row.chat_id,
        name=row.name,
        owner=row.owner,
        notice=row.notice,
        member_count=int(row.member_count),
        created_at=row.group_created_at,
        status=row.status,
        tags=tuple(str(t) for t in row.tags or ()),
        synced_at=row.synced_at,
        updated_at=row.updated_at,
        joins=int(getattr(row, "joins_today", 0) or 0),
        quits=int(getattr(row, "quits_today", 0) or 0),
    )


def _values(app: str, info: GroupInfo, synced_at: datetime, now: datetime) -> dict[str, Any]:
    return {
        "app": app,
        "chat_id": info.chat_id,
        "name": info.name,
        "owner": info.owner,
        "notice": info.notice,
        "member_count": info.member_count,
        "group_created_at": info.created_at,
        "status": ACTIVE,
        "tags": [],
        "synced_at": synced_at,
        "updated_at": now,
    }


def _upsert(conn: AsyncConnection, guard: datetime | None = None) -> Any:
    """An upsert of platform fields (never ``tags``); with ``guard``, a known group is only
    overwritten when we learned of it no later than ``guard``."""
    ins = upsert(_groups, conn)
    fields = (
        "name",
        "owner",
        "notice",
        "member_count",
        "group_created_at",
        "status",
        "synced_at",
        "updated_at",
    )
    where = None
    if guard is not None:
        where = or_(_groups.c.synced_at.is_(None), _groups.c.synced_at <= guard)
    return ins.on_conflict_do_update(
        index_elements=["app", "chat_id"],
        set_={f: ins.excluded[f] for f in fields},
        where=where,
    )


async def save_synced(
    engine: AsyncEngine, app: str, groups: Sequence[GroupInfo], *, started_at: datetime
) -> SyncResult:
    """Write the groups a full sync read (it began listing at ``started_at``) and mark the app's
    other active groups dismissed, unless we learned of them after ``started_at``."""
    now = utcnow()
    async with engine.begin() as conn:
        if groups:
            await conn.execute(
                _upsert(conn, guard=started_at),
                [_values(app, g, started_at, now) for g in groups],
            )
        gone = await conn.execute(
            update(_groups)
            .where(
                _groups.c.app == app,
                _groups.c.status == ACTIVE,
                or_(_groups.c.synced_at.is_(None), _groups.c.synced_at < started_at),
            )
            .values(status=DISMISSED, updated_at=now)
        )
        active = await conn.scalar(
            select(func.count())
            .select_from(_groups)
            .where(_groups.c.app == app, _groups.c.status == ACTIVE)
        )
    return SyncResult(len(groups), int(gone.rowcount or 0), int(active or 0))


def _dedupe_key(key: str) -> str:
    if len(key) <= KEY_MAX:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{key[: KEY_MAX - len(digest) - 1]}#{digest}"


async def apply_event(engine: AsyncEngine, event: GroupEvent) -> bool:
    """Apply a group change; False when its key was seen before (a platform retry: the group
    is still updated, its joins and quits are not counted again)."""
    now = utcnow()
    async with engine.begin() as conn:
        ins = upsert(_updates, conn).on_conflict_do_nothing(index_elements=["dedupe_key"])
        first = (
            await conn.execute(
                ins.returning(_updates.c.dedupe_key),
                {"dedupe_key": _dedupe_key(event.key), "created_at": now},
            )
        ).first() is not None
        if event.group is not None:
            await conn.execute(_upsert(conn), _values(event.app, event.group, now, now))
        if event.dismissed:
            await conn.execute(
                update(_groups)
                .where(_groups.c.app == event.app, _groups.c.chat_id == event.chat_id)
                .values(status=DISMISSED, synced_at=now, updated_at=now)
            )
        if first and (event.joins or event.quits):
            daily = upsert(_daily, conn)
            await conn.execute(
                daily.on_conflict_do_update(
                    index_elements=["app", "chat_id", "day"],
                    set_={
                        "joins": _daily.c.joins + daily.excluded.joins,
                        "quits": _daily.c.quits + daily.excluded.quits,
                    },
                ),
                {
                    "app": event.app,
                    "chat_id": event.chat_id,
                    "day": event.day,
                    "joins": event.joins,
                    "quits": event.quits,
                },
            )
    return first


def _with_day(app: str, day: date) -> tuple[Select[Any], ColumnElement[int], ColumnElement[int]]:
    """The app's groups with their joins and quits of ``day`` (0 when none)."""
    joins = func.coalesce(_daily.c.joins, 0).label("joins_today")
    quits = func.coalesce(_daily.c.quits, 0).label("quits_today")
    joined = _groups.outerjoin(
        _daily,
        and_(
            _daily.c.app == _groups.c.app,
            _daily.c.chat_id == _groups.c.chat_id,
            _daily.c.day == day,
        ),
    )
    query = select(_groups, joins, quits).select_from(joined).where(_groups.c.app == app)
    return query, joins, quits


def _lower(column: Any) -> ColumnElement[str]:
    return func.lower(column, type_=String)


def _filters(
    app: str, words: Sequence[str], owner: str | None, include_dismissed: bool
) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = [_groups.c.app == app]
    if not include_dismissed:
        found.append(_groups.c.status == ACTIVE)
    if owner:
        found.append(_lower(_groups.c.owner) == owner.lower())
    words = [w for w in words if w]
    if words:
        by_name = and_(
            *(_lower(_groups.c.name).contains(w.lower(), autoescape=True) for w in words)
        )
        found.append(or_(by_name, _groups.c.chat_id == " ".join(words)))
    return found


async def list_groups(
    engine: AsyncEngine,
    app: str,
    *,
    timezone: str,
    now: datetime | None = None,
    words: Sequence[str] = (),
    owner: str | None = None,
    sort: str = "members",
    limit: int = 30,
    include_dismissed: bool = False,
) -> GroupPage:
    """The app's groups with today's joins and quits (today in ``timezone``): those whose name
    contains every word (case-insensitive) or whose chat_id is the words, owned by ``owner``
    (case-insensitive), in the order ``sort`` names (one of :data:`SORTS`; the biggest, newest
    or alphabetically first come first), at most ``limit`` of them."""
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}")
    day = local_day(now or utcnow(), timezone)
    query, joins, quits = _with_day(app, day)
    conditions = _filters(app, words, owner, include_dismissed)
    members, name, chat_id = _groups.c.member_count, _groups.c.name, _groups.c.chat_id
    created = _groups.c.group_created_at
    orders: dict[str, list[Any]] = {
        "members": [desc(members)],
        "joins": [desc(joins), desc(members)],
        "quits": [desc(quits), desc(members)],
        "name": [name],
        "created": [created.is_(None), desc(created)],
    }
    async with read_connection(engine) as conn:
        rows = await conn.execute(
            query.where(*conditions).order_by(*orders[sort], name, chat_id).limit(limit)
        )
        groups = [_group(r) for r in rows]
        total = await conn.scalar(select(func.count()).select_from(_groups).where(*conditions))
    return GroupPage(groups, int(total or 0))


async def find_groups(
    engine: AsyncEngine, app: str, ref: str, *, timezone: str, now: datetime | None = None
) -> list[Group]:
    """The group whose chat_id is ``ref``, else the groups named exactly ``ref`` (active ones
    first), with today's joins and quits."""
    day = local_day(now or utcnow(), timezone)
    query, _, _ = _with_day(app, day)
    async with read_connection(engine) as conn:
        row = (await conn.execute(query.where(_groups.c.chat_id == ref))).first()
        if row is not None:
            return [_group(row)]
        rows = await conn.execute(
            query.where(_groups.c.name == ref).order_by(
                _groups.c.status == DISMISSED, desc(_groups.c.member_count), _groups.c.chat_id
            )
        )
        return [_group(r) for r in rows]


async def daily(engine: AsyncEngine, app: str, chat_id: str, since: date) -> list[DayCount]:
    """A group's joins and quits per day from ``since`` on (days without any left out)."""
    async with read_connection(engine) as conn:
        rows = await conn.execute(
            select(_daily.c.day, _daily.c.joins, _daily.c.quits)
            .where(_daily.c.app == app, _daily.c.chat_id == chat_id, _daily.c.day >= since)
            .order_by(_daily.c.day)
        )
        return [DayCount(r.day, int(r.joins), int(r.quits)) for r in rows]


async def set_tags(
    engine: AsyncEngine, app: str, chat_id: str, tags: Sequence[str]
) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """Replace our labels of a group: (before, after), None when the group is unknown."""
    after = tuple(dict.fromkeys(tags))
    async with engine.begin() as conn:
        before = await conn.scalar(
            select(_groups.c.tags).where(_groups.c.app == app, _groups.c.chat_id == chat_id)
        )
        if before is None:
            return None
        await conn.execute(
            update(_groups)
            .where(_groups.c.app == app, _groups.c.chat_id == chat_id)
            .values(tags=list(after), updated_at=utcnow())
        )
    return tuple(str(t) for t in before), after
