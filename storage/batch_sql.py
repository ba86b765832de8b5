"""Running a batch of multi-row statements in one transaction, fast, on SQLite or PostgreSQL.

This is the write path of the hottest request (every platform callback), so it bypasses the
SQLAlchemy ORM and Core execution layer, whose per-row parameter processing costs several times
what the database itself does (see ``bench/`` and the issue notes). The tables, column types and
migrations stay SQLAlchemy's: statements are rendered from the ``Table`` objects.

A batch is written as a *plan*: a generator that yields :class:`Statement` objects and receives
each one's returned rows, so its logic can depend on earlier results (which keys were new) and
still be written once for both drivers:

- :class:`SqliteDriver` runs the whole plan inside one dedicated thread with the standard
  ``sqlite3`` module (``BEGIN IMMEDIATE`` ... ``COMMIT``): one thread hop per batch;
- :class:`PostgresDriver` runs it on a pooled asyncpg connection, each statement one round trip,
  rows passed as arrays through ``unnest``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import sqlite3
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import JSON, Boolean, Date, DateTime
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.schema import Table

from storage.db import BUSY_TIMEOUT_MS
from storage.models import UTCDateTime

T = TypeVar("T")
SQLITE_MAX_ROWS = 500  # keeps a multi-row VALUES under SQLite's bound-variable limit


@dataclass(frozen=True)
class Insert:
    """``INSERT INTO table (columns) <rows> [ON CONFLICT ...] [RETURNING ...]``."""

    table: Table
    columns: tuple[str, ...]
    rows: Sequence[tuple[Any, ...]]
    on_conflict: str = ""  # e.g. "(account, dedupe_key) DO NOTHING"
    returning: tuple[str, ...] = ()


@dataclass(frozen=True)
class SelectIn:
    """``SELECT columns FROM table WHERE <equal> AND <key> IN (values)``."""

    table: Table
    columns: tuple[str, ...]
    equal: dict[str, Any]
    key: str
    values: Sequence[Any]


Statement = Insert | SelectIn
# A plan yields statements, receives the rows each returned, and finally returns its result.
Plan = Generator[Statement, list[tuple[Any, ...]], T]


class Driver(Protocol):
    async def run(self, plan: Callable[[], Plan[T]]) -> T: ...
    async def close(self) -> None: ...


def driver_for(engine: AsyncEngine, synchronous: str = "NORMAL") -> Driver:
    if engine.dialect.name == "sqlite":
        return SqliteDriver(str(make_url(engine.url).database), synchronous)
    return PostgresDriver(engine)


class SqliteDriver:
    """Plans run in one thread of their own, on their own connection to the database file."""

    def __init__(self, path: str, synchronous: str = "NORMAL") -> None:
        self.path = path
        self.synchronous = synchronous
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="opsbot-sqlite-writer")
        self._conn: sqlite3.Connection | None = None

    async def run(self, plan: Callable[[], Plan[T]]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._run, plan)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=True)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            self._conn = conn
        return self._conn

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _run(self, plan_factory: Callable[[], Plan[T]]) -> T:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            plan = plan_factory()
            step = _advance(plan, None)
            while isinstance(step, Insert | SelectIn):
                step = _advance(plan, self._execute(conn, step))
            conn.execute("COMMIT")
            return step.value
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _execute(self, conn: sqlite3.Connection, s: Statement) -> list[tuple[Any, ...]]:
        if isinstance(s, SelectIn):
            where = " AND ".join(
                [*(f"{c} = ?" for c in s.equal), f"{s.key} IN ({_marks(s.values)})"]
            )
            converters = [_from_sqlite(s.table.c[c].type) for c in s.columns]
            return [
                tuple(f(v) for f, v in zip(converters, row, strict=True))
                for row in conn.execute(_select(s, where), [*s.equal.values(), *s.values])
            ]
        out: list[tuple[Any, ...]] = []
        convert = _converters(s, _to_sqlite)
        for start in range(0, len(s.rows), SQLITE_MAX_ROWS):
            chunk = s.rows[start : start + SQLITE_MAX_ROWS]
            values = "VALUES " + ",".join([f"({_marks(s.columns)})"] * len(chunk))
            flat: list[Any] = []
            for row in chunk:
                flat.extend(_converted(row, convert) if convert else row)
            out.extend(conn.execute(_insert(s, values), flat).fetchall())
        return out


class PostgresDriver:
    """Plans run on a pooled asyncpg connection, in one transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._pg = postgresql.dialect()  # type: ignore[no-untyped-call]

    async def run(self, plan_factory: Callable[[], Plan[T]]) -> T:
        async with self._engine.connect() as sa_conn:
            raw = await sa_conn.get_raw_connection()
            conn: Any = raw.driver_connection
            async with conn.transaction():
                plan = plan_factory()
                step = _advance(plan, None)
                while isinstance(step, Insert | SelectIn):
                    step = _advance(plan, [tuple(r) for r in await self._execute(conn, step)])
                return step.value

    async def close(self) -> None:
        return None

    async def _execute(self, conn: Any, s: Statement) -> list[Any]:
        if isinstance(s, SelectIn):
            n = len(s.equal) + 1
            where = " AND ".join(
                [
                    *(f"{c} = ${i + 1}" for i, c in enumerate(s.equal)),
                    f"{s.key} = ANY(${n}::{self._type(s.table, s.key)}[])",
                ]
            )
            rows = await conn.fetch(_select(s, where), *s.equal.values(), list(s.values))
            converters = [_from_postgres(s.table.c[c].type) for c in s.columns]
            return [tuple(f(v) for f, v in zip(converters, r, strict=True)) for r in rows]
        casts = ", ".join(f"${i + 1}::{self._type(s.table, c)}[]" for i, c in enumerate(s.columns))
        sql = _insert(s, f"SELECT * FROM unnest({casts})")  # noqa: S608 - see _insert
        convert = dict(_converters(s, _to_postgres))
        columns = [
            [convert[i](row[i]) for row in s.rows] if i in convert else [row[i] for row in s.rows]
            for i in range(len(s.columns))
        ]
        if s.returning:
            return list(await conn.fetch(sql, *columns))
        await conn.execute(sql, *columns)
        return []

    def _type(self, table: Table, column: str) -> str:
        # Without a length: casting to VARCHAR(64) would silently truncate longer values, where
        # the insert into the column must fail instead.
        return re.sub(r"\(\d+\)", "", str(table.c[column].type.compile(dialect=self._pg)))


