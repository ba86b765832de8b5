"""Neutral inbound events: what a customer did, decoded by a channel adapter.

Every event names the platform and account it came through, the customer (``user``), and a
``dedupe_key`` that is equal for all retries of the same platform callback. ``opens_window`` says
whether the action lets the bot message the customer through the platform API afterwards (on
WeChat: a message, a follow, a scan, a menu click).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Inbound:
    platform: str
    account: str
    user: str
    dedupe_key: str
    opens_window: bool


@dataclass(frozen=True, slots=True)
class TextReceived(Inbound):
    """A text message (or a voice message the platform transcribed)."""

    text: str


@dataclass(frozen=True, slots=True)
class MediaReceived(Inbound):
    """A message that is not text: image, voice, video, location, link."""

    kind: str


@dataclass(frozen=True, slots=True)
class Followed(Inbound):
    """The customer followed; ``channel`` is the channel of the QR code scanned, if any."""

    channel: str | None


@dataclass(frozen=True, slots=True)
class Scanned(Inbound):
    """A customer who already follows scanned a channel QR code."""

    channel: str


@dataclass(frozen=True, slots=True)
class Unfollowed(Inbound):
    """The customer stopped following."""


@dataclass(frozen=True, slots=True)
class MenuClicked(Inbound):
    """The customer clicked a menu item of type click; ``key`` is the item's key."""

    key: str


@dataclass(frozen=True, slots=True)
class OtherEvent(Inbound):
    """An event the reply engine has no reply for (menu link opened, location report, ...)."""

    name: str
