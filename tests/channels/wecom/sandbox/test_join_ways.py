"""「加入群聊」 join ways in the fake (§4.9): the four APIs and their limits, the creating app as
the only reader, a customer's scan that joins the first group below the QR cap (JoinScene 3,
with the way's state) or auto-creates the next group, the shared ways quota, and the QR
pictures of join ways and contact ways served by the fake itself."""

from __future__ import annotations

from typing import Any

import pytest
from yarl import URL

from channels.wechat.sandbox import ActionRejected
from channels.wechat.verify import parse_xml as parse_event
from channels.wecom.sandbox import WecomLimits, new_external_userid

ADD = "/cgi-bin/externalcontact/groupchat/add_join_way"
GET = "/cgi-bin/externalcontact/groupchat/get_join_way"
UPDATE = "/cgi-bin/externalcontact/groupchat/update_join_way"
DEL = "/cgi-bin/externalcontact/groupchat/del_join_way"
GROUP = "/cgi-bin/externalcontact/groupchat/get"
ADD_CONTACT_WAY = "/cgi-bin/externalcontact/add_contact_way"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SMALL = WecomLimits(group_qr_join_below=3)
"""A group takes QR joins while it has fewer than 3 members."""


async def post(fake: Any, path: str, body: dict[str, Any], name: str = "ops") -> Any:
    return await fake.api("POST", path, name, json=body)


async def group(fake: Any, name: str, customers: int = 0, owner: str = "zhangsan") -> str:
    """A group of `owner` with `customers` new customers (no callback)."""
    members = [new_external_userid() for _ in range(customers)]
    outcome = await fake.wecom.create_group("ops", owner, name, members, notify=False)
    return str(outcome.chat_id)


async def new_way(fake: Any, chat_ids: list[str], **fields: Any) -> str:
    answer = await post(fake, ADD, {"scene": 2, "chat_id_list": chat_ids, **fields})
    assert answer["errcode"] == 0, answer
    assert set(answer) == {"errcode", "errmsg", "config_id"}
    return str(answer["config_id"])


def events(fake: Any) -> list[dict[str, Any]]:
    assert fake.receiver.rejected == []
    return [parse_event(r.xml) for r in fake.receiver.received]


async def test_a_join_way_is_created_read_updated_and_removed(fake: Any) -> None:
    first, second = await group(fake, "一群"), await group(fake, "二群")
    config_id = await new_way(fake, [first], state="spring", remark="备" * 35)
    way = (await post(fake, GET, {"config_id": config_id}))["join_way"]
    assert way == {
        "config_id": config_id,
        "scene": 2,
        "remark": "备" * 30,
        "auto_create_room": 1,
        "room_base_name": "",
        "room_base_id": 1,
        "chat_id_list": [first],
        "qr_code": str(fake.client.make_url(f"/sandbox/wwpic/{config_id}.png")),
        "state": "spring",
    }
    changed = await post(
        fake,
        UPDATE,
        {
            "config_id": config_id,
            "scene": 2,
            "chat_id_list": [second, first],
            "auto_create_room": 0,
            "state": "autumn",
        },
    )
    assert changed["errcode"] == 0
    way = (await post(fake, GET, {"config_id": config_id}))["join_way"]
    assert (way["chat_id_list"], way["state"], way["auto_create_room"], way["remark"]) == (
        [second, first],
        "autumn",
        0,
        "备" * 30,
    )
    assert fake.wecom.join_way("ops", config_id).chat_ids == [second, first]
    assert (await post(fake, DEL, {"config_id": config_id}))["errcode"] == 0
    assert (await post(fake, GET, {"config_id": config_id}))["errcode"] == 40058
    assert (await post(fake, DEL, {"config_id": config_id}))["errcode"] == 40058
    with pytest.raises(ActionRejected, match="no join way"):
        fake.wecom.join_way("ops", config_id)


