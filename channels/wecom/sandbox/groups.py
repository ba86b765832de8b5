"""Customer groups (客户群, §4.8) of a corp and the group mass-message tasks (企业群发 to
groups, §4.11) created for them: what the /cgi-bin routes read and the control methods change.

- A group has a ``chat_id`` ("wr..."), a name, an owner (a member of the corp), a creation time,
  a notice, members (internal userids and external userids "wm..."/"wo..."), admins, a
  handover ``status`` (0 normal, 1 owner left pending handover, 2 handover in progress,
  3 handover done) and a ``member_version`` that changes with every membership change.
  A dismissed group is gone for the API (neither listed nor readable).
- A task is created by add_msg_template with chat_type "group" and sends nothing until its
  sender confirms it in the client (``FakeWecom.confirm_group_task``). Then each group gets the
  message (result status 1) unless it reached its receive cap (status 3) or is no longer the
  sender's or dismissed (status 0, not sent).
- Receive caps count per group and per calendar day, week (Monday first) and month in China
  time (UTC+8): by default as many per month as the month has days, configurable in
  ``WecomLimits``.
"""

from __future__ import annotations

import calendar
import secrets
import string
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Final

from .limits import WecomLimits

CHINA: Final = timezone(timedelta(hours=8))
EXTERNAL_PREFIXES: Final = ("wm", "wo")
"""External userids start with "wm" (WeChat users) or "wo"; anything else is a member userid."""
_ALPHABET: Final = string.ascii_letters + string.digits

NOT_SENT: Final = 0
SENT: Final = 1
CAP_REACHED: Final = 3
"""Per-group result statuses of get_groupmsg_send_result (2, "not a friend", is single-only)."""
TASK_NOT_SENT: Final = 0
TASK_SENT: Final = 2
"""Task statuses of get_groupmsg_task (the sender has not / has confirmed)."""

SCENE_DIRECT: Final = 1
SCENE_LINK: Final = 2
SCENE_QR: Final = 3
"""join_scene of a member in groupchat/get: invited directly, by invite link, by the group QR."""


def _random(length: int) -> str:
    # One draw of random bytes per id (modulo bias is irrelevant for ids): bulk creation of
    # many groups and members stays fast.
    return "".join(_ALPHABET[b % len(_ALPHABET)] for b in secrets.token_bytes(length))


def new_chat_id() -> str:
    """A customer-group id like the platform's ("wr" + 30 characters)."""
    return "wr" + _random(30)


def new_external_userid() -> str:
    """An external userid of a WeChat customer ("wm" + 30 characters)."""
    return "wm" + _random(30)


def new_msgid() -> str:
    """A mass-message task id ("msg" + 27 characters)."""
    return "msg" + _random(27)


def new_member_version() -> str:
    """An opaque member version (32 hex digits, like the platform's md5-looking ones)."""
    return secrets.token_hex(16)


def is_external(userid: str) -> bool:
    """Whether a group member id is an external userid rather than a member's userid."""
    return userid.startswith(EXTERNAL_PREFIXES)


def member_key(userid: str) -> str:
    """Key of a member in a group: member userids are case-insensitive, external ones not."""
    return userid if is_external(userid) else userid.lower()


@dataclass
class GroupMember:
    """One member of a customer group, as groupchat/get shows it."""

    userid: str
    join_time: int
    join_scene: int
    invitor: str | None = None
    name: str = ""
    group_nickname: str = ""
    state: str = ""

    @property
    def external(self) -> bool:
        """An external contact (type 2) rather than a member of the corp (type 1)."""
        return is_external(self.userid)

    def as_json(self, need_name: bool) -> dict[str, Any]:
        """The member_list item of groupchat/get (name only with need_name)."""
        item: dict[str, Any] = {
            "userid": self.userid,
            "type": 2 if self.external else 1,
            "join_time": self.join_time,
            "join_scene": self.join_scene,
        }
        if self.invitor:
            item["invitor"] = {"userid": self.invitor}
        item["group_nickname"] = self.group_nickname
        if need_name:
            item["name"] = self.name
        if self.state:
            item["state"] = self.state
        return item


