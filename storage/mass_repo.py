"""Official Account mass sends (群发) and their platform calls (see ``handlers.mass_send``).

A send is made as a ``draft`` (content, audience, time), becomes ``scheduled`` when an admin
confirms it, ``sending`` when its job fires, ``submitted`` once every part was handed to the
platform, and ``done`` when the platform's MASSSENDJOBFINISH events for all parts arrived.
``cancelled`` and ``failed`` end it early. Parts are written before their platform call, with the
``clientmsgid`` the platform dedupes on, so a retried firing never sends a part twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import desc, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import read_connection
from storage.models import FollowerRow, MassSendPartRow, MassSendRow, table_of, utcnow

_sends = table_of(MassSendRow)
_parts = table_of(MassSendPartRow)
_followers = table_of(FollowerRow)

COUNTS = ("total", "filter", "sent", "errors")


@dataclass(frozen=True)
class MassSend:
    id: int
    account: str
    content: dict[str, Any]
    audience: dict[str, Any]
    audience_count: int
    status: str
    job_id: int | None
    send_at: datetime | None
    timezone: str
    totals: dict[str, Any]
    detail: str
    created_by: str
    chat: str
    created_at: datetime


@dataclass(frozen=True)
class Part:
    id: int
    send_id: int
    part: int
    clientmsgid: str
    recipients: int
    msg_id: str | None
    status: str
    result: dict[str, Any]


def _send(row: Any) -> MassSend:
    return MassSend(
        row.id,
        row.account,
        row.content,
        row.audience,
        row.audience_count,
        row.status,
        row.job_id,
        row.send_at,
        row.timezone,
        row.totals or {},
        row.detail,
        row.created_by,
        row.chat,
        row.created_at,
    )


def _part(row: Any) -> Part:
    return Part(
        row.id,
        row.send_id,
        row.part,
        row.clientmsgid,
        row.recipients,
        row.msg_id,
        row.status,
        row.result or {},
    )


async def add_send(
    engine: AsyncEngine,
    *,
    account: str,
    content: dict[str, Any],
    audience: dict[str, Any],
    audience_count: int,
    send_at: datetime | None,
    timezone: str,
    created_by: str,
    chat: str,
) -> int:
    now = utcnow()
    async with engine.begin() as conn:
        result = await conn.execute(
            _sends.insert().values(
                account=account,
                content=content,
                audience=audience,
                audience_count=audience_count,
                status="draft",
                send_at=send_at,
                timezone=timezone,
                totals={},
                detail="",
                created_by=created_by,
                chat=chat,
                created_at=now,
                updated_at=now,
            )
        )
        (send_id,) = result.inserted_primary_key or (0,)
        return int(send_id)


async def get(engine: AsyncEngine, account: str, send_id: int) -> MassSend | None:
    async with read_connection(engine) as conn:
        row = (
            await conn.execute(
                select(_sends).where(_sends.c.id == send_id, _sends.c.account == account)
            )
        ).first()
        return _send(row) if row is not None else None


async def by_id(engine: AsyncEngine, send_id: int) -> MassSend | None:
    async with read_connection(engine) as conn:
        row = (await conn.execute(select(_sends).where(_sends.c.id == send_id))).first()
        return _send(row) if row is not None else None


async def recent(engine: AsyncEngine, account: str, limit: int = 10) -> list[MassSend]:
    async with read_connection(engine) as conn:
        rows = await conn.execute(
            select(_sends)
            .where(_sends.c.account == account)
            .order_by(desc(_sends.c.id))
            .limit(limit)
        )
        return [_send(r) for r in rows]


async def move(
    engine: AsyncEngine,
    send_id: int,
    status: str,
    *,
    allowed: tuple[str, ...],
    detail: str | None = None,
    **values: Any,
) -> bool:
    """Set the send's status if it is in one of ``allowed`` (the check and the change are one
    statement, so two people or processes cannot both move it)."""
    changes: dict[str, Any] = {"status": status, "updated_at": utcnow(), **values}
    if detail is not None:
        changes["detail"] = detail[:2000]
    async with engine.begin() as conn:
        result = await conn.execute(
            update(_sends)
            .where(_sends.c.id == send_id, _sends.c.status.in_(allowed))
            .values(**changes)
        )
        return bool(result.rowcount)


async def set_job(engine: AsyncEngine, send_id: int, job_id: int) -> None:
    """Remember the send's scheduled job, whatever its status became meanwhile."""
    async with engine.begin() as conn:
        await conn.execute(update(_sends).where(_sends.c.id == send_id).values(job_id=job_id))


