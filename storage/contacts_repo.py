"""Customer contact (客户联系) records: lead channels, reception groups, channel live codes, the
customer change events counted in the stats, and per-app contact settings.

Channels, reception groups and codes are found by name within a WeCom app; a removed one keeps
its row (stats still name it) but gives up its name (renamed ``~<id>~<name>``), so a new one may
take it. Codes are also found by ``state``, which WeCom echoes in add events.

A customer change is stored once per event (``dedupe_key`` is unique): :func:`claim_add` and
:func:`record_delete` return None for a retried callback, which is how a retry never sends a
second welcome.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import and_, case, desc, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.db import read_connection, upsert
from storage.models import (
    ContactEventRow,
    ContactSettingsRow,
    LeadChannelRow,
    LiveCodeRow,
    ReceptionGroupRow,
    table_of,
    utcnow,
)

_channels = table_of(LeadChannelRow)
_groups = table_of(ReceptionGroupRow)
_codes = table_of(LiveCodeRow)
_events = table_of(ContactEventRow)
_settings = table_of(ContactSettingsRow)

STATE_PREFIX = "lc"
STATE_CHARS = 30  # the platform's limit of a contact way's state


@dataclass(frozen=True)
class LeadChannel:
    id: int
    app: str
    name: str
    welcome: dict[str, Any]
    tags: tuple[str, ...]
    status: str
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class ReceptionGroup:
    id: int
    app: str
    name: str
    staff: tuple[str, ...]
    remark: str
    status: str
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class LiveCode:
    id: int
    app: str
    name: str
    state: str
    channel_id: int
    group_id: int
    skip_verify: bool
    config_id: str | None
    qr_code: str
    status: str
    detail: str
    created_by: str
    chat: str
    created_at: datetime


@dataclass(frozen=True)
class ContactEvent:
    id: int
    app: str
    kind: str
    userid: str
    external_userid: str
    state: str
    code_id: int | None
    channel_id: int | None
    group_id: int | None
    day: date
    at: datetime
    received_at: datetime
    welcome_status: str
    welcome_detail: str
    welcome_ms: int | None
    followup: str
    followup_detail: str
    remark: str


def _channel(row: Any) -> LeadChannel:
    m = row._mapping
    return LeadChannel(
        m["id"],
        m["app"],
        m["name"],
        dict(m["welcome"] or {}),
        tuple(str(t) for t in m["tags"] or []),
        m["status"],
        m["created_by"] or "",
        m["created_at"],
    )


def _group(row: Any) -> ReceptionGroup:
    m = row._mapping
    return ReceptionGroup(
        m["id"],
        m["app"],
        m["name"],
        tuple(str(u) for u in m["staff"] or []),
        m["remark"] or "",
        m["status"],
        m["created_by"] or "",
        m["created_at"],
    )


def _code(row: Any) -> LiveCode:
    m = row._mapping
    return LiveCode(
        m["id"],
        m["app"],
        m["name"],
        m["state"],
        m["channel_id"],
        m["group_id"],
        bool(m["skip_verify"]),
        m["config_id"],
        m["qr_code"] or "",
        m["status"],
        m["detail"] or "",
        m["created_by"] or "",
        m["chat"] or "",
        m["created_at"],
    )


def _event(row: Any) -> ContactEvent:
    m = row._mapping
    return ContactEvent(
        m["id"],
        m["app"],
        m["kind"],
        m["userid"],
        m["external_userid"],
        m["state"] or "",
        m["code_id"],
        m["channel_id"],
        m["group_id"],
        m["day"],
        m["at"],
        m["received_at"],
        m["welcome_status"],
        m["welcome_detail"] or "",
        m["welcome_ms"],
        m["followup"],
        m["followup_detail"] or "",
        m["remark"] or "",
    )


async def _one(engine: AsyncEngine, query: Any) -> Any:
    async with read_connection(engine) as conn:
        return (await conn.execute(query)).first()


async def _insert(engine: AsyncEngine, table: Any, values: dict[str, Any]) -> int | None:
    """Insert a row; its id, or None when a unique key (the name) is taken."""
    try:
        async with engine.begin() as conn:
            result = await conn.execute(table.insert().values(**values))
            (row_id,) = result.inserted_primary_key or (0,)
            return int(row_id)
    except IntegrityError:
        return None


async def _retire(engine: AsyncEngine, table: Any, row_id: int) -> bool:
    """Mark a row removed and free its name; False when it was not live."""
    async with engine.begin() as conn:
        row = (
            await conn.execute(
                select(table.c.name).where(table.c.id == row_id, table.c.status != "removed")
            )
        ).first()
        if row is None:
            return False
        await conn.execute(
            update(table)
            .where(table.c.id == row_id)
            .values(status="removed", name=f"~{row_id}~{row[0]}"[:64], updated_at=utcnow())
        )
        return True


# Lead channels


async def add_channel(
    engine: AsyncEngine,
    app: str,
    name: str,
    *,
    welcome: dict[str, Any],
    tags: Sequence[str],
    created_by: str,
) -> int | None:
    """Store a lead channel; its id, or None when the app has one of that name."""
    now = utcnow()
    return await _insert(
        engine,
        _channels,
        {
            "app": app,
            "name": name,
            "welcome": welcome,
            "tags": list(tags),
            "status": "active",
            "created_by": created_by,
            "created_at": now,
            "updated_at": now,
        },
    )


async def channel(engine: AsyncEngine, app: str, name: str) -> LeadChannel | None:
    row = await _one(
        engine, select(_channels).where(_channels.c.app == app, _channels.c.name == name)
    )
    return _channel(row) if row is not None else None


async def channel_by_id(engine: AsyncEngine, channel_id: int) -> LeadChannel | None:
    row = await _one(engine, select(_channels).where(_channels.c.id == channel_id))
    return _channel(row) if row is not None else None


async def channels(engine: AsyncEngine, app: str) -> list[LeadChannel]:
    """The app's live lead channels, oldest first."""
    async with read_connection(engine) as conn:
        rows = await conn.execute(
            select(_channels)
            .where(_channels.c.app == app, _channels.c.status != "removed")
            .order_by(_channels.c.id)
        )
        return [_channel(r) for r in rows]


