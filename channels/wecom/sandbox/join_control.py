"""Control of join ways for tests: a customer scanning the QR code of a 「加入群聊」 join way.

The customer joins the first listed group (in order) that has fewer than
``group_qr_join_below`` members (and fewer than ``group_members_max``), as join_scene 3 (group
QR) with the way's ``state``; the group's change_external_chat update/add_member callback
(JoinScene 3) follows. When no listed group has room:

- with ``auto_create_room`` 1 a new group is created, named ``room_base_name`` (default: the
  first listed group's name) + ``room_base_id + n`` (n counts the groups this way created so
  far, from 0) and owned by the owner of the first listed group; its ``create`` callback is
  sent, it joins the way's list (appended while fewer than ``join_way_chats`` are listed,
  otherwise in place of the first full one) and the customer joins it;
- with ``auto_create_room`` 0 the scan is refused (ActionRejected 409).

Reach this through ``FakeWecom.scan_join_way``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from channels.wechat.sandbox.errors import ActionRejected

from .group_control import EXTERNAL_USERID, GroupControl, GroupOutcome
from .groups import SCENE_QR, CustomerGroup, is_external, member_key, new_external_userid
from .join_ways import JoinWay
from .state import AppState, FakeWecom


@dataclass(frozen=True)
class JoinOutcome:
    """One scan of a join way: the group joined and the callbacks sent for it.

    `created` is the create change of an auto-created group (None when an existing group had
    room); `joined` is the add_member change.
    """

    config_id: str
    chat_id: str
    external_userid: str
    state: str
    created: GroupOutcome | None
    joined: GroupOutcome

    @property
    def created_group(self) -> bool:
        """Whether the scan created a new group."""
        return self.created is not None

    @property
    def statuses(self) -> tuple[int | None, ...]:
        """HTTP statuses of the add_member callback's attempts."""
        return self.joined.statuses

    @property
    def delivered(self) -> bool:
        """Whether every callback of the scan was delivered."""
        return self.joined.delivered and (self.created is None or self.created.delivered)

    def as_json(self) -> dict[str, Any]:
        """A JSON view of the outcome."""
        return {
            "config_id": self.config_id,
            "chat_id": self.chat_id,
            "external_userid": self.external_userid,
            "state": self.state,
            "created_group": self.created_group,
            "created": self.created.as_json() if self.created is not None else None,
            "joined": self.joined.as_json(),
            "delivered": self.delivered,
        }


class JoinControl:
    """The join-way side of one app."""

    def __init__(self, wecom: FakeWecom, state: AppState) -> None:
        self.wecom = wecom
        self.state = state
        self.groups = GroupControl(wecom, state)

    def way(self, config_id: str) -> JoinWay:
        """A join way of the app's corp (ActionRejected 404 otherwise)."""
        way = self.state.corp.contacts.join_ways.get(config_id)
        if way is None:
            raise ActionRejected(404, f"no join way {config_id!r} in this corp")
        return way

    def _has_room(self, group: CustomerGroup | None) -> bool:
        limits = self.state.limits
        below = min(limits.group_qr_join_below, limits.group_members_max)
        return group is not None and len(group.members) < below

    async def scan(
        self, config_id: str, external_userid: str | None, name: str | None, notify: bool
    ) -> JoinOutcome:
        """A customer scans the way's QR code and joins one of its groups."""
        way = self.way(config_id)
        if way.scene != 2:
            raise ActionRejected(409, "a scene 1 join way has no QR code to scan")
        customer = external_userid or new_external_userid()
        if not is_external(customer) or not EXTERNAL_USERID.fullmatch(customer):
            raise ActionRejected(400, f"{customer!r} is not an external userid")
        live = self.state.corp.groups
        for chat_id in way.chat_ids:
            group = live.live(chat_id)
            if group is not None and group.has(customer):
                raise ActionRejected(409, f"the customer is in group {chat_id} already")
        target = next((c for c in way.chat_ids if self._has_room(live.live(c))), None)
        created: GroupOutcome | None = None
        if target is None:
            if not way.auto_create_room:
                raise ActionRejected(409, "every group of the join way is full")
            created = await self._new_room(way, notify)
            target = created.chat_id
        joined = await self.groups.add_members(
            target, [customer], SCENE_QR, None, way.state, notify
        )
        if name:
            self.groups.group(target).members[member_key(customer)].name = name
        return JoinOutcome(way.config_id, target, customer, way.state, created, joined)

    async def _new_room(self, way: JoinWay, notify: bool) -> GroupOutcome:
        """Create the way's next group, list it and send its create callback."""
        first = self.state.corp.groups.by_id.get(way.chat_ids[0])
        if first is None:  # pragma: no cover - listed ids were groups of the corp
            raise ActionRejected(409, "the first group of the join way is unknown")
        base = way.room_base_name or first.name
        name = f"{base}{way.room_base_id + way.created_rooms}"
        outcome = await self.groups.create(first.owner, name, (), (), None, notify)
        way.created_rooms += 1
        if len(way.chat_ids) < self.state.limits.join_way_chats:
            way.chat_ids.append(outcome.chat_id)
        else:
            groups = self.state.corp.groups
            full = next(i for i, c in enumerate(way.chat_ids) if not self._has_room(groups.live(c)))
            way.chat_ids[full] = outcome.chat_id
        return outcome
