"""Import and export of the shared scripts, as CSV (one script per row) or JSON (a list).

An import is checked whole before anything is saved: every bad row is reported with its line
number (CSV: the line in the file, the header being line 1; JSON: the item's position), and
nothing is saved unless every row is good. A row whose shortcode exists replaces that script.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from typing import Any

from scripts_library.model import KINDS, Draft, Script, ScriptError, check_draft

# CSV columns: (key, header). Headers are read in Chinese or English.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("title", "标题"),
    ("kind", "类型"),
    ("shortcode", "快捷码"),
    ("category", "分类"),
    ("tags", "标签"),
    ("text", "内容"),
    ("image", "图片"),
    ("url", "链接"),
    ("card_title", "卡片标题"),
    ("description", "描述"),
    ("cover", "封面"),
    ("appid", "AppID"),
    ("page", "页面路径"),
    ("video", "视频"),
)
HEADERS = {h.lower(): k for k, h in COLUMNS} | {k: k for k, _ in COLUMNS}
MAX_ROWS = 5000
MAX_PROBLEMS = 20


class ImportProblems(Exception):
    """The import was refused; ``problems`` are (line, reason) pairs."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems

    def describe(self) -> str:
        shown = self.problems[:MAX_PROBLEMS]
        lines = [f"第 {line} 行：{reason}" if line else reason for line, reason in shown]
        more = len(self.problems) - len(shown)
        if more > 0:
            lines.append(f"……另有 {more} 处问题")
        return "\n".join(lines)


def _draft_from_row(row: Mapping[str, str]) -> Draft:
    kind = row.get("kind", "").strip() or "text"
    body = {k: row.get(k, "") for k in ("text", "image", "url", "description", "cover")}
    body |= {k: row.get(k, "") for k in ("appid", "page", "video")}
    body["title"] = row.get("card_title", "")
    return Draft(
        title=row.get("title", ""),
        kind=kind,
        body={k: v for k, v in body.items() if v and v.strip()},
        shortcode=row.get("shortcode", ""),
        tags=tuple(t for t in (row.get("tags") or "").replace("，", ",").split(",") if t.strip()),
        category=row.get("category", ""),
    )


def _check_all(drafts: Iterable[tuple[int, Draft]]) -> list[Draft]:
    problems: list[tuple[int, str]] = []
    checked: list[Draft] = []
    codes: dict[str, int] = {}
    for line, draft in drafts:
        try:
            good = check_draft(draft)
        except ScriptError as exc:
            problems.append((line, str(exc)))
            continue
        if good.shortcode and good.shortcode in codes:
            problems.append(
                (line, f"快捷码「{good.shortcode}」与第 {codes[good.shortcode]} 行重复。")
            )
            continue
        if good.shortcode:
            codes[good.shortcode] = line
        checked.append(good)
    if problems:
        raise ImportProblems(problems)
    if not checked:
        raise ImportProblems([(0, "没有可导入的话术。")])
    return checked


def parse_csv(text: str) -> list[Draft]:
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if not header:
        raise ImportProblems([(1, "文件是空的。")])
    keys = [HEADERS.get(h.strip().lower()) for h in header]
    unknown = [h for h, k in zip(header, keys, strict=True) if k is None and h.strip()]
    if unknown:
        raise ImportProblems([(1, f"不认识的列：{'、'.join(unknown)}。")])
    if "title" not in keys:
        raise ImportProblems([(1, "缺少「标题」列。")])
    rows: list[tuple[int, Draft]] = []
    problems: list[tuple[int, str]] = []
    start = reader.line_num + 1
    for values in reader:
        line, start = start, reader.line_num + 1
        if not any(v.strip() for v in values):
            continue
        if len(values) > len(keys):
            problems.append((line, f"有 {len(values)} 列，表头只有 {len(keys)} 列。"))
            continue
        row = {k: v for k, v in zip(keys, values, strict=False) if k}
        rows.append((line, _draft_from_row(row)))
        if len(rows) > MAX_ROWS:
            raise ImportProblems([(line, f"一次最多导入 {MAX_ROWS} 条。")])
    try:
        checked = _check_all(rows)
    except ImportProblems as exc:
        raise ImportProblems(sorted(problems + exc.problems)) from None
    if problems:
        raise ImportProblems(problems)
    return checked


def parse_json(text: str) -> list[Draft]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportProblems([(exc.lineno, f"不是合法的 JSON：{exc.msg}")]) from None
    items = data.get("scripts") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ImportProblems([(0, 'JSON 要是话术的列表，或 {"scripts": [...]}。')])
    if len(items) > MAX_ROWS:
        raise ImportProblems([(0, f"一次最多导入 {MAX_ROWS} 条。")])
    drafts: list[tuple[int, Draft]] = []
    problems: list[tuple[int, str]] = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("body", {}), dict):
            problems.append((number, "每一条要是一个对象，body 也要是对象。"))
            continue
        tags = item.get("tags") or []
        drafts.append(
            (
                number,
                Draft(
                    title=str(item.get("title") or ""),
                    kind=str(item.get("kind") or "text"),
                    body={str(k): str(v) for k, v in (item.get("body") or {}).items()},
                    shortcode=str(item.get("shortcode") or ""),
                    tags=tuple(str(t) for t in tags) if isinstance(tags, list) else (str(tags),),
                    category=str(item.get("category") or ""),
                ),
            )
        )
    try:
        checked = _check_all(drafts)
    except ImportProblems as exc:
        raise ImportProblems(sorted(problems + exc.problems)) from None
    if problems:
        raise ImportProblems(problems)
    return checked


def parse(text: str) -> list[Draft]:
    """CSV or JSON, told apart by the first character."""
    stripped = text.strip().lstrip("\ufeff")
    if stripped.startswith(("[", "{")):
        return parse_json(stripped)
    return parse_csv(stripped)


def _row(script: Script) -> list[str]:
    body = script.body
    values = {
        "title": script.title,
        "kind": KINDS[script.kind],
        "shortcode": script.shortcode,
        "category": script.category,
        "tags": ",".join(script.tags),
        "card_title": body.get("title", ""),
        **{k: v for k, v in body.items() if k != "title"},
    }
    return [values.get(key, "") for key, _ in COLUMNS]


def export_csv(scripts: Iterable[Script]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([header for _, header in COLUMNS])
    for script in scripts:
        writer.writerow(_row(script))
    return out.getvalue()


def export_json(scripts: Iterable[Script]) -> str:
    items: list[dict[str, Any]] = [
        {
            "title": s.title,
            "kind": s.kind,
            "shortcode": s.shortcode,
            "category": s.category,
            "tags": list(s.tags),
            "body": dict(s.body),
        }
        for s in scripts
    ]
    return json.dumps({"scripts": items}, ensure_ascii=False, indent=1)
