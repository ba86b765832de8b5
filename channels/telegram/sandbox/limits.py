"""Limits the fake enforces (platform-facts.md §6 and the Telegram rows of §7)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

MB: Final = 1024 * 1024


@dataclass(frozen=True)
class TelegramLimits:
    """Every limit of the fake, with Telegram's values as defaults.

    `require_https_webhook` is the real rule (HTTPS on ports 443, 80, 88 or 8443) but defaults
    to False here: the sandboxed bot listens on plain http on a loopback port.
    `group_privacy` is BotFather's default privacy mode: in groups the bot only receives
    commands and replies to its own messages.
    """

    message_chars: int = 4096
    caption_chars: int = 1024
    callback_data_bytes: int = 64
    callback_answer_chars: int = 200
    photo_upload_bytes: int = 10 * MB
    photo_url_bytes: int = 5 * MB
    video_upload_bytes: int = 50 * MB
    video_url_bytes: int = 20 * MB
    download_bytes: int = 20 * MB
    upload_bytes: int = 50 * MB
    photo_side_sum: int = 10_000
    photo_aspect_ratio: float = 20.0
    # Flood control (Bots FAQ): per chat ~1/s with bursts, per group 20/min, overall ~30/s.
    chat_burst: int = 10
    chat_refill_per_second: float = 1.0
    group_messages_per_minute: int = 20
    global_messages_per_second: int = 30
    # Updates
    updates_retention_seconds: float = 24 * 3600
    max_poll_timeout: float = 50.0
    webhook_attempts: int = 3
    webhook_backoff_seconds: float = 0.05
    require_https_webhook: bool = False
    group_privacy: bool = True
    # Messages and commands
    delete_window_seconds: float = 48 * 3600
    commands_per_scope: int = 100
    command_chars: int = 32
    command_description_chars: int = 256

    def __post_init__(self) -> None:
        if self.chat_burst < 1 or self.chat_refill_per_second <= 0:
            raise ValueError("chat_burst must be >= 1 and chat_refill_per_second > 0")
        if self.group_messages_per_minute < 1 or self.global_messages_per_second < 1:
            raise ValueError("group and global message rates must be >= 1")
        if self.webhook_attempts < 1 or self.webhook_backoff_seconds < 0:
            raise ValueError("webhook_attempts must be >= 1 and the backoff >= 0")
        if self.max_poll_timeout < 0:
            raise ValueError("max_poll_timeout must be >= 0")
