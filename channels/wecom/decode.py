"""Decrypted WeCom app-chat fields -> neutral :class:`StaffMessage` (platform-facts.md §4.2),
customer-group change events -> :class:`GroupChange` (§4.10) and customer change events ->
:class:`ContactChange` (§4.5).

Only what a staff member types or sends as a picture becomes a message for the command layer;
events (entering the app, menu clicks, customer-contact changes, ...) and other message types
(voice, video, location, link, file) decode to None. The dedupe key is the platform's ``MsgId``,
equal for every retry of one delivery.

``Event=change_external_chat`` (from ``sys``, no AgentID) decodes to a :class:`GroupChange`.
Events may be lost or reordered and older payloads do not say who joined or left: treat one as
a hint to re-read the group (``groupchat/get``), not as an increment log.

``Event=change_external_contact`` (from ``sys``, no AgentID) decodes to a
:class:`ContactChange`; an add event's ``welcome_code`` must be used within 20 seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from channels.wechat.verify import CallbackRejected
from channels.wecom.app import WecomApp
from handlers.staff import StaffMessage

PLATFORM = "wecom"
MAX_TEXT = 4096  # characters; WeCom itself caps a text message at 2048 bytes
GROUP_CHANGE_EVENT: Final = "change_external_chat"
CONTACT_CHANGE_EVENT: Final = "change_external_contact"


@dataclass(frozen=True)
class GroupChange:
    """A change of a customer group (客户群), as WeCom announced it.

    ``change_type`` is ``create``, ``update`` or ``dismiss``; for ``update``, ``detail`` is the
    UpdateDetail: ``add_member``, ``del_member``, ``change_owner``, ``change_name`` or
    ``change_notice`` (other values are passed on as they come). Member changes carry
    ``join_scene`` (0 invited by a member, directly or by link; 3 scanned the group QR) or
    ``quit_scene`` (0 left, 1 removed by the owner or an admin) and ``count`` (MemChangeCnt,
    0 when absent). Newer payloads also name the members (``members``, from MemChangeList) and
    the member versions before and after (``last_member_version``, ``member_version``); older
    ones leave them empty.
    """

    corp: str
    chat_id: str
    change_type: str
    detail: str
    join_scene: int | None
    quit_scene: int | None
    count: int
    at: int
    """CreateTime, epoch seconds."""
    account: str
    """The app's settings name."""
    members: tuple[str, ...] = ()
    last_member_version: str = ""
    member_version: str = ""

    @property
    def dedupe_key(self) -> str:
        """Equal for every retry of one event (§4.2: ChangeType and ids, not only the time)."""
        return (
            f"{PLATFORM}:{self.account}:chat:{self.chat_id}:{self.change_type}:{self.detail}:"
            f"{self.at}:{self.member_version}"
        )


def decode_group_change(app: WecomApp, fields: dict[str, Any]) -> GroupChange | None:
    """The customer-group change in ``fields``, None for anything else; raise
    :class:`CallbackRejected` (400) when a change_external_chat event is malformed."""
    if str(fields.get("MsgType", "")).lower() != "event":
        return None
    if str(fields.get("Event", "")).lower() != GROUP_CHANGE_EVENT:
        return None
    return GroupChange(
        corp=_field(fields, "ToUserName"),
        chat_id=_field(fields, "ChatId"),
        change_type=_field(fields, "ChangeType"),
        detail=_optional_text(fields, "UpdateDetail"),
        join_scene=_number(fields, "JoinScene"),
        quit_scene=_number(fields, "QuitScene"),
        count=_number(fields, "MemChangeCnt") or 0,
        at=_required_number(fields, "CreateTime"),
        account=app.name,
        members=_items(fields.get("MemChangeList")),
        last_member_version=_optional_text(fields, "LastMemVer"),
        member_version=_optional_text(fields, "CurMemVer"),
    )


