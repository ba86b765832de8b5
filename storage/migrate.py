"""Schema migrations (Alembic), run by ``opsbot db upgrade`` and checked at server start."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaNotReady(RuntimeError):
    """The database is not at the revision this code needs."""


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships its migrations
        raise SchemaNotReady("storage/migrations/versions holds no revision")
    return head


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database up to ``revision`` (all migrations by default)."""
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: command.upgrade(_config(sync), revision))


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )


async def ensure_current(engine: AsyncEngine) -> None:
    """Refuse to run on a database that is unmigrated or migrated by other code."""
    current = await current_revision(engine)
    head = head_revision()
    if current == head:
        return
    where = engine.url.render_as_string(hide_password=True)
    if current is None:
        raise SchemaNotReady(
            f"the database {where} has no opsbot schema yet: run `opsbot db upgrade` first"
        )
    raise SchemaNotReady(
        f"the database {where} is at schema revision {current}, this opsbot needs {head}: "
        "run `opsbot db upgrade`"
    )
