"""Group control methods: each change updates the state and reaches the bot as a signed,
encrypted change_external_chat callback (checked independently with wechatpy by the receiver);
caps and refusals; bulk creation; the /sandbox group routes."""

from __future__ import annotations

from typing import Any

import pytest

from channels.wechat.sandbox import ActionRejected, parse_xml
from channels.wechat.verify import parse_xml as parse_event
from channels.wecom.sandbox import WecomLimits, new_external_userid

from .conftest import status

CUSTOMER = "wmCustomer000000000000000000001"
OTHER_CUSTOMER = "wmCustomer000000000000000000002"


def event(fake: Any, index: int = -1) -> dict[str, Any]:
    """The decrypted fields of a callback the receiver accepted (repeated Items as a list)."""
    assert fake.receiver.rejected == []
    return parse_event(fake.receiver.received[index].xml)


async def test_create_sends_a_signed_encrypted_create_event(fake: Any) -> None:
    outcome = await fake.wecom.create_group("ops", "zhangsan", "新客群", [CUSTOMER])
    assert (outcome.statuses, outcome.errors, outcome.delivered) == ((200,), (), True)
    [received] = fake.receiver.received
    assert received.app.name == "ops"
    outer = parse_xml(received.body)
    assert set(outer) == {"ToUserName", "AgentID", "Encrypt"}
    fields = event(fake)
    group = fake.wecom.group("ops", outcome.chat_id)
    assert fields == {
        "ToUserName": "ww0000000000000001",
        "FromUserName": "sys",
        "CreateTime": str(group.create_time),
        "MsgType": "event",
        "Event": "change_external_chat",
        "ChatId": outcome.chat_id,
        "ChangeType": "create",
    }
    assert received.xml == outcome.xml
    assert abs(int(received.query["timestamp"]) - fake.wecom.clock.now()) < 5
    assert [m.userid for m in group.members.values()] == ["zhangsan", CUSTOMER]


async def test_a_group_created_days_ago_keeps_that_time(fake: Any, clock: Any) -> None:
    created = clock.now() - 5 * 86400
    outcome = await fake.wecom.create_group("ops", "zhangsan", created_at=created)
    group = fake.wecom.group("ops", outcome.chat_id)
    assert group.create_time == int(created)
    assert event(fake)["CreateTime"] == str(int(created))
    with pytest.raises(ActionRejected, match="future"):
        await fake.wecom.create_group("ops", "zhangsan", created_at=clock.now() + 3600)


async def test_adding_members_sends_add_member_with_scene_count_list_and_versions(
    fake: Any,
) -> None:
    outcome = await fake.wecom.create_group("ops", "zhangsan", notify=False)
    group = fake.wecom.group("ops", outcome.chat_id)
    before = group.member_version
    added = await fake.wecom.add_group_members(
        "ops", outcome.chat_id, [CUSTOMER, "lisi", CUSTOMER], scene=2
    )
    assert added.delivered and (added.change_type, added.detail) == ("update", "add_member")
    fields = event(fake)
    assert (fields["ChangeType"], fields["UpdateDetail"]) == ("update", "add_member")
    assert (fields["JoinScene"], fields["MemChangeCnt"]) == ("0", "2")
    assert "QuitScene" not in fields
    assert fields["MemChangeList"] == {"Item": [CUSTOMER, "lisi"]}
    assert (fields["LastMemVer"], fields["CurMemVer"]) == (before, group.member_version)
    assert before != group.member_version
    assert group.members["lisi"].invitor == "zhangsan" and group.members["lisi"].join_scene == 2

    await fake.wecom.add_group_members("ops", outcome.chat_id, [OTHER_CUSTOMER], scene=3)
    fields = event(fake)
    assert (fields["JoinScene"], fields["MemChangeCnt"]) == ("3", "1")
    assert fields["MemChangeList"] == {"Item": OTHER_CUSTOMER}


async def test_removing_members_sends_del_member_with_quit_scene(fake: Any) -> None:
    outcome = await fake.wecom.create_group(
        "ops", "zhangsan", members=[CUSTOMER, OTHER_CUSTOMER, "lisi"], admins=["lisi"]
    )
    group = fake.wecom.group("ops", outcome.chat_id)
    before = group.member_version
    await fake.wecom.remove_group_members("ops", outcome.chat_id, [CUSTOMER, "LiSi"], quit_scene=1)
    fields = event(fake)
    assert (fields["UpdateDetail"], fields["QuitScene"], fields["MemChangeCnt"]) == (
        "del_member",
        "1",
        "2",
    )
    assert "JoinScene" not in fields
    assert fields["MemChangeList"] == {"Item": [CUSTOMER, "lisi"]}
    assert (fields["LastMemVer"], fields["CurMemVer"]) == (before, group.member_version)
    assert [m.userid for m in group.members.values()] == ["zhangsan", OTHER_CUSTOMER]
    assert group.admins == []
    await fake.wecom.remove_group_members("ops", outcome.chat_id, [OTHER_CUSTOMER])
    assert event(fake)["QuitScene"] == "0"


