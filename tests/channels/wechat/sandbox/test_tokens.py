"""access_token rules (§2.1): rotation with a 300 s overlap, stable tokens, 40001/41001/42001."""

from __future__ import annotations

from typing import Any


async def menu_get(fake: Any, token: str | None) -> int:
    params = {"access_token": token} if token is not None else {}
    resp = await fake.client.get("/cgi-bin/menu/get", params=params)
    return int((await resp.json())["errcode"])


async def token_call(fake: Any, **params: str) -> Any:
    resp = await fake.client.get("/cgi-bin/token", params=params)
    return await resp.json()


async def test_classic_token_rotates_and_the_old_one_works_for_300_s(fake: Any, clock: Any) -> None:
    first = await fake.token()
    second = await fake.token()
    assert first != second and len(first) >= 150
    assert await menu_get(fake, first) == 46003  # authenticated: the account just has no menu
    clock.advance(299)
    assert await menu_get(fake, first) == 46003
    clock.advance(2)
    assert await menu_get(fake, first) == 40001
    assert await menu_get(fake, second) == 46003


async def test_token_expires_after_its_ttl(fake: Any, clock: Any) -> None:
    account = fake.accounts["safe"]
    resp = await token_call(
        fake, grant_type="client_credential", appid=account.app_id, secret=account.secret
    )
    assert resp["expires_in"] == 7200
    clock.advance(7199)
    assert await menu_get(fake, resp["access_token"]) == 46003
    clock.advance(2)
    assert await menu_get(fake, resp["access_token"]) == 42001


async def test_missing_unknown_revoked_and_expired_tokens(fake: Any) -> None:
    assert await menu_get(fake, None) == 41001
    assert await menu_get(fake, "nope") == 40001
    token = await fake.token()
    assert fake.platform.revoke_tokens("safe") == 1
    assert await menu_get(fake, token) == 40001
    fresh = await fake.token()
    assert await menu_get(fake, fresh) == 46003
    fake.platform.expire_tokens("safe")
    assert await menu_get(fake, fresh) == 42001


async def test_revoke_route_invalidates_tokens_of_that_account_only(fake: Any) -> None:
    safe, plain = await fake.token("safe"), await fake.token("plain")
    resp = await fake.client.post("/sandbox/safe/tokens/revoke")
    assert (await resp.json()) == {"revoked": 1}
    assert await menu_get(fake, safe) == 40001
    assert await menu_get(fake, plain) == 46003


async def test_a_token_acts_on_its_own_account(fake: Any) -> None:
    menu = {"button": [{"type": "click", "name": "a", "key": "k"}]}
    assert (await fake.api("POST", "/cgi-bin/menu/create", "plain", json=menu))["errcode"] == 0
    assert (await fake.api("GET", "/cgi-bin/menu/get", "safe"))["errcode"] == 46003
    assert "menu" in await fake.api("GET", "/cgi-bin/menu/get", "plain")


async def test_bad_credentials(fake: Any) -> None:
    account = fake.accounts["safe"]
    good = {"grant_type": "client_credential", "appid": account.app_id, "secret": account.secret}
    assert (await token_call(fake, **{**good, "appid": "wxunknown"}))["errcode"] == 40013
    bad_secret = await token_call(fake, **{**good, "secret": "wrong"})
    assert bad_secret["errcode"] == 40001
    assert bad_secret["errmsg"].startswith("invalid credential")
    assert (await token_call(fake, **{**good, "grant_type": "password"}))["errcode"] == 40002
    assert (await token_call(fake, **{**good, "secret": ""}))["errcode"] == 41004


async def test_token_calls_are_recorded_with_secrets_masked(fake: Any) -> None:
    await fake.token()
    call = fake.platform.calls_to("/cgi-bin/token")[-1]
    assert call["query"]["secret"] == "***" and call["account"] == "safe"
    assert call["status"] == 200 and "access_token" in call["response"]
    await fake.api("GET", "/cgi-bin/menu/get")
    assert fake.platform.calls[-1]["query"]["access_token"] == "***"


async def test_stable_token_is_stable_until_force_refresh(fake: Any, clock: Any) -> None:
    account = fake.accounts["safe"]
    body = {"grant_type": "client_credential", "appid": account.app_id, "secret": account.secret}

    async def stable(**extra: Any) -> Any:
        resp = await fake.client.post("/cgi-bin/stable_token", json={**body, **extra})
        return await resp.json()

    first = await stable()
    clock.advance(100)
    again = await stable(force_refresh=False)
    assert again["access_token"] == first["access_token"]
    assert again["expires_in"] == 7100
    forced = await stable(force_refresh=True)
    assert forced["access_token"] != first["access_token"]
    assert await menu_get(fake, first["access_token"]) == 40001
    assert await menu_get(fake, forced["access_token"]) == 46003
    classic = await fake.token()
    assert await menu_get(fake, forced["access_token"]) == 46003  # isolated from classic tokens
    assert await menu_get(fake, classic) == 46003
    assert (await stable(secret="bad"))["errcode"] == 40001
    resp = await fake.client.post("/cgi-bin/stable_token", data=b"{not json")
    assert (await resp.json())["errcode"] == 47001
