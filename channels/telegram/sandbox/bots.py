"""FakeBot: one bot the fake Telegram serves, identified by its token."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

_TOKEN: Final = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{1,100}")
_USERNAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")


@dataclass(frozen=True)
class FakeBot:
    """A bot as BotFather created it: `name` is the sandbox's handle, `token` its API secret."""

    name: str
    token: str
    username: str
    first_name: str = "opsbot"

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a FakeBot needs a name")
        if not _TOKEN.fullmatch(self.token):
            raise ValueError("token must look like '<digits>:<secret>', e.g. '123456:ABC-def'")
        if not _USERNAME.fullmatch(self.username):
            raise ValueError("username must be 4-32 of [A-Za-z0-9_] starting with a letter")
        if not self.first_name:
            raise ValueError("first_name must not be empty")

    @property
    def id(self) -> int:
        """The bot's user id: the digits before ':' in the token."""
        return int(self.token.split(":", 1)[0])

    def as_user(self) -> dict[str, object]:
        """The bot as a Telegram `User` object (the `from` of its messages)."""
        return {
            "id": self.id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }
