"""Malformed input to every OA API gets an errcode answer, never a server error."""

from __future__ import annotations

from typing import Any

import pytest

from channels.wechat.sandbox.app import API_ROUTES

ODD_BODIES: list[Any] = [
    {},
    {"touser": 5, "msgtype": ["text"], "text": "x"},
    {"button": [None, 1, "x"]},
    {"button": [{"name": 5, "sub_button": [None]}]},
    {"action_name": "QR_SCENE", "action_info": {"scene": []}},
    {"filter": {"is_to_all": "yes", "tag_id": "1"}, "msgtype": "text", "text": {"content": None}},
    {"touser": ["a", 1], "msgtype": "text"},
    {"user_list": [None]},
    {"msg_id": {"x": 1}, "article_idx": -1},
    {"type": "image", "offset": "0", "count": None},
    {"media_id": ["x"]},
    {"grant_type": "client_credential", "appid": 1, "secret": []},
    {"touser": "o", "command": None},
]


BODILESS: frozenset[str] = frozenset({"/cgi-bin/draft/count"})
"""POST routes that read no body, so no body can be wrong (they are tested elsewhere)."""


@pytest.mark.parametrize(
    "path", [p for m, p, _, _ in API_ROUTES if m == "POST" and p not in BODILESS]
)
async def test_odd_json_bodies_get_errcodes(fake: Any, path: str) -> None:
    token = await fake.token()
    for body in ODD_BODIES:
        resp = await fake.client.post(
            path, params={"access_token": token, "type": "image"}, json=body
        )
        assert resp.status == 200, (path, body)
        answer = await resp.json()
        assert answer["errcode"] != 0, (path, body, answer)


@pytest.mark.parametrize("path", [p for m, p, _, _ in API_ROUTES if m == "GET"])
async def test_odd_queries_never_fail_the_server(fake: Any, path: str) -> None:
    token = await fake.token()
    for query in (
        {"openid": "", "media_id": "", "ticket": "", "next_openid": "x"},
        {"grant_type": "client_credential", "appid": "wx", "secret": ""},
    ):
        resp = await fake.client.get(path, params={"access_token": token, **query})
        assert resp.status in (200, 404), (path, query)
        if resp.status == 200:
            assert isinstance(await resp.json(), dict)


async def test_multipart_garbage_is_refused(fake: Any) -> None:
    token = await fake.token()
    resp = await fake.client.post(
        "/cgi-bin/media/upload",
        params={"access_token": token, "type": "image"},
        data=b"--zz\r\nnonsense",
        headers={"Content-Type": "multipart/form-data; boundary=zz"},
    )
    assert resp.status == 200
    assert (await resp.json())["errcode"] in (41005, 47001)
