"""The reply configuration of one account, as plain data, and its validation.

This is the shape that ``opsbot import`` reads, ``opsbot export`` writes and the database keeps:

- ``keyword_rules``: name, keywords (``{exact|contains|regex: text}``), priority, enabled,
  ``reply`` (1 to ``MAX_KEYWORD_MESSAGES`` messages);
- ``channels``: name (the QR scene string), title, ``follow_reply`` (0 to
  ``MAX_FOLLOW_MESSAGES`` messages: the first is the passive reply, the next ones follow through
  the platform API in order);
- ``default_follow_reply``: for follows without a channel, or whose channel has no reply;
- ``no_match_reply``: for messages no rule answers (empty = off, the default);
- ``menu_replies``: menu key -> messages;
- ``menu``: the custom menu as edited (the draft), in the platform's button shape (see
  :mod:`handlers.menu`); publishing sends it to the platform.

Validation here is about the product: counts, names, keywords, templates. Platform limits (how
many news articles a passive reply may carry, ...) are checked by the channel before import.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from handlers.matching import MATCH_KINDS, Keyword, MatchKind, PatternError, compile_regex
from handlers.menu import MenuError, menu_from_data
from handlers.messages import MessageFormatError, message_from_dict

# Product rules: a channel's follow reply is up to 3 messages (the product spec); a keyword reply
# up to 5. Channels check what their platform allows on top (channels/wechat/limits.py).
MAX_KEYWORD_MESSAGES = 5
MAX_FOLLOW_MESSAGES = 3
MAX_KEYWORDS_PER_RULE = 50
NAME_PATTERN = re.compile(r"[^\s/]{1,64}")
# Names a person can read and type; each platform adds its own limits (see channels/).
CHANNEL_PATTERN = re.compile(r"[A-Za-z0-9_\-.]{1,128}")
MENU_KEY_MAX_CHARS = 256


class ConfigError(ValueError):
    """The configuration is refused; ``where`` says which part (``keyword_rules[3].reply[1]``)."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}" if where else problem)
        self.where = where
        self.problem = problem


@dataclass(frozen=True)
class KeywordRuleConfig:
    name: str
    keywords: tuple[Keyword, ...]
    reply: tuple[dict[str, Any], ...]
    priority: int = 0
    enabled: bool = True


@dataclass(frozen=True)
class ChannelConfig:
    name: str
    title: str = ""
    follow_reply: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class AccountConfig:
    account: str
    keyword_rules: tuple[KeywordRuleConfig, ...] = ()
    channels: tuple[ChannelConfig, ...] = ()
    default_follow_reply: tuple[dict[str, Any], ...] = ()
    no_match_reply: tuple[dict[str, Any], ...] = ()
    menu_replies: Mapping[str, tuple[dict[str, Any], ...]] = field(default_factory=dict)
    menu: tuple[dict[str, Any], ...] = ()


def account_config_from_dict(account: str, data: Any, where: str = "") -> AccountConfig:
    """Read one account's section of a configuration file; raise :class:`ConfigError`."""
    data = _mapping(data, where)
    _only(
        data,
        where,
        (
            "keyword_rules",
            "channels",
            "default_follow_reply",
            "no_match_reply",
            "menu_replies",
            "menu",
        ),
    )
    rules = tuple(
        _rule(item, f"{where}keyword_rules[{i}]")
        for i, item in enumerate(_list(data.get("keyword_rules", []), f"{where}keyword_rules"))
    )
    _unique([r.name for r in rules], f"{where}keyword_rules", "rule name")
    channels = tuple(
        _channel(item, f"{where}channels[{i}]")
        for i, item in enumerate(_list(data.get("channels", []), f"{where}channels"))
    )
    _unique([c.name for c in channels], f"{where}channels", "channel name")
    menu: dict[str, tuple[dict[str, Any], ...]] = {}
    for key, reply in _mapping(data.get("menu_replies", {}), f"{where}menu_replies").items():
        w = f"{where}menu_replies.{key}"
        if not isinstance(key, str) or not key.strip() or len(key) > MENU_KEY_MAX_CHARS:
            raise ConfigError(w, f"a menu key is 1 to {MENU_KEY_MAX_CHARS} characters")
        menu[key] = _messages(reply, w, 1, MAX_FOLLOW_MESSAGES)
    return AccountConfig(
        account=account,
        keyword_rules=rules,
        channels=channels,
        default_follow_reply=_messages(
            data.get("default_follow_reply", []),
            f"{where}default_follow_reply",
            0,
            MAX_FOLLOW_MESSAGES,
        ),
        no_match_reply=_messages(
            data.get("no_match_reply", []), f"{where}no_match_reply", 0, MAX_FOLLOW_MESSAGES
        ),
        menu_replies=menu,
        menu=_menu(data.get("menu", []), f"{where}menu"),
    )


def _menu(data: Any, where: str) -> tuple[dict[str, Any], ...]:
    try:
        return menu_from_data(data, where)
    except MenuError as exc:
        raise ConfigError(where, str(exc)) from None