async def add_parts(
    engine: AsyncEngine, send: MassSend, parts: list[tuple[str, int]]
) -> list[Part]:
    """The send's parts, written once: ``parts`` is ``[(clientmsgid, recipients)]`` in order; a
    retried firing finds the rows of the first and keeps them."""
    async with engine.begin() as conn:
        known = (
            await conn.execute(select(func.count()).where(_parts.c.send_id == send.id))
        ).scalar_one()
        if not known:  # one firing of a send runs at a time (bot/scheduler.py)
            await conn.execute(
                _parts.insert(),
                [
                    {
                        "send_id": send.id,
                        "part": index,
                        "account": send.account,
                        "clientmsgid": clientmsgid,
                        "recipients": recipients,
                        "status": "pending",
                        "result": {},
                        "created_at": utcnow(),
                    }
                    for index, (clientmsgid, recipients) in enumerate(parts, start=1)
                ],
            )
    return await parts_of(engine, send.id)


async def parts_of(engine: AsyncEngine, send_id: int) -> list[Part]:
    async with read_connection(engine) as conn:
        rows = await conn.execute(
            select(_parts).where(_parts.c.send_id == send_id).order_by(_parts.c.part)
        )
        return [_part(r) for r in rows]


async def part_submitted(engine: AsyncEngine, part_id: int, msg_id: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            update(_parts)
            .where(_parts.c.id == part_id, _parts.c.status == "pending")
            .values(status="submitted", msg_id=msg_id)
        )


async def part_failed(engine: AsyncEngine, part_id: int, why: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            update(_parts)
            .where(_parts.c.id == part_id)
            .values(status="failed", result={"error": why[:500]}, finished_at=utcnow())
        )


async def finish_part(
    engine: AsyncEngine, account: str, msg_id: str, result: dict[str, Any]
) -> tuple[bool, MassSend | None]:
    """Record a part's MASSSENDJOBFINISH: (whether the msg_id is one of ours, the send once
    every part has finished; None while parts are outstanding or for a repeated event)."""
    async with engine.begin() as conn:
        part = (
            await conn.execute(
                select(_parts).where(_parts.c.account == account, _parts.c.msg_id == msg_id)
            )
        ).first()
        if part is None:
            return False, None
        if part.status == "finished":
            return True, None
        await conn.execute(
            update(_parts)
            .where(_parts.c.id == part.id)
            .values(status="finished", result=result, finished_at=utcnow())
        )
        parts = (await conn.execute(select(_parts).where(_parts.c.send_id == part.send_id))).all()
        totals = {k: sum(int((p.result or {}).get(k, 0)) for p in parts) for k in COUNTS}
        open_parts = [p for p in parts if p.status in ("pending", "submitted")]
        values: dict[str, Any] = {"totals": totals, "updated_at": utcnow()}
        done = not open_parts
        if done:
            values["status"] = "done"
        await conn.execute(
            update(_sends)
            .where(_sends.c.id == part.send_id, _sends.c.status.in_(("sending", "submitted")))
            .values(**values)
        )
        row = (await conn.execute(select(_sends).where(_sends.c.id == part.send_id))).first()
    return True, _send(row) if done and row is not None else None


async def submitting(engine: AsyncEngine, account: str) -> bool:
    """Whether a part of the account is being handed to the platform (no msg_id yet)."""
    async with read_connection(engine) as conn:
        found = (
            await conn.execute(
                select(_parts.c.id)
                .where(_parts.c.account == account, _parts.c.status == "pending")
                .limit(1)
            )
        ).first()
        return found is not None


async def channel_openids(engine: AsyncEngine, account: str, channel: str) -> list[str]:
    """The followers who came through ``channel`` (their first channel) and still follow."""
    async with read_connection(engine) as conn:
        rows = await conn.execute(
            select(_followers.c.openid)
            .where(
                _followers.c.account == account,
                _followers.c.first_channel == channel,
                _followers.c.subscribed.is_(True),
            )
            .order_by(_followers.c.openid)
        )
        return [r.openid for r in rows]


async def channel_count(engine: AsyncEngine, account: str, channel: str) -> int:
    async with read_connection(engine) as conn:
        return int(
            (
                await conn.execute(
                    select(func.count()).where(
                        _followers.c.account == account,
                        _followers.c.first_channel == channel,
                        _followers.c.subscribed.is_(True),
                    )
                )
            ).scalar_one()
        )