@dataclass
class CustomerGroup:
    """One customer group of a corp."""

    seq: int
    """Creation order in the corp (the list cursor counts on it)."""
    chat_id: str
    name: str
    owner: str
    create_time: int
    notice: str = ""
    members: dict[str, GroupMember] = field(default_factory=dict)
    """By `member_key`, in joining order."""
    admins: list[str] = field(default_factory=list)
    status: int = 0
    member_version: str = field(default_factory=new_member_version)
    dismissed: bool = False
    receipts: list[float] = field(default_factory=list)
    """When group messages of confirmed tasks reached the group (for the receive caps)."""
    last_event: int = 0
    """CreateTime of the newest change event, to keep events of a group distinct."""

    def has(self, userid: str) -> bool:
        """Whether `userid` is in the group."""
        return member_key(userid) in self.members

    def owned_by(self, userid: str) -> bool:
        """Whether `userid` (case-insensitive) owns the group."""
        return self.owner.lower() == userid.lower()

    def add(self, member: GroupMember) -> None:
        """Add a member (the caller bumps the version once per change)."""
        self.members[member_key(member.userid)] = member

    def remove(self, userid: str) -> None:
        """Remove a member (the caller bumps the version once per change)."""
        del self.members[member_key(userid)]

    def bump_version(self) -> tuple[str, str]:
        """A new member_version; (before, after)."""
        before, self.member_version = self.member_version, new_member_version()
        return before, self.member_version

    def as_json(self, need_name: bool) -> dict[str, Any]:
        """The group_chat object of groupchat/get."""
        return {
            "chat_id": self.chat_id,
            "name": self.name,
            "owner": self.owner,
            "create_time": self.create_time,
            "notice": self.notice,
            "member_list": [m.as_json(need_name) for m in self.members.values()],
            "admin_list": [{"userid": a} for a in self.admins],
            "member_version": self.member_version,
        }


@dataclass
class ChatResult:
    """What became of one group of a task."""

    status: int = NOT_SENT
    send_time: int | None = None


@dataclass
class GroupMsgTask:
    """A group mass message created with add_msg_template (chat_type "group")."""

    msgid: str
    app: str
    """The app whose token created it."""
    sender: str
    create_time: int
    text: str
    attachments: list[dict[str, Any]]
    """As the groups will see them (media described, not referenced)."""
    chat_ids: list[str]
    """The groups the task goes to (the sender's own, each once)."""
    fail_list: list[str]
    """Requested chat ids the task cannot go to (unknown, dismissed, owned by someone else)."""
    status: int = TASK_NOT_SENT
    send_time: int | None = None
    results: dict[str, ChatResult] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The task for control routes and timelines."""
        return {
            "msgid": self.msgid,
            "app": self.app,
            "sender": self.sender,
            "create_time": self.create_time,
            "text": self.text,
            "attachments": self.attachments,
            "chat_ids": list(self.chat_ids),
            "fail_list": list(self.fail_list),
            "status": self.status,
            "send_time": self.send_time,
            "results": {
                chat_id: {"status": r.status, "send_time": r.send_time}
                for chat_id, r in self.results.items()
            },
        }


class CorpGroups:
    """The customer groups and group tasks of one corp."""

    def __init__(self) -> None:
        self.by_id: dict[str, CustomerGroup] = {}
        self.tasks: dict[str, GroupMsgTask] = {}
        self._ordered: list[CustomerGroup] = []
        self._seqs: list[int] = []

    def create(self, name: str, owner: str, create_time: int) -> CustomerGroup:
        """A new, empty group with a fresh chat id."""
        chat_id = new_chat_id()
        while chat_id in self.by_id:  # pragma: no cover - 62**30 ids
            chat_id = new_chat_id()
        seq = self._seqs[-1] + 1 if self._seqs else 1
        group = CustomerGroup(seq, chat_id, name, owner, create_time)
        self.by_id[chat_id] = group
        self._ordered.append(group)
        self._seqs.append(seq)
        return group

    def live(self, chat_id: object) -> CustomerGroup | None:
        """A group that is not dismissed, by chat id."""
        group = self.by_id.get(chat_id) if isinstance(chat_id, str) else None
        return group if group is not None and not group.dismissed else None

    def after(self, seq: int) -> Iterator[CustomerGroup]:
        """Live groups created after the one numbered `seq`, oldest first."""
        for group in self._ordered[bisect_right(self._seqs, seq) :]:
            if not group.dismissed:
                yield group

    def page(
        self, after: int, limit: int, keep: Callable[[CustomerGroup], bool]
    ) -> tuple[list[CustomerGroup], bool]:
        """Up to `limit` kept groups after seq `after`, and whether more kept groups follow."""
        found: list[CustomerGroup] = []
        for group in self.after(after):
            if keep(group):
                if len(found) == limit:
                    return found, True
                found.append(group)
        return found, False


def cap_reached(receipts: list[float], now: float, limits: WecomLimits) -> bool:
    """Whether a group that received group messages at `receipts` may get no more now."""
    today = datetime.fromtimestamp(now, CHINA)
    days = [datetime.fromtimestamp(t, CHINA) for t in receipts]
    per_month = limits.group_msg_per_month
    if per_month is None:
        per_month = calendar.monthrange(today.year, today.month)[1]
    month = sum(1 for d in days if (d.year, d.month) == (today.year, today.month))
    if month >= per_month:
        return True
    week_of = today.isocalendar()[:2]
    if limits.group_msg_per_week is not None:
        week = sum(1 for d in days if d.isocalendar()[:2] == week_of)
        if week >= limits.group_msg_per_week:
            return True
    if limits.group_msg_per_day is not None:
        day = sum(1 for d in days if d.date() == today.date())
        if day >= limits.group_msg_per_day:
            return True
    return False