async def test_a_scene_1_way_has_no_qr_code_and_cannot_be_scanned(fake: Any) -> None:
    chat_id = await group(fake, "一群")
    config_id = await new_way(fake, [chat_id], scene=1)
    way = (await post(fake, GET, {"config_id": config_id}))["join_way"]
    assert way["scene"] == 1 and "qr_code" not in way
    assert (await fake.client.get(f"/sandbox/wwpic/{config_id}.png")).status == 404
    with pytest.raises(ActionRejected, match="no QR code"):
        await fake.wecom.scan_join_way("ops", config_id)


@pytest.mark.parametrize(
    ("fields", "errcode"),
    [
        ({"chat_id_list": "six"}, 40058),  # six groups: one more than allowed
        ({"scene": None}, 40058),
        ({"scene": 3}, 40058),
        ({"chat_id_list": []}, 40058),
        ({"chat_id_list": None}, 40058),
        ({"chat_id_list": "twice"}, 40058),
        ({"chat_id_list": ["wrUnknown0000000000000000000000"]}, 90501),
        ({"chat_id_list": "dismissed"}, 90501),
        ({"state": "s" * 31}, 40058),
        ({"room_base_name": "n" * 41}, 40058),
        ({"room_base_id": -1}, 40058),
        ({"auto_create_room": 2}, 40058),
        ({"remark": 5}, 40058),
    ],
)
async def test_add_join_way_refuses_bad_requests(
    fake: Any, fields: dict[str, Any], errcode: int
) -> None:
    chat_ids = [await group(fake, f"群{i}") for i in range(6)]
    gone = await group(fake, "散群")
    await fake.wecom.dismiss_group("ops", gone, notify=False)
    chats = {"six": chat_ids, "twice": chat_ids[:1] * 2, "dismissed": [chat_ids[0], gone]}
    body: dict[str, Any] = {"scene": 2, "chat_id_list": chat_ids[:5], "state": "s" * 30}
    body.update(fields)
    if isinstance(body["chat_id_list"], str):
        body["chat_id_list"] = chats[body["chat_id_list"]]
    body = {key: value for key, value in body.items() if value is not None}
    answer = await post(fake, ADD, body)
    assert answer["errcode"] == errcode, answer
    assert "config_id" not in answer


async def test_five_groups_and_limits_at_their_edge_are_accepted(fake: Any) -> None:
    chat_ids = [await group(fake, f"群{i}") for i in range(5)]
    config_id = await new_way(
        fake, chat_ids, state="状" * 30, room_base_name="名" * 40, remark="r" * 30
    )
    way = fake.wecom.join_way("ops", config_id)
    assert (way.chat_ids, way.state, way.room_base_name) == (chat_ids, "状" * 30, "名" * 40)


async def test_update_checks_like_add_and_keeps_the_way_when_refused(fake: Any) -> None:
    chat_id = await group(fake, "一群")
    config_id = await new_way(fake, [chat_id], state="keep")
    base = {"config_id": config_id, "scene": 2, "chat_id_list": [chat_id]}
    assert (await post(fake, UPDATE, {**base, "state": "s" * 31}))["errcode"] == 40058
    assert (await post(fake, UPDATE, {"config_id": config_id, "state": "x"}))["errcode"] == 40058
    unknown = {**base, "chat_id_list": ["wrUnknown0000000000000000000000"]}
    assert (await post(fake, UPDATE, unknown))["errcode"] == 90501
    assert fake.wecom.join_way("ops", config_id).state == "keep"


async def test_only_the_creating_app_reads_and_manages_a_join_way(fake: Any) -> None:
    chat_id = await group(fake, "一群")
    config_id = await new_way(fake, [chat_id])
    body = {"config_id": config_id}
    update = {**body, "scene": 2, "chat_id_list": [chat_id], "state": "taken"}
    for app in ("admin", "other"):
        assert (await post(fake, GET, body, app))["errcode"] == 40058
        assert (await post(fake, UPDATE, update, app))["errcode"] == 40058
        assert (await post(fake, DEL, body, app))["errcode"] == 40058
    assert (await post(fake, GET, body))["join_way"]["state"] == ""


