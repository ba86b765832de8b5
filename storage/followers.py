"""Followers of the Official Accounts (written by the inbound log, read here)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import read_connection
from storage.models import FollowerRow, table_of

_followers = table_of(FollowerRow)


class FollowerReader:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, account: str, openid: str) -> Mapping[str, Any] | None:
        async with read_connection(self._engine) as conn:
            row = (
                await conn.execute(
                    select(_followers).where(
                        _followers.c.account == account, _followers.c.openid == openid
                    )
                )
            ).first()
        return None if row is None else dict(row._mapping)
