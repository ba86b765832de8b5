"""WeCom limits (§4.3, §7 and the media upload rules) and the helpers that apply them."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Final

from channels.wechat.sandbox.limits import MB, utf8_len

__all__ = ["MB", "RateWindow", "WecomLimits", "truncate_chars", "truncate_utf8", "utf8_len"]

MAX_ARTICLES: Final = 8
TITLE_BYTES: Final = 128
DESCRIPTION_BYTES: Final = 512
BTNTXT_CHARS: Final = 4
DEFAULT_BTNTXT: Final = "详情"
MIN_MEDIA_BYTES: Final = 6
"""Every uploaded file must be larger than 5 bytes."""
MINIPROGRAM_TITLE_BYTES: Final = 64
"""Mini-program card titles in welcome and mass-message attachments (§4.6)."""


@dataclass(frozen=True)
class WecomLimits:
    """Limits the fake enforces; defaults are the platform's, tests may shrink them."""

    touser_max: int = 1000
    toparty_max: int = 100
    totag_max: int = 100
    text_bytes: int = 2048
    """text and markdown content; the platform truncates beyond."""
    member_per_minute: int = 30
    member_per_hour: int = 1000
    """Messages one member receives from one app; the excess is silently dropped."""
    duplicate_interval_default: int = 1800
    duplicate_interval_max: int = 14400
    image_bytes: int = 10 * MB
    voice_bytes: int = 2 * MB
    video_bytes: int = 10 * MB
    file_bytes: int = 20 * MB
    media_ttl: int = 3 * 24 * 3600
    """Temporary media live 3 days."""

    # customer groups (§4.8) and mass messages to them (§4.11)
    groupchat_list_max: int = 1000
    """groupchat/list `limit` is 1..this (40058 beyond)."""
    groupchat_unfiltered_members: int = 1000
    """groupchat/list without owner_filter answers 81017 when the corp has more members."""
    groupchat_owner_filter_max: int = 100
    """userids in owner_filter.userid_list (**unconfirmed**; 40058 beyond)."""
    group_members_max: int = 500
    """Members of one customer group (**unconfirmed**; control refuses more)."""
    group_qr_join_below: int = 200
    """Joining by the group QR code works only while the group has fewer members
    (**unconfirmed**)."""
    msg_template_chats: int = 2000
    """chat_id_list of add_msg_template (40058 beyond)."""
    msg_template_attachments: int = 9
    msg_template_text_bytes: int = 4000
    """text.content of add_msg_template (**unconfirmed**; refused beyond, not truncated)."""
    groupmsg_page_default: int = 500
    groupmsg_page_max: int = 1000
    """`limit` of get_groupmsg_task / get_groupmsg_send_result (**unconfirmed**)."""
    group_msg_per_month: int | None = None
    """Group messages one customer group receives per calendar month (China time); None is
    the current page's rule: as many as the month has days."""
    group_msg_per_week: int | None = None
    """Per calendar week (Monday first); None = no weekly cap (the admin may set 7)."""
    group_msg_per_day: int | None = None
    """Per calendar day; None = no daily cap (the admin may set 1)."""

    # contact ways (§4.4), welcome messages (§4.6) and customer remarks (§4.7)
    contact_way_state_chars: int = 30
    """`state` of a contact way (40058 beyond: the code is the fake's choice)."""
    contact_way_remark_chars: int = 30
    """`remark` of a contact way (40058 beyond)."""
    welcome_code_ttl: float = 20.0
    """Seconds a WelcomeCode can be used (once) after its add event."""
    welcome_attachments: int = 9
    welcome_text_bytes: int = 4000
    """text.content of send_welcome_msg (**unconfirmed**; refused beyond)."""
    external_remark_chars: int = 20
    """`remark` of externalcontact/remark (**unconfirmed**; 40058 beyond)."""
    external_description_chars: int = 150
    """`description` of externalcontact/remark (**unconfirmed**; 40058 beyond)."""
    ways_max: int = 500_000
    """API-made contact ways and join ways a corp may hold together (the fake counts the live
    ones; add_contact_way / add_join_way answer 40058 at the quota: the code is the fake's
    choice)."""

    # join ways 「加入群聊」 (§4.9)
    join_way_chats: int = 5
    """Groups in chat_id_list (1..this; 40058 beyond)."""
    join_way_remark_chars: int = 30
    """`remark` of a join way; longer ones are truncated, not refused."""
    join_way_state_chars: int = 30
    """`state` of a join way (40058 beyond)."""
    join_way_base_name_chars: int = 40
    """`room_base_name` of a join way (40058 beyond)."""

    # corp tags 企业标签 (official API, not in the fact sheet)
    tag_name_chars: int = 30
    """Names of corp tags and tag groups (**unconfirmed**; 40058 beyond)."""


class RateWindow:
    """At most `limit` events in any `period` seconds; check and record are separate."""

    def __init__(self, limit: int, period: float) -> None:
        self._limit = limit
        self._period = period
        self._hits: deque[float] = deque()

    def allows(self, now: float) -> bool:
        """Whether one more event fits now."""
        while self._hits and self._hits[0] <= now - self._period:
            self._hits.popleft()
        return len(self._hits) < self._limit

    def record(self, now: float) -> None:
        """Count one event."""
        self._hits.append(now)


def truncate_utf8(text: str, limit: int) -> tuple[str, bool]:
    """`text` cut to at most `limit` UTF-8 bytes on a character boundary, and whether it was."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text, False
    return raw[:limit].decode("utf-8", errors="ignore"), True


def truncate_chars(text: str, limit: int) -> tuple[str, bool]:
    """`text` cut to at most `limit` characters, and whether it was."""
    return (text[:limit], True) if len(text) > limit else (text, False)
