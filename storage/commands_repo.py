"""What the staff-chat command layer keeps: handled updates, roles, pending confirmations and
wizards, the audit log, configuration changes (for undo), menu versions and materials."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Integer, cast, delete, desc, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import read_connection, upsert
from storage.models import (
    AuditRow,
    ConfigChangeRow,
    FollowerRow,
    KeywordHitRow,
    KeywordRuleRow,
    MaterialRow,
    MenuVersionRow,
    PendingActionRow,
    RoleGrantRow,
    StaffUpdateRow,
    table_of,
    utcnow,
)

_updates = table_of(StaffUpdateRow)
_roles = table_of(RoleGrantRow)
_pending = table_of(PendingActionRow)
_audit = table_of(AuditRow)
_changes = table_of(ConfigChangeRow)
_versions = table_of(MenuVersionRow)
_materials = table_of(MaterialRow)
_followers = table_of(FollowerRow)
_hits = table_of(KeywordHitRow)
_rules = table_of(KeywordRuleRow)


async def first_time(engine: AsyncEngine, dedupe_key: str) -> bool:
    """Record a staff update; False when it was recorded before (a platform retry)."""
    async with engine.begin() as conn:
        ins = upsert(_updates, conn).on_conflict_do_nothing(index_elements=["dedupe_key"])
        result = await conn.execute(
            ins.returning(_updates.c.dedupe_key), {"dedupe_key": dedupe_key, "created_at": utcnow()}
        )
        return result.first() is not None


async def prune_updates(engine: AsyncEngine, before: datetime) -> int:
    async with engine.begin() as conn:
        result = await conn.execute(delete(_updates).where(_updates.c.created_at < before))
        return int(result.rowcount or 0)


# Roles


async def roles_of(engine: AsyncEngine, person: str) -> set[str]:
    async with read_connection(engine) as conn:
        rows = await conn.execute(select(_roles.c.role).where(_roles.c.person == person))
        return {role for (role,) in rows}


async def grant(engine: AsyncEngine, person: str, role: str, by: str) -> bool:
    """Give ``person`` the role; False when they had it already."""
    async with engine.begin() as conn:
        ins = upsert(_roles, conn).on_conflict_do_nothing(index_elements=["person", "role"])
        result = await conn.execute(
            ins.returning(_roles.c.person),
            {"person": person, "role": role, "granted_by": by, "granted_at": utcnow()},
        )
        return result.first() is not None


async def revoke(engine: AsyncEngine, person: str, role: str) -> bool:
    async with engine.begin() as conn:
        result = await conn.execute(
            delete(_roles).where(_roles.c.person == person, _roles.c.role == role)
        )
        return bool(result.rowcount)


async def all_roles(engine: AsyncEngine) -> list[tuple[str, str, str]]:
    """(person, role, granted_by) of every grant."""
    async with read_connection(engine) as conn:
        rows = await conn.execute(
            select(_roles.c.person, _roles.c.role, _roles.c.granted_by).order_by(
                _roles.c.role, _roles.c.person
            )
        )
        return [(p, r, b) for p, r, b in rows]


# Pending confirmations and wizards


@dataclass(frozen=True)
class Pending:
    person: str
    kind: str
    chat: str
    name: str
    data: dict[str, Any]
    expires_at: datetime


async def put_pending(engine: AsyncEngine, pending: Pending) -> None:
    async with engine.begin() as conn:
        ins = upsert(_pending, conn)
        await conn.execute(
            ins.on_conflict_do_update(
                index_elements=["person", "kind"],
                set_={
                    c: ins.excluded[c] for c in ("chat", "name", "data", "expires_at", "updated_at")
                },
            ),
            {
                "person": pending.person,
                "kind": pending.kind,
                "chat": pending.chat,
                "name": pending.name,
                "data": pending.data,
                "expires_at": pending.expires_at,
                "updated_at": utcnow(),
            },
        )


async def get_pending(engine: AsyncEngine, person: str, kind: str) -> Pending | None:
    async with read_connection(engine) as conn:
        row = (
            await conn.execute(
                select(_pending).where(_pending.c.person == person, _pending.c.kind == kind)
            )
        ).first()
    if row is None:
        return None
    m = row._mapping
    return Pending(m["person"], m["kind"], m["chat"], m["name"], dict(m["data"]), m["expires_at"])


async def take_pending(engine: AsyncEngine, person: str, kind: str) -> Pending | None:
    """Remove and return the pending action (None when there was none, or another request of
    the same person took it first)."""
    pending = await get_pending(engine, person, kind)
    if pending is None:
        return None
    async with engine.begin() as conn:
        result = await conn.execute(
            delete(_pending).where(
                _pending.c.person == person,
                _pending.c.kind == kind,
                _pending.c.expires_at == pending.expires_at,
            )
        )
    return pending if result.rowcount else None


async def drop_pending(
    engine: AsyncEngine, person: str, kinds: tuple[str, ...] = ("confirm", "wizard")
) -> list[str]:
    """Remove the pending confirmation and wizard of ``person``; returns their names."""
    mine = (_pending.c.person == person) & _pending.c.kind.in_(kinds)
    async with engine.begin() as conn:
        names = [name for (name,) in await conn.execute(select(_pending.c.name).where(mine))]
        await conn.execute(delete(_pending).where(mine))
        return names


# Audit


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    person: str
    chat: str
    command: str
    text: str
    outcome: str
    detail: str
    diff: dict[str, Any] | None


async def audit(
    engine: AsyncEngine,
    *,
    person: str,
    chat: str,
    command: str,
    text: str,
    outcome: str,
    detail: str = "",
    diff: dict[str, Any] | None = None,
) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            _audit.insert().values(
                at=utcnow(),
                person=person,
                chat=chat,
                command=command,
                text=text,
                outcome=outcome,
                detail=detail[:2000],
                diff=diff,
            )
        )


async def audit_entries(
    engine: AsyncEngine, *, limit: int, person: str | None = None
) -> list[AuditEntry]:
    query = select(_audit).order_by(desc(_audit.c.id)).limit(limit)
    if person is not None:
        query = query.where(_audit.c.person == person)
    async with read_connection(engine) as conn:
        rows = await conn.execute(query)
        return [AuditEntry(**dict(row._mapping)) for row in rows]


# Configuration changes (undo)


@dataclass(frozen=True)
class Change:
    id: int
    account: str
    person: str
    command: str
    before: dict[str, Any]
    after: dict[str, Any]
    at: datetime


async def record_change(
    engine: AsyncEngine,
    account: str,
    person: str,
    command: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            _changes.insert().values(
                account=account,
                person=person,
                command=command,
                before=before,
                after=after,
                at=utcnow(),
            )
        )


async def last_change(engine: AsyncEngine, account: str, person: str | None) -> Change | None:
    """The latest change not undone (by ``person``, or by anyone when None)."""
    query = (
        select(_changes)
        .where(_changes.c.account == account, _changes.c.undone_at.is_(None))
        .order_by(desc(_changes.c.id))
        .limit(1)
    )
    if person is not None:
        query = query.where(_changes.c.person == person)
    async with read_connection(engine) as conn:
        row = (await conn.execute(query)).first()
    if row is None:
        return None
    m = dict(row._mapping)
    m.pop("undone_at")
    return Change(**m)


async def mark_undone(engine: AsyncEngine, change_id: int) -> bool:
    async with engine.begin() as conn:
        result = await conn.execute(
            update(_changes)
            .where(_changes.c.id == change_id, _changes.c.undone_at.is_(None))
            .values(undone_at=utcnow())
        )
        return bool(result.rowcount)


# Menu versions


async def add_menu_version(
    engine: AsyncEngine, account: str, buttons: list[dict[str, Any]], person: str
) -> int:
    async with engine.begin() as conn:
        latest = await conn.scalar(
            select(func.max(_versions.c.version)).where(_versions.c.account == account)
        )
        version = int(latest or 0) + 1
        await conn.execute(
            _versions.insert().values(
                account=account,
                version=version,
                buttons=buttons,
                published_by=person,
                published_at=utcnow(),
            )
        )
        return version


async def menu_versions(engine: AsyncEngine, account: str, limit: int = 10) -> list[dict[str, Any]]:
    async with read_connection(engine) as conn:
        rows = await conn.execute(
            select(_versions)
            .where(_versions.c.account == account)
            .order_by(desc(_versions.c.version))
            .limit(limit)
        )
        return [dict(row._mapping) for row in rows]


# Materials


async def add_material(
    engine: AsyncEngine,
    account: str,
    name: str,
    kind: str,
    media_id: str,
    url: str,
    detail: dict[str, Any],
    person: str,
) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            _materials.insert().values(
                account=account,
                name=name,
                kind=kind,
                media_id=media_id,
                url=url,
                detail=detail,
                created_by=person,
                created_at=utcnow(),
            )
        )


async def material(engine: AsyncEngine, account: str, name: str) -> dict[str, Any] | None:
    async with read_connection(engine) as conn:
        row = (
            await conn.execute(
                select(_materials).where(_materials.c.account == account, _materials.c.name == name)
            )
        ).first()
        return dict(row._mapping) if row else None


async def materials(engine: AsyncEngine, account: str) -> list[dict[str, Any]]:
    async with read_connection(engine) as conn:
        rows = await conn.execute(
            select(_materials).where(_materials.c.account == account).order_by(_materials.c.id)
        )
        return [dict(row._mapping) for row in rows]


async def remove_material(engine: AsyncEngine, account: str, name: str) -> bool:
    async with engine.begin() as conn:
        result = await conn.execute(
            delete(_materials).where(_materials.c.account == account, _materials.c.name == name)
        )
        return bool(result.rowcount)


# Stats


async def followers_by_channel(engine: AsyncEngine, account: str) -> list[tuple[str, int, int]]:
    """(first channel or "", followers now subscribed, all who ever followed) per channel."""
    f = _followers
    subscribed = func.sum(cast(f.c.subscribed, Integer))
    async with read_connection(engine) as conn:
        rows = await conn.execute(
            select(f.c.first_channel, subscribed, func.count())
            .where(f.c.account == account)
            .group_by(f.c.first_channel)
            .order_by(desc(func.count()))
        )
        return [(channel or "", int(now or 0), int(total)) for channel, now, total in rows]


async def follows_by_day(
    engine: AsyncEngine, account: str, since: datetime
) -> list[tuple[date, int, int]]:
    """(UTC day, follows, unfollows) from ``since``."""
    f = _followers
    async with read_connection(engine) as conn:
        follows = await conn.execute(
            select(f.c.subscribed_at).where(f.c.account == account, f.c.subscribed_at >= since)
        )
        unfollows = await conn.execute(
            select(f.c.unsubscribed_at).where(f.c.account == account, f.c.unsubscribed_at >= since)
        )
        counts: dict[date, list[int]] = {}
        for (at,) in follows:
            counts.setdefault(at.date(), [0, 0])[0] += 1
        for (at,) in unfollows:
            counts.setdefault(at.date(), [0, 0])[1] += 1
    return [(day, a, b) for day, (a, b) in sorted(counts.items())]


async def keyword_hits(engine: AsyncEngine, account: str, since: date) -> list[tuple[str, int]]:
    """(rule name, hits since ``since``) for the rules that answered, most first."""
    async with read_connection(engine) as conn:
        rows = await conn.execute(
            select(_rules.c.name, func.sum(_hits.c.hits))
            .join(_rules, _rules.c.id == _hits.c.rule_id)
            .where(_hits.c.account == account, _hits.c.day >= since)
            .group_by(_rules.c.name)
            .order_by(desc(func.sum(_hits.c.hits)))
        )
        return [(name, int(total)) for name, total in rows]
