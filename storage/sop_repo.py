"""Group SOPs (群SOP): their rules, the customer groups they reach, and their executions (see
``bot.sop_runner`` and ``handlers.group_sop``).

A rule is ``active`` (its job fires), ``paused``, ``done`` (a one-off rule that fired) or
``removed``; a removed rule keeps its executions but gives up its name (it is renamed
``~<id>~<name>``), so a new rule may take it.

An execution is one owner's group message task of one firing, unique per (rule, firing, owner):
inserting it again is ignored, so a retried firing finds the owners it already served. Its
``status``: ``pending`` (written, the platform calls under way), ``created`` (the task waits for
the owner), ``failed`` (``detail`` says why) or ``done`` (the owner sent it and ``results`` holds
each group's outcome). An owner with more than 2000 groups needs several platform calls: every
call's msgid is kept (``msgid`` is the first; all of them are under the key ``"_msgids"`` of the
``results`` column, which no chat id can be), so a retry makes only the calls still missing.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, desc, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import read_connection, upsert
from storage.models import (
    CustomerGroupRow,
    SopExecutionRow,
    SopRuleRow,
    table_of,
    utcnow,
)

_rules = table_of(SopRuleRow)
_executions = table_of(SopExecutionRow)
_groups = table_of(CustomerGroupRow)

MSGIDS = "_msgids"  # key of the results column holding every msgid of an execution
LIVE = ("active", "paused", "done")  # rule statuses that are listed


@dataclass(frozen=True)
class Rule:
    id: int
    app: str
    name: str
    targets: dict[str, Any]
    schedule: dict[str, Any]
    content: dict[str, Any]
    timezone: str
    status: str
    job_id: int | None
    created_by: str
    chat: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Group:
    chat_id: str
    name: str
    owner: str
    member_count: int
    created_at: datetime | None
    tags: tuple[str, ...]


@dataclass(frozen=True)
class Execution:
    id: int
    rule_id: int
    fire_at: datetime
    owner: str
    chat_ids: list[str]
    msgids: list[str]
    status: str
    fail_list: list[str]
    results: dict[str, str]  # chat_id -> sent | not_sent | not_friend | cap | failed
    detail: str
    created_at: datetime
    checked_at: datetime | None

    @property
    def msgid(self) -> str | None:
        return self.msgids[0] if self.msgids else None


def _rule(row: Any) -> Rule:
    m = row._mapping
    return Rule(
        m["id"],
        m["app"],
        m["name"],
        dict(m["targets"] or {}),
        dict(m["schedule"] or {}),
        dict(m["content"] or {}),
        m["timezone"],
        m["status"],
        m["job_id"],
        m["created_by"],
        m["chat"],
        m["created_at"],
        m["updated_at"],
    )


def _group(row: Any) -> Group:
    m = row._mapping
    return Group(
        m["chat_id"],
        m["name"] or "",
        m["owner"] or "",
        int(m["member_count"] or 0),
        m["group_created_at"],
        tuple(str(t) for t in (m["tags"] or [])),
    )


def _execution(row: Any) -> Execution:
    m = row._mapping
    stored = dict(m["results"] or {})
    msgids = [str(x) for x in stored.pop(MSGIDS, None) or []]
    if not msgids and m["msgid"]:
        msgids = [m["msgid"]]
    return Execution(
        m["id"],
        m["rule_id"],
        m["fire_at"],
        m["owner"],
        [str(c) for c in m["chat_ids"] or []],
        msgids,
        m["status"],
        [str(c) for c in m["fail_list"] or []],
        {str(k): str(v) for k, v in stored.items()},
        m["detail"] or "",
        m["created_at"],
        m["checked_at"],
    )


# Rules


async def add_rule(
    engine: AsyncEngine,
    *,
    app: str,
    name: str,
    targets: dict[str, Any],
    schedule: dict[str, Any],
    content: dict[str, Any],
    timezone: str,
    created_by: str,
    chat: str,
) -> int | None:
    """Store an active rule; its id, or None when the app has a rule of that name."""
    now = utcnow()
    try:
        async with engine.begin() as conn:
            result = await conn.execute(
                _rules.insert().values(
                    app=app,
                    name=name,
                    targets=targets,
                    schedule=schedule,
                    content=content,
                    timezone=timezone,
                    status="active",
                    job_id=None,
                    created_by=created_by,
                    chat=chat,
                    created_at=now,
                    updated_at=now,
                )
            )
            (rule_id,) = result.inserted_primary_key or (0,)
            return int(rule_id)
    except IntegrityError:
        return None


async def delete_rule(engine: AsyncEngine, rule_id: int) -> None:
    """Forget a rule that never got its job (a rule is otherwise removed by status)."""
    async with engine.begin() as conn:
        await conn.execute(delete(_rules).where(_rules.c.id == rule_id))


async def rule(engine: AsyncEngine, app: str, name: str) -> Rule | None:
    """The app's rule of that name (removed rules have given up their names)."""
    async with read_connection(engine) as conn:
        row = (
            await conn.execute(select(_rules).where(_rules.c.app == app, _rules.c.name == name))
        ).first()
    return _rule(row) if row is not None else None


