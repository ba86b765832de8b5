"""FakeUser: a Telegram user who writes to a bot, sends photos and presses inline buttons."""

from __future__ import annotations

import hashlib
import secrets
from typing import TYPE_CHECKING, Any

from .chats import CallbackQueryRecord, Chat, StoredMessage, UserRecord, reply_copy
from .delivery import flush_webhook
from .entities import command_of, user_entities
from .errors import ActionRejected, BotApiError
from .files import check_photo
from .markup import callback_data_of
from .timeline import PhotoInfo, TimelineEntry, new_entry
from .webhook import Delivery

if TYPE_CHECKING:
    from .state import BotState, FakeTelegram

PRIVACY_REASON = (
    "group privacy mode: the bot only receives commands for it and replies to its messages"
)


class FakeUser:
    """One user as one bot sees them; every action builds an Update and delivers it."""

    def __init__(self, fake: FakeTelegram, bot: BotState, record: UserRecord) -> None:
        self.fake = fake
        self.bot = bot
        self.record = record

    @property
    def id(self) -> int:
        """The user id (also the id of the private chat with the bot)."""
        return self.record.id

    def as_user(self) -> dict[str, Any]:
        """The `User` object."""
        return self.record.as_user()

    # actions

    async def send(
        self, text: str, chat_id: int | None = None, reply_to: int | None = None
    ) -> Delivery:
        """Send a text (commands and @mentions become entities) to the bot or into a group."""
        if not text or len(text) > self.fake.limits.message_chars:
            raise ActionRejected(400, f"text must be 1-{self.fake.limits.message_chars} chars")
        chat = self._chat(chat_id)
        replied = self._replied(chat, reply_to)
        entities = user_entities(text)
        message = self._message(chat, replied)
        message["text"] = text
        if entities:
            message["entities"] = entities
        entry = new_entry(
            self._now(),
            "user",
            "text",
            user_id=self.id,
            text=text,
            source=text,
            entities=entities,
            message_id=message["message_id"],
        )
        hidden = self._hidden_from_bot(chat, text, entities, replied)
        return await self._deliver(chat, "message", message, entry, hidden)

    async def send_photo(
        self, data: bytes, caption: str = "", chat_id: int | None = None
    ) -> Delivery:
        """Send a photo (stored with two PhotoSizes, the largest being `data`)."""
        limits = self.fake.limits
        try:
            photo = check_photo(data, limits, limits.photo_upload_bytes)
        except BotApiError as exc:
            raise ActionRejected(400, f"not a photo Telegram accepts: {exc.description}") from None
        if len(caption) > limits.caption_chars:
            raise ActionRejected(400, f"caption must be at most {limits.caption_chars} chars")
        chat = self._chat(chat_id)
        sizes = self.bot.files.add_photo(photo)
        message = self._message(chat, None)
        message["photo"] = [size.as_photo_size() for size in sizes]
        entities = user_entities(caption)
        if caption:
            message["caption"] = caption
        if entities:
            message["caption_entities"] = entities
        largest = sizes[-1]
        info = PhotoInfo(
            size=len(largest.data),
            sha256=largest.sha256,
            width=largest.width,
            height=largest.height,
            file_id=largest.file_id,
        )
        entry = new_entry(
            self._now(),
            "user",
            "photo",
            user_id=self.id,
            caption=caption or None,
            entities=entities,
            photo=info,
            message_id=message["message_id"],
        )
        hidden = self._hidden_from_bot(chat, caption, entities, None)
        return await self._deliver(chat, "message", message, entry, hidden)

    async def press(self, message_id: int, data: str, chat_id: int | None = None) -> Delivery:
        """Press the inline button carrying `data` under one of the bot's messages."""
        chat = self._chat(chat_id, opening=False)
        stored = chat.live(message_id)
        if stored is None or not stored.from_bot:
            raise ActionRejected(404, f"no message {message_id} of the bot in chat {chat.id}")
        if data not in callback_data_of(stored.body.get("reply_markup")):
            raise ActionRejected(
                409, f"message {message_id} has no inline button with callback_data {data!r}"
            )
        query_id = str(secrets.randbits(63))
        self.bot.callbacks[query_id] = CallbackQueryRecord(
            query_id, chat.id, message_id, self.id, data, self._now()
        )
        query = {
            "id": query_id,
            "from": self.as_user(),
            "message": stored.body,
            "chat_instance": self._chat_instance(chat),
            "data": data,
        }
        entry = new_entry(
            self._now(), "user", "press", user_id=self.id, message_id=message_id, data=data
        )
        return await self._deliver(chat, "callback_query", query, entry, None)

    def block(self, blocked: bool = True) -> None:
        """Block (or unblock) the bot: its messages to this user then fail with 403."""
        self.bot.private_chat(self.record).blocked = blocked

    # helpers

    def _now(self) -> float:
        return self.fake.clock.now()

    def _chat(self, chat_id: int | None, *, opening: bool = True) -> Chat:
        if chat_id is None or chat_id == self.id:
            chat = self.bot.private_chat(self.record)
            if opening:
                chat.blocked = False  # writing to a bot unblocks it
            return chat
        group = self.bot.chats.get(chat_id)
        if group is None or not group.is_group:
            raise ActionRejected(404, f"bot {self.bot.bot.name!r} is in no group {chat_id}")
        if group.migrated_to is not None:
            raise ActionRejected(409, f"group {chat_id} became supergroup {group.migrated_to}")
        if self.id not in group.members:
            raise ActionRejected(403, f"user {self.id} is not a member of group {chat_id}")
        return group

    def _replied(self, chat: Chat, reply_to: int | None) -> StoredMessage | None:
        if reply_to is None:
            return None
        stored = chat.live(reply_to)
        if stored is None:
            raise ActionRejected(404, f"no message {reply_to} in chat {chat.id}")
        return stored

    def _message(self, chat: Chat, replied: StoredMessage | None) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": chat.next_message_id(),
            "from": self.as_user(),
            "chat": chat.as_chat(),
            "date": int(self._now()),
        }
        if replied is not None:
            message["reply_to_message"] = reply_copy(replied)
        return message

    def _hidden_from_bot(
        self,
        chat: Chat,
        text: str,
        entities: list[dict[str, Any]],
        replied: StoredMessage | None,
    ) -> str | None:
        if not chat.is_group or not self.fake.limits.group_privacy:
            return None
        if replied is not None and replied.from_bot:
            return None
        command = command_of(text, entities)
        if command is not None:
            addressed = command[1]
            if addressed is None or addressed.lower() == self.bot.bot.username.lower():
                return None
        return PRIVACY_REASON

    def _chat_instance(self, chat: Chat) -> str:
        digest = hashlib.sha256(f"{self.bot.bot.id}:{chat.id}".encode()).digest()
        return str(int.from_bytes(digest[:8], "big") >> 1)

    async def _deliver(
        self,
        chat: Chat,
        kind: str,
        payload: dict[str, Any],
        entry: TimelineEntry,
        hidden: str | None,
    ) -> Delivery:
        if kind == "message":
            chat.store(payload["message_id"], False, self._now(), payload)
        seq = chat.timeline.append(entry)
        if hidden is not None:
            return Delivery("hidden", False, seq, reason=hidden)
        bot = self.bot
        if not bot.accepts(kind):
            return Delivery("filtered", False, seq, reason=f"allowed_updates excludes {kind}")
        update = bot.updates.add(kind, payload, self._now())
        update_id = int(update["update_id"])
        if bot.webhook is None:
            return Delivery("polling", False, seq, update_id, update)
        await flush_webhook(self.fake, bot)
        attempts = tuple(bot.webhook_attempts.get(update_id, []))
        delivered = not bot.updates.is_pending(update_id)
        reason = None
        if not delivered:
            reason = (
                bot.last_error_message
                if attempts
                else "waiting: an older update is still undelivered or the webhook was removed"
            )
        return Delivery("webhook", delivered, seq, update_id, update, attempts, reason)
