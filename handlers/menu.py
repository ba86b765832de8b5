"""The custom menu as data: items in the platform's button shape, paths, edits and a text tree.

An item is a mapping like ``{"name": "活动", "type": "click", "key": "MENU_1"}``,
``{"name": "官网", "type": "view", "url": "https://..."}``,
``{"name": "商城", "type": "miniprogram", "appid": "wx...", "pagepath": "pages/index",
"url": "https://..."}`` or a parent ``{"name": "服务", "sub_button": [...]}``. A parent without
children yet is allowed while editing; publishing needs every item complete (see
``channels/wechat/limits.py`` for the platform's counts and sizes).

Items are found by path: ``服务/预约`` (names) or ``2/1`` (positions from 1). Every edit returns a
new list and leaves its input unchanged.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

ACTIONS: dict[str, tuple[str, ...]] = {
    "click": ("key",),
    "view": ("url",),
    "miniprogram": ("appid", "pagepath", "url"),
}
ACTION_LABELS = {"click": "点击回复", "view": "链接", "miniprogram": "小程序"}
_FIELDS = frozenset({"name", "type", "key", "url", "appid", "pagepath", "sub_button"})
MAX_DEPTH = 2

Menu = list[dict[str, Any]]


class MenuError(ValueError):
    """A menu edit or a stored menu is refused; the message says why (in Chinese)."""


def menu_from_data(data: Any, where: str = "menu") -> tuple[dict[str, Any], ...]:
    """Check the shape of a stored or imported menu (not the platform's counts and sizes)."""
    if not isinstance(data, list):
        raise MenuError(f"{where}: expected a list of menu items")
    for i, item in enumerate(data):
        _check_item(item, f"{where}[{i}]", top=True)
    return tuple(copy.deepcopy(item) for item in data)


def _check_item(item: Any, where: str, *, top: bool) -> None:
    if not isinstance(item, dict):
        raise MenuError(f"{where}: a menu item is a mapping")
    unknown = set(item) - _FIELDS
    if unknown:
        raise MenuError(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip() or "/" in name:
        raise MenuError(f"{where}.name: a menu name is non-empty text without /")
    kind = item.get("type")
    children = item.get("sub_button")
    if kind is not None and children is not None:
        raise MenuError(f"{where}: an item has either an action (type) or sub-items, not both")
    if children is not None:
        if not top:
            raise MenuError(f"{where}: menus are at most {MAX_DEPTH} levels deep")
        if not isinstance(children, list):
            raise MenuError(f"{where}.sub_button: expected a list")
        for j, child in enumerate(children):
            _check_item(child, f"{where}.sub_button[{j}]", top=False)
    if kind is not None:
        if kind not in ACTIONS:
            raise MenuError(f"{where}.type: one of {', '.join(ACTIONS)}")
        for field_name in ACTIONS[kind]:
            value = item.get(field_name)
            if not isinstance(value, str) or not value.strip():
                raise MenuError(f"{where}.{field_name}: required for type {kind}")


def locate(menu: Sequence[dict[str, Any]], path: str) -> tuple[int, int | None]:
    """(top index, sub index or None) of the item at ``path``; raise :class:`MenuError`."""
    parts = [p.strip() for p in path.strip("/").split("/")]
    if not parts or not all(parts) or len(parts) > MAX_DEPTH:
        raise MenuError(f"菜单路径「{path}」不对：写作「名称」或「上级/名称」，也可用序号如 2/1")
    top = _index(menu, parts[0], path)
    if len(parts) == 1:
        return top, None
    return top, _index(menu[top].get("sub_button") or [], parts[1], path)


def _index(items: Sequence[dict[str, Any]], part: str, path: str) -> int:
    if part.isdigit() and 1 <= int(part) <= len(items):
        return int(part) - 1
    for i, item in enumerate(items):
        if item.get("name") == part:
            return i
    raise MenuError(f"菜单里没有「{path}」。发送「菜单 查看」看现有的菜单")


def get(menu: Sequence[dict[str, Any]], path: str) -> dict[str, Any]:
    top, sub = locate(menu, path)
    return menu[top] if sub is None else menu[top]["sub_button"][sub]


def add(menu: Sequence[dict[str, Any]], path: str, item: dict[str, Any]) -> Menu:
    """Add ``item`` at ``path`` (``名称`` at the top level, ``上级/名称`` under a parent)."""
    result = copy.deepcopy(list(menu))
    parent, _, _name = path.strip("/").rpartition("/")
    siblings: list[dict[str, Any]]
    if parent:
        top, sub = locate(result, parent)
        if sub is not None:
            raise MenuError(f"菜单最多 {MAX_DEPTH} 级，「{parent}」下不能再加子菜单")
        holder = result[top]
        if "type" in holder:
            raise MenuError(
                f"「{holder['name']}」本身有动作（{ACTION_LABELS.get(holder['type'], '')}），"
                "不能再挂子菜单；先删除它再重新添加为上级菜单"
            )
        siblings = holder.setdefault("sub_button", [])
    else:
        siblings = result
    if any(s.get("name") == item["name"] for s in siblings):
        raise MenuError(f"同一级已有名为「{item['name']}」的菜单")
    siblings.append(copy.deepcopy(item))
    _check_all(result)
    return result


def remove(menu: Sequence[dict[str, Any]], path: str) -> tuple[Menu, dict[str, Any]]:
    result = copy.deepcopy(list(menu))
    top, sub = locate(result, path)
    if sub is None:
        return result, result.pop(top)
    children = result[top]["sub_button"]
    removed = children.pop(sub)
    if not children:
        del result[top]["sub_button"]
    return result, removed


def replace(menu: Sequence[dict[str, Any]], path: str, item: dict[str, Any]) -> Menu:
    result = copy.deepcopy(list(menu))
    top, sub = locate(result, path)
    siblings = result if sub is None else result[top]["sub_button"]
    index = top if sub is None else sub
    if any(i != index and s.get("name") == item["name"] for i, s in enumerate(siblings)):
        raise MenuError(f"同一级已有名为「{item['name']}」的菜单")
    siblings[index] = copy.deepcopy(item)
    _check_all(result)
    return result


def move(menu: Sequence[dict[str, Any]], path: str, position: int) -> Menu:
    """Move the item at ``path`` to ``position`` (from 1) among its siblings."""
    result = copy.deepcopy(list(menu))
    top, sub = locate(result, path)
    siblings = result if sub is None else result[top]["sub_button"]
    if not 1 <= position <= len(siblings):
        raise MenuError(f"位置要在 1 到 {len(siblings)} 之间")
    item = siblings.pop(top if sub is None else sub)
    siblings.insert(position - 1, item)
    return result


def keys(menu: Sequence[dict[str, Any]]) -> set[str]:
    """The keys of every click item (their replies live in ``menu_replies``)."""
    found = set()
    for item in menu:
        for each in [item, *(item.get("sub_button") or [])]:
            if each.get("type") == "click":
                found.add(each["key"])
    return found


def render_tree(menu: Sequence[dict[str, Any]]) -> str:
    if not menu:
        return "（菜单是空的）"
    lines = []
    for i, item in enumerate(menu, 1):
        lines.append(f"{i}. {_describe(item)}")
        for j, child in enumerate(item.get("sub_button") or [], 1):
            lines.append(f"   {i}.{j} {_describe(child)}")
    return "\n".join(lines)


def _describe(item: dict[str, Any]) -> str:
    kind = item.get("type")
    if kind == "click":
        return f"{item['name']} → 点击回复（{item['key']}）"
    if kind == "view":
        return f"{item['name']} → 链接 {item['url']}"
    if kind == "miniprogram":
        return f"{item['name']} → 小程序 {item['appid']} {item['pagepath']}"
    if item.get("sub_button"):
        return f"{item['name']}（上级菜单）"
    return f"{item['name']}（未设置动作）"


def _check_all(menu: Sequence[dict[str, Any]]) -> None:
    for i, item in enumerate(menu):
        try:
            _check_item(item, f"menu[{i}]", top=True)
        except MenuError as exc:
            raise MenuError(f"菜单项不完整或格式不对：{exc}") from None
