"""Customer contact in the fake (§4.4-4.7): 「联系我」 contact ways and their errors, a scan that
adds a member and reaches the bot as a signed, encrypted change_external_contact callback with
State and WelcomeCode (checked independently with wechatpy by the receiver), the single-use,
20-second welcome code, remarks and customer details, and the delete events."""

from __future__ import annotations

from typing import Any

import pytest

from channels.wechat.sandbox import ActionRejected, parse_xml
from channels.wechat.verify import parse_xml as parse_event

ADD = "/cgi-bin/externalcontact/add_contact_way"
GET = "/cgi-bin/externalcontact/get_contact_way"
UPDATE = "/cgi-bin/externalcontact/update_contact_way"
DEL = "/cgi-bin/externalcontact/del_contact_way"
WELCOME = "/cgi-bin/externalcontact/send_welcome_msg"
REMARK = "/cgi-bin/externalcontact/remark"
DETAILS = "/cgi-bin/externalcontact/get"


async def post(fake: Any, path: str, body: dict[str, Any], name: str = "ops") -> Any:
    return await fake.api("POST", path, name, json=body)


def event(fake: Any, index: int = -1) -> dict[str, Any]:
    """The decrypted fields of a callback the receiver accepted."""
    assert fake.receiver.rejected == []
    return parse_event(fake.receiver.received[index].xml)


async def new_way(fake: Any, **fields: Any) -> dict[str, Any]:
    for userid in ("zhangsan", "lisi"):
        fake.wecom.member("ops", userid)
    answer = await post(fake, ADD, {"type": 1, "scene": 2, "user": ["zhangsan"], **fields})
    assert answer["errcode"] == 0, answer
    return dict(answer)


async def test_a_contact_way_is_created_read_updated_and_removed(fake: Any) -> None:
    created = await new_way(fake, state="spring-fair", remark="展会", skip_verify=False)
    config_id = created["config_id"]
    assert len(config_id) == 32
    assert created["qr_code"] == str(fake.client.make_url(f"/sandbox/wwpic/{config_id}.png"))
    way = (await post(fake, GET, {"config_id": config_id}))["contact_way"]
    assert (way["type"], way["scene"], way["user"], way["state"], way["remark"]) == (
        1,
        2,
        ["zhangsan"],
        "spring-fair",
        "展会",
    )
    assert way["skip_verify"] is False and way["qr_code"] == created["qr_code"]

    changed = await post(
        fake, UPDATE, {"config_id": config_id, "state": "autumn", "user": ["lisi"]}
    )
    assert changed["errcode"] == 0
    way = (await post(fake, GET, {"config_id": config_id}))["contact_way"]
    assert (way["state"], way["user"], way["remark"]) == ("autumn", ["lisi"], "展会")

    assert (await post(fake, DEL, {"config_id": config_id}))["errcode"] == 0
    assert (await post(fake, GET, {"config_id": config_id}))["errcode"] == 40058
    assert (await post(fake, DEL, {"config_id": config_id}))["errcode"] == 40058


async def test_a_multi_member_way_has_no_qr_for_scene_1_and_other_corps_cannot_see_it(
    fake: Any,
) -> None:
    fake.wecom.member("ops", "zhangsan")
    button = await post(fake, ADD, {"type": 2, "scene": 1, "user": ["zhangsan"], "party": [2]})
    assert button["errcode"] == 0 and "qr_code" not in button
    assert (await post(fake, GET, {"config_id": button["config_id"]}, "admin"))["errcode"] == 0
    assert (await post(fake, GET, {"config_id": button["config_id"]}, "other"))["errcode"] == 40058


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({"scene": 2, "user": ["zhangsan"]}, 41037),
        ({"type": 3, "scene": 2, "user": ["zhangsan"]}, 40058),
        ({"type": 1, "scene": 3, "user": ["zhangsan"]}, 40058),
        ({"type": 1, "scene": 2, "user": ["zhangsan", "lisi"]}, 40058),
        ({"type": 1, "scene": 2, "user": ["zhangsan"], "party": [1]}, 40058),
        ({"type": 2, "scene": 2}, 40058),
        ({"type": 1, "scene": 2, "user": ["nobody"]}, 40003),
        ({"type": 1, "scene": 2, "user": ["zhangsan"], "state": "s" * 31}, 40058),
        ({"type": 1, "scene": 2, "user": ["zhangsan"], "remark": "r" * 31}, 40058),
        ({"type": 1, "scene": 2, "user": ["zhangsan"], "skip_verify": "yes"}, 40058),
    ],
)
async def test_add_contact_way_refuses_bad_requests(
    fake: Any, body: dict[str, Any], errcode: int
) -> None:
    for userid in ("zhangsan", "lisi"):
        fake.wecom.member("ops", userid)
    answer = await post(fake, ADD, body)
    assert answer["errcode"] == errcode, answer
    assert "config_id" not in answer


