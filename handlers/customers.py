"""Platform-neutral rules of WeCom customer contact shared by the commands and the bot."""

from __future__ import annotations

from dataclasses import dataclass

REMARK_FIELDS = ("{昵称}", "{渠道}", "{接待组}")


@dataclass(frozen=True)
class ContactDefaults:
    """The settings file's customer-contact defaults (``[customers]``): used when admins set
    none by chat, and shown by the commands."""

    default_welcome: str = ""
    remark_pattern: str = "{昵称}-{渠道}"
    remark_chars: int = 20


def remark_text(pattern: str, *, nickname: str, channel: str, group: str, limit: int) -> str:
    """The remark of a new customer: ``pattern`` with {昵称} {渠道} {接待组} filled in, without
    separators left dangling by empty parts, cut to ``limit`` characters."""
    text = pattern.replace("{昵称}", nickname).replace("{渠道}", channel)
    text = text.replace("{接待组}", group).strip(" -_·|/")
    return text[:limit]