async def update_channel(
    engine: AsyncEngine,
    channel_id: int,
    *,
    welcome: dict[str, Any] | None = None,
    tags: Sequence[str] | None = None,
) -> bool:
    """Change a live channel's welcome and/or tags; False when there is no such channel."""
    values: dict[str, Any] = {"updated_at": utcnow()}
    if welcome is not None:
        values["welcome"] = welcome
    if tags is not None:
        values["tags"] = list(tags)
    async with engine.begin() as conn:
        result = await conn.execute(
            update(_channels)
            .where(_channels.c.id == channel_id, _channels.c.status != "removed")
            .values(**values)
        )
        return bool(result.rowcount)


async def remove_channel(engine: AsyncEngine, channel_id: int) -> bool:
    return await _retire(engine, _channels, channel_id)


# Reception groups


async def add_group(
    engine: AsyncEngine,
    app: str,
    name: str,
    *,
    staff: Sequence[str],
    remark: str,
    created_by: str,
) -> int | None:
    """Store a reception group; its id, or None when the app has one of that name."""
    now = utcnow()
    return await _insert(
        engine,
        _groups,
        {
            "app": app,
            "name": name,
            "staff": list(staff),
            "remark": remark,
            "status": "active",
            "created_by": created_by,
            "created_at": now,
            "updated_at": now,
        },
    )


async def group(engine: AsyncEngine, app: str, name: str) -> ReceptionGroup | None:
    row = await _one(engine, select(_groups).where(_groups.c.app == app, _groups.c.name == name))
    return _group(row) if row is not None else None


async def group_by_id(engine: AsyncEngine, group_id: int) -> ReceptionGroup | None:
    row = await _one(engine, select(_groups).where(_groups.c.id == group_id))
    return _group(row) if row is not None else None


async def groups(engine: AsyncEngine, app: str) -> list[ReceptionGroup]:
    """The app's live reception groups, oldest first."""
    async with read_connection(engine) as conn:
        rows = await conn.execute(
            select(_groups)
            .where(_groups.c.app == app, _groups.c.status != "removed")
            .order_by(_groups.c.id)
        )
        return [_group(r) for r in rows]


async def update_group(
    engine: AsyncEngine,
    group_id: int,
    *,
    staff: Sequence[str] | None = None,
    remark: str | None = None,
) -> bool:
    """Change a live group's staff and/or remark pattern; False when there is no such group."""
    values: dict[str, Any] = {"updated_at": utcnow()}
    if staff is not None:
        values["staff"] = list(staff)
    if remark is not None:
        values["remark"] = remark
    async with engine.begin() as conn:
        result = await conn.execute(
            update(_groups)
            .where(_groups.c.id == group_id, _groups.c.status != "removed")
            .values(**values)
        )
        return bool(result.rowcount)


async def remove_group(engine: AsyncEngine, group_id: int) -> bool:
    return await _retire(engine, _groups, group_id)


# Channel live codes


