"""The /sandbox control routes, faults, and the fake mounted under /wecom."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from .conftest import JPEG, encrypted_text_reply, png, status

AGENT = 1000002
USER = "/sandbox/apps/ops/members/lisi"


async def test_say_route_answers_the_outcome(fake: Any) -> None:
    answer = await fake.act("ops", "lisi", "say", json={"text": "hello"})
    assert answer["attempts"] == 1 and answer["statuses"] == [200] and answer["errors"] == []
    assert answer["delivered"] is True and answer["reply"] is None and answer["seq"] == 0
    assert fake.receiver.received[0].message.id == answer["msg_id"]


async def test_image_and_event_routes(fake: Any) -> None:
    fake.receiver.respond(encrypted_text_reply("nice photo"))
    answer = await fake.act("ops", "lisi", "image", data=png(400))
    assert answer["reply"]["Content"] == "nice photo" and answer["seq"] == 1
    assert fake.receiver.received[0].message.type == "image"
    event = await fake.act("ops", "lisi", "event", json={"event": "click", "key": "K1"})
    assert event["msg_id"] is None
    assert fake.receiver.received[1].message.key == "K1"


async def test_retries_are_visible_in_the_outcome(fake: Any) -> None:
    fake.receiver.respond(status(500), status(502))
    answer = await fake.act("ops", "lisi", "say", json={"text": "x"})
    assert answer["statuses"] == [500, 502, 200] and len(answer["errors"]) == 2


@pytest.mark.parametrize(
    ("method", "url", "kwargs", "code"),
    [
        ("POST", "/sandbox/apps/nope/members/lisi/say", {"json": {"text": "x"}}, 404),
        ("POST", "/sandbox/apps/ops/members/bad%20id/say", {"json": {"text": "x"}}, 400),
        ("POST", f"{USER}/dance", {"json": {}}, 404),
        ("POST", f"{USER}/say", {"json": {}}, 400),
        ("POST", f"{USER}/say", {"data": b"not json"}, 400),
        ("POST", f"{USER}/say", {"json": ["x"]}, 400),
        ("POST", f"{USER}/image", {"data": b"GIF89a" + bytes(20)}, 400),
        ("POST", f"{USER}/event", {"json": {"key": "k"}}, 400),
        ("GET", f"{USER}/timeline?wait=31", {}, 400),
        ("GET", f"{USER}/timeline?after=x", {}, 400),
        ("GET", "/sandbox/apps/nope/sends", {}, 404),
        ("POST", "/sandbox/apps/nope/tokens/expire", {}, 404),
        ("POST", "/sandbox/clock", {"json": {"advance": -1}}, 400),
        ("POST", "/sandbox/clock", {"json": {}}, 400),
        ("POST", "/sandbox/faults", {"json": {"path": "/cgi-bin/message/send"}}, 400),
        ("POST", "/sandbox/faults", {"json": {"errcode": -1}}, 400),
        ("POST", "/sandbox/faults", {"json": {"path": "/x", "http_status": 200}}, 400),
        ("POST", "/sandbox/faults", {"json": {"path": "/x", "errcode": "1"}}, 400),
    ],
)
async def test_bad_control_input(
    fake: Any, method: str, url: str, kwargs: dict[str, Any], code: int
) -> None:
    resp = await fake.client.request(method, url, **kwargs)
    assert resp.status == code
    assert (await resp.json())["error"]
    assert fake.receiver.received == []


async def test_timeline_long_poll_wakes_on_a_send(fake: Any) -> None:
    fake.wecom.member("ops", "lisi")
    url = f"{USER}/timeline"
    empty = await (await fake.client.get(url, params={"after": 0, "wait": 0})).json()
    assert empty == {"entries": [], "last": 0}
    poll = asyncio.create_task(fake.client.get(url, params={"after": 0, "wait": 10}))
    await asyncio.sleep(0.05)
    body = {"touser": "lisi", "agentid": AGENT, "msgtype": "text", "text": {"content": "ping"}}
    sent = await fake.send(body)
    result = await (await poll).json()
    [entry] = result["entries"]
    assert (entry["seq"], entry["kind"], entry["content"], entry["msgid"]) == (
        1,
        "text",
        "ping",
        sent["msgid"],
    )
    assert result["last"] == 1
    later = await (await fake.client.get(url, params={"after": 1})).json()
    assert later == {"entries": [], "last": 1}


async def test_timeline_wait_ends_without_entries(fake: Any) -> None:
    body = await (await fake.client.get(f"{USER}/timeline", params={"wait": 0.1})).json()
    assert body == {"entries": [], "last": 0}
    assert fake.wecom.state("ops").corp.find("lisi") is None  # reading adds nobody


async def test_calls_log_records_path_errcode_and_time(fake: Any, clock: Any) -> None:
    clock.advance(86400)  # recorded times are platform times
    token = await fake.token()
    await fake.client.get("/cgi-bin/media/get", params={"access_token": token, "media_id": "x"})
    resp = await fake.client.get("/sandbox/calls", params={"path": "/cgi-bin/media/get"})
    [call] = (await resp.json())["calls"]
    assert (call["path"], call["errcode"], call["status"], call["app"]) == (
        "/cgi-bin/media/get",
        40007,
        200,
        "ops",
    )
    assert call["query"] == {"access_token": "***", "media_id": "x"}
    assert abs(call["time"] - clock.now()) < 5
    token_calls = fake.wecom.calls_to("/cgi-bin/gettoken")
    assert token_calls[0]["query"]["corpsecret"] == "***" and token_calls[0]["errcode"] == 0


async def test_clock_route_advances_platform_time(fake: Any, clock: Any) -> None:
    before = clock.now()
    resp = await fake.client.post("/sandbox/clock", json={"advance": 3600})
    assert (await resp.json())["now"] >= before + 3600


async def test_fault_errcode_for_the_next_calls(fake: Any) -> None:
    resp = await fake.client.post(
        "/sandbox/faults", json={"path": "/cgi-bin/media/get", "errcode": -1, "times": 2}
    )
    assert resp.status == 200
    codes = [
        (await fake.api("GET", "/cgi-bin/media/get", params={"media_id": "x"}))["errcode"]
        for _ in range(3)
    ]
    assert codes == [-1, -1, 40007]


async def test_fault_45009_on_message_send_delivers_nothing(fake: Any) -> None:
    fake.wecom.member("ops", "lisi")
    fake.wecom.inject_fault("/cgi-bin/message/send", errcode=45009)
    body = {"touser": "lisi", "agentid": AGENT, "msgtype": "text", "text": {"content": "x"}}
    assert (await fake.send(body))["errcode"] == 45009
    assert fake.wecom.timeline("ops", "lisi") == []
    assert (await fake.send(body))["errcode"] == 0


async def test_fault_http_500(fake: Any) -> None:
    await fake.client.post(
        "/sandbox/faults", json={"path": "/cgi-bin/gettoken", "http_status": 500}
    )
    app = fake.apps["ops"]
    params = {"corpid": app.corp_id, "corpsecret": app.secret}
    failed = await fake.client.get("/cgi-bin/gettoken", params=params)
    assert failed.status == 500
    assert fake.wecom.calls_to("/cgi-bin/gettoken")[0]["status"] == 500
    assert (await fake.client.get("/cgi-bin/gettoken", params=params)).status == 200


async def test_fault_hang_outlasts_the_client_timeout(fake: Any) -> None:
    await fake.client.post("/sandbox/faults", json={"path": "/cgi-bin/media/get", "hang": 30})
    token = await fake.token()
    with pytest.raises(asyncio.TimeoutError):
        await fake.client.get(
            "/cgi-bin/media/get",
            params={"access_token": token, "media_id": "x"},
            timeout=aiohttp.ClientTimeout(total=0.2),
        )
    after = await fake.api("GET", "/cgi-bin/media/get", params={"media_id": "x"})
    assert after["errcode"] == 40007


async def test_verify_route(fake: Any) -> None:
    ok = await (await fake.client.post("/sandbox/apps/ops/verify")).json()
    assert ok == {"ok": True, "status": 200, "detail": None}
    fake.receiver.echo_override = "nope"
    bad = await (await fake.client.post("/sandbox/apps/ops/verify")).json()
    assert bad["ok"] is False and "nope" in bad["detail"]


async def test_apps_and_sends_routes(fake: Any) -> None:
    apps = (await (await fake.client.get("/sandbox/apps")).json())["apps"]
    assert [a["name"] for a in apps] == ["ops", "admin", "other"]
    assert "secret" not in apps[0] and apps[0]["agent_id"] == AGENT
    fake.wecom.member("ops", "lisi")
    body = {"touser": "lisi|ghost", "agentid": AGENT, "msgtype": "text", "text": {"content": "x"}}
    sent = await fake.send(body)
    [record] = (await (await fake.client.get("/sandbox/apps/ops/sends")).json())["sends"]
    assert (record["msgid"], record["delivered"], record["invaliduser"]) == (
        sent["msgid"],
        ["lisi"],
        ["ghost"],
    )


async def test_mounted_under_wecom(fake_factory: Any) -> None:
    fake = await fake_factory(mounted=True)
    assert (await fake.client.get("/cgi-bin/gettoken")).status == 404
    member = await fake.act("ops", "lisi", "say", json={"text": "via mount"})
    assert member["delivered"] and fake.receiver.received[0].message.content == "via mount"
    fake.wecom.inject_fault("/wecom/cgi-bin/message/send", errcode=-1)
    body = {"touser": "lisi", "agentid": AGENT, "msgtype": "text", "text": {"content": "x"}}
    assert (await fake.send(body))["errcode"] == -1
    assert (await fake.send(body))["errcode"] == 0
    media_id = (await fake.upload("image", JPEG))["media_id"]
    assert await fake.api("GET", "/cgi-bin/media/get", params={"media_id": media_id}) == JPEG
    calls = await (await fake.client.get("/wecom/sandbox/calls")).json()
    assert {c["path"] for c in calls["calls"]} == {
        "/cgi-bin/gettoken",
        "/cgi-bin/message/send",
        "/cgi-bin/media/upload",
        "/cgi-bin/media/get",
    }
    timeline = await fake.client.get("/wecom/sandbox/apps/ops/members/lisi/timeline")
    assert [e["content"] for e in (await timeline.json())["entries"]] == ["x"]
