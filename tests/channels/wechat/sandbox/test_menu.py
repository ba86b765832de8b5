"""Custom menu limits (§2.3)."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import JPEG


def click(name: str = "A", key: str = "K") -> dict[str, Any]:
    return {"type": "click", "name": name, "key": key}


def parent(*subs: dict[str, Any], name: str = "More") -> dict[str, Any]:
    return {"name": name, "sub_button": list(subs)}


async def create(fake: Any, buttons: Any) -> int:
    body = await fake.api("POST", "/cgi-bin/menu/create", json={"button": buttons})
    return int(body["errcode"])


@pytest.mark.parametrize(
    ("buttons", "errcode"),
    [
        ([], 40016),
        ([click()] * 4, 40016),
        ("not a list", 40016),
        ([parent(*[click()] * 6)], 40017),
        ([{"name": "X", "sub_button": []}], 40017),
        ([{"name": "X"}], 40015),
        ([{"type": "tap", "name": "X", "key": "k"}], 40015),
        ([parent({"type": "nope", "name": "a", "key": "k"})], 40015),
        ([click(name="一二三四五六")], 40018),  # 18 bytes at top level
        ([click(name="")], 40018),
        ([click(name="x" * 17)], 40018),
        ([parent(click(), name="x" * 17)], 40018),
        ([parent(click(), name="一二三四五x")], 0),
        ([parent(click(name="长" * 21))], 40018),  # 63 bytes in a sub-menu
        ([click(key="k" * 129)], 40019),
        ([{"type": "scancode_push", "name": "s"}], 40019),
        ([{"type": "view", "name": "v"}], 40020),
        ([{"type": "view", "name": "v", "url": "https://a.b/" + "x" * 1013}], 40020),
        ([{"type": "view", "name": "v", "url": "ftp://a.b/"}], 40055),
        ([parent({"type": "view", "name": "v", "url": "javascript:alert(1)"})], 40054),
        ([{"type": "miniprogram", "name": "m", "url": "https://a.b", "pagepath": "p"}], 47001),
        ([{"type": "media_id", "name": "m", "media_id": "never"}], 40007),
        ([{"type": "article_id", "name": "a"}], 47001),
        ([click(name="一二三四五"), parent(click(name="长" * 20)), click(key="k" * 128)], 0),
        ([parent(*[click(name=f"s{i}") for i in range(5)])], 0),
        ([{"type": "view", "name": "v", "url": "https://a.b/" + "x" * 1012}], 0),
        (
            [
                {
                    "type": "miniprogram",
                    "name": "m",
                    "url": "https://a.b",
                    "appid": "wx1",
                    "pagepath": "pages/i",
                }
            ],
            0,
        ),
    ],
)
async def test_menu_rules(fake: Any, buttons: Any, errcode: int) -> None:
    assert await create(fake, buttons) == errcode


async def test_media_id_button_needs_a_permanent_material(fake: Any) -> None:
    temp = await fake.upload("/cgi-bin/media/upload", JPEG, type="thumb")
    perm = await fake.upload("/cgi-bin/material/add_material", JPEG, type="image")
    button = {"type": "media_id", "name": "m"}
    assert await create(fake, [{**button, "media_id": temp["thumb_media_id"]}]) == 40007
    assert await create(fake, [{**button, "media_id": perm["media_id"]}]) == 0


async def test_create_get_delete(fake: Any) -> None:
    assert (await fake.api("GET", "/cgi-bin/menu/get"))["errcode"] == 46003
    assert await create(fake, [click(), parent(click(name="s", key="K2"))]) == 0
    menu = (await fake.api("GET", "/cgi-bin/menu/get"))["menu"]
    assert menu["button"][0] == {"type": "click", "name": "A", "key": "K", "sub_button": []}
    assert menu["button"][1]["sub_button"][0]["key"] == "K2"
    assert (await fake.api("GET", "/cgi-bin/menu/delete"))["errcode"] == 0
    assert (await fake.api("GET", "/cgi-bin/menu/get"))["errcode"] == 46003


async def test_a_rejected_menu_keeps_the_published_one(fake: Any) -> None:
    assert await create(fake, [click()]) == 0
    assert await create(fake, [click()] * 4) == 40016
    assert (await fake.api("GET", "/cgi-bin/menu/get"))["menu"]["button"][0]["key"] == "K"


async def test_errmsg_carries_a_hint(fake: Any) -> None:
    body = await fake.api("POST", "/cgi-bin/menu/create", json={"button": [click(name="x" * 17)]})
    assert body["errmsg"].startswith("invalid button name size hint: [button[0].name")
    assert " rid: " in body["errmsg"]