async def test_older_payloads_leave_out_the_member_list_and_versions(fake: Any) -> None:
    fake.wecom.group_event_details = False
    outcome = await fake.wecom.create_group("ops", "zhangsan", notify=False)
    await fake.wecom.add_group_members("ops", outcome.chat_id, [CUSTOMER])
    fields = event(fake)
    assert (fields["UpdateDetail"], fields["JoinScene"], fields["MemChangeCnt"]) == (
        "add_member",
        "0",
        "1",
    )
    assert not {"MemChangeList", "LastMemVer", "CurMemVer"} & set(fields)


async def test_name_notice_owner_and_dismiss_events(fake: Any) -> None:
    outcome = await fake.wecom.create_group("ops", "zhangsan", "旧名", notify=False)
    chat_id = outcome.chat_id
    await fake.wecom.rename_group("ops", chat_id, "新名")
    await fake.wecom.change_group_notice("ops", chat_id, "群公告")
    await fake.wecom.change_group_owner("ops", chat_id, "lisi")
    await fake.wecom.dismiss_group("ops", chat_id)
    fields = [event(fake, i) for i in range(4)]
    assert [(f["ChangeType"], f.get("UpdateDetail")) for f in fields] == [
        ("update", "change_name"),
        ("update", "change_notice"),
        ("update", "change_owner"),
        ("dismiss", None),
    ]
    assert all(f["ChatId"] == chat_id for f in fields)
    assert not any({"JoinScene", "QuitScene", "MemChangeCnt"} & set(f) for f in fields)
    times = [int(f["CreateTime"]) for f in fields]
    assert times == sorted(set(times))  # distinct per group, in order
    group = fake.wecom.group("ops", chat_id)
    assert (group.name, group.notice, group.owner, group.dismissed) == (
        "新名",
        "群公告",
        "lisi",
        True,
    )
    assert group.has("lisi")  # the new owner joined with the handover
    with pytest.raises(ActionRejected) as gone:
        await fake.wecom.rename_group("ops", chat_id, "x")
    assert gone.value.status == 404


async def test_callbacks_are_retried_like_member_callbacks(fake: Any) -> None:
    fake.receiver.respond(status(500), status(503))
    outcome = await fake.wecom.create_group("ops", "zhangsan")
    assert outcome.statuses == (500, 503, 200) and len(outcome.errors) == 2
    assert len({r.body for r in fake.receiver.received}) == 1


async def test_notify_false_changes_state_silently(fake: Any) -> None:
    outcome = await fake.wecom.create_group("ops", "zhangsan", notify=False)
    await fake.wecom.add_group_members("ops", outcome.chat_id, [CUSTOMER], notify=False)
    assert (outcome.statuses, outcome.xml, outcome.delivered) == ((), "", False)
    assert fake.receiver.received == []
    assert fake.wecom.group("ops", outcome.chat_id).has(CUSTOMER)