async def test_a_state_of_30_characters_is_accepted_and_update_checks_it_too(fake: Any) -> None:
    created = await new_way(fake, state="状" * 30)
    config_id = created["config_id"]
    too_long = await post(fake, UPDATE, {"config_id": config_id, "state": "s" * 31})
    assert too_long["errcode"] == 40058
    two_users = await post(fake, UPDATE, {"config_id": config_id, "user": ["zhangsan", "lisi"]})
    assert two_users["errcode"] == 40058
    way = (await post(fake, GET, {"config_id": config_id}))["contact_way"]
    assert (way["state"], way["user"]) == ("状" * 30, ["zhangsan"])


async def test_a_scan_adds_the_member_and_sends_state_and_welcome_code(fake: Any) -> None:
    created = await new_way(fake, state="spring-fair")
    outcome = await fake.wecom.scan_contact_way("ops", created["config_id"], name="王小明")
    assert (outcome.statuses, outcome.delivered) == ((200,), True)
    [received] = fake.receiver.received
    assert set(parse_xml(received.body)) == {"ToUserName", "AgentID", "Encrypt"}
    fields = event(fake)
    assert fields == {
        "ToUserName": "ww0000000000000001",
        "FromUserName": "sys",
        "CreateTime": fields["CreateTime"],
        "MsgType": "event",
        "Event": "change_external_contact",
        "ChangeType": "add_external_contact",
        "UserID": "zhangsan",
        "ExternalUserID": outcome.external_userid,
        "State": "spring-fair",
        "WelcomeCode": outcome.welcome_code,
    }
    assert outcome.external_userid.startswith("wm") and outcome.welcome_code
    customer = fake.wecom.external_contact("ops", outcome.external_userid)
    assert customer.name == "王小明" and list(customer.follow) == ["zhangsan"]


async def test_without_a_possible_welcome_the_event_has_no_welcome_code(fake: Any) -> None:
    created = await new_way(fake)
    outcome = await fake.wecom.scan_contact_way("ops", created["config_id"], welcome=False)
    fields = event(fake)
    assert outcome.welcome_code == "" and "WelcomeCode" not in fields
    assert fields["State"] == ""


async def test_a_multi_member_code_adds_its_members_in_turn(fake: Any) -> None:
    for userid in ("zhangsan", "lisi"):
        fake.wecom.member("ops", userid)
    created = await post(fake, ADD, {"type": 2, "scene": 2, "user": ["zhangsan", "lisi"]})
    added = [
        (await fake.wecom.scan_contact_way("ops", created["config_id"])).userid for _ in range(3)
    ]
    assert added == ["zhangsan", "lisi", "zhangsan"]
    chosen = await fake.wecom.scan_contact_way("ops", created["config_id"], userid="LISI")
    assert chosen.userid == "lisi"
    with pytest.raises(ActionRejected, match="not a member of the contact way"):
        await fake.wecom.scan_contact_way("ops", created["config_id"], userid="wangwu")


async def test_a_removed_contact_way_cannot_be_scanned(fake: Any) -> None:
    created = await new_way(fake)
    await post(fake, DEL, {"config_id": created["config_id"]})
    with pytest.raises(ActionRejected, match="no contact way"):
        await fake.wecom.scan_contact_way("ops", created["config_id"])
    assert fake.receiver.received == []


async def test_the_welcome_code_works_once(fake: Any) -> None:
    created = await new_way(fake)
    outcome = await fake.wecom.scan_contact_way("ops", created["config_id"])
    body = {
        "welcome_code": outcome.welcome_code,
        "text": {"content": "欢迎!"},
        "attachments": [
            {"msgtype": "link", "link": {"title": "t", "url": "https://example.com/a"}},
            {"msgtype": "image", "image": {"pic_url": "https://example.com/p.png"}},
        ],
    }
    assert (await post(fake, WELCOME, body))["errcode"] == 0
    again = await post(fake, WELCOME, body)
    assert again["errcode"] == 41051
    [welcome] = fake.wecom.external_contact("ops", outcome.external_userid).received
    assert (welcome["kind"], welcome["userid"], welcome["text"]) == ("welcome", "zhangsan", "欢迎!")
    assert [a["msgtype"] for a in welcome["attachments"]] == ["link", "image"]