@dataclass(frozen=True)
class ContactChange:
    """A change of a customer relation (客户联系), as WeCom announced it.

    ``change_type`` is ``add_external_contact``, ``add_half_external_contact``,
    ``edit_external_contact``, ``del_external_contact``, ``del_follow_user`` or
    ``transfer_fail`` (other values are passed on as they come). ``userid`` is the member,
    ``external_userid`` the customer. Add events carry ``state`` (the contact way's state, ""
    when none) and ``welcome_code`` ("" when no welcome may be sent: then do not send one);
    ``source`` is del_external_contact's Source and ``fail_reason`` transfer_fail's FailReason.
    """

    corp: str
    change_type: str
    userid: str
    external_userid: str
    state: str
    welcome_code: str
    at: int
    """CreateTime, epoch seconds."""
    account: str
    """The app's settings name."""
    source: str = ""
    fail_reason: str = ""

    @property
    def dedupe_key(self) -> str:
        """Equal for every retry of one event (§4.2: ChangeType and ids, not only the time)."""
        return (
            f"{PLATFORM}:{self.account}:contact:{self.userid}:{self.external_userid}:"
            f"{self.change_type}:{self.at}"
        )


def decode_contact_change(app: WecomApp, fields: dict[str, Any]) -> ContactChange | None:
    """The customer change in ``fields``, None for anything else; raise
    :class:`CallbackRejected` (400) when a change_external_contact event is malformed."""
    if str(fields.get("MsgType", "")).lower() != "event":
        return None
    if str(fields.get("Event", "")).lower() != CONTACT_CHANGE_EVENT:
        return None
    return ContactChange(
        corp=_field(fields, "ToUserName"),
        change_type=_field(fields, "ChangeType"),
        userid=_field(fields, "UserID"),
        external_userid=_field(fields, "ExternalUserID"),
        state=_optional_text(fields, "State"),
        welcome_code=_optional_text(fields, "WelcomeCode"),
        at=_required_number(fields, "CreateTime"),
        account=app.name,
        source=_optional_text(fields, "Source"),
        fail_reason=_optional_text(fields, "FailReason"),
    )


def decode_staff_message(app: WecomApp, fields: dict[str, Any]) -> StaffMessage | None:
    """The staff message in ``fields``, None when there is none; raise
    :class:`CallbackRejected` (400) when a text or image message is malformed."""
    msg_type = _field(fields, "MsgType").lower()
    if msg_type not in ("text", "image"):
        return None
    user = _field(fields, "FromUserName")
    msg_id = _field(fields, "MsgId")
    if not msg_id.isdigit():
        raise CallbackRejected(400, "MsgId is not a number")
    text = image = ""
    if msg_type == "text":
        text = _field(fields, "Content")
        if len(text) > MAX_TEXT:
            raise CallbackRejected(400, f"Content is longer than {MAX_TEXT} characters")
    else:
        image = _field(fields, "MediaId")
    return StaffMessage(
        platform=PLATFORM,
        account=app.name,
        user=user,
        chat=user,  # the app chat is one to one: answers go to the sender
        direct=True,
        addressed=True,
        text=text,
        image=image,
        dedupe_key=f"{PLATFORM}:{app.name}:msg:{msg_id}",
    )


def _field(fields: dict[str, Any], name: str) -> str:
    value = fields.get(name)
    if not isinstance(value, str) or not value:
        raise CallbackRejected(400, f"the message has no {name}")
    return value


def _optional_text(fields: dict[str, Any], name: str) -> str:
    value = fields.get(name, "")
    if not isinstance(value, str):
        raise CallbackRejected(400, f"{name} is not text")
    return value


def _number(fields: dict[str, Any], name: str) -> int | None:
    value = _optional_text(fields, name).strip()
    if not value:
        return None
    if not value.isdigit():
        raise CallbackRejected(400, f"{name} is not a number")
    return int(value)


def _required_number(fields: dict[str, Any], name: str) -> int:
    value = _number(fields, name)
    if value is None:
        raise CallbackRejected(400, f"the message has no {name}")
    return value


def _items(listing: Any) -> tuple[str, ...]:
    """The member ids of ``<MemChangeList><Item>..</Item>...</MemChangeList>`` (none when absent
    or empty)."""
    if listing is None or listing == "":
        return ()
    if not isinstance(listing, dict):
        raise CallbackRejected(400, "MemChangeList is not a list of Item")
    items = listing.get("Item", listing.get("item", []))
    ids: list[str] = []
    for value in items if isinstance(items, list) else [items]:
        if not isinstance(value, str):
            raise CallbackRejected(400, "MemChangeList items are not text")
        if value.strip():
            ids.append(value.strip())
    return tuple(ids)