async def test_members_caps_are_configurable(fake_factory: Any) -> None:
    fake = await fake_factory(limits=WecomLimits(group_members_max=4, group_qr_join_below=2))
    with pytest.raises(ActionRejected, match="at most 4"):
        await fake.wecom.create_group("ops", "zhangsan", members=["a", "b", "c", "d"])
    outcome = await fake.wecom.create_group("ops", "zhangsan", members=["a"], notify=False)
    with pytest.raises(ActionRejected, match="QR"):
        await fake.wecom.add_group_members("ops", outcome.chat_id, [CUSTOMER], scene=3)
    await fake.wecom.add_group_members("ops", outcome.chat_id, ["b", "c"], notify=False)
    with pytest.raises(ActionRejected, match="at most 4"):
        await fake.wecom.add_group_members("ops", outcome.chat_id, [CUSTOMER])
    assert fake.receiver.received == []


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"owner": CUSTOMER}, "external"),
        ({"owner": "bad id"}, "userid"),
        ({"members": ["wm!"]}, "malformed"),
        ({"admins": ["lisi"]}, "admin"),
        ({"admins": [CUSTOMER], "members": [CUSTOMER]}, "admin"),
    ],
)
async def test_create_refuses_bad_input(fake: Any, kwargs: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {"owner": "zhangsan", **kwargs}
    with pytest.raises(ActionRejected, match=match):
        await fake.wecom.create_group("ops", **args)
    assert fake.receiver.received == [] and fake.wecom.state("ops").corp.groups.by_id == {}


async def test_member_changes_refuse_what_cannot_happen(fake: Any) -> None:
    outcome = await fake.wecom.create_group("ops", "zhangsan", members=[CUSTOMER], notify=False)
    chat_id = outcome.chat_id
    with pytest.raises(ActionRejected, match="nobody new"):
        await fake.wecom.add_group_members("ops", chat_id, [CUSTOMER])
    with pytest.raises(ActionRejected, match="scene"):
        await fake.wecom.add_group_members("ops", chat_id, ["lisi"], scene=4)
    with pytest.raises(ActionRejected, match="owner cannot leave"):
        await fake.wecom.remove_group_members("ops", chat_id, ["ZhangSan"])
    with pytest.raises(ActionRejected, match="not in the group"):
        await fake.wecom.remove_group_members("ops", chat_id, [OTHER_CUSTOMER])
    with pytest.raises(ActionRejected, match="quit_scene"):
        await fake.wecom.remove_group_members("ops", chat_id, [CUSTOMER], quit_scene=2)
    with pytest.raises(ActionRejected, match="already owns"):
        await fake.wecom.change_group_owner("ops", chat_id, "zhangsan")
    with pytest.raises(ActionRejected, match="status"):
        fake.wecom.set_group_status("ops", chat_id, 4)
    with pytest.raises(ActionRejected) as unknown:
        await fake.wecom.add_group_members("ops", "wrNope", ["lisi"])
    assert unknown.value.status == 404
    assert fake.receiver.received == []


async def test_bulk_creation_sends_no_callbacks(fake: Any, clock: Any) -> None:
    created = clock.now() - 30 * 86400
    chat_ids = fake.wecom.create_groups(
        "ops", ["zhangsan", "lisi"], 50, members_per_group=3, created_at=created
    )
    assert len(chat_ids) == 50 and fake.receiver.received == []
    groups = [fake.wecom.group("ops", c) for c in chat_ids]
    assert [g.owner for g in groups[:3]] == ["zhangsan", "lisi", "zhangsan"]
    assert all(len(g.members) == 4 and g.create_time == int(created) for g in groups)
    externals = [m.userid for g in groups for m in g.members.values() if m.external]
    assert len(set(externals)) == 150 and all(e.startswith("wm") for e in externals)
    assert new_external_userid() != new_external_userid()
    with pytest.raises(ActionRejected):
        fake.wecom.create_groups("ops", [], 1)


async def test_sandbox_routes_drive_groups_and_tasks(fake: Any) -> None:
    async def call(method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        resp = await fake.client.request(method, "/sandbox/apps/ops" + path, json=body)
        assert resp.status == expect, await resp.text()
        return await resp.json()

    created = await call("POST", "/groups", {"owner": "zhangsan", "name": "g", "members": []})
    chat_id = created["chat_id"]
    assert created["statuses"] == [200] and created["change_type"] == "create"
    added = await call("POST", f"/groups/{chat_id}/add_members", {"userids": [CUSTOMER]})
    assert (added["detail"], added["delivered"]) == ("add_member", True)
    await call("POST", f"/groups/{chat_id}/status", {"status": 2})
    group = await call("GET", f"/groups/{chat_id}")
    assert group["status"] == 2 and [m["userid"] for m in group["member_list"]][-1] == CUSTOMER
    bulk = await call("POST", "/groups/bulk", {"owners": ["zhangsan"], "count": 2})
    assert len(bulk["chat_ids"]) == 2
    await call("POST", f"/groups/{chat_id}/dance", {}, expect=404)
    await call("POST", "/groups", {"name": "no owner"}, expect=400)

    answer = await fake.api(
        "POST",
        "/cgi-bin/externalcontact/add_msg_template",
        json={
            "chat_type": "group",
            "sender": "zhangsan",
            "chat_id_list": [chat_id],
            "text": {"content": "hi"},
        },
    )
    tasks = (await call("GET", "/group_tasks"))["tasks"]
    assert [t["msgid"] for t in tasks] == [answer["msgid"]] and tasks[0]["status"] == 0
    sent = await call("POST", f"/group_tasks/{answer['msgid']}/confirm", {"userid": "zhangsan"})
    assert sent["status"] == 2 and sent["results"][chat_id]["status"] == 1
    await call("POST", f"/group_tasks/{answer['msgid']}/confirm", {"userid": "zhangsan"}, 409)