async def test_a_scan_joins_the_first_group_with_room_as_a_qr_join_with_state(
    fake_factory: Any,
) -> None:
    fake = await fake_factory(limits=SMALL)
    full = await group(fake, "满群", customers=2)  # 3 members: at the QR cap
    roomy = await group(fake, "空群", customers=1)
    spare = await group(fake, "备群")
    config_id = await new_way(fake, [full, roomy, spare], state="poster")
    outcome = await fake.wecom.scan_join_way(
        "ops", config_id, external_userid="wmScanner00000000000000000000001", name="王小明"
    )
    assert (outcome.chat_id, outcome.created_group, outcome.state) == (roomy, False, "poster")
    assert (outcome.statuses, outcome.delivered) == ((200,), True)
    [fields] = events(fake)
    assert (fields["ChatId"], fields["ChangeType"], fields["UpdateDetail"]) == (
        roomy,
        "update",
        "add_member",
    )
    assert (fields["JoinScene"], fields["MemChangeCnt"]) == ("3", "1")
    assert fields["MemChangeList"] == {"Item": "wmScanner00000000000000000000001"}
    read = await post(fake, GROUP, {"chat_id": roomy, "need_name": 1})
    member = read["group_chat"]["member_list"][-1]
    assert (member["userid"], member["join_scene"], member["state"], member["name"]) == (
        "wmScanner00000000000000000000001",
        3,
        "poster",
        "王小明",
    )
    assert "invitor" not in member
    assert len(fake.wecom.group("ops", full).members) == 3
    # roomy now has 3 members too: the next customer goes to the spare group
    assert (await fake.wecom.scan_join_way("ops", config_id)).chat_id == spare


async def test_a_dismissed_group_is_skipped_and_a_member_cannot_join_twice(
    fake_factory: Any,
) -> None:
    fake = await fake_factory(limits=SMALL)
    gone, kept = await group(fake, "散群"), await group(fake, "留群")
    config_id = await new_way(fake, [gone, kept])
    await fake.wecom.dismiss_group("ops", gone, notify=False)
    outcome = await fake.wecom.scan_join_way("ops", config_id)
    assert outcome.chat_id == kept
    with pytest.raises(ActionRejected, match="already"):
        await fake.wecom.scan_join_way("ops", config_id, outcome.external_userid)


async def test_when_every_group_is_full_the_next_one_is_created_and_listed(
    fake_factory: Any,
) -> None:
    fake = await fake_factory(limits=SMALL)
    first = await group(fake, "老群", customers=2, owner="lisi")
    second = await group(fake, "二群", customers=2)
    config_id = await new_way(
        fake, [first, second], state="fair", room_base_name="福利群", room_base_id=10
    )
    outcome = await fake.wecom.scan_join_way("ops", config_id)
    assert outcome.created_group and outcome.created is not None
    assert outcome.created.delivered and outcome.delivered
    created = fake.wecom.group("ops", outcome.chat_id)
    assert (created.name, created.owner) == ("福利群10", "lisi")
    assert fake.wecom.join_way("ops", config_id).chat_ids == [first, second, created.chat_id]
    member = created.members[outcome.external_userid]
    assert (member.join_scene, member.state) == (3, "fair")
    create, joined = events(fake)
    assert (create["ChatId"], create["ChangeType"]) == (created.chat_id, "create")
    assert (joined["ChatId"], joined["UpdateDetail"], joined["JoinScene"]) == (
        created.chat_id,
        "add_member",
        "3",
    )
    # the new group has room for one more (owner + 2 customers), then the next is created
    again = await fake.wecom.scan_join_way("ops", config_id)
    assert (again.chat_id, again.created_group) == (created.chat_id, False)
    third = await fake.wecom.scan_join_way("ops", config_id)
    assert third.created_group
    assert fake.wecom.group("ops", third.chat_id).name == "福利群11"
    assert fake.wecom.join_way("ops", config_id).created_rooms == 2


