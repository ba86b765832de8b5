"""Menu edits and the platform's menu limits."""

from __future__ import annotations

import pytest

from channels.wechat.limits import menu_problems
from handlers import menu
from handlers.menu import MenuError

CLICK = {"name": "活动", "type": "click", "key": "MENU_1"}


def test_add_under_a_parent_move_and_remove() -> None:
    m = menu.add([], "活动", CLICK)
    m = menu.add(m, "服务", {"name": "服务"})
    m = menu.add(m, "服务/官网", {"name": "官网", "type": "view", "url": "https://a.example"})
    assert menu.get(m, "2/1")["url"] == "https://a.example"
    m = menu.move(m, "服务", 1)
    assert [b["name"] for b in m] == ["服务", "活动"]
    m, removed = menu.remove(m, "服务/官网")
    assert removed["name"] == "官网" and "sub_button" not in m[0]
    assert menu.keys(m) == {"MENU_1"}


def test_refusals_say_why() -> None:
    m = menu.add([], "活动", CLICK)
    with pytest.raises(MenuError, match="不能再挂子菜单"):
        menu.add(m, "活动/子", {"name": "子"})
    with pytest.raises(MenuError, match="同一级已有"):
        menu.add(m, "活动", CLICK)
    with pytest.raises(MenuError, match="没有「不存在」"):
        menu.get(m, "不存在")
    with pytest.raises(MenuError, match="位置要在 1 到 1 之间"):
        menu.move(m, "活动", 2)


def test_platform_limits_each_named() -> None:
    too_many = [{"name": f"m{i}", "type": "view", "url": "https://a.example"} for i in range(4)]
    assert any("一级菜单最多 3 个" in p for p in menu_problems(too_many, complete=True))
    subs = [{"name": f"s{i}", "type": "view", "url": "https://a.example"} for i in range(6)]
    problems = menu_problems([{"name": "p", "sub_button": subs}], complete=True)
    assert any("子菜单最多 5 个，现在有 6 个" in p for p in problems)
    long_name = [{"name": "一二三四五六", "type": "view", "url": "https://a.example"}]
    assert any("最多 16 字节" in p for p in menu_problems(long_name, complete=True))
    sub_ok = [{"name": "p", "sub_button": [{**long_name[0]}]}]
    assert menu_problems(sub_ok, complete=True) == []
    bad_url = [{"name": "a", "type": "view", "url": "ftp://x"}]
    assert any("http://" in p for p in menu_problems(bad_url, complete=True))
    bad_app = [
        {"name": "a", "type": "miniprogram", "appid": "x", "pagepath": "/p", "url": "https://a.b"}
    ]
    problems = menu_problems(bad_app, complete=True)
    assert any("appid" in p for p in problems) and any("不以 / 开头" in p for p in problems)
    parent_only = [{"name": "p"}]
    assert menu_problems(parent_only, complete=False) == []
    assert any("还没有设置动作" in p for p in menu_problems(parent_only, complete=True))