def new_state() -> str:
    """A fresh contact-way state: ``lc`` and 12 random lowercase letters and digits."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return STATE_PREFIX + "".join(secrets.choice(alphabet) for _ in range(12))


async def add_code(
    engine: AsyncEngine,
    app: str,
    name: str,
    *,
    channel_id: int,
    group_id: int,
    skip_verify: bool,
    created_by: str,
    chat: str,
) -> LiveCode | None:
    """Store a ``pending`` code with a fresh state (before the platform call, so a crash in
    between leaves a visible pending code, never an unknown contact way); None when the app
    has a code of that name."""
    now = utcnow()
    code_id = await _insert(
        engine,
        _codes,
        {
            "app": app,
            "name": name,
            "state": new_state(),
            "channel_id": channel_id,
            "group_id": group_id,
            "skip_verify": skip_verify,
            "config_id": None,
            "qr_code": "",
            "status": "pending",
            "detail": "",
            "created_by": created_by,
            "chat": chat,
            "created_at": now,
            "updated_at": now,
        },
    )
    return None if code_id is None else await code_by_id(engine, code_id)


async def activate_code(engine: AsyncEngine, code_id: int, config_id: str, qr_code: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            update(_codes)
            .where(_codes.c.id == code_id)
            .values(
                config_id=config_id,
                qr_code=qr_code,
                status="active",
                detail="",
                updated_at=utcnow(),
            )
        )


async def fail_code(engine: AsyncEngine, code_id: int, detail: str) -> None:
    """A code the platform did not make: it gives up its name, the reason is kept."""
    async with engine.begin() as conn:
        row = (await conn.execute(select(_codes.c.name).where(_codes.c.id == code_id))).first()
        if row is None:
            return
        await conn.execute(
            update(_codes)
            .where(_codes.c.id == code_id)
            .values(
                status="failed",
                detail=detail,
                name=f"~{code_id}~{row[0]}"[:64],
                updated_at=utcnow(),
            )
        )


async def code(engine: AsyncEngine, app: str, name: str) -> LiveCode | None:
    row = await _one(engine, select(_codes).where(_codes.c.app == app, _codes.c.name == name))
    return _code(row) if row is not None else None


async def code_by_id(engine: AsyncEngine, code_id: int) -> LiveCode | None:
    row = await _one(engine, select(_codes).where(_codes.c.id == code_id))
    return _code(row) if row is not None else None


async def code_by_state(engine: AsyncEngine, app: str, state: str) -> LiveCode | None:
    """The code whose contact way has this state (removed codes too: their printed QR codes
    may still be scanned until the way is deleted)."""
    row = await _one(engine, select(_codes).where(_codes.c.app == app, _codes.c.state == state))
    return _code(row) if row is not None else None


async def codes(
    engine: AsyncEngine,
    app: str,
    *,
    channel_id: int | None = None,
    group_id: int | None = None,
) -> list[LiveCode]:
    """The app's live codes (pending or active), oldest first; of one channel or group."""
    query = select(_codes).where(_codes.c.app == app, _codes.c.status.in_(("pending", "active")))
    if channel_id is not None:
        query = query.where(_codes.c.channel_id == channel_id)
    if group_id is not None:
        query = query.where(_codes.c.group_id == group_id)
    async with read_connection(engine) as conn:
        return [_code(r) for r in await conn.execute(query.order_by(_codes.c.id))]


async def update_code(
    engine: AsyncEngine,
    code_id: int,
    *,
    channel_id: int | None = None,
    group_id: int | None = None,
) -> bool:
    values: dict[str, Any] = {"updated_at": utcnow()}
    if channel_id is not None:
        values["channel_id"] = channel_id
    if group_id is not None:
        values["group_id"] = group_id
    async with engine.begin() as conn:
        result = await conn.execute(
            update(_codes)
            .where(_codes.c.id == code_id, _codes.c.status != "removed")
            .values(**values)
        )
        return bool(result.rowcount)


async def remove_code(engine: AsyncEngine, code_id: int) -> bool:
    return await _retire(engine, _codes, code_id)


# Customer change events


@dataclass(frozen=True)
class AddContext:
    """What handling an add event needs, read in one go: the relation's newest event, the code
    its state names, that code's lead channel and the app's default welcome set by chat."""

    latest: ContactEvent | None
    code: LiveCode | None
    channel: LeadChannel | None
    default_welcome: dict[str, Any]


