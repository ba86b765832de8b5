"""gettoken and access_token checks (§4.1)."""

from __future__ import annotations

from typing import Any

import pytest

SEND = "/cgi-bin/message/send"


async def gettoken(fake: Any, **params: str) -> Any:
    return await (await fake.client.get("/cgi-bin/gettoken", params=params)).json()


async def test_token_is_reused_within_validity_and_per_secret(fake: Any) -> None:
    ops, admin = fake.apps["ops"], fake.apps["admin"]
    first = await gettoken(fake, corpid=ops.corp_id, corpsecret=ops.secret)
    assert (first["errcode"], first["errmsg"], first["expires_in"]) == (0, "ok", 7200)
    again = await gettoken(fake, corpid=ops.corp_id, corpsecret=ops.secret)
    assert again["access_token"] == first["access_token"]
    other = await gettoken(fake, corpid=admin.corp_id, corpsecret=admin.secret)
    assert other["access_token"] != first["access_token"]


async def test_expires_in_counts_down_and_a_new_token_follows_expiry(fake: Any, clock: Any) -> None:
    ops = fake.apps["ops"]
    first = await gettoken(fake, corpid=ops.corp_id, corpsecret=ops.secret)
    clock.advance(7000)
    later = await gettoken(fake, corpid=ops.corp_id, corpsecret=ops.secret)
    assert later["access_token"] == first["access_token"] and 195 <= later["expires_in"] <= 200
    clock.advance(200)
    answer = await fake.client.post(SEND, params={"access_token": first["access_token"]}, json={})
    assert (await answer.json())["errcode"] == 42001
    fresh = await gettoken(fake, corpid=ops.corp_id, corpsecret=ops.secret)
    assert fresh["access_token"] != first["access_token"] and fresh["expires_in"] == 7200


async def test_token_ttl_is_a_setting(fake_factory: Any, clock: Any) -> None:
    fake = await fake_factory(token_ttl=60)
    token = await fake.token()
    clock.advance(61)
    answer = await fake.client.get("/cgi-bin/media/get", params={"access_token": token})
    assert (await answer.json())["errcode"] == 42001


@pytest.mark.parametrize(
    ("params", "errcode"),
    [
        ({"corpid": "wwnobody", "corpsecret": "secret-ops"}, 40013),
        ({"corpid": "ww0000000000000001", "corpsecret": "wrong"}, 40001),
        ({"corpid": "ww0000000000000002", "corpsecret": "secret-ops"}, 40001),
        ({"corpsecret": "secret-ops"}, 41002),
        ({"corpid": "ww0000000000000001"}, 41004),
    ],
)
async def test_gettoken_errors(fake: Any, params: dict[str, str], errcode: int) -> None:
    body = await gettoken(fake, **params)
    assert body["errcode"] == errcode and "access_token" not in body
    assert "more info" in body["errmsg"]


@pytest.mark.parametrize(("token", "errcode"), [(None, 41001), ("", 41001), ("not-a-token", 40014)])
async def test_api_token_errors(fake: Any, token: str | None, errcode: int) -> None:
    params = {} if token is None else {"access_token": token}
    answer = await fake.client.post(SEND, params=params, json={"touser": "a"})
    assert (await answer.json())["errcode"] == errcode


async def test_expire_route_ends_the_apps_tokens_only(fake: Any) -> None:
    ops_token, admin_token = await fake.token("ops"), await fake.token("admin")
    resp = await fake.client.post("/sandbox/apps/ops/tokens/expire")
    assert (await resp.json()) == {"expired": 1}
    ops = await fake.client.get("/cgi-bin/media/get", params={"access_token": ops_token})
    admin = await fake.client.get("/cgi-bin/media/get", params={"access_token": admin_token})
    assert (await ops.json())["errcode"] == 42001
    assert (await admin.json())["errcode"] == 41006  # authenticated, then media_id missing
    assert await fake.token("ops") != ops_token
