"""Neutral staff-chat traffic: what a staff member typed to the bot, and how we answer.

Channel adapters (WeCom app chat, Telegram) decode a platform update into a
:class:`StaffMessage` and hand it to a :class:`StaffHandler`; the command layer answers with
neutral messages (:class:`handlers.messages.Text`, :class:`handlers.messages.Picture` and
:class:`handlers.messages.Clip`) that go out through the outbox to the platform's
:class:`handlers.delivery.Sender`, addressed to ``(platform, account, chat)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class StaffMessage:
    """One message a staff member sent to the bot.

    ``platform`` is ``"wecom"`` or ``"telegram"``; ``account`` the settings name of the WeCom app
    or Telegram bot it came through; ``user`` the sender's id on that platform (WeCom userid,
    Telegram user id as text); ``chat`` where answers go (WeCom: the sender's userid, the app chat
    being one to one; Telegram: the chat id as text). ``direct`` is True in a one-to-one chat.
    ``addressed`` says the message is meant for the bot: always in a direct chat; in a group when
    it is a command addressed to the bot, mentions it, or replies to it. ``text`` is what was typed,
    with the bot's own mention removed ("" for a picture); ``image`` the platform's reference to a
    picture sent (WeCom MediaId, Telegram file_id of the largest size), else "". ``dedupe_key`` is
    equal for every retry of the same platform delivery.
    """

    platform: str
    account: str
    user: str
    chat: str
    direct: bool
    addressed: bool
    text: str
    image: str
    dedupe_key: str
    name: str = ""


class StaffHandler(Protocol):
    async def handle_staff(self, message: StaffMessage) -> None:
        """Handle one message (dedupe, run the command, queue the answers); raise only when the
        message could not be stored, so that the platform retries."""
        ...