def account_config_to_dict(config: AccountConfig) -> dict[str, Any]:
    """The inverse of :func:`account_config_from_dict`, in the same order."""
    out: dict[str, Any] = {}
    if config.default_follow_reply:
        out["default_follow_reply"] = list(config.default_follow_reply)
    if config.no_match_reply:
        out["no_match_reply"] = list(config.no_match_reply)
    if config.channels:
        out["channels"] = [
            {"name": c.name, "title": c.title, "follow_reply": list(c.follow_reply)}
            for c in config.channels
        ]
    if config.keyword_rules:
        out["keyword_rules"] = [
            {
                "name": r.name,
                "priority": r.priority,
                "enabled": r.enabled,
                "keywords": [{k.kind: k.text} for k in r.keywords],
                "reply": list(r.reply),
            }
            for r in config.keyword_rules
        ]
    if config.menu_replies:
        out["menu_replies"] = {k: list(v) for k, v in config.menu_replies.items()}
    if config.menu:
        out["menu"] = [dict(b) for b in config.menu]
    return out


def _rule(data: Any, where: str) -> KeywordRuleConfig:
    data = _mapping(data, where)
    _only(data, where, ("name", "keywords", "reply", "priority", "enabled"))
    name = data.get("name")
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise ConfigError(f"{where}.name", "a rule name is 1-64 characters without spaces or /")
    priority = data.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool) or not -1000 <= priority <= 1000:
        raise ConfigError(f"{where}.priority", "priority is a whole number from -1000 to 1000")
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{where}.enabled", "enabled is true or false")
    raw_keywords = _list(data.get("keywords"), f"{where}.keywords")
    if not 1 <= len(raw_keywords) <= MAX_KEYWORDS_PER_RULE:
        raise ConfigError(f"{where}.keywords", f"give 1 to {MAX_KEYWORDS_PER_RULE} keywords")
    keywords = tuple(_keyword(k, f"{where}.keywords[{i}]") for i, k in enumerate(raw_keywords))
    reply = _messages(data.get("reply"), f"{where}.reply", 1, MAX_KEYWORD_MESSAGES)
    return KeywordRuleConfig(name, keywords, reply, priority, enabled)


def _keyword(data: Any, where: str) -> Keyword:
    if not isinstance(data, Mapping) or len(data) != 1:
        raise ConfigError(where, "a keyword is one of {exact: ...}, {contains: ...}, {regex: ...}")
    ((kind, text),) = data.items()
    if kind not in MATCH_KINDS:
        raise ConfigError(where, f"unknown match kind {kind!r}; use exact, contains or regex")
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(where, "the keyword text must be a non-empty string")
    if len(text) > 512:
        raise ConfigError(where, "a keyword is at most 512 characters")
    if kind == "regex":
        try:
            compile_regex(text)
        except PatternError as exc:
            raise ConfigError(where, str(exc)) from None
    match_kind: MatchKind = kind
    return Keyword(match_kind, text)


def _channel(data: Any, where: str) -> ChannelConfig:
    data = _mapping(data, where)
    _only(data, where, ("name", "title", "follow_reply"))
    name = data.get("name")
    if not isinstance(name, str) or not CHANNEL_PATTERN.fullmatch(name):
        raise ConfigError(
            f"{where}.name",
            "a channel name is letters, digits, _ - and . (it becomes the QR scene)",
        )
    title = data.get("title", "")
    if not isinstance(title, str) or len(title) > 128:
        raise ConfigError(f"{where}.title", "the title is text of at most 128 characters")
    reply = _messages(data.get("follow_reply", []), f"{where}.follow_reply", 0, MAX_FOLLOW_MESSAGES)
    return ChannelConfig(name, title, reply)


def _messages(data: Any, where: str, low: int, high: int) -> tuple[dict[str, Any], ...]:
    items = _list(data, where)
    if not low <= len(items) <= high:
        raise ConfigError(
            where, f"give {low} to {high} messages" if low else f"at most {high} messages"
        )
    for i, item in enumerate(items):
        try:
            message_from_dict(item)
        except MessageFormatError as exc:
            raise ConfigError(f"{where}[{i}]", str(exc)) from None
    return tuple(dict(item) for item in items)


def _mapping(data: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ConfigError(where.rstrip("."), "expected a mapping")
    return data


def _list(data: Any, where: str) -> list[Any]:
    if not isinstance(data, list):
        raise ConfigError(where, "expected a list")
    return data


def _only(data: Mapping[str, Any], where: str, allowed: tuple[str, ...]) -> None:
    for key in data:
        if key not in allowed:
            raise ConfigError(
                where.rstrip("."), f"unknown key {key!r}; allowed: {', '.join(allowed)}"
            )


def _unique(names: list[str], where: str, what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ConfigError(where, f"the {what} {name!r} is used twice")
        seen.add(name)