async def rule_by_id(engine: AsyncEngine, rule_id: int) -> Rule | None:
    async with read_connection(engine) as conn:
        row = (await conn.execute(select(_rules).where(_rules.c.id == rule_id))).first()
    return _rule(row) if row is not None else None


async def rules(engine: AsyncEngine, app: str, statuses: Sequence[str] = LIVE) -> list[Rule]:
    """The app's rules in these statuses, oldest first."""
    async with read_connection(engine) as conn:
        rows = await conn.execute(
            select(_rules)
            .where(_rules.c.app == app, _rules.c.status.in_(list(statuses)))
            .order_by(_rules.c.id)
        )
        return [_rule(r) for r in rows]


async def set_status(
    engine: AsyncEngine, rule_id: int, status: str, *, allowed: Sequence[str]
) -> bool:
    """Move a rule to ``status`` if it is in one of ``allowed``; removing it frees its name."""
    values: dict[str, Any] = {"status": status, "updated_at": utcnow()}
    async with engine.begin() as conn:
        if status == "removed":
            found = (
                await conn.execute(select(_rules.c.name).where(_rules.c.id == rule_id))
            ).first()
            if found is not None:
                values["name"] = f"~{rule_id}~{found.name}"[:64]
        result = await conn.execute(
            update(_rules)
            .where(_rules.c.id == rule_id, _rules.c.status.in_(list(allowed)))
            .values(**values)
        )
        return bool(result.rowcount)


async def set_job(engine: AsyncEngine, rule_id: int, job_id: int) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            update(_rules).where(_rules.c.id == rule_id).values(job_id=job_id, updated_at=utcnow())
        )


# Target groups


def matches(group: Group, targets: dict[str, Any]) -> bool:
    """Whether a group is among ``targets``: all; "name" a part of the group's name (or, with
    ``*`` or ``?``, a pattern of the whole name), case-insensitive; "owner" a userid
    (case-insensitive, as WeCom userids are); "tag" one of our labels."""
    kind = targets.get("type", "all")
    value = str(targets.get("value") or "")
    if kind == "all":
        return True
    if kind == "name":
        name, wanted = group.name.casefold(), value.casefold()
        if "*" in wanted or "?" in wanted:
            return fnmatch.fnmatchcase(name, wanted)
        return wanted in name
    if kind == "owner":
        return group.owner.lower() == value.lower()
    if kind == "tag":
        return value in group.tags
    return False


async def targets(
    engine: AsyncEngine,
    app: str,
    targets: dict[str, Any],
    created_between: tuple[datetime, datetime] | None = None,
) -> dict[str, list[Group]]:
    """The app's active customer groups among ``targets`` (see :func:`matches`), by owner
    (owners, then their groups by name). ``created_between`` (UTC, start included, end
    not) keeps only groups created in that span; groups of unknown owner are left out."""
    query = select(_groups).where(
        _groups.c.app == app, _groups.c.status == "active", _groups.c.owner != ""
    )
    if created_between is not None:
        start, end = created_between
        query = query.where(_groups.c.group_created_at >= start, _groups.c.group_created_at < end)
    if targets.get("type") == "owner":
        owner = str(targets.get("value") or "").lower()
        query = query.where(func.lower(_groups.c.owner) == owner)
    async with read_connection(engine) as conn:
        rows = await conn.execute(query)
        found = [g for g in (_group(r) for r in rows) if matches(g, targets)]
    # One owner however the userid is spelt (WeCom userids are case-insensitive).
    found.sort(key=lambda g: (g.owner.lower(), g.name, g.chat_id))
    spelling: dict[str, str] = {}
    by_owner: dict[str, list[Group]] = {}
    for group in found:
        owner = spelling.setdefault(group.owner.lower(), group.owner)
        by_owner.setdefault(owner, []).append(group)
    return by_owner


async def group_names(engine: AsyncEngine, app: str, chat_ids: Iterable[str]) -> dict[str, str]:
    """Names of the app's groups by chat id (dismissed ones included)."""
    wanted = list(dict.fromkeys(chat_ids))
    names: dict[str, str] = {}
    async with read_connection(engine) as conn:
        for start in range(0, len(wanted), 500):
            rows = await conn.execute(
                select(_groups.c.chat_id, _groups.c.name).where(
                    _groups.c.app == app, _groups.c.chat_id.in_(wanted[start : start + 500])
                )
            )
            names.update({r.chat_id: r.name for r in rows})
    return names


