"""Configuration of one fake WeCom self-built app."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field

_NAME = re.compile(r"[A-Za-z0-9_-]{1,32}")
_AES_KEY = re.compile(r"[A-Za-z0-9]{43}")


@dataclass(frozen=True)
class FakeWecomApp:
    """A self-built app (自建应用) of a corp, as configured in the WeCom admin console.

    `callback_url` is where the fake POSTs member messages (the bot's `/wecom/{name}` route);
    `encoding_aes_key` is the 43-character EncodingAESKey (callbacks are always encrypted).
    """

    name: str
    corp_id: str
    agent_id: int
    secret: str = field(repr=False)
    token: str = field(repr=False)
    encoding_aes_key: str = field(repr=False)
    callback_url: str

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"app name {self.name!r} must be 1-32 of [A-Za-z0-9_-]")
        if isinstance(self.agent_id, bool) or not isinstance(self.agent_id, int):
            raise ValueError(f"app {self.name}: agent_id must be an integer")
        if self.agent_id <= 0:
            raise ValueError(f"app {self.name}: agent_id must be positive")
        if not _AES_KEY.fullmatch(self.encoding_aes_key):
            raise ValueError(
                f"app {self.name}: encoding_aes_key must be 43 characters of [A-Za-z0-9]"
            )
        for label, value in (
            ("corp_id", self.corp_id),
            ("secret", self.secret),
            ("token", self.token),
        ):
            if not value:
                raise ValueError(f"app {self.name}: {label} must not be empty")
        if not self.callback_url.startswith(("http://", "https://")):
            raise ValueError(f"app {self.name}: callback_url must be an http(s) URL")

    @property
    def aes_key(self) -> bytes:
        """The 32-byte AES key decoded from the EncodingAESKey."""
        return base64.b64decode(self.encoding_aes_key + "=")
