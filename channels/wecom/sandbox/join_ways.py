"""「加入群聊」 join ways (§4.9) of a corp: what the groupchat/*_join_way routes read and change
and what a customer scanning one (``FakeWecom.scan_join_way``) uses.

- A join way has a ``config_id`` (32 hex digits, from the same pool as contact ways), the app
  that created it (only that app may read or manage it), ``scene`` 1 (mini-program plugin) or 2
  (QR code), a ``remark``, ``auto_create_room``, ``room_base_name`` / ``room_base_id`` (the
  names of auto-created groups), up to five groups (``chat_ids``, in order) and a ``state``.
- ``created_rooms`` counts the groups auto-created for it so far: the next one is named
  ``room_base_name`` (default: the first listed group's name) + ``room_base_id + created_rooms``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .qr import qr_url


@dataclass
class JoinWay:
    """One 「加入群聊」 configuration of a corp."""

    config_id: str
    app: str
    """The app whose token created it."""
    scene: int
    chat_ids: list[str]
    remark: str = ""
    auto_create_room: int = 1
    room_base_name: str = ""
    room_base_id: int = 1
    state: str = ""
    create_time: int = 0
    created_rooms: int = 0
    """Groups auto-created for this way so far."""

    @property
    def qr_link(self) -> str:
        """What the QR picture encodes (a stand-in for the platform's group link)."""
        return f"https://work.weixin.qq.com/gm/{self.config_id}"

    def qr_code(self, base: str) -> str:
        """The QR picture URL on the fake at `base` (scene 2); "" for a mini-program plugin."""
        return qr_url(base, self.config_id) if self.scene == 2 else ""

    def as_json(self, base: str) -> dict[str, Any]:
        """The join_way object of get_join_way (qr_code only for scene 2)."""
        item: dict[str, Any] = {
            "config_id": self.config_id,
            "scene": self.scene,
            "remark": self.remark,
            "auto_create_room": self.auto_create_room,
            "room_base_name": self.room_base_name,
            "room_base_id": self.room_base_id,
            "chat_id_list": list(self.chat_ids),
            "state": self.state,
        }
        if self.scene == 2:
            item["qr_code"] = self.qr_code(base)
        return item
