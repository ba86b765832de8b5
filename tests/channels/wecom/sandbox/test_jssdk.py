"""Web pages in WeCom: JS-SDK tickets and their hourly quotas, the OAuth authorize page, code ->
userid, signature checks, and the matching /sandbox control routes."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from channels.wecom.sandbox import Clock, FakeWecomApp, WecomApiError
from channels.wecom.sandbox.jssdk import JssdkState

from .conftest import AES_KEY

CORP = "ww0000000000000001"
OPS_AGENT = "1000002"
AUTHORIZE = "/connect/oauth2/authorize"
CORP_TICKET = "/cgi-bin/get_jsapi_ticket"
APP_TICKET = "/cgi-bin/ticket/get"
USERINFO = "/cgi-bin/auth/getuserinfo"
PAGE = "https://bot.example/sidebar?tab=a%20b"


def link(**changes: str) -> dict[str, str]:
    """The query of an OAuth link for the ops app, with some values changed (or dropped: "")."""
    params = {
        "appid": CORP,
        "redirect_uri": PAGE,
        "response_type": "code",
        "scope": "snsapi_base",
        "state": "s1x",
        "agentid": OPS_AGENT,
        **changes,
    }
    return {k: v for k, v in params.items() if v != "" or k == "state"}


async def authorize(fake: Any, **changes: str) -> Any:
    return await fake.client.get(
        fake.base + AUTHORIZE, params=link(**changes), allow_redirects=False
    )


async def code_for(fake: Any, **changes: str) -> str:
    resp = await authorize(fake, **changes)
    assert resp.status == 302, await resp.text()
    [code] = parse_qs(urlsplit(resp.headers["Location"]).query)["code"]
    return str(code)


def sign(ticket: str, noncestr: str, timestamp: int | str, url: str) -> str:
    plain = f"jsapi_ticket={ticket}&noncestr={noncestr}&timestamp={timestamp}&url={url}"
    return hashlib.sha1(plain.encode(), usedforsecurity=False).hexdigest()


# OAuth


@pytest.mark.parametrize("mounted", [False, True])
async def test_authorize_redirects_with_code_and_state_after_the_existing_query(
    fake_factory: Any, mounted: bool
) -> None:
    fake = await fake_factory(mounted=mounted)
    fake.wecom.sign_in("ops", "LiSi")
    resp = await authorize(fake)
    assert resp.status == 302
    location = resp.headers["Location"]
    assert location.startswith(PAGE + "&code=")  # the page's own query is left as it was
    assert location.endswith("&state=s1x")
    code = parse_qs(urlsplit(location).query)["code"][0]
    answer = await fake.api("GET", USERINFO, params={"code": code})
    assert answer == {"errcode": 0, "errmsg": "ok", "userid": "LiSi"}
    [call] = fake.wecom.calls_to(AUTHORIZE)
    assert (call["status"], call["app"]) == (302, "ops")


async def test_the_code_goes_before_a_fragment_and_into_an_empty_query(fake: Any) -> None:
    fake.wecom.sign_in("ops", "lisi")
    resp = await authorize(fake, redirect_uri="https://bot.example/side#/orders", state="")
    location = resp.headers["Location"]
    parts = urlsplit(location)
    assert (parts.path, parts.fragment) == ("/side", "/orders")
    assert parts.query.startswith("code=") and parts.query.endswith("&state=")


async def test_a_code_is_good_once(fake: Any) -> None:
    fake.wecom.sign_in("ops", "lisi")
    code = await code_for(fake)
    first = await fake.api("GET", USERINFO, params={"code": code})
    again = await fake.api("GET", USERINFO, params={"code": code})
    assert first["userid"] == "lisi"
    assert again["errcode"] == 40029 and "userid" not in again
    assert again["errmsg"].startswith("invalid code")


async def test_a_code_lasts_five_minutes(fake: Any, clock: Clock) -> None:
    fake.wecom.sign_in("ops", "lisi")
    fresh, stale = await code_for(fake), await code_for(fake)
    clock.advance(299)
    assert (await fake.api("GET", USERINFO, params={"code": fresh}))["userid"] == "lisi"
    clock.advance(2)
    assert (await fake.api("GET", USERINFO, params={"code": stale}))["errcode"] == 40029


async def test_a_code_belongs_to_its_app(fake: Any) -> None:
    fake.wecom.sign_in("ops", "lisi")
    code = await code_for(fake)
    other = await fake.api("GET", USERINFO, name="admin", params={"code": code})
    assert other["errcode"] == 40029
    assert (await fake.api("GET", USERINFO, params={"code": code}))["userid"] == "lisi"


@pytest.mark.parametrize(("params", "errcode"), [({"code": "nope"}, 40029), ({}, 41008)])
async def test_unknown_and_missing_codes(fake: Any, params: dict[str, str], errcode: int) -> None:
    assert (await fake.api("GET", USERINFO, params=params))["errcode"] == errcode


async def test_someone_outside_the_corp_gets_an_openid(fake: Any) -> None:
    fake.wecom.sign_in("ops", "guest", member=False)
    first = await fake.api("GET", USERINFO, params={"code": await code_for(fake)})
    second = await fake.api("GET", USERINFO, params={"code": await code_for(fake)})
    assert first["errcode"] == 0 and "userid" not in first
    assert first["openid"] and first["openid"] == second["openid"]
    assert fake.wecom.state("ops").corp.find("guest") is None  # not added to the directory


async def test_a_member_signing_in_joins_the_directory(fake: Any) -> None:
    fake.wecom.sign_in("ops", "WangWu")
    entry = fake.wecom.state("ops").corp.find("wangwu")
    assert entry is not None and entry.userid == "WangWu"


async def test_nobody_signed_in_is_forbidden(fake: Any) -> None:
    resp = await authorize(fake)
    assert resp.status == 403 and "nobody" in await resp.text()
    fake.wecom.sign_in("ops", "lisi")
    fake.wecom.sign_in("admin", "zhaoliu")
    fake.wecom.sign_out("ops")
    assert (await authorize(fake)).status == 403
    assert (await authorize(fake, agentid="1000003")).status == 302


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"appid": "wwnobody"}, "appid"),
        ({"appid": ""}, "appid"),
        ({"agentid": "1000009"}, "agentid"),
        ({"agentid": ""}, "agentid"),
        ({"appid": "ww0000000000000002", "agentid": "1000003"}, "agentid"),
        ({"response_type": "token"}, "response_type"),
        ({"scope": "snsapi_userinfo"}, "scope"),
        ({"redirect_uri": "ftp://bot.example/x"}, "redirect_uri"),
        ({"redirect_uri": "/relative"}, "redirect_uri"),
        ({"state": "with-dash"}, "state"),
        ({"state": "x" * 129}, "state"),
    ],
)
async def test_a_bad_link_is_refused(fake: Any, changes: dict[str, str], words: str) -> None:
    fake.wecom.sign_in("ops", "lisi")
    resp = await authorize(fake, **changes)
    assert resp.status == 400
    assert words in await resp.text()


# tickets


async def test_the_corp_ticket_is_shared_by_the_corps_apps(fake: Any, clock: Clock) -> None:
    ops = await fake.api("GET", CORP_TICKET)
    admin = await fake.api("GET", CORP_TICKET, name="admin")
    other = await fake.api("GET", CORP_TICKET, name="other")
    assert (ops["errcode"], ops["errmsg"], ops["expires_in"]) == (0, "ok", 7200)
    assert admin["ticket"] == ops["ticket"] != other["ticket"]
    clock.advance(7000)
    later = await fake.api("GET", CORP_TICKET)
    assert later["ticket"] == ops["ticket"] and later["expires_in"] == 200
    clock.advance(200)
    fresh = await fake.api("GET", CORP_TICKET, name="admin")  # (ops's helper token ran out)
    assert fresh["ticket"] != ops["ticket"] and fresh["expires_in"] == 7200


async def test_each_app_has_its_own_ticket(fake: Any) -> None:
    ops = await fake.api("GET", APP_TICKET, params={"type": "agent_config"})
    admin = await fake.api("GET", APP_TICKET, name="admin", params={"type": "agent_config"})
    corp = await fake.api("GET", CORP_TICKET)
    assert (ops["errcode"], ops["expires_in"]) == (0, 7200)
    assert len({ops["ticket"], admin["ticket"], corp["ticket"]}) == 3
    again = await fake.api("GET", APP_TICKET, params={"type": "agent_config"})
    assert again["ticket"] == ops["ticket"]
    view = fake.wecom.tickets("ops")
    assert view == {
        "corp_ticket": corp["ticket"],
        "agent_ticket": ops["ticket"],
        "corp_fetches": 1,
        "agent_fetches": 2,
    }


@pytest.mark.parametrize("params", [{}, {"type": "jsapi"}])
async def test_the_app_ticket_needs_type_agent_config(fake: Any, params: dict[str, str]) -> None:
    answer = await fake.api("GET", APP_TICKET, params=params)
    assert answer["errcode"] == 40058 and "ticket" not in answer
    assert fake.wecom.tickets("ops")["agent_fetches"] == 0


async def test_tickets_need_a_valid_token(fake: Any) -> None:
    resp = await fake.client.get(CORP_TICKET, params={"access_token": "not-a-token"})
    assert (await resp.json())["errcode"] == 40014


@pytest.mark.parametrize(
    ("path", "params"), [(APP_TICKET, {"type": "agent_config"}), (CORP_TICKET, {})]
)
async def test_100_fetches_an_hour_per_app_then_45009(
    fake: Any, clock: Clock, path: str, params: dict[str, str]
) -> None:
    for _ in range(100):
        assert (await fake.api("GET", path, params=params))["errcode"] == 0
    over = await fake.api("GET", path, params=params)
    assert over["errcode"] == 45009 and over["errmsg"].startswith("api freq out of limit")
    assert (await fake.api("GET", path, name="admin", params=params))["errcode"] == 0
    clock.advance(3600)
    assert (await fake.api("GET", path, params=params))["errcode"] == 0
    agent = path == APP_TICKET
    assert fake.wecom.tickets("ops")["agent_fetches" if agent else "corp_fetches"] == 101


def test_the_corp_quota_counts_every_app_of_the_corp() -> None:
    clock = Clock()
    state = JssdkState(clock, corp_per_hour=3, app_per_hour=2)
    one, two = (
        FakeWecomApp(
            name=name,
            corp_id=CORP,
            agent_id=agent,
            secret=f"s-{name}",
            token="t",
            encoding_aes_key=AES_KEY,
            callback_url="http://127.0.0.1:1/x",
        )
        for name, agent in (("one", 1), ("two", 2))
    )
    state.fetch(one, agent=False)
    state.fetch(one, agent=False)
    with pytest.raises(WecomApiError) as info:
        state.fetch(one, agent=False)  # the app's quota
    assert info.value.errcode == 45009
    state.fetch(two, agent=False)
    with pytest.raises(WecomApiError) as info:
        state.fetch(two, agent=False)  # the corp's quota, though "two" fetched once
    assert info.value.errcode == 45009
    state.fetch(two, agent=True)  # app tickets do not count against the corp
    state.fetch(two, agent=True)
    clock.advance(3600)
    state.fetch(two, agent=False)


# signatures


async def test_check_js_signature(fake: Any) -> None:
    corp = (await fake.api("GET", CORP_TICKET))["ticket"]
    own = (await fake.api("GET", APP_TICKET, params={"type": "agent_config"}))["ticket"]
    check = fake.wecom.check_js_signature
    url = "https://bot.example/sidebar?x=1"
    good = sign(corp, "Wm3WZYTPz0wzccnW", 1414587457, url)
    assert check(
        "ops",
        agent=False,
        url=url,
        noncestr="Wm3WZYTPz0wzccnW",
        timestamp=1414587457,
        signature=good,
    )
    assert check(
        "admin",
        agent=False,
        url=url + "#/x",
        noncestr="Wm3WZYTPz0wzccnW",
        timestamp="1414587457",
        signature=good,
    )  # same corp; the fragment is not signed
    assert not check(
        "other",
        agent=False,
        url=url,
        noncestr="Wm3WZYTPz0wzccnW",
        timestamp=1414587457,
        signature=good,
    )  # another corp's ticket
    assert not check(
        "ops",
        agent=True,
        url=url,
        noncestr="Wm3WZYTPz0wzccnW",
        timestamp=1414587457,
        signature=good,
    )  # wx.config is not wx.agentConfig
    assert not check(
        "ops",
        agent=False,
        url=url + "&y=2",
        noncestr="Wm3WZYTPz0wzccnW",
        timestamp=1414587457,
        signature=good,
    )
    assert not check(
        "ops", agent=False, url=url, noncestr="other", timestamp=1414587457, signature=good
    )
    assert not check(
        "ops",
        agent=False,
        url=url,
        noncestr="Wm3WZYTPz0wzccnW",
        timestamp=1414587458,
        signature=good,
    )
    agent_sig = sign(own, "n", 5, url)
    assert check("ops", agent=True, url=url, noncestr="n", timestamp=5, signature=agent_sig)
    assert not check("admin", agent=True, url=url, noncestr="n", timestamp=5, signature=agent_sig)
    assert fake.wecom.expire_tickets("ops") == 2
    assert not check("ops", agent=True, url=url, noncestr="n", timestamp=5, signature=agent_sig)
    assert not check(
        "ops",
        agent=False,
        url=url,
        noncestr="Wm3WZYTPz0wzccnW",
        timestamp=1414587457,
        signature=good,
    )


async def test_no_ticket_fetched_means_no_valid_signature(fake: Any) -> None:
    assert fake.wecom.tickets("ops")["corp_ticket"] is None
    assert not fake.wecom.check_js_signature(
        "ops",
        agent=False,
        url="https://x",
        noncestr="n",
        timestamp=1,
        signature=sign("", "n", 1, "https://x"),
    )


# control routes


async def test_control_routes_sign_in_read_tickets_and_check(fake: Any) -> None:
    resp = await fake.client.post("/sandbox/apps/ops/oauth/signin", json={"userid": "lisi"})
    assert (await resp.json()) == {"signed_in": "lisi"}
    code = await code_for(fake)
    assert (await fake.api("GET", USERINFO, params={"code": code}))["userid"] == "lisi"
    await fake.client.post("/sandbox/apps/ops/oauth/signin", json={"userid": "g", "member": False})
    guest = await fake.api("GET", USERINFO, params={"code": await code_for(fake)})
    assert "openid" in guest and "userid" not in guest
    assert (await fake.client.post("/sandbox/apps/ops/oauth/signout")).status == 200
    assert (await authorize(fake)).status == 403

    ticket = (await fake.api("GET", APP_TICKET, params={"type": "agent_config"}))["ticket"]
    view = await (await fake.client.get("/sandbox/apps/ops/jssdk/tickets")).json()
    assert view == {
        "corp_ticket": None,
        "agent_ticket": ticket,
        "corp_fetches": 0,
        "agent_fetches": 1,
    }
    body = {
        "agent": True,
        "url": PAGE,
        "noncestr": "abc",
        "timestamp": "7",
        "signature": sign(ticket, "abc", 7, PAGE),
    }
    check = "/sandbox/apps/ops/jssdk/check"
    assert (await (await fake.client.post(check, json=body)).json()) == {"valid": True}
    wrong = {**body, "agent": False}
    assert (await (await fake.client.post(check, json=wrong)).json()) == {"valid": False}
    expired = await fake.client.post("/sandbox/apps/ops/jssdk/tickets/expire")
    assert (await expired.json()) == {"expired": 1}
    assert (await (await fake.client.post(check, json=body)).json()) == {"valid": False}


@pytest.mark.parametrize(
    ("method", "url", "kwargs", "code"),
    [
        ("POST", "/sandbox/apps/nope/oauth/signin", {"json": {"userid": "x"}}, 404),
        ("POST", "/sandbox/apps/ops/oauth/signin", {"json": {}}, 400),
        ("POST", "/sandbox/apps/ops/oauth/signin", {"json": {"userid": "bad id"}}, 400),
        ("POST", "/sandbox/apps/ops/oauth/signin", {"json": {"userid": "x", "member": 1}}, 400),
        ("POST", "/sandbox/apps/nope/oauth/signout", {}, 404),
        ("GET", "/sandbox/apps/nope/jssdk/tickets", {}, 404),
        ("POST", "/sandbox/apps/nope/jssdk/tickets/expire", {}, 404),
        ("POST", "/sandbox/apps/ops/jssdk/check", {"json": {"url": "u"}}, 400),
        (
            "POST",
            "/sandbox/apps/ops/jssdk/check",
            {"json": {"url": "u", "noncestr": "n", "signature": "s", "timestamp": True}},
            400,
        ),
    ],
)
async def test_bad_jssdk_control_input(
    fake: Any, method: str, url: str, kwargs: dict[str, Any], code: int
) -> None:
    resp = await fake.client.request(method, url, **kwargs)
    assert resp.status == code
    assert (await resp.json())["error"]
