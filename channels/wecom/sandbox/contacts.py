"""Customer contact (客户联系) of a corp: 「联系我」 contact ways (§4.4), the external contacts
(customers) the corp's members have added (§4.7) and the welcome codes of new contacts (§4.6):
what the /cgi-bin routes read and the control methods change.

- A contact way has a ``config_id`` (32 hex digits), a ``qr_code`` URL, ``type`` 1 (one member)
  or 2 (several), ``scene`` 1 (mini-program button) or 2 (QR code), members, departments,
  ``skip_verify``, ``state`` and ``remark``.
- An external contact ("wm...") has a name and one follow entry per member who has them as a
  customer: the member's ``remark``, ``description``, ``createtime``, the ``state`` of the
  contact way it came through, ``add_way`` and ``oper_userid``.
- A welcome code is issued with an add event; it can be used once, within
  ``WecomLimits.welcome_code_ttl`` seconds of platform time.
- The corp also keeps its 「加入群聊」 join ways (``join_ways.py``, sharing the ways quota with
  contact ways) and its corp tags (``tags.py``), which follow entries carry as ``tag_ids``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any, Final

from .join_ways import JoinWay
from .qr import qr_url
from .tags import CorpTags

ADD_WAY_QR: Final = 1
"""add_way of a customer who scanned a member's QR code (contact ways of scene 2)."""
ADD_WAY_UNKNOWN: Final = 0


def new_config_id() -> str:
    """A contact-way id like the platform's (32 hex digits)."""
    return secrets.token_hex(16)


def new_welcome_code() -> str:
    """An opaque welcome code."""
    return secrets.token_urlsafe(32)


@dataclass
class ContactWay:
    """One 「联系我」 configuration of a corp."""

    config_id: str
    app: str
    """The app whose token created it."""
    type: int
    scene: int
    users: list[str]
    parties: list[int]
    skip_verify: bool
    state: str
    remark: str
    style: int | None
    create_time: int
    next_member: int = 0
    """Which of `users` the next scan reaches (multi-member codes take turns)."""

    @property
    def qr_link(self) -> str:
        """What the QR picture encodes (a stand-in for the platform's contact link)."""
        return f"https://work.weixin.qq.com/ca/{self.config_id}"

    def qr_code(self, base: str) -> str:
        """The QR picture URL on the fake at `base` (scene 2); "" for a mini-program button."""
        return qr_url(base, self.config_id) if self.scene == 2 else ""

    def as_json(self, base: str) -> dict[str, Any]:
        """The contact_way object of get_contact_way (qr_code on the fake at `base`)."""
        item: dict[str, Any] = {
            "config_id": self.config_id,
            "type": self.type,
            "scene": self.scene,
            "remark": self.remark,
            "skip_verify": self.skip_verify,
            "state": self.state,
            "user": list(self.users),
            "party": list(self.parties),
            "is_temp": False,
        }
        if self.style is not None:
            item["style"] = self.style
        if self.scene == 2:
            item["qr_code"] = self.qr_code(base)
        return item


@dataclass
class FollowUser:
    """A member's side of one customer relation (follow_user of externalcontact/get)."""

    userid: str
    createtime: int
    state: str = ""
    add_way: int = ADD_WAY_QR
    remark: str = ""
    description: str = ""
    tag_ids: list[str] = field(default_factory=list)
    """Corp tags the member put on the customer (mark_tag), in marking order."""

    def as_json(self, tags: CorpTags | None = None) -> dict[str, Any]:
        """The follow_user item (tag names looked up in `tags`)."""
        item: dict[str, Any] = {
            "userid": self.userid,
            "remark": self.remark,
            "description": self.description,
            "createtime": self.createtime,
            "tags": tags.describe(self.tag_ids) if tags is not None else [],
            "remark_mobiles": [],
            "add_way": self.add_way,
            "oper_userid": self.userid,
        }
        if self.state:
            item["state"] = self.state
        return item


@dataclass
class ExternalContact:
    """A WeChat customer known to the corp."""

    external_userid: str
    name: str
    follow: dict[str, FollowUser] = field(default_factory=dict)
    """By lower-cased member userid, in adding order."""
    received: list[dict[str, Any]] = field(default_factory=list)
    """What the customer received from the corp's members (welcome messages), oldest first."""
    last_event: int = 0
    """CreateTime of the newest change event about this customer."""

    def as_json(self) -> dict[str, Any]:
        """The external_contact object of externalcontact/get (a WeChat user, type 1)."""
        return {
            "external_userid": self.external_userid,
            "name": self.name,
            "avatar": "",
            "type": 1,
            "gender": 0,
        }


@dataclass
class WelcomeCode:
    """The code of one add event that lets the app send that customer a welcome."""

    code: str
    userid: str
    external_userid: str
    issued: float
    used: bool = False


class CorpContacts:
    """The contact ways, join ways, external contacts, welcome codes and corp tags of one
    corp."""

    def __init__(self) -> None:
        self.ways: dict[str, ContactWay] = {}
        self.join_ways: dict[str, JoinWay] = {}
        self.externals: dict[str, ExternalContact] = {}
        self.welcome_codes: dict[str, WelcomeCode] = {}
        self.tags = CorpTags()

    @property
    def way_count(self) -> int:
        """Live API-made contact ways and join ways (they share one quota)."""
        return len(self.ways) + len(self.join_ways)

    def add_way(self, way: ContactWay) -> None:
        """Keep a new contact way."""
        self.ways[way.config_id] = way

    def external(self, external_userid: object) -> ExternalContact | None:
        """A customer by external userid (case-sensitive)."""
        return self.externals.get(external_userid) if isinstance(external_userid, str) else None
