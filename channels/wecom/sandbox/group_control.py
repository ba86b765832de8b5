"""Control of customer groups for tests: each change updates the corp's state and then sends the
matching change_external_chat callback (§4.10) to the app's callback URL, signed and encrypted
exactly like member callbacks (3 attempts in all). The owner's side of group tasks lives here
too: confirming a task sends it to the groups within their receive caps.

Reach these through the FakeWecom methods (``create_group``, ``add_group_members``, ...).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from channels.wechat.sandbox.errors import ActionRejected

from .callbacks import wecom_group_change_xml
from .groups import (
    CAP_REACHED,
    SCENE_DIRECT,
    SCENE_LINK,
    SCENE_QR,
    SENT,
    TASK_SENT,
    CustomerGroup,
    GroupMember,
    GroupMsgTask,
    cap_reached,
    is_external,
    member_key,
    new_external_userid,
)
from .member import post_callback
from .state import AppState, FakeWecom

EXTERNAL_USERID: Final = re.compile(r"w[mo][A-Za-z0-9_-]{1,62}")
CHANGE_TYPES: Final = ("create", "update", "dismiss")
QUIT_VOLUNTARILY: Final = 0
QUIT_REMOVED: Final = 1
"""QuitScene of del_member: the member left, or the owner or an admin removed them."""
JOIN_INVITED: Final = 0
JOIN_QR: Final = 3
"""JoinScene of add_member: invited by a member (directly or by link), or scanned the group QR."""


@dataclass(frozen=True)
class GroupOutcome:
    """One group change and its callback: each attempt's HTTP status and the errors seen.

    `xml` is the decrypted event that was sent ("" and no attempts when not notified).
    """

    chat_id: str
    change_type: str
    detail: str
    xml: str
    statuses: tuple[int | None, ...]
    errors: tuple[str, ...]
    delivered: bool

    def as_json(self) -> dict[str, Any]:
        """The control-route answer."""
        return {
            "chat_id": self.chat_id,
            "change_type": self.change_type,
            "detail": self.detail,
            "statuses": list(self.statuses),
            "errors": list(self.errors),
            "delivered": self.delivered,
        }


class GroupControl:
    """The group side of one app: changes, their callbacks, and task confirmation."""

    def __init__(self, wecom: FakeWecom, state: AppState) -> None:
        self.wecom = wecom
        self.state = state

    @property
    def now(self) -> float:
        """Platform time."""
        return self.wecom.clock.now()

    # lookups and checks

    def group(self, chat_id: str) -> CustomerGroup:
        """A live group of this app's corp (ActionRejected 404 otherwise)."""
        group = self.state.corp.groups.live(chat_id)
        if group is None:
            raise ActionRejected(404, f"no live customer group {chat_id!r} in this corp")
        return group

    def internal(self, userid: str, name: str = "") -> str:
        """A member userid of the corp (joining its directory on first use), as stored."""
        if is_external(userid):
            raise ActionRejected(400, f"{userid!r} is an external userid, not a member")
        return self.wecom.member(self.state.app.name, userid, name).userid

    def member(self, userid: str, join_time: int, scene: int, invitor: str | None) -> GroupMember:
        """A new group member: an external userid ("wm..."/"wo...") or a corp member."""
        if is_external(userid):
            if not EXTERNAL_USERID.fullmatch(userid):
                raise ActionRejected(400, f"external userid {userid!r} is malformed")
            name = f"客户{userid[-4:]}"
        else:
            userid = self.internal(userid)
            entry = self.state.corp.find(userid)
            name = entry.name if entry else userid
        return GroupMember(userid, join_time, scene, invitor, name)

    def _fits(self, group: CustomerGroup, more: int, scene: int) -> None:
        limits = self.state.limits
        if len(group.members) + more > limits.group_members_max:
            raise ActionRejected(
                409, f"a customer group holds at most {limits.group_members_max} members"
            )
        if scene == SCENE_QR and len(group.members) >= limits.group_qr_join_below:
            raise ActionRejected(
                409, f"the group QR code only works below {limits.group_qr_join_below} members"
            )

    # changes

    async def create(
        self,
        owner: str,
        name: str,
        members: Sequence[str],
        admins: Sequence[str],
        created_at: float | None,
        notify: bool,
    ) -> GroupOutcome:
        """A new group owned by `owner` with `members` (invited directly by the owner)."""
        group = self._build(owner, name, members, admins, created_at)
        group.last_event = group.create_time
        xml = wecom_group_change_xml(self.state.app, group.chat_id, "create", group.create_time)
        return await self._deliver(group, "create", "", xml, notify)

    def create_many(
        self, owners: Sequence[str], count: int, members_per_group: int, created_at: float | None
    ) -> list[str]:
        """`count` groups owned in turn by `owners`, each with `members_per_group` new external
        members; no callbacks (for benchmarks and sync tests)."""
        if count < 0 or members_per_group < 0 or not owners:
            raise ActionRejected(400, "give owners, count >= 0 and members_per_group >= 0")
        ids: list[str] = []
        for index in range(count):
            externals = [new_external_userid() for _ in range(members_per_group)]
            group = self._build(
                owners[index % len(owners)], f"客户群{index + 1}", externals, (), created_at
            )
            ids.append(group.chat_id)
        return ids

    def _build(
        self,
        owner: str,
        name: str,
        members: Sequence[str],
        admins: Sequence[str],
        created_at: float | None,
    ) -> CustomerGroup:
        now = self.now
        at = now if created_at is None else created_at
        if at > now + 1:
            raise ActionRejected(400, "a group cannot be created in the future")
        owner = self.internal(owner)
        joined = {member_key(owner): self.member(owner, int(at), SCENE_DIRECT, None)}
        for userid in members:
            if member_key(userid) not in joined:
                joined[member_key(userid)] = self.member(userid, int(at), SCENE_DIRECT, owner)
        ceiling = self.state.limits.group_members_max
        if len(joined) > ceiling:
            raise ActionRejected(409, f"a customer group holds at most {ceiling} members")
        for admin in admins:
            if is_external(admin) or member_key(admin) not in joined:
                raise ActionRejected(400, f"admin {admin!r} must be a member of the group")
        group = self.state.corp.groups.create(name, owner, int(at))
        for member in joined.values():
            group.add(member)
        group.admins = list(dict.fromkeys(joined[member_key(a)].userid for a in admins))
        return group

    async def add_members(
        self,
        chat_id: str,
        userids: Sequence[str],
        scene: int,
        invitor: str | None,
        state: str,
        notify: bool,
    ) -> GroupOutcome:
        """Members join: `scene` 1 invited directly, 2 by invite link, 3 scanned the group QR."""
        if scene not in (SCENE_DIRECT, SCENE_LINK, SCENE_QR):
            raise ActionRejected(400, "scene must be 1 (invite), 2 (invite link) or 3 (QR code)")
        group = self.group(chat_id)
        fresh = list({member_key(u): u for u in userids if not group.has(u)}.values())
        if not fresh:
            raise ActionRejected(400, "nobody new joins the group")
        self._fits(group, len(fresh), scene)
        if scene != SCENE_QR and invitor is None:
            invitor = group.owner
        elif invitor is not None:
            invitor = self.internal(invitor)
        at = int(self.now)
        joined = [self.member(u, at, scene, invitor) for u in fresh]
        for member in joined:
            member.state = state
            group.add(member)
        before, after = group.bump_version()
        listed = self.wecom.group_event_details
        xml = wecom_group_change_xml(
            self.state.app,
            group.chat_id,
            "update",
            self._event_time(group),
            detail="add_member",
            join_scene=JOIN_QR if scene == SCENE_QR else JOIN_INVITED,
            count=len(joined),
            changed=[m.userid for m in joined] if listed else None,
            last_version=before if listed else "",
            version=after if listed else "",
        )
        return await self._deliver(group, "update", "add_member", xml, notify)

    async def remove_members(
        self, chat_id: str, userids: Sequence[str], quit_scene: int, notify: bool
    ) -> GroupOutcome:
        """Members leave (`quit_scene` 0) or are removed by the owner or an admin (1)."""
        if quit_scene not in (QUIT_VOLUNTARILY, QUIT_REMOVED):
            raise ActionRejected(400, "quit_scene must be 0 (left) or 1 (removed)")
        group = self.group(chat_id)
        gone = list(dict.fromkeys(member_key(u) for u in userids))
        missing = [u for u in gone if u not in group.members]
        if missing or not gone:
            raise ActionRejected(400, f"not in the group: {', '.join(missing) or 'nobody given'}")
        if any(group.owned_by(u) for u in gone):
            raise ActionRejected(409, "the owner cannot leave; change the owner first")
        left = [group.members[key].userid for key in gone]
        for userid in left:
            group.remove(userid)
        group.admins = [a for a in group.admins if group.has(a)]
        before, after = group.bump_version()
        listed = self.wecom.group_event_details
        xml = wecom_group_change_xml(
            self.state.app,
            group.chat_id,
            "update",
            self._event_time(group),
            detail="del_member",
            quit_scene=quit_scene,
            count=len(left),
            changed=left if listed else None,
            last_version=before if listed else "",
            version=after if listed else "",
        )
        return await self._deliver(group, "update", "del_member", xml, notify)

    async def rename(self, chat_id: str, name: str, notify: bool) -> GroupOutcome:
        """The group gets a new name (change_name)."""
        group = self.group(chat_id)
        group.name = name
        return await self._update(group, "change_name", notify)

    async def change_notice(self, chat_id: str, notice: str, notify: bool) -> GroupOutcome:
        """The group gets a new notice (change_notice)."""
        group = self.group(chat_id)
        group.notice = notice
        return await self._update(group, "change_notice", notify)

    async def change_owner(self, chat_id: str, owner: str, notify: bool) -> GroupOutcome:
        """Another member of the corp owns the group (change_owner); a new owner who is not in
        the group yet joins it as part of the handover (no add_member event)."""
        group = self.group(chat_id)
        owner = self.internal(owner)
        if group.owned_by(owner):
            raise ActionRejected(400, f"{owner} already owns the group")
        if not group.has(owner):
            self._fits(group, 1, SCENE_DIRECT)
            group.add(self.member(owner, int(self.now), SCENE_DIRECT, None))
            group.bump_version()
        group.owner = owner
        return await self._update(group, "change_owner", notify)

    async def dismiss(self, chat_id: str, notify: bool) -> GroupOutcome:
        """The owner dismisses the group: it is gone for the API."""
        group = self.group(chat_id)
        group.dismissed = True
        xml = wecom_group_change_xml(
            self.state.app, group.chat_id, "dismiss", self._event_time(group)
        )
        return await self._deliver(group, "dismiss", "", xml, notify)

    def set_status(self, chat_id: str, status: int) -> None:
        """The handover status (0 normal, 1 owner left, 2 handover running, 3 handed over)."""
        if status not in (0, 1, 2, 3):
            raise ActionRejected(400, "status must be 0, 1, 2 or 3")
        self.group(chat_id).status = status

    async def _update(self, group: CustomerGroup, detail: str, notify: bool) -> GroupOutcome:
        xml = wecom_group_change_xml(
            self.state.app, group.chat_id, "update", self._event_time(group), detail=detail
        )
        return await self._deliver(group, "update", detail, xml, notify)

    def _event_time(self, group: CustomerGroup) -> int:
        # Kept distinct per group: a receiver may dedupe on ChatId + ChangeType + CreateTime.
        group.last_event = max(int(self.now), group.last_event + 1)
        return group.last_event

    async def _deliver(
        self, group: CustomerGroup, change_type: str, detail: str, xml: str, notify: bool
    ) -> GroupOutcome:
        if not notify:
            return GroupOutcome(group.chat_id, change_type, detail, "", (), (), False)
        delivery = await post_callback(self.wecom, self.state.app, xml)
        return GroupOutcome(
            chat_id=group.chat_id,
            change_type=change_type,
            detail=detail,
            xml=xml,
            statuses=delivery.statuses,
            errors=delivery.errors,
            delivered=delivery.body is not None,
        )

    # the owner's side of group tasks

    def confirm(self, userid: str, msgid: str) -> GroupMsgTask:
        """The sender taps "send" in the client: each of the task's groups gets the message
        (status 1) unless its receive cap is reached (3); groups dismissed or handed to someone
        else meanwhile stay not sent (0)."""
        task = self.state.corp.groups.tasks.get(msgid)
        if task is None:
            raise ActionRejected(404, f"no group task {msgid!r} in this corp")
        if task.sender.lower() != userid.lower():
            raise ActionRejected(403, f"only the sender {task.sender} can send this task")
        if task.status == TASK_SENT:
            raise ActionRejected(409, "the task was sent already")
        now = self.now
        for chat_id in task.chat_ids:
            group = self.state.corp.groups.live(chat_id)
            result = task.results[chat_id]
            if group is None or not group.owned_by(task.sender):
                continue
            if cap_reached(group.receipts, now, self.state.limits):
                result.status = CAP_REACHED
                continue
            result.status, result.send_time = SENT, int(now)
            group.receipts.append(now)
        task.status, task.send_time = TASK_SENT, int(now)
        return task
