"""Sandbox fake of the WeCom (企业微信) self-built app platform.

A local stand-in for WeCom that the bot talks to over real HTTP on loopback. It plays WeCom
both ways:

* the server API under the base URL (`/cgi-bin/gettoken`, `message/send`, `media/upload`,
  `media/get`) with the platform's errcodes and limits: one token per app secret reused within
  validity, message/send recipients (≤1000 users, ≤100 parties/tags, invaliduser, 81013),
  agentid, msgtypes and payload limits (text/markdown truncated at 2048 bytes, textcard and
  news sizes), media ids, the 30/minute and 1000/hour per-member rate (excess silently
  dropped), the duplicate check, media type/size/magic-byte rules and the 3-day lifetime;
* the member: `FakeMember` (or `/sandbox/apps/{app}/members/{userid}/...`) builds callbacks
  exactly as WeCom does (encrypted with receiver id = corp id, msg_signature over Encrypt),
  POSTs them with a timeout and 3 attempts in all, and records what the member saw on a
  per-member timeline.
* customer groups (客户群) of each corp: `groupchat/list` and `groupchat/get`; group mass
  messages (`add_msg_template` with chat_type "group", `get_groupmsg_task`,
  `get_groupmsg_send_result`) that wait for the sender to confirm them
  (`FakeWecom.confirm_group_task`) and respect each group's receive cap; control methods on
  `FakeWecom` (`create_group`, `add_group_members`, `dismiss_group`, ...) change the groups and
  send the matching `change_external_chat` callbacks.
* customer contact (客户联系): 「联系我」 contact ways (`add_contact_way`, `get_contact_way`,
  `update_contact_way`, `del_contact_way`), `send_welcome_msg` with single-use welcome codes
  that live 20 s of platform time, `externalcontact/remark` and `externalcontact/get`; control
  methods (`scan_contact_way`, `delete_external_contact`, `delete_follow_user`) change the
  customers and send the matching `change_external_contact` callbacks.
* 「加入群聊」 join ways (`groupchat/add_join_way`, `get_join_way`, `update_join_way`,
  `del_join_way`; up to 5 live groups, only the creating app may read or manage one, quota
  shared with contact ways); `FakeWecom.scan_join_way` lets a customer join the first group
  below the QR cap (JoinScene 3, with the way's state) or auto-creates the next group, sending
  the `change_external_chat` callbacks; `FakeWecom.join_way` reads one for tests.
* QR pictures: the `qr_code` URLs of contact ways and join ways point at the fake itself,
  `{base}/sandbox/wwpic/{config_id}.png`, which serves a real PNG (404 once deleted).
* corp tags (`get_corp_tag_list`, `add_corp_tag`, `mark_tag`; the tags show in
  `externalcontact/get` follow_user) and `user/get` for members' names.

The pure builders (`wecom_text_xml`, `build_wecom_callback`, ...) are also what bot tests use to
make inbound requests. All platform time reads the `Clock`, which tests advance. The fake
imports nothing of the bot.
"""

from channels.wechat.sandbox.clock import Clock

from .app import WECOM_FAKE_STATE, create_wecom_fake_app
from .apps import FakeWecomApp
from .callbacks import (
    build_wecom_callback,
    build_wecom_verification,
    decode_wecom_reply,
    open_wecom_envelope,
    wecom_contact_change_xml,
    wecom_decrypt,
    wecom_encrypt,
    wecom_event_xml,
    wecom_group_change_xml,
    wecom_image_xml,
    wecom_text_xml,
)
from .contact_control import ContactOutcome
from .contacts import ContactWay, ExternalContact, FollowUser
from .errors import WecomApiError
from .group_control import GroupOutcome
from .groups import CustomerGroup, GroupMember, GroupMsgTask, new_external_userid
from .join_control import JoinOutcome
from .join_ways import JoinWay
from .limits import WecomLimits
from .member import FakeMember, Outcome
from .state import ApiCall, FakeWecom, SendRecord
from .tags import CorpTag, TagGroup
from .timeline import TimelineEntry

__all__ = [
    "WECOM_FAKE_STATE",
    "ApiCall",
    "Clock",
    "ContactOutcome",
    "ContactWay",
    "CorpTag",
    "CustomerGroup",
    "ExternalContact",
    "FakeMember",
    "FakeWecom",
    "FakeWecomApp",
    "FollowUser",
    "GroupMember",
    "GroupMsgTask",
    "GroupOutcome",
    "JoinOutcome",
    "JoinWay",
    "Outcome",
    "SendRecord",
    "TagGroup",
    "TimelineEntry",
    "WecomApiError",
    "WecomLimits",
    "build_wecom_callback",
    "build_wecom_verification",
    "create_wecom_fake_app",
    "decode_wecom_reply",
    "new_external_userid",
    "open_wecom_envelope",
    "wecom_contact_change_xml",
    "wecom_decrypt",
    "wecom_encrypt",
    "wecom_event_xml",
    "wecom_group_change_xml",
    "wecom_image_xml",
    "wecom_text_xml",
]