@dataclass(frozen=True)
class _Done(Generic[T]):
    value: T


def _advance(plan: Plan[T], rows: list[tuple[Any, ...]] | None) -> Statement | _Done[T]:
    """Give the plan the rows of its last statement; get its next statement, or its result."""
    try:
        return plan.send(rows)  # type: ignore[arg-type]  # the first send must be None
    except StopIteration as finished:
        return _Done(finished.value)


# Statements are built from identifiers of our own Table metadata and fixed SQL fragments;
# every value is a bound parameter.


def _marks(items: Sequence[Any]) -> str:
    return ",".join("?" * len(items))


def _select(s: SelectIn, where: str) -> str:
    return f"SELECT {', '.join(s.columns)} FROM {s.table.name} WHERE {where}"  # noqa: S608


def _insert(s: Insert, source: str) -> str:
    sql = f"INSERT INTO {s.table.name} ({', '.join(s.columns)}) {source}"
    if s.on_conflict:
        sql += f" ON CONFLICT {s.on_conflict}"
    if s.returning:
        sql += f" RETURNING {', '.join(s.returning)}"
    return sql


def _converters(
    s: Insert, pick: Callable[[Any], Callable[[Any], Any]]
) -> list[tuple[int, Callable[[Any], Any]]]:
    """(column index, converter) for the columns whose values need converting."""
    found = [(i, pick(s.table.c[c].type)) for i, c in enumerate(s.columns)]
    return [(i, f) for i, f in found if f is not _identity]


def _converted(row: tuple[Any, ...], convert: list[tuple[int, Callable[[Any], Any]]]) -> list[Any]:
    values = list(row)
    for i, f in convert:
        values[i] = f(values[i])
    return values


def _identity(value: Any) -> Any:
    return value


_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _json_out(value: Any) -> Any:
    return None if value is None else _JSON.encode(value)


def _json_in(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _naive_utc(value: datetime | None) -> datetime | None:
    # UTCDateTime columns hold naive UTC (see storage.models).
    return None if value is None else value.astimezone(UTC).replace(tzinfo=None)


@functools.lru_cache(maxsize=64)  # a batch shares one timestamp: format it once
def _sqlite_datetime(value: datetime | None) -> str | None:
    # The text format SQLAlchemy's SQLite DATETIME type writes and reads back.
    naive = _naive_utc(value)
    return None if naive is None else naive.strftime("%Y-%m-%d %H:%M:%S.%f")


def _sqlite_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _to_sqlite(kind: Any) -> Callable[[Any], Any]:
    if isinstance(kind, UTCDateTime | DateTime):
        return _sqlite_datetime
    if isinstance(kind, Date):
        return _sqlite_date
    if isinstance(kind, JSON):
        return _json_out
    if isinstance(kind, Boolean):
        return lambda v: None if v is None else int(v)
    return _identity


def _from_sqlite(kind: Any) -> Callable[[Any], Any]:
    return _json_in if isinstance(kind, JSON) else _identity


def _to_postgres(kind: Any) -> Callable[[Any], Any]:
    if isinstance(kind, UTCDateTime | DateTime):
        return _naive_utc
    if isinstance(kind, JSON):
        return _json_out
    return _identity


def _from_postgres(kind: Any) -> Callable[[Any], Any]:
    return _json_in if isinstance(kind, JSON) else _identity
