"""Reply configuration rows: keyword rules, channels, event replies, and the revision counter."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.db import read_connection, upsert
from storage.models import (
    Base,
    ChannelRow,
    ConfigRevisionRow,
    EventReplyRow,
    KeywordRuleRow,
    MenuRow,
    table_of,
    utcnow,
)

_revisions = table_of(ConfigRevisionRow)
_menus = table_of(MenuRow)


@dataclass(frozen=True)
class StoredConfig:
    """One account's rows as plain dicts (column name -> value), in configuration order."""

    revision: int
    rules: list[dict[str, Any]]
    channels: list[dict[str, Any]]
    event_replies: list[dict[str, Any]]
    menu: list[dict[str, Any]]


async def load(engine: AsyncEngine, account: str) -> StoredConfig:
    rules, channels, replies = (table_of(t) for t in (KeywordRuleRow, ChannelRow, EventReplyRow))
    async with read_connection(engine) as conn, conn.begin():
        return StoredConfig(
            await _revision(conn, account),
            await _dicts(
                conn,
                select(rules)
                .where(rules.c.account == account)
                .order_by(rules.c.position, rules.c.id),
            ),
            await _dicts(
                conn, select(channels).where(channels.c.account == account).order_by(channels.c.id)
            ),
            await _dicts(
                conn,
                select(replies)
                .where(replies.c.account == account)
                .order_by(replies.c.trigger, replies.c.key),
            ),
            list(
                await conn.scalar(select(_menus.c.buttons).where(_menus.c.account == account)) or []
            ),
        )


async def _dicts(conn: AsyncConnection, query: Select[Any]) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in await conn.execute(query)]


async def revisions(engine: AsyncEngine) -> dict[str, int]:
    async with read_connection(engine) as conn:
        rows = await conn.execute(select(_revisions.c.account, _revisions.c.revision))
        return {account: revision for account, revision in rows}


async def _revision(conn: AsyncConnection, account: str) -> int:
    value = await conn.scalar(select(_revisions.c.revision).where(_revisions.c.account == account))
    return int(value or 0)


async def replace(
    engine: AsyncEngine,
    account: str,
    rules: Sequence[dict[str, Any]],
    channels: Sequence[dict[str, Any]],
    event_replies: Sequence[dict[str, Any]],
    menu: Sequence[dict[str, Any]] = (),
) -> int:
    """Make the account's configuration exactly this; rows keep their ids by name. Returns the
    new revision."""
    now = utcnow()
    async with engine.begin() as conn:
        await _sync_by_name(conn, KeywordRuleRow, account, rules, now)
        await _sync_by_name(conn, ChannelRow, account, channels, now)
        await conn.execute(delete(EventReplyRow).where(EventReplyRow.account == account))
        if event_replies:
            await conn.execute(
                table_of(EventReplyRow).insert(),
                [{**r, "account": account, "updated_at": now} for r in event_replies],
            )
        ins = upsert(_menus, conn)
        await conn.execute(
            ins.on_conflict_do_update(
                index_elements=["account"],
                set_={"buttons": ins.excluded.buttons, "updated_at": ins.excluded.updated_at},
            ),
            {"account": account, "buttons": list(menu), "updated_at": now},
        )
        return await bump_revision(conn, account)


async def bump_revision(conn: AsyncConnection, account: str) -> int:
    ins = upsert(_revisions, conn)
    await conn.execute(
        ins.on_conflict_do_update(
            index_elements=["account"],
            set_={"revision": _revisions.c.revision + 1, "updated_at": ins.excluded.updated_at},
        ),
        {"account": account, "revision": 1, "updated_at": utcnow()},
    )
    return await _revision(conn, account)


async def _sync_by_name(
    conn: AsyncConnection, cls: type[Base], account: str, rows: Sequence[dict[str, Any]], now: Any
) -> None:
    table = table_of(cls)
    existing = {
        name: row_id
        for name, row_id in await conn.execute(
            select(table.c.name, table.c.id).where(table.c.account == account)
        )
    }
    wanted = {row["name"] for row in rows}
    gone = [row_id for name, row_id in existing.items() if name not in wanted]
    if gone:
        await conn.execute(delete(table).where(table.c.id.in_(gone)))
    for row in rows:
        values = {**row, "account": account, "updated_at": now}
        if row["name"] in existing:
            await conn.execute(
                table.update().where(table.c.id == existing[row["name"]]).values(values)
            )
        else:
            await conn.execute(table.insert().values({**values, "created_at": now}))


async def has_any(engine: AsyncEngine) -> bool:
    """Whether any account has configuration stored (used by ``opsbot import --if-empty``)."""
    async with read_connection(engine) as conn:
        for cls in (KeywordRuleRow, ChannelRow, EventReplyRow):
            if await conn.scalar(select(table_of(cls).c.account).limit(1)) is not None:
                return True
    return False


async def channels_without_qr(engine: AsyncEngine) -> list[tuple[str, str]]:
    """(account, channel name) of every channel that has no QR code yet."""
    channels = table_of(ChannelRow)
    async with read_connection(engine) as conn:
        rows = await conn.execute(
            select(channels.c.account, channels.c.name)
            .where(channels.c.qr_ticket.is_(None))
            .order_by(channels.c.id)
        )
        return [(account, name) for account, name in rows]


async def set_channel_qr(
    engine: AsyncEngine, account: str, name: str, ticket: str, url: str
) -> bool:
    """Store a channel's QR code unless another process stored one first."""
    channels = table_of(ChannelRow)
    async with engine.begin() as conn:
        result = await conn.execute(
            channels.update()
            .where(
                channels.c.account == account,
                channels.c.name == name,
                channels.c.qr_ticket.is_(None),
            )
            .values(qr_ticket=ticket, qr_url=url)
        )
        return bool(result.rowcount)


async def channel_qr_ticket(engine: AsyncEngine, account: str, name: str) -> str | None:
    channels = table_of(ChannelRow)
    async with read_connection(engine) as conn:
        ticket: str | None = await conn.scalar(
            select(channels.c.qr_ticket).where(
                channels.c.account == account, channels.c.name == name
            )
        )
        return ticket
