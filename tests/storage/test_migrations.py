"""The schema: migrations apply, and a server refuses an unmigrated database."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import create_app
from bot.settings import load_settings
from storage.db import create_engine
from storage.migrate import SchemaNotReady, current_revision, ensure_current, head_revision, upgrade


async def test_upgrade_reaches_head_and_is_repeatable(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    try:
        assert await current_revision(engine) is None
        await upgrade(engine)
        await upgrade(engine)
        assert await current_revision(engine) == head_revision()
        await ensure_current(engine)
    finally:
        await engine.dispose()


async def test_an_unmigrated_database_is_refused_with_the_command_to_run(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    try:
        with pytest.raises(SchemaNotReady, match="run `opsbot db upgrade`"):
            await ensure_current(engine)
    finally:
        await engine.dispose()


async def test_the_server_does_not_start_on_an_unmigrated_database(tmp_path: Path) -> None:
    settings = load_settings(
        environ={"OPSBOT_DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"}
    )
    app = create_app(settings)
    from aiohttp.test_utils import TestServer

    with pytest.raises(SchemaNotReady):
        async with TestServer(app):
            pass