async def add_context(
    engine: AsyncEngine, app: str, userid: str, external_userid: str, state: str
) -> AddContext:
    async with read_connection(engine) as conn:
        latest = (
            await conn.execute(
                select(_events)
                .where(
                    _events.c.app == app,
                    _events.c.userid == userid,
                    _events.c.external_userid == external_userid,
                )
                .order_by(desc(_events.c.id))
                .limit(1)
            )
        ).first()
        code = None
        if state:
            code = (
                await conn.execute(
                    select(_codes).where(_codes.c.app == app, _codes.c.state == state)
                )
            ).first()
        channel = None
        if code is not None:
            channel = (
                await conn.execute(
                    select(_channels).where(_channels.c.id == code._mapping["channel_id"])
                )
            ).first()
        default = (
            await conn.execute(select(_settings.c.default_welcome).where(_settings.c.app == app))
        ).first()
    return AddContext(
        _event(latest) if latest is not None else None,
        _code(code) if code is not None else None,
        _channel(channel) if channel is not None else None,
        dict(default[0] or {}) if default is not None else {},
    )


async def claim_add(
    engine: AsyncEngine,
    *,
    dedupe_key: str,
    app: str,
    userid: str,
    external_userid: str,
    state: str,
    code: LiveCode | None,
    at: datetime,
    day: date,
    received_at: datetime,
    welcome_status: str,
    followup: str,
) -> ContactEvent | None:
    """Store an add event, counted to ``code`` (and its channel and group); None when this event
    was stored before (a retried callback: do nothing more)."""
    code_id, channel_id, group_id = (
        (code.id, code.channel_id, code.group_id) if code else (None, None, None)
    )
    values = {
        "dedupe_key": dedupe_key,
        "app": app,
        "kind": "add",
        "userid": userid,
        "external_userid": external_userid,
        "state": state,
        "code_id": code_id,
        "channel_id": channel_id,
        "group_id": group_id,
        "day": day,
        "at": at,
        "received_at": received_at,
        "welcome_status": welcome_status,
        "followup": followup,
    }
    event_id = await _insert(engine, _events, values)
    if event_id is None:
        return None
    return ContactEvent(
        event_id,
        app,
        "add",
        userid,
        external_userid,
        state,
        code_id,
        channel_id,
        group_id,
        day,
        at,
        received_at,
        welcome_status,
        "",
        None,
        followup,
        "",
        "",
    )


async def event_by_id(engine: AsyncEngine, event_id: int) -> ContactEvent | None:
    row = await _one(engine, select(_events).where(_events.c.id == event_id))
    return _event(row) if row is not None else None


async def finish_welcome(
    engine: AsyncEngine, event_id: int, status: str, detail: str, welcome_ms: int | None
) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            update(_events)
            .where(_events.c.id == event_id)
            .values(welcome_status=status, welcome_detail=detail, welcome_ms=welcome_ms)
        )


async def finish_followup(
    engine: AsyncEngine, event_id: int, status: str, detail: str, remark: str
) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            update(_events)
            .where(_events.c.id == event_id)
            .values(followup=status, followup_detail=detail, remark=remark)
        )


async def pending_followups(engine: AsyncEngine, limit: int = 100) -> list[ContactEvent]:
    """Adds whose remark and tags are not done yet, oldest first."""
    async with read_connection(engine) as conn:
        rows = await conn.execute(
            select(_events)
            .where(_events.c.followup == "pending")
            .order_by(_events.c.id)
            .limit(limit)
        )
        return [_event(r) for r in rows]


async def record_delete(
    engine: AsyncEngine,
    *,
    dedupe_key: str,
    app: str,
    kind: Literal["del_external", "del_follow"],
    userid: str,
    external_userid: str,
    at: datetime,
    day: date,
) -> ContactEvent | None:
    """Store a deletion, counted to the code, channel and group of the relation's latest add
    (none when we never saw the add); None when this event was stored before."""
    async with read_connection(engine) as conn:
        added = (
            await conn.execute(
                select(_events.c.code_id, _events.c.channel_id, _events.c.group_id, _events.c.state)
                .where(
                    _events.c.app == app,
                    _events.c.kind == "add",
                    _events.c.userid == userid,
                    _events.c.external_userid == external_userid,
                )
                .order_by(desc(_events.c.id))
                .limit(1)
            )
        ).first()
    values = {
        "dedupe_key": dedupe_key,
        "app": app,
        "kind": kind,
        "userid": userid,
        "external_userid": external_userid,
        "state": added[3] if added else "",
        "code_id": added[0] if added else None,
        "channel_id": added[1] if added else None,
        "group_id": added[2] if added else None,
        "day": day,
        "at": at,
        "received_at": utcnow(),
        "welcome_status": "none",
        "followup": "done",
    }
    event_id = await _insert(engine, _events, values)
    return None if event_id is None else await event_by_id(engine, event_id)


