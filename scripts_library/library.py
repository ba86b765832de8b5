"""The script library service: saving, finding, and recording the use of scripts.

The database is the truth; each process keeps one search index per account in memory, loaded on
first use and reloaded when the account's generation in the database has moved on (another process
changed something). Changes made here update the local index at once. Usage counts are kept in the
database and bumped in the local index; other processes see new counts at their next reload.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from scripts_library.model import Draft, Script, ScriptError, check_draft
from scripts_library.search import Entry, SearchIndex
from storage import library_repo as repo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Found:
    script: Script
    why: str  # which field matched, in Chinese ("快捷码", "标题", ...)


def _script(row: Mapping[str, Any], categories: Mapping[int, str]) -> Script:
    category_id = row["category_id"]
    return Script(
        id=int(row["id"]),
        account=str(row["account"]),
        title=str(row["title"]),
        kind=str(row["kind"]),
        body={str(k): str(v) for k, v in dict(row["body"]).items()},
        shortcode=str(row["shortcode"] or ""),
        tags=tuple(row["tags"] or ()),
        owner=str(row["owner"] or ""),
        category_id=category_id,
        category=categories.get(category_id, "") if category_id is not None else "",
        usage=int(row["usage_count"] or 0),
        created_by=str(row["created_by"] or ""),
        created_at=row["created_at"],
    )


def _entry(script: Script) -> Entry:
    return Entry(
        id=script.id,
        shortcode=script.shortcode,
        title=script.title,
        content=script.searchable,
        tags=script.tags,
        owner=script.owner,
        usage=script.usage,
        category=script.category_id,
    )


class ScriptLibrary:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._indexes: dict[str, tuple[int, SearchIndex]] = {}
        self._loading: dict[str, asyncio.Lock] = {}

    # Reading

    async def index(self, account: str) -> SearchIndex:
        """The account's search index, reloaded if another process changed the library."""
        current = await repo.generation(self.engine, account)
        cached = self._indexes.get(account)
        if cached is not None and cached[0] >= current:
            return cached[1]
        lock = self._loading.setdefault(account, asyncio.Lock())
        async with lock:
            cached = self._indexes.get(account)
            if cached is not None and cached[0] >= current:
                return cached[1]
            entries = [
                _entry(_script(r, {})) async for r in repo.stream_scripts(self.engine, account)
            ]
            index = SearchIndex(entries)
            self._indexes[account] = (current, index)
            log.info("script index of %s loaded: %d scripts", account, len(index))
            return index

    async def search(
        self,
        account: str,
        query: str,
        viewer: str,
        *,
        limit: int = 10,
        category: int | None = None,
    ) -> list[Found]:
        index = await self.index(account)
        hits = index.search(query, viewer=viewer, limit=limit, category=category)
        scripts = await self.scripts(account, [h.id for h in hits], viewer)
        by_id = {s.id: s for s in scripts}
        return [Found(by_id[h.id], h.why) for h in hits if h.id in by_id]

    async def scripts(self, account: str, ids: Sequence[int], viewer: str) -> list[Script]:
        """The scripts ``viewer`` may see among ``ids``, in the order given."""
        rows = await repo.scripts_by_id(self.engine, account, ids)
        categories = await repo.categories(self.engine, account) if rows else {}
        found = [_script(rows[i], categories) for i in ids if i in rows]
        return [s for s in found if s.visible_to(viewer)]

    async def get(self, account: str, script_id: int, viewer: str) -> Script | None:
        found = await self.scripts(account, [script_id], viewer)
        return found[0] if found else None

    async def by_shortcode(self, account: str, shortcode: str, viewer: str) -> Script | None:
        script_id = await repo.script_by_shortcode(self.engine, account, shortcode.strip().lower())
        return None if script_id is None else await self.get(account, script_id, viewer)

    async def categories(self, account: str, viewer: str | None = None) -> dict[int, str]:
        """The categories (id -> path). For a ``viewer``, a category holding only other
        people's personal scripts (it was made by one of them) is left out."""
        categories = await repo.categories(self.engine, account)
        if viewer is None:
            return categories
        owners = await repo.category_owners(self.engine, account)
        hidden = set()
        for category_id, path in categories.items():
            inside = [
                o
                for c, o in owners
                if categories.get(c) == path or categories.get(c, "").startswith(path + "/")
            ]
            if inside and all(o and o != viewer for o in inside):
                hidden.add(category_id)
        return {i: p for i, p in categories.items() if i not in hidden}

    async def in_category(self, account: str, path: str, viewer: str) -> list[Script]:
        categories = await repo.categories(self.engine, account)
        ids = [i for i, p in categories.items() if p == path]
        if not ids:
            raise ScriptError(f"没有「{path}」这个分类。")
        rows = await repo.scripts_in_category(self.engine, account, ids[0], viewer)
        return [_script(r, categories) for r in rows]

    async def recent(self, account: str, person: str, limit: int = 10) -> list[Script]:
        ids = await repo.recent(self.engine, account, person, limit)
        return await self.scripts(account, ids, person)

    async def favourites(self, account: str, person: str) -> list[Script]:
        return await self.scripts(account, await repo.favourites(self.engine, person), person)

    async def all(self, account: str, viewer: str | None = None) -> list[Script]:
        """Every script (``viewer`` None: shared ones only), by id."""
        rows = await repo.all_scripts(self.engine, account)
        categories = await repo.categories(self.engine, account)
        scripts = [_script(r, categories) for r in rows]
        if viewer is None:
            return [s for s in scripts if s.shared]
        return [s for s in scripts if s.visible_to(viewer)]

    # Changing

    async def add(self, account: str, draft: Draft, person: str) -> Script:
        checked = check_draft(draft)
        (script_id,) = await self._save(account, [_fields(checked)], person)
        found = await self.get(account, script_id, person)
        if found is None:  # pragma: no cover - just saved
            raise ScriptError("保存后没有找到这条话术。")
        return found

    async def update(self, account: str, script: Script, draft: Draft, person: str) -> Script:
        checked = check_draft(draft)
        await self._save(account, [{**_fields(checked), "id": script.id}], person)
        found = await self.get(account, script.id, person)
        if found is None:  # pragma: no cover - just saved
            raise ScriptError("保存后没有找到这条话术。")
        return found

    async def import_all(self, account: str, drafts: Sequence[Draft], person: str) -> list[int]:
        """Save every draft (already checked) in one transaction; an existing script with the
        same shortcode is replaced."""
        fields = [_fields(d) for d in drafts]
        return await self._save(account, fields, person, replace_by_shortcode=True)

    async def _save(
        self,
        account: str,
        scripts: list[dict[str, Any]],
        person: str,
        *,
        replace_by_shortcode: bool = False,
    ) -> list[int]:
        try:
            ids, generation = await repo.save_scripts(
                self.engine, account, scripts, person, replace_by_shortcode=replace_by_shortcode
            )
        except repo.Conflict as exc:
            raise ScriptError(f"快捷码「{exc}」已被另一条话术使用。") from None
        except IntegrityError:
            raise ScriptError("快捷码或分类刚被别人占用，请换一个再试。") from None
        await self._refresh(account, ids, generation)
        return ids

    async def remove(self, account: str, script: Script) -> None:
        generation = await repo.remove_script(self.engine, account, script.id)
        cached = self._indexes.get(account)
        if generation is not None and cached is not None and cached[0] == generation - 1:
            cached[1].remove(script.id)
            self._indexes[account] = (generation, cached[1])

    async def add_category(self, account: str, path: str) -> bool:
        _id, created = await repo.add_category(self.engine, account, path)
        return created

    async def remove_category(self, account: str, path: str) -> None:
        why = await repo.remove_category(self.engine, account, path)
        reasons = {
            "missing": f"没有「{path}」这个分类。",
            "children": f"分类「{path}」下还有子分类，先删除或移走它们。",
            "scripts": f"分类「{path}」下还有话术，先把它们移到别的分类。",
        }
        if why:
            raise ScriptError(reasons[why])

    async def record_use(self, account: str, script: Script, person: str, via: str) -> None:
        if await repo.record_use(self.engine, account, script.id, person, via):
            cached = self._indexes.get(account)
            if cached is not None:
                cached[1].bump_usage(script.id)

    async def set_favourite(self, person: str, script: Script, on: bool) -> bool:
        return await repo.set_favourite(self.engine, person, script.id, on)

    async def _refresh(self, account: str, ids: Iterable[int], generation: int) -> None:
        """Bring the local index up to ``generation`` after saving ``ids`` here: in place when
        nothing else changed in between, else by dropping it (reloaded on next use)."""
        cached = self._indexes.get(account)
        if cached is None:
            return
        if cached[0] != generation - 1:
            del self._indexes[account]
            return
        rows = await repo.scripts_by_id(self.engine, account, list(ids))
        categories = await repo.categories(self.engine, account)
        for row in rows.values():
            cached[1].put(_entry(_script(row, categories)))
        self._indexes[account] = (generation, cached[1])

    # Files

    async def keep_file(self, content_type: str, data: bytes) -> str:
        """Keep a picture or video sent in the chat; returns its ``file:`` reference."""
        digest = hashlib.sha256(data).hexdigest()
        await repo.put_file(self.engine, digest, content_type, data)
        return f"file:{digest}"

    async def file(self, sha256: str) -> tuple[str, bytes] | None:
        return await repo.get_file(self.engine, sha256)


def _fields(draft: Draft) -> dict[str, Any]:
    return {
        "title": draft.title,
        "shortcode": draft.shortcode,
        "kind": draft.kind,
        "body": draft.body,
        "tags": list(draft.tags),
        "owner": draft.owner,
        "category": draft.category,
    }


def as_draft(script: Script, **changes: Any) -> Draft:
    """A draft of an existing script with some fields changed (for edits and moves)."""
    draft = Draft(
        title=script.title,
        kind=script.kind,
        body=dict(script.body),
        shortcode=script.shortcode,
        tags=script.tags,
        owner=script.owner,
        category=script.category,
    )
    return replace(draft, **changes)
