"""What the script library keeps: categories, scripts, their use and favourites, the files
admins sent for them, and the generation that tells each process its search index is stale.

Every change to an account's scripts or categories raises ``library_state.generation`` in the same
transaction, so a process that sees a newer generation reloads its index.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, desc, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.db import read_connection, upsert
from storage.models import (
    LibraryFileRow,
    LibraryStateRow,
    PlatformMediaRow,
    ScriptCategoryRow,
    ScriptFavouriteRow,
    ScriptRow,
    ScriptUseRow,
    table_of,
    utcnow,
)

_categories = table_of(ScriptCategoryRow)
_scripts = table_of(ScriptRow)
_uses = table_of(ScriptUseRow)
_favourites = table_of(ScriptFavouriteRow)
_state = table_of(LibraryStateRow)
_files = table_of(LibraryFileRow)
_media = table_of(PlatformMediaRow)

SCRIPT_COLUMNS = (
    "id",
    "account",
    "category_id",
    "title",
    "shortcode",
    "kind",
    "body",
    "tags",
    "owner",
    "usage_count",
    "created_by",
    "created_at",
)


class Conflict(Exception):
    """A unique value (a shortcode, a category path) is taken."""


async def generation(engine: AsyncEngine, account: str) -> int:
    async with read_connection(engine) as conn:
        value = await conn.scalar(select(_state.c.generation).where(_state.c.account == account))
    return int(value or 0)


async def _bump(conn: AsyncConnection, account: str) -> int:
    ins = upsert(_state, conn)
    await conn.execute(
        ins.on_conflict_do_update(
            index_elements=["account"], set_={"generation": _state.c.generation + 1}
        ),
        {"account": account, "generation": 1},
    )
    value = await conn.scalar(select(_state.c.generation).where(_state.c.account == account))
    return int(value or 0)


# Categories


async def categories(engine: AsyncEngine, account: str) -> dict[int, str]:
    async with read_connection(engine) as conn:
        rows = await conn.execute(
            select(_categories.c.id, _categories.c.path)
            .where(_categories.c.account == account)
            .order_by(_categories.c.path)
        )
        return {int(i): str(p) for i, p in rows}


async def _ensure_category(conn: AsyncConnection, account: str, path: str) -> int:
    """The id of ``path``, creating it and its parents."""
    parts = path.split("/")
    found = 0
    for depth in range(1, len(parts) + 1):
        prefix = "/".join(parts[:depth])
        found_id = await conn.scalar(
            select(_categories.c.id).where(
                _categories.c.account == account, _categories.c.path == prefix
            )
        )
        if found_id is None:
            result = await conn.execute(
                _categories.insert().values(account=account, path=prefix, created_at=utcnow())
            )
            (found_id,) = result.inserted_primary_key or (0,)
        found = int(found_id)
    return found


async def add_category(engine: AsyncEngine, account: str, path: str) -> tuple[int, bool]:
    """(id, created): parents are created too."""
    async with engine.begin() as conn:
        existing = await conn.scalar(
            select(_categories.c.id).where(
                _categories.c.account == account, _categories.c.path == path
            )
        )
        if existing is not None:
            return int(existing), False
        found = await _ensure_category(conn, account, path)
        await _bump(conn, account)
        return found, True


async def remove_category(engine: AsyncEngine, account: str, path: str) -> str:
    """ "" when removed; else why not: "missing", "children" or "scripts"."""
    async with engine.begin() as conn:
        found = await conn.scalar(
            select(_categories.c.id).where(
                _categories.c.account == account, _categories.c.path == path
            )
        )
        if found is None:
            return "missing"
        children = await conn.scalar(
            select(func.count()).where(
                _categories.c.account == account,
                _categories.c.path.like(_like_prefix(path), escape="\\"),
            )
        )
        if children:
            return "children"
        used = await conn.scalar(select(func.count()).where(_scripts.c.category_id == found))
        if used:
            return "scripts"
        await conn.execute(delete(_categories).where(_categories.c.id == found))
        await _bump(conn, account)
        return ""


async def category_owners(engine: AsyncEngine, account: str) -> list[tuple[int, str]]:
    """(category id, owner) of every script with a category, each pair once."""
    async with read_connection(engine) as conn:
        rows = await conn.execute(
            select(_scripts.c.category_id, _scripts.c.owner)
            .where(_scripts.c.account == account, _scripts.c.category_id.is_not(None))
            .distinct()
        )
        return [(int(c), str(o)) for c, o in rows]


def _like_prefix(path: str) -> str:
    escaped = path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "/%"


# Scripts


async def all_scripts(engine: AsyncEngine, account: str) -> list[dict[str, Any]]:
    async with read_connection(engine) as conn:
        rows = await conn.execute(
            select(*(_scripts.c[c] for c in SCRIPT_COLUMNS))
            .where(_scripts.c.account == account)
            .order_by(_scripts.c.id)
        )
        return [dict(r._mapping) for r in rows]


async def stream_scripts(
    engine: AsyncEngine, account: str, batch: int = 2000
) -> AsyncIterator[dict[str, Any]]:
    """Every script of ``account`` by id, fetched ``batch`` rows at a time (loading a large
    library this way never holds all its rows at once)."""
    query = (
        select(*(_scripts.c[c] for c in SCRIPT_COLUMNS))
        .where(_scripts.c.account == account)
        .order_by(_scripts.c.id)
        .execution_options(yield_per=batch)
    )
    async with read_connection(engine) as conn:
        result = await conn.stream(query)
        async for partition in result.partitions(batch):
            for row in partition:
                yield dict(row._mapping)


async def scripts_by_id(
    engine: AsyncEngine, account: str, ids: Sequence[int]
) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    async with read_connection(engine) as conn:
        rows = await conn.execute(
            select(*(_scripts.c[c] for c in SCRIPT_COLUMNS)).where(
                _scripts.c.account == account, _scripts.c.id.in_(list(ids))
            )
        )
        return {int(r.id): dict(r._mapping) for r in rows}


async def script_by_shortcode(engine: AsyncEngine, account: str, shortcode: str) -> int | None:
    async with read_connection(engine) as conn:
        found = await conn.scalar(
            select(_scripts.c.id).where(
                _scripts.c.account == account, _scripts.c.shortcode == shortcode
            )
        )
    return None if found is None else int(found)


async def scripts_in_category(
    engine: AsyncEngine, account: str, category_id: int, viewer: str
) -> list[dict[str, Any]]:
    async with read_connection(engine) as conn:
        rows = await conn.execute(
            select(*(_scripts.c[c] for c in SCRIPT_COLUMNS))
            .where(
                _scripts.c.account == account,
                _scripts.c.category_id == category_id,
                or_(_scripts.c.owner == "", _scripts.c.owner == viewer),
            )
            .order_by(desc(_scripts.c.usage_count), _scripts.c.id)
        )
        return [dict(r._mapping) for r in rows]


def _values(account: str, script: dict[str, Any], person: str, now: datetime) -> dict[str, Any]:
    return {
        "account": account,
        "title": script["title"],
        "shortcode": script["shortcode"] or None,
        "kind": script["kind"],
        "body": script["body"],
        "tags": list(script["tags"]),
        "owner": script["owner"],
        "updated_by": person,
        "updated_at": now,
    }


async def _shortcode_taken(
    conn: AsyncConnection, account: str, shortcode: str, other_than: int | None
) -> bool:
    if not shortcode:
        return False
    found = await conn.scalar(
        select(_scripts.c.id).where(
            _scripts.c.account == account, _scripts.c.shortcode == shortcode
        )
    )
    return found is not None and found != other_than


async def save_scripts(
    engine: AsyncEngine,
    account: str,
    scripts: Iterable[dict[str, Any]],
    person: str,
    *,
    replace_by_shortcode: bool = False,
) -> tuple[list[int], int]:
    """Insert (or, with ``id`` set, update) scripts in one transaction: all or none. Each
    script is a mapping with title, shortcode, kind, body, tags, owner and category (a path, ""
    for none). With ``replace_by_shortcode`` a new script whose shortcode exists replaces that
    script. Returns the ids and the new generation; raises :class:`Conflict` naming the
    shortcode that is taken."""
    now = utcnow()
    ids: list[int] = []
    async with engine.begin() as conn:
        for script in scripts:
            target = script.get("id")
            code = script["shortcode"]
            if target is None and replace_by_shortcode and code:
                found = (
                    await conn.execute(
                        select(_scripts.c.id, _scripts.c.owner).where(
                            _scripts.c.account == account, _scripts.c.shortcode == code
                        )
                    )
                ).first()
                if found is not None and found.owner != script["owner"]:
                    raise Conflict(code)  # never take over someone's personal script
                target = found.id if found is not None else None
            elif await _shortcode_taken(conn, account, code, target):
                raise Conflict(code)
            values = _values(account, script, person, now)
            path = script.get("category", "")
            values["category_id"] = await _ensure_category(conn, account, path) if path else None
            if target is None:
                result = await conn.execute(
                    _scripts.insert().values(
                        **values, created_by=person, created_at=now, usage_count=0
                    )
                )
                (new_id,) = result.inserted_primary_key or (0,)
                ids.append(int(new_id))
            else:
                await conn.execute(
                    update(_scripts)
                    .where(_scripts.c.account == account, _scripts.c.id == target)
                    .values(**values)
                )
                ids.append(int(target))
        return ids, await _bump(conn, account)


async def remove_script(engine: AsyncEngine, account: str, script_id: int) -> int | None:
    """The new generation, or None when there was no such script."""
    async with engine.begin() as conn:
        result = await conn.execute(
            delete(_scripts).where(_scripts.c.account == account, _scripts.c.id == script_id)
        )
        if not result.rowcount:
            return None
        await conn.execute(delete(_favourites).where(_favourites.c.script_id == script_id))
        return await _bump(conn, account)


# Use, recent, favourites


async def record_use(
    engine: AsyncEngine, account: str, script_id: int, person: str, via: str
) -> bool:
    async with engine.begin() as conn:
        result = await conn.execute(
            update(_scripts)
            .where(_scripts.c.account == account, _scripts.c.id == script_id)
            .values(usage_count=_scripts.c.usage_count + 1)
        )
        if not result.rowcount:
            return False
        await conn.execute(
            _uses.insert().values(
                account=account, script_id=script_id, person=person, via=via, at=utcnow()
            )
        )
        return True


async def recent(engine: AsyncEngine, account: str, person: str, limit: int = 10) -> list[int]:
    """The scripts ``person`` sent last, most recent first, each once."""
    async with read_connection(engine) as conn:
        rows = await conn.execute(
            select(_uses.c.script_id, func.max(_uses.c.id).label("last"))
            .where(_uses.c.person == person, _uses.c.account == account)
            .group_by(_uses.c.script_id)
            .order_by(desc("last"))
            .limit(limit)
        )
        return [int(r.script_id) for r in rows]


async def uses(engine: AsyncEngine, account: str, script_id: int) -> list[dict[str, Any]]:
    async with read_connection(engine) as conn:
        rows = await conn.execute(
            select(_uses.c.person, _uses.c.via, _uses.c.at)
            .where(_uses.c.account == account, _uses.c.script_id == script_id)
            .order_by(_uses.c.id)
        )
        return [dict(r._mapping) for r in rows]


async def set_favourite(engine: AsyncEngine, person: str, script_id: int, on: bool) -> bool:
    """True when something changed."""
    async with engine.begin() as conn:
        if not on:
            result = await conn.execute(
                delete(_favourites).where(
                    _favourites.c.person == person, _favourites.c.script_id == script_id
                )
            )
            return bool(result.rowcount)
        ins = upsert(_favourites, conn)
        result = await conn.execute(
            ins.on_conflict_do_nothing(index_elements=["person", "script_id"]),
            {"person": person, "script_id": script_id, "at": utcnow()},
        )
        return bool(result.rowcount)


async def favourites(engine: AsyncEngine, person: str) -> list[int]:
    async with read_connection(engine) as conn:
        rows = await conn.execute(
            select(_favourites.c.script_id)
            .where(_favourites.c.person == person)
            .order_by(desc(_favourites.c.at), desc(_favourites.c.script_id))
        )
        return [int(i) for (i,) in rows]


# Files and the platform media made from them


async def put_file(engine: AsyncEngine, sha256: str, content_type: str, data: bytes) -> None:
    async with engine.begin() as conn:
        ins = upsert(_files, conn)
        await conn.execute(
            ins.on_conflict_do_nothing(index_elements=["sha256"]),
            {"sha256": sha256, "content_type": content_type, "data": data, "created_at": utcnow()},
        )


async def get_file(engine: AsyncEngine, sha256: str) -> tuple[str, bytes] | None:
    async with read_connection(engine) as conn:
        row = (
            await conn.execute(
                select(_files.c.content_type, _files.c.data).where(_files.c.sha256 == sha256)
            )
        ).first()
    return (str(row.content_type), bytes(row.data)) if row else None


async def platform_media(engine: AsyncEngine, owner: str, source: str, now: datetime) -> str | None:
    async with read_connection(engine) as conn:
        row = (
            await conn.execute(
                select(_media.c.media_id, _media.c.expires_at).where(
                    _media.c.owner == owner, _media.c.source == source
                )
            )
        ).first()
    if row is None or row.expires_at <= now:
        return None
    return str(row.media_id)


async def put_platform_media(
    engine: AsyncEngine, owner: str, source: str, media_id: str, expires_at: datetime
) -> None:
    async with engine.begin() as conn:
        ins = upsert(_media, conn)
        await conn.execute(
            ins.on_conflict_do_update(
                index_elements=["owner", "source"],
                set_={"media_id": ins.excluded.media_id, "expires_at": ins.excluded.expires_at},
            ),
            {"owner": owner, "source": source, "media_id": media_id, "expires_at": expires_at},
        )