async def recent_events(
    engine: AsyncEngine, app: str, *, kind: str = "add", limit: int = 20, problems: bool = False
) -> list[ContactEvent]:
    """The app's latest events of a kind, newest first; with ``problems`` only adds whose
    welcome or follow-up did not go through."""
    query = select(_events).where(_events.c.app == app, _events.c.kind == kind)
    if problems:
        query = query.where(
            _events.c.welcome_status.in_(("used", "expired", "failed", "sending"))
            | (_events.c.followup == "failed")
        )
    async with read_connection(engine) as conn:
        rows = await conn.execute(query.order_by(desc(_events.c.id)).limit(limit))
        return [_event(r) for r in rows]


Dimension = Literal["channel", "code", "group", "staff"]
_DIMENSIONS = {
    "channel": _events.c.channel_id,
    "code": _events.c.code_id,
    "group": _events.c.group_id,
    "staff": _events.c.userid,
}


@dataclass(frozen=True)
class StatRow:
    """One day of one channel / code / reception group / staff member (``key``: the id, or the
    userid for staff; None for customers added outside any code)."""

    day: date
    key: int | str | None
    adds: int
    del_external: int
    del_follow: int
    welcomes_sent: int
    welcomes_missed: int
    welcome_ms_avg: float | None
    welcome_ms_max: int | None


async def stats(
    engine: AsyncEngine, app: str, by: Dimension, first_day: date, last_day: date
) -> list[StatRow]:
    """Counts per day and ``by`` between two local days (both included), by day then key."""
    key = _DIMENSIONS[by]
    kind = _events.c.kind

    def count(condition: Any) -> Any:
        return func.sum(case((condition, 1), else_=0))

    sent = and_(kind == "add", _events.c.welcome_status == "sent")
    missed = and_(kind == "add", _events.c.welcome_status.in_(("used", "expired", "failed")))
    query = (
        select(
            _events.c.day,
            key,
            count(kind == "add"),
            count(kind == "del_external"),
            count(kind == "del_follow"),
            count(sent),
            count(missed),
            func.avg(case((sent, _events.c.welcome_ms), else_=None)),
            func.max(case((sent, _events.c.welcome_ms), else_=None)),
        )
        .where(_events.c.app == app, _events.c.day >= first_day, _events.c.day <= last_day)
        .group_by(_events.c.day, key)
        .order_by(_events.c.day, key)
    )
    async with read_connection(engine) as conn:
        rows = await conn.execute(query)
        return [
            StatRow(
                r[0],
                r[1],
                int(r[2] or 0),
                int(r[3] or 0),
                int(r[4] or 0),
                int(r[5] or 0),
                int(r[6] or 0),
                float(r[7]) if r[7] is not None else None,
                int(r[8]) if r[8] is not None else None,
            )
            for r in rows
        ]


async def welcome_latencies(
    engine: AsyncEngine, app: str, first_day: date, last_day: date
) -> list[int]:
    """The welcome latencies (ms) of the sent welcomes between two local days, sorted."""
    async with read_connection(engine) as conn:
        rows = await conn.execute(
            select(_events.c.welcome_ms)
            .where(
                _events.c.app == app,
                _events.c.kind == "add",
                _events.c.welcome_status == "sent",
                _events.c.welcome_ms.is_not(None),
                _events.c.day >= first_day,
                _events.c.day <= last_day,
            )
            .order_by(_events.c.welcome_ms)
        )
        return [int(r[0]) for r in rows]


# Settings


async def default_welcome(engine: AsyncEngine, app: str) -> dict[str, Any]:
    """The app's default welcome set by chat ({} when none: the settings file's applies)."""
    row = await _one(engine, select(_settings.c.default_welcome).where(_settings.c.app == app))
    return dict(row[0] or {}) if row is not None else {}


async def set_default_welcome(
    engine: AsyncEngine, app: str, welcome: dict[str, Any], updated_by: str
) -> None:
    async with engine.begin() as conn:
        await _upsert_settings(conn, app, welcome, updated_by)


async def _upsert_settings(
    conn: AsyncConnection, app: str, welcome: dict[str, Any], updated_by: str
) -> None:
    now = utcnow()
    stmt = upsert(_settings, conn).values(
        app=app, default_welcome=welcome, updated_by=updated_by, updated_at=now
    )
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[_settings.c.app],
            set_={"default_welcome": welcome, "updated_by": updated_by, "updated_at": now},
        )
    )
