"""Access tokens in the database, shared by every process (see ``channels.tokens``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import read_connection, upsert
from storage.models import ApiTokenRow, table_of

_tokens = table_of(ApiTokenRow)


@dataclass(frozen=True, slots=True)
class StoredToken:
    token: str
    # When callers should stop using it: the platform's expiry minus a safety margin.
    use_until: datetime


class TokenStore:
    """Compare-and-set operations on the ``api_tokens`` table."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def load(self, key: str) -> StoredToken | None:
        async with read_connection(self._engine) as conn:
            row = (
                await conn.execute(
                    select(_tokens.c.token, _tokens.c.expires_at).where(_tokens.c.key == key)
                )
            ).first()
        if row is None or row.token is None or row.expires_at is None:
            return None
        return StoredToken(row.token, row.expires_at)

    async def try_lease(self, key: str, owner: str, now: datetime, until: datetime) -> bool:
        """Become the one process that refreshes ``key`` until ``until``; False if another is."""
        async with self._engine.begin() as conn:
            await conn.execute(
                upsert(_tokens, conn).on_conflict_do_nothing(index_elements=["key"]),
                {"key": key, "updated_at": now},
            )
            result = await conn.execute(
                _tokens.update()
                .where(
                    _tokens.c.key == key,
                    or_(
                        _tokens.c.lease_until.is_(None),
                        _tokens.c.lease_until < now,
                        _tokens.c.lease_owner == owner,
                    ),
                )
                .values(lease_owner=owner, lease_until=until, updated_at=now)
            )
            return bool(result.rowcount)

    async def save(self, key: str, owner: str, token: StoredToken, now: datetime) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                _tokens.update()
                .where(_tokens.c.key == key)
                .values(
                    token=token.token,
                    expires_at=token.use_until,
                    lease_owner=None,
                    lease_until=None,
                    updated_at=now,
                )
            )

    async def release(self, key: str, owner: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                _tokens.update()
                .where(_tokens.c.key == key, _tokens.c.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )

    async def discard(self, key: str, token: str) -> None:
        """Mark ``token`` unusable, unless another process already replaced it."""
        async with self._engine.begin() as conn:
            await conn.execute(
                _tokens.update()
                .where(_tokens.c.key == key, _tokens.c.token == token)
                .values(expires_at=None)
            )
