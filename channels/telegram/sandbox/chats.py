"""Users, chats and stored messages as one bot sees them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .timeline import Timeline

ChatType = Literal["private", "group", "supergroup"]


@dataclass
class UserRecord:
    """A Telegram user (shared by every bot of the fake)."""

    id: int
    first_name: str
    username: str = ""
    language_code: str = "en"

    def as_user(self) -> dict[str, Any]:
        """The `User` object."""
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            user["username"] = self.username
        user["language_code"] = self.language_code
        return user


@dataclass
class StoredMessage:
    """A message in a chat; `body` is the current `Message` object."""

    message_id: int
    from_bot: bool
    sent_at: float
    body: dict[str, Any]
    deleted: bool = False


@dataclass
class Chat:
    """A private chat (id = user id) or a group with the bot in it."""

    id: int
    type: ChatType
    title: str | None = None
    user: UserRecord | None = None
    members: set[int] = field(default_factory=set)
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    timeline: Timeline = field(default_factory=Timeline)
    blocked: bool = False
    migrated_to: int | None = None
    last_message_id: int = 0

    @property
    def is_group(self) -> bool:
        """A group or supergroup."""
        return self.type != "private"

    def as_chat(self) -> dict[str, Any]:
        """The `Chat` object."""
        if self.user is not None:
            chat: dict[str, Any] = {
                "id": self.id,
                "type": "private",
                "first_name": self.user.first_name,
            }
            if self.user.username:
                chat["username"] = self.user.username
            return chat
        return {"id": self.id, "type": self.type, "title": self.title or ""}

    def next_message_id(self) -> int:
        """message_id grows by one per message in the chat."""
        self.last_message_id += 1
        return self.last_message_id

    def store(self, message_id: int, from_bot: bool, at: float, body: dict[str, Any]) -> None:
        """Keep a message so it can be replied to, pressed, edited or deleted."""
        self.messages[message_id] = StoredMessage(message_id, from_bot, at, body)

    def live(self, message_id: int) -> StoredMessage | None:
        """A message that exists and was not deleted."""
        stored = self.messages.get(message_id)
        return stored if stored is not None and not stored.deleted else None


def reply_copy(stored: StoredMessage) -> dict[str, Any]:
    """A message as it appears in `reply_to_message` (without its own reply)."""
    return {k: v for k, v in stored.body.items() if k != "reply_to_message"}


@dataclass
class CallbackQueryRecord:
    """A button press the bot must answer once."""

    id: str
    chat_id: int
    message_id: int
    user_id: int
    data: str
    created_at: float
    answered: bool = False
