"""Configuration of one fake Official Account."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Final

MODES: Final = ("plaintext", "compatible", "safe")
_NAME = re.compile(r"[A-Za-z0-9_-]{1,32}")
_AES_KEY = re.compile(r"[A-Za-z0-9]{43}")


@dataclass(frozen=True)
class FakeAccount:
    """An OA the fake plays: credentials, callback settings and account kind.

    `mode` is the message mode of the OA console: "plaintext", "compatible" or "safe";
    `encoding_aes_key` (43 characters) may be empty only in plaintext mode.
    `service_account` selects the mass-send receipt quota (服务号 4 per month, 订阅号 1 per day).
    """

    name: str
    app_id: str
    secret: str = field(repr=False)
    token: str = field(repr=False)
    encoding_aes_key: str = field(repr=False)
    mode: str
    original_id: str
    callback_url: str
    service_account: bool = True

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"account name {self.name!r} must be 1-32 of [A-Za-z0-9_-]")
        if self.mode not in MODES:
            raise ValueError(f"account {self.name}: mode must be one of {', '.join(MODES)}")
        if self.mode != "plaintext" and not _AES_KEY.fullmatch(self.encoding_aes_key):
            raise ValueError(
                f"account {self.name}: encoding_aes_key must be 43 characters of [A-Za-z0-9]"
            )
        if self.encoding_aes_key and not _AES_KEY.fullmatch(self.encoding_aes_key):
            raise ValueError(
                f"account {self.name}: encoding_aes_key must be empty or 43 "
                "characters of [A-Za-z0-9]"
            )
        for label, value in (
            ("app_id", self.app_id),
            ("secret", self.secret),
            ("token", self.token),
            ("original_id", self.original_id),
        ):
            if not value:
                raise ValueError(f"account {self.name}: {label} must not be empty")
        if not self.callback_url.startswith(("http://", "https://")):
            raise ValueError(f"account {self.name}: callback_url must be an http(s) URL")

    @property
    def encrypted(self) -> bool:
        """Whether callbacks carry an <Encrypt> element (compatible and safe modes)."""
        return self.mode != "plaintext"

    @property
    def aes_key(self) -> bytes:
        """The 32-byte AES key decoded from the EncodingAESKey."""
        return base64.b64decode(self.encoding_aes_key + "=")
