"""The /sandbox control routes, faults and bad input."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from channels.wechat.sandbox import FakeAccount

from .conftest import text_reply

OPENID = "oCustomer0000000000000000003"


async def test_timeline_long_poll_wakes_on_a_new_entry(fake: Any) -> None:
    url = f"/sandbox/safe/users/{OPENID}/timeline"
    empty = await (await fake.client.get(url, params={"after": 0, "wait": 0})).json()
    assert empty == {"entries": [], "last": 0}
    poll = asyncio.create_task(fake.client.get(url, params={"after": 0, "wait": 5}))
    await asyncio.sleep(0.05)
    fake.receiver.respond(text_reply("welcome"))
    result = await fake.act("safe", OPENID, "follow")
    body = await (await poll).json()
    assert body["entries"][0]["message"]["event"] == "subscribe"
    later = await (await fake.client.get(url, params={"after": 1})).json()
    assert [e["seq"] for e in later["entries"]] == [2] and later["last"] == result["seq"] == 2
    assert later["entries"][0]["message"] == {"type": "text", "content": "welcome"}


async def test_timeline_wait_times_out_quickly(fake: Any) -> None:
    url = f"/sandbox/safe/users/{OPENID}/timeline"
    loop = asyncio.get_running_loop()
    started = loop.time()
    body = await (await fake.client.get(url, params={"after": 0, "wait": 0.2})).json()
    assert body["entries"] == [] and 0.15 < loop.time() - started < 2


async def test_action_answer_shape(fake: Any) -> None:
    answer = await fake.act("safe", OPENID, "follow", scene=None)
    assert answer == {"outcome": "no_reply", "attempts": 1, "reply": None, "seq": 1, "detail": None}


async def test_calls_route_filters_by_path_and_account(fake: Any) -> None:
    await fake.api("GET", "/cgi-bin/menu/get", "plain")
    await fake.api("GET", "/cgi-bin/menu/get", "safe")
    resp = await fake.client.get(
        "/sandbox/calls", params={"path": "/cgi-bin/menu/get", "account": "plain"}
    )
    calls = (await resp.json())["calls"]
    assert len(calls) == 1 and calls[0]["response"]["errcode"] == 46003
    assert calls[0]["query"] == {"access_token": "***"} and calls[0]["method"] == "GET"


async def test_clock_route_advances_platform_time(fake: Any, clock: Any) -> None:
    before = clock.now()
    resp = await fake.client.post("/sandbox/clock", json={"advance": 3600})
    assert (await resp.json())["now"] >= before + 3600
    resp = await fake.client.post("/sandbox/clock", json={"advance": -1})
    assert resp.status == 400


async def test_fault_answers_errcode_the_given_number_of_times(fake: Any) -> None:
    resp = await fake.client.post(
        "/sandbox/faults", json={"path": "/cgi-bin/menu/get", "errcode": -1, "times": 2}
    )
    assert resp.status == 200
    codes = [(await fake.api("GET", "/cgi-bin/menu/get"))["errcode"] for _ in range(3)]
    assert codes == [-1, -1, 46003]


async def test_fault_40001_lets_a_client_test_refresh_and_retry(fake: Any) -> None:
    fake.platform.inject_fault("/cgi-bin/message/custom/send", errcode=40001)
    await fake.act("safe", OPENID, "follow")
    body = {"touser": OPENID, "msgtype": "text", "text": {"content": "hi"}}
    first = await fake.api("POST", "/cgi-bin/message/custom/send", json=body)
    second = await fake.api("POST", "/cgi-bin/message/custom/send", json=body)
    assert (first["errcode"], second["errcode"]) == (40001, 0)


async def test_fault_delay_makes_a_client_time_out(fake: Any) -> None:
    fake.platform.inject_fault("/cgi-bin/menu/get", delay=0.5)
    token = await fake.token()
    with pytest.raises(asyncio.TimeoutError):
        await fake.client.get(
            "/cgi-bin/menu/get",
            params={"access_token": token},
            timeout=aiohttp.ClientTimeout(total=0.1),
        )
    resp = await fake.client.get("/cgi-bin/menu/get", params={"access_token": token})
    assert (await resp.json())["errcode"] == 46003


async def test_reset_forgets_everything(fake: Any) -> None:
    await fake.act("safe", OPENID, "follow")
    token = await fake.token()
    assert (await (await fake.client.post("/sandbox/reset")).json()) == {"ok": True}
    assert fake.platform.timeline("safe", OPENID) == [] and fake.platform.calls == []
    resp = await fake.client.get("/cgi-bin/menu/get", params={"access_token": token})
    assert (await resp.json())["errcode"] == 40001


@pytest.mark.parametrize(
    ("method", "url", "body", "status"),
    [
        ("POST", f"/sandbox/nope/users/{OPENID}/follow", {}, 404),
        ("POST", "/sandbox/safe/users/bad%20id/follow", {}, 400),
        ("POST", f"/sandbox/safe/users/{OPENID}/dance", {}, 404),
        ("POST", f"/sandbox/safe/users/{OPENID}/follow", b"{bad json", 400),
        ("POST", f"/sandbox/safe/users/{OPENID}/follow", [1, 2], 400),
        ("POST", f"/sandbox/safe/users/{OPENID}/follow", {"scene": 1.5}, 400),
        ("POST", f"/sandbox/safe/users/{OPENID}/follow", b"x" * 70_000, 413),
        ("POST", f"/sandbox/safe/users/{OPENID}/text", {"content": "x"}, 409),
        (
            "POST",
            f"/sandbox/safe/users/{OPENID}/location",
            {"lat": 91, "lng": 0, "label": "x"},
            400,
        ),
        ("GET", f"/sandbox/safe/users/{OPENID}/timeline?after=x", None, 400),
        ("GET", f"/sandbox/safe/users/{OPENID}/timeline?wait=999", None, 400),
        ("GET", "/sandbox/nope/menu", None, 404),
        ("POST", "/sandbox/faults", {"path": "/x", "times": 0, "errcode": 1}, 400),
        ("POST", "/sandbox/faults", {"path": "/x", "errcode": "1"}, 400),
        ("POST", "/sandbox/faults", {"path": "/x"}, 400),
        ("POST", "/sandbox/clock", {"advance": "1"}, 400),
        ("POST", "/sandbox/nope/tokens/revoke", None, 404),
    ],
)
async def test_bad_input_gets_a_clear_4xx(
    fake: Any, method: str, url: str, body: Any, status: int
) -> None:
    kwargs = {"data": body} if isinstance(body, bytes) else {"json": body}
    resp = await fake.client.request(method, url, **kwargs)
    assert resp.status == status
    assert isinstance((await resp.json())["error"], str)


async def test_text_content_must_be_a_non_empty_string(fake: Any) -> None:
    await fake.act("safe", OPENID, "follow")
    for content in ("", 5, None, "x" * 2049):
        resp = await fake.client.post(
            f"/sandbox/safe/users/{OPENID}/text", json={"content": content}
        )
        assert resp.status == 400


async def test_accounts_route_lists_accounts_without_secrets(fake: Any) -> None:
    body = await (await fake.client.get("/sandbox/accounts")).json()
    names = [a["name"] for a in body["accounts"]]
    assert names == ["plain", "compat", "safe", "sub"]
    assert "secret" not in str(body) and "token" not in str(body)


async def test_account_repr_hides_secrets(fake: Any) -> None:
    text = repr(fake.accounts["safe"])
    assert "secret-safe" not in text and fake.accounts["safe"].encoding_aes_key not in text


async def test_url_verification_checks_the_exact_echo(fake: Any) -> None:
    answer = await (await fake.client.post("/sandbox/safe/verify")).json()
    assert answer == {"ok": True, "status": 200, "detail": None}
    query = fake.receiver.verifications[-1]
    assert set(query) == {"signature", "timestamp", "nonce", "echostr"}
    fake.receiver.accounts["safe"] = fake.accounts["plain"]  # the bot checks with a wrong token
    answer = await (await fake.client.post("/sandbox/safe/verify")).json()
    assert answer["ok"] is False and answer["status"] == 403


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("encoding_aes_key", "short"),
        ("mode", "aes"),
        ("callback_url", "ftp://x"),
        ("name", "a/b"),
        ("token", ""),
    ],
)
def test_account_settings_are_validated(field: str, value: str) -> None:
    good = {
        "name": "a",
        "app_id": "wx1",
        "secret": "s",
        "token": "t",
        "encoding_aes_key": "a" * 43,
        "mode": "safe",
        "original_id": "gh_1",
        "callback_url": "http://127.0.0.1/",
    }
    FakeAccount(**good)
    with pytest.raises(ValueError, match=field):
        FakeAccount(**{**good, field: value})


def test_plaintext_accounts_may_leave_the_aes_key_empty() -> None:
    common = {
        "name": "a",
        "app_id": "wx1",
        "secret": "s",
        "token": "t",
        "encoding_aes_key": "",
        "original_id": "gh_1",
        "callback_url": "http://127.0.0.1/",
    }
    assert FakeAccount(**common, mode="plaintext").encrypted is False
    with pytest.raises(ValueError, match="encoding_aes_key"):
        FakeAccount(**common, mode="compatible")


async def test_calls_are_recorded_on_arrival(fake: Any) -> None:
    fake.platform.inject_fault("/cgi-bin/menu/get", delay=0.3)
    token = await fake.token()
    pending = asyncio.create_task(
        fake.client.get("/cgi-bin/menu/get", params={"access_token": token})
    )
    await asyncio.sleep(0.1)
    call = fake.platform.calls_to("/cgi-bin/menu/get")[0]
    assert (call["status"], call["response"], call["account"]) == (0, None, "safe")
    await pending
    assert call["status"] == 200 and call["response"]["errcode"] == 46003
