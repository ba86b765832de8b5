"""People in the staff chats of the test stack: they type exactly what a person would type, and
read the bot's answers from the platform fake's record of their chat."""

from __future__ import annotations

from typing import Any

from tests.helpers.stack import Stack


def text_of(entry: dict[str, Any]) -> str:
    """The words of one answer (a picture counts as its caption)."""
    if entry.get("kind") in ("image", "photo"):
        return str(entry.get("caption") or "[图片]")
    return str(entry.get("content") or entry.get("text") or "")


class WecomPerson:
    """A member of the WeCom corp chatting with the app ``corp``."""

    def __init__(self, stack: Stack, userid: str) -> None:
        assert stack.wecom is not None, "start the stack with staff=True"
        self.stack = stack
        self.member = stack.wecom.member("corp", userid)
        self.read = 0

    @property
    def entries(self) -> list[dict[str, Any]]:
        return self.member.timeline

    async def send(self, text: str) -> None:
        outcome = await self.member.say(text)
        assert outcome.statuses[-1] == 200, outcome

    async def send_image(self, data: bytes) -> None:
        outcome = await self.member.send_image(data)
        assert outcome.statuses[-1] == 200, outcome

    async def answers(self, count: int = 1, within: float = 10.0) -> list[dict[str, Any]]:
        """The next ``count`` answers the bot sent (waiting for them)."""
        await self.stack.until(lambda: len(self.entries) >= self.read + count, within)
        new = self.entries[self.read : self.read + count]
        self.read += count
        return new

    async def say(self, text: str, count: int = 1) -> str:
        """Send ``text`` and return the bot's next ``count`` answers, joined."""
        await self.send(text)
        return "\n".join(text_of(e) for e in await self.answers(count))

    async def say_image(self, data: bytes, count: int = 1) -> str:
        await self.send_image(data)
        return "\n".join(text_of(e) for e in await self.answers(count))


class TelegramPerson:
    """A Telegram user talking to the bot ``tg``, in a private chat or a group."""

    def __init__(self, stack: Stack, user_id: int, chat_id: int | None = None) -> None:
        assert stack.telegram is not None, "start the stack with staff=True"
        self.stack = stack
        self.user = stack.telegram.user("tg", user_id, f"user{user_id}")
        self.chat_id = chat_id if chat_id is not None else user_id
        self.read = 0

    @property
    def entries(self) -> list[dict[str, Any]]:
        assert self.stack.telegram is not None
        return [
            dict(e)
            for e in self.stack.telegram.timeline("tg", self.chat_id)
            if e["sender"] == "bot" and e["kind"] in ("text", "photo")
        ]

    async def send(self, text: str) -> None:
        delivery = await self.user.send(text, chat_id=self.chat_id)
        assert delivery.statuses[-1] == 200, delivery

    async def answers(self, count: int = 1, within: float = 10.0) -> list[dict[str, Any]]:
        await self.stack.until(lambda: len(self.entries) >= self.read + count, within)
        new = self.entries[self.read : self.read + count]
        self.read += count
        return new

    async def say(self, text: str, count: int = 1) -> str:
        await self.send(text)
        return "\n".join(text_of(e) for e in await self.answers(count))