async def test_the_welcome_code_expires_after_20_seconds(fake: Any, clock: Any) -> None:
    created = await new_way(fake)
    early = await fake.wecom.scan_contact_way("ops", created["config_id"])
    late = await fake.wecom.scan_contact_way("ops", created["config_id"])
    clock.advance(15)
    in_time = await post(
        fake, WELCOME, {"welcome_code": early.welcome_code, "text": {"content": "hi"}}
    )
    assert in_time["errcode"] == 0
    clock.advance(6)
    expired = await post(
        fake, WELCOME, {"welcome_code": late.welcome_code, "text": {"content": "hi"}}
    )
    assert expired["errcode"] == 41051
    assert fake.wecom.external_contact("ops", late.external_userid).received == []


async def test_a_failed_welcome_keeps_the_code_and_bad_codes_are_refused(fake: Any) -> None:
    created = await new_way(fake)
    outcome = await fake.wecom.scan_contact_way("ops", created["config_id"])
    code = outcome.welcome_code
    empty = await post(fake, WELCOME, {"welcome_code": code})
    assert empty["errcode"] == 44004
    ten = [{"msgtype": "image", "image": {"pic_url": "https://example.com/p.png"}}] * 10
    assert (await post(fake, WELCOME, {"welcome_code": code, "attachments": ten}))[
        "errcode"
    ] == 40058
    unknown = await post(fake, WELCOME, {"welcome_code": "never-issued", "text": {"content": "x"}})
    assert unknown["errcode"] == 40058
    other_corp = await post(
        fake, WELCOME, {"welcome_code": code, "text": {"content": "x"}}, "other"
    )
    assert other_corp["errcode"] == 40058
    assert (await post(fake, WELCOME, {"welcome_code": code, "attachments": ten[:9]}))[
        "errcode"
    ] == 0


async def test_remarks_and_details(fake: Any) -> None:
    created = await new_way(fake, state="fair")
    outcome = await fake.wecom.scan_contact_way("ops", created["config_id"], name="王小明")
    external = outcome.external_userid
    base = {"userid": "zhangsan", "external_userid": external}
    assert (await post(fake, REMARK, {**base, "remark": "r" * 20}))["errcode"] == 0
    assert (await post(fake, REMARK, {**base, "remark": "r" * 21}))["errcode"] == 40058
    assert (await post(fake, REMARK, {**base, "userid": "lisi", "remark": "x"}))["errcode"] == 84061
    unknown = {**base, "external_userid": "wmUnknown", "remark": "x"}
    assert (await post(fake, REMARK, unknown))["errcode"] == 40096
    details = await fake.api("GET", DETAILS, params={"external_userid": external})
    assert details["external_contact"]["name"] == "王小明"
    [follow] = details["follow_user"]
    assert (follow["userid"], follow["remark"], follow["state"]) == ("zhangsan", "r" * 20, "fair")
    assert isinstance(follow["createtime"], int)
    missing = await fake.api("GET", DETAILS, params={"external_userid": "wmUnknown"})
    assert missing["errcode"] == 40096


async def test_deleting_either_way_sends_its_event_and_ends_the_relation(fake: Any) -> None:
    created = await new_way(fake)
    first = await fake.wecom.scan_contact_way("ops", created["config_id"])
    second = await fake.wecom.scan_contact_way("ops", created["config_id"])
    dropped = await fake.wecom.delete_external_contact(
        "ops", "zhangsan", first.external_userid, source="DELETE_BY_TRANSFER"
    )
    assert dropped.delivered
    fields = event(fake)
    assert (fields["ChangeType"], fields["UserID"], fields["ExternalUserID"]) == (
        "del_external_contact",
        "zhangsan",
        first.external_userid,
    )
    assert fields["Source"] == "DELETE_BY_TRANSFER" and "WelcomeCode" not in fields
    await fake.wecom.delete_follow_user("ops", "zhangsan", second.external_userid)
    fields = event(fake)
    assert (fields["ChangeType"], fields["ExternalUserID"]) == (
        "del_follow_user",
        second.external_userid,
    )
    assert "Source" not in fields
    gone = await fake.api("GET", DETAILS, params={"external_userid": first.external_userid})
    assert gone["errcode"] == 84061
    with pytest.raises(ActionRejected):
        await fake.wecom.delete_follow_user("ops", "zhangsan", second.external_userid)