async def save_group(
    engine: AsyncEngine,
    *,
    app: str,
    chat_id: str,
    name: str,
    owner: str,
    created_at: datetime | None,
    member_count: int = 0,
    tags: Sequence[str] = (),
    status: str = "active",
) -> None:
    """Insert or update one customer group (for seeding and tests; the group sync owns the
    table in the running bot)."""
    now = utcnow()
    values = {
        "app": app,
        "chat_id": chat_id,
        "name": name,
        "owner": owner,
        "member_count": member_count,
        "group_created_at": created_at,
        "status": status,
        "tags": list(tags),
        "notice": "",
        "synced_at": now,
        "updated_at": now,
    }
    async with engine.begin() as conn:
        ins = upsert(_groups, conn)
        changed = {k: v for k, v in values.items() if k not in ("app", "chat_id")}
        await conn.execute(
            ins.on_conflict_do_update(index_elements=["app", "chat_id"], set_=changed), values
        )


# Executions


async def start_execution(
    engine: AsyncEngine, rule_id: int, fire_at: datetime, owner: str, chat_ids: list[str]
) -> Execution:
    """The execution of this owner in this firing: written now (``pending``, with these chat
    ids), or as an earlier attempt left it (its chat ids, status and msgids unchanged)."""
    async with engine.begin() as conn:
        ins = upsert(_executions, conn)
        await conn.execute(
            ins.on_conflict_do_nothing(index_elements=["rule_id", "fire_at", "owner"]),
            {
                "rule_id": rule_id,
                "fire_at": fire_at,
                "owner": owner,
                "chat_ids": chat_ids,
                "msgid": None,
                "status": "pending",
                "fail_list": [],
                "results": {},
                "detail": "",
                "created_at": utcnow(),
            },
        )
        row = (
            await conn.execute(
                select(_executions).where(
                    _executions.c.rule_id == rule_id,
                    _executions.c.fire_at == fire_at,
                    _executions.c.owner == owner,
                )
            )
        ).one()
    return _execution(row)


async def add_call(
    engine: AsyncEngine, execution_id: int, msgid: str, fail_list: Sequence[str]
) -> None:
    """Record one platform call of a pending execution: its msgid and the chats it cannot
    reach."""
    async with engine.begin() as conn:
        row = (
            await conn.execute(select(_executions).where(_executions.c.id == execution_id))
        ).one()
        current = _execution(row)
        msgids = [*current.msgids, msgid]
        await conn.execute(
            update(_executions)
            .where(_executions.c.id == execution_id)
            .values(
                msgid=msgids[0],
                fail_list=[*current.fail_list, *fail_list],
                results={**current.results, MSGIDS: msgids},
            )
        )


async def finish_execution(
    engine: AsyncEngine,
    execution_id: int,
    status: str,
    detail: str = "",
    *,
    more_failed: Sequence[str] = (),
) -> None:
    """End the creation of an execution: ``created`` or ``failed`` (``detail`` says why);
    ``more_failed`` chats join its fail list."""
    async with engine.begin() as conn:
        values: dict[str, Any] = {"status": status, "detail": detail[:2000]}
        if more_failed:
            row = (
                await conn.execute(
                    select(_executions.c.fail_list).where(_executions.c.id == execution_id)
                )
            ).one()
            values["fail_list"] = [*(row.fail_list or []), *more_failed]
        await conn.execute(
            update(_executions).where(_executions.c.id == execution_id).values(**values)
        )


async def save_results(
    engine: AsyncEngine,
    execution_id: int,
    results: dict[str, str],
    *,
    done: bool,
    checked_at: datetime,
) -> None:
    """Store what each group of an execution became (``done``: the owner sent the task and
    the results are final)."""
    async with engine.begin() as conn:
        row = (
            await conn.execute(select(_executions).where(_executions.c.id == execution_id))
        ).one()
        current = _execution(row)
        stored: dict[str, Any] = dict(results)
        if len(current.msgids) > 1:
            stored[MSGIDS] = current.msgids
        values: dict[str, Any] = {"results": stored, "checked_at": checked_at}
        if done:
            values["status"] = "done"
        await conn.execute(
            update(_executions)
            .where(_executions.c.id == execution_id, _executions.c.status == "created")
            .values(**values)
        )


async def executions(
    engine: AsyncEngine, rule_id: int, *, statuses: Sequence[str] | None = None, limit: int = 50
) -> list[Execution]:
    """A rule's executions, newest firing first (owners in order within a firing)."""
    query = select(_executions).where(_executions.c.rule_id == rule_id)
    if statuses is not None:
        query = query.where(_executions.c.status.in_(list(statuses)))
    async with read_connection(engine) as conn:
        rows = await conn.execute(
            query.order_by(desc(_executions.c.fire_at), _executions.c.owner).limit(limit)
        )
        return [_execution(r) for r in rows]