async def test_with_five_full_groups_the_new_one_replaces_the_first_full_one(
    fake_factory: Any,
) -> None:
    fake = await fake_factory(limits=SMALL)
    chat_ids = [await group(fake, f"群{i}", customers=2) for i in range(5)]
    config_id = await new_way(fake, chat_ids)
    outcome = await fake.wecom.scan_join_way("ops", config_id, notify=False)
    assert fake.wecom.group("ops", outcome.chat_id).name == "群01"  # first group's name + 1
    assert fake.wecom.join_way("ops", config_id).chat_ids == [outcome.chat_id, *chat_ids[1:]]
    assert fake.receiver.received == [] and outcome.statuses == ()


async def test_without_auto_create_a_scan_of_full_groups_is_refused(fake_factory: Any) -> None:
    fake = await fake_factory(limits=SMALL)
    full = await group(fake, "满群", customers=2)
    config_id = await new_way(fake, [full], auto_create_room=0)
    with pytest.raises(ActionRejected, match="every group of the join way is full") as refused:
        await fake.wecom.scan_join_way("ops", config_id)
    assert refused.value.status == 409
    assert fake.receiver.received == []
    assert fake.wecom.join_way("ops", config_id).chat_ids == [full]
    assert len(fake.wecom.group("ops", full).members) == 3


async def test_the_group_size_cap_also_closes_a_group(fake_factory: Any) -> None:
    fake = await fake_factory(limits=WecomLimits(group_members_max=2, group_qr_join_below=200))
    full = await group(fake, "满群", customers=1)  # 2 members: at the size cap
    config_id = await new_way(fake, [full], auto_create_room=0)
    with pytest.raises(ActionRejected, match="full"):
        await fake.wecom.scan_join_way("ops", config_id)


async def test_qr_pictures_are_served_until_the_way_is_deleted(fake: Any) -> None:
    chat_id = await group(fake, "一群")
    fake.wecom.member("ops", "zhangsan")
    join = await new_way(fake, [chat_id])
    contact = await post(fake, ADD_CONTACT_WAY, {"type": 1, "scene": 2, "user": ["zhangsan"]})
    join_qr = (await post(fake, GET, {"config_id": join}))["join_way"]["qr_code"]
    pictures = []
    for qr_code in (join_qr, contact["qr_code"]):
        resp = await fake.client.get(URL(qr_code).path)
        assert (resp.status, resp.content_type) == (200, "image/png")
        pictures.append(await resp.read())
        assert pictures[-1].startswith(PNG_MAGIC)
    assert pictures[0] != pictures[1]  # each picture encodes its own way
    await post(fake, DEL, {"config_id": join})
    assert (await fake.client.get(URL(join_qr).path)).status == 404
    assert (await fake.client.get("/sandbox/wwpic/0123456789abcdef.png")).status == 404


async def test_qr_urls_of_a_mounted_fake_carry_the_mount_prefix(fake_factory: Any) -> None:
    fake = await fake_factory(mounted=True)
    chat_id = await group(fake, "一群")
    config_id = await new_way(fake, [chat_id])
    qr_code = (await post(fake, GET, {"config_id": config_id}))["join_way"]["qr_code"]
    assert qr_code == str(fake.client.make_url(f"/wecom/sandbox/wwpic/{config_id}.png"))
    resp = await fake.client.get(URL(qr_code).path)
    assert resp.status == 200 and (await resp.read()).startswith(PNG_MAGIC)


async def test_contact_ways_and_join_ways_share_one_quota(fake_factory: Any) -> None:
    fake = await fake_factory(limits=WecomLimits(ways_max=2))
    fake.wecom.member("ops", "zhangsan")
    chat_id = await group(fake, "一群")
    contact = {"type": 1, "scene": 2, "user": ["zhangsan"]}
    assert (await post(fake, ADD_CONTACT_WAY, contact))["errcode"] == 0
    config_id = await new_way(fake, [chat_id])
    assert (await post(fake, ADD_CONTACT_WAY, contact))["errcode"] == 40058
    refused = await post(fake, ADD, {"scene": 2, "chat_id_list": [chat_id]})
    assert refused["errcode"] == 40058 and "config_id" not in refused
    await post(fake, DEL, {"config_id": config_id})
    await new_way(fake, [chat_id])
