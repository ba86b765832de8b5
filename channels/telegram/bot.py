"""One Telegram bot as the adapter sees it (built from ``bot.settings.TelegramBotSettings``)."""

from __future__ import annotations

from dataclasses import dataclass, field

TELEGRAM = "telegram"  # the platform name in StaffMessage and outbox rows


@dataclass(frozen=True)
class TelegramBot:
    """``name`` is the settings name (``/telegram/{name}`` is its webhook path); ``mode`` is
    ``"webhook"`` or ``"polling"``; ``username`` the bot's @username without the ``@`` (asked
    from getMe when empty)."""

    name: str
    token: str = field(repr=False)
    mode: str  # "webhook" | "polling"
    webhook_secret: str = field(repr=False)
    api_base: str = "https://api.telegram.org"
    username: str = ""

    @property
    def user_id(self) -> int | None:
        """The bot's own user id: the number before the colon of its token."""
        head = self.token.partition(":")[0]
        return int(head) if head.isdigit() else None
