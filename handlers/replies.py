"""The reply engine: which messages answer an event, rendered for this follower.

:func:`compile_account` turns an :class:`AccountConfig` into :class:`AccountReplies` once per
configuration revision (keyword index built, templates compiled); :func:`decide` then answers an
event from memory. The follower is read from the database only for replies whose templates use
``follower``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from handlers.config import AccountConfig, ConfigError
from handlers.events import (
    Followed,
    Inbound,
    MediaReceived,
    MenuClicked,
    Scanned,
    TextReceived,
    Unfollowed,
)
from handlers.matching import KeywordIndex, KeywordRule, PatternError
from handlers.messages import TEMPLATED_FIELDS, Message, News, message_from_dict
from handlers.templating import Template, TemplateCompiler, TemplateError, render_or_none
from storage.inbound import FollowerChange

log = logging.getLogger(__name__)

TEMPLATE_VARIABLES = ("follower", "channel", "now")
WEEKDAYS = "一二三四五六日"
_EMPTY_CHANNEL = {"name": "", "title": ""}


def sample_contexts() -> list[dict[str, Any]]:
    """Contexts every template must render against before it is accepted."""
    now = {"date": "2026-01-01", "time": "09:00", "hour": 9, "weekday": "星期四"}
    follower = {
        "openid": "o_sample_openid",
        "first_channel": "",
        "channel": "",
        "is_new": True,
        "subscribed_at": "",
    }
    return [
        {"follower": follower, "channel": dict(_EMPTY_CHANNEL), "now": now},
        {
            "follower": {**follower, "first_channel": "c", "channel": "c", "is_new": False},
            "channel": {"name": "c", "title": "渠道"},
            "now": now,
        },
    ]


@dataclass(frozen=True)
class CompiledMessage:
    """A message whose templated fields are compiled; literal fields are kept as they are."""

    message: Message
    templates: Mapping[str, Template]  # "content", "title", or "articles.0.title"

    def render(self, context: Mapping[str, Any], where: str) -> Message | None:
        if not self.templates:
            return self.message
        values: dict[str, str] = {}
        for path, template in self.templates.items():
            text = render_or_none(template, context, f"{where}.{path}")
            if text is None:
                return None
            values[path] = text
        return _with_values(self.message, values)


@dataclass(frozen=True)
class CompiledReply:
    name: str
    messages: tuple[CompiledMessage, ...]
    names: frozenset[str]  # the context variables its templates use
    # The messages as they are, when none has a template (most replies): shared, not copied.
    static: tuple[Message, ...] | None = None

    def render(self, context: Mapping[str, Any]) -> list[Message]:
        rendered = (m.render(context, f"{self.name}[{i}]") for i, m in enumerate(self.messages))
        return [m for m in rendered if m is not None]


@dataclass(frozen=True)
class ChannelReplies:
    name: str
    title: str
    follow_reply: CompiledReply | None


@dataclass(frozen=True)
class AccountReplies:
    account: str
    revision: int
    index: KeywordIndex
    rules: Mapping[int, CompiledReply]
    channels: Mapping[str, ChannelReplies]
    default_follow: CompiledReply | None
    no_match: CompiledReply | None
    menu: Mapping[str, CompiledReply]
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))


@dataclass(frozen=True)
class Decision:
    messages: list[Message]
    follower: FollowerChange | None
    hit_rule: int | None = None


# Looks up a stored follower for template context: (account, openid) -> row-like mapping or None.
FollowerLookup = Callable[[str, str], Awaitable[Mapping[str, Any] | None]]


def template_compiler() -> TemplateCompiler:
    """A compiler for reply templates (it caches what it compiled: keep one per process)."""
    return TemplateCompiler(TEMPLATE_VARIABLES, sample_contexts())


def compile_account(
    config: AccountConfig,
    revision: int,
    rule_ids: Mapping[str, int],
    compiler: TemplateCompiler | None = None,
) -> AccountReplies:
    """Compile a validated configuration; ``rule_ids`` maps rule names to their stored ids."""
    compiler = compiler or template_compiler()
    rules: dict[int, CompiledReply] = {}
    index_rules = []
    for i, rule in enumerate(config.keyword_rules):
        if not rule.enabled:
            continue
        rule_id = rule_ids[rule.name]
        rules[rule_id] = _compile_reply(
            compiler, rule.reply, f"keyword_rules[{i}].reply", rule.name
        )
        index_rules.append(KeywordRule(rule_id, rule.priority, rule.keywords))
    try:
        index = KeywordIndex(index_rules)
    except PatternError as exc:
        raise ConfigError("keyword_rules", str(exc)) from None
    channels = {
        c.name: ChannelReplies(
            c.name,
            c.title,
            _compile_reply(compiler, c.follow_reply, f"channels[{i}].follow_reply", c.name)
            if c.follow_reply
            else None,
        )
        for i, c in enumerate(config.channels)
    }
    return AccountReplies(
        account=config.account,
        revision=revision,
        index=index,
        rules=rules,
        channels=channels,
        default_follow=_optional(compiler, config.default_follow_reply, "default_follow_reply"),
        no_match=_optional(compiler, config.no_match_reply, "no_match_reply"),
        menu={
            key: _compile_reply(compiler, reply, f"menu_replies.{key}", f"menu:{key}")
            for key, reply in config.menu_replies.items()
        },
    )


def check_templates(config: AccountConfig) -> None:
    """Raise :class:`ConfigError` if any template of ``config`` would be refused."""
    compile_account(config, 0, {r.name: i for i, r in enumerate(config.keyword_rules)})


def _optional(
    compiler: TemplateCompiler, messages: tuple[dict[str, Any], ...], where: str
) -> CompiledReply | None:
    return _compile_reply(compiler, messages, where, where) if messages else None


def _compile_reply(
    compiler: TemplateCompiler, messages: tuple[dict[str, Any], ...], where: str, name: str
) -> CompiledReply:
    compiled = []
    names: set[str] = set()
    for i, data in enumerate(messages):
        message = message_from_dict(data)
        templates = {}
        for path, source in _templated_values(message):
            try:
                template = compiler.compile(source)
            except TemplateError as exc:
                raise ConfigError(f"{where}[{i}].{path}", str(exc)) from None
            if not template.is_static:
                templates[path] = template
                names |= template.names
        compiled.append(CompiledMessage(message, templates))
    static = None if any(m.templates for m in compiled) else tuple(m.message for m in compiled)
    return CompiledReply(name, tuple(compiled), frozenset(names), static)


def _templated_values(message: Message) -> list[tuple[str, str]]:
    if isinstance(message, News):
        return [
            (f"articles.{i}.{name}", getattr(article, name))
            for i, article in enumerate(message.articles)
            for name in TEMPLATED_FIELDS[type(article)]
        ]
    return [(name, getattr(message, name)) for name in TEMPLATED_FIELDS.get(type(message), ())]


def _with_values(message: Message, values: Mapping[str, str]) -> Message:
    if isinstance(message, News):
        articles = list(message.articles)
        for path, text in values.items():
            _, index, name = path.split(".")
            articles[int(index)] = replace(articles[int(index)], **{name: text})
        return News(tuple(articles))
    changed: Message = replace(message, **values)  # type: ignore[arg-type]
    return changed


async def decide(
    book: AccountReplies, event: Inbound, lookup: FollowerLookup, budget: float | None = None
) -> Decision:
    """The messages that answer ``event`` (first passive, the rest through the API).

    The stored follower is read only for templates that use it, and only for up to ``budget``
    seconds; past that the reply is rendered from what the event itself says.
    """
    reply: CompiledReply | None = None
    hit: int | None = None
    channel: str | None = None
    change = FollowerChange(event.user, subscribed=True, interacted=event.opens_window)
    if isinstance(event, TextReceived):
        hit = book.index.match(event.text)
        reply = book.rules.get(hit) if hit is not None else book.no_match
    elif isinstance(event, MediaReceived):
        reply = book.no_match
    elif isinstance(event, Followed | Scanned):
        channel = event.channel
        change.channel = channel
        change.followed = isinstance(event, Followed)
        known = book.channels.get(channel) if channel else None
        reply = (known.follow_reply if known else None) or book.default_follow
    elif isinstance(event, MenuClicked):
        reply = book.menu.get(event.key)
    elif isinstance(event, Unfollowed):
        change = FollowerChange(event.user, subscribed=False, unfollowed=True)
    else:  # a platform notice or a report (location, a link opened): nothing to change
        return Decision([], None)
    if reply is None:
        return Decision([], change, hit)
    if reply.static is not None:  # no templates: nothing to read or render
        return Decision(list(reply.static), change, hit)
    context = await _context(book, event, reply.names, channel, lookup, budget)
    return Decision(reply.render(context), change, hit)


async def _context(
    book: AccountReplies,
    event: Inbound,
    names: frozenset[str],
    channel: str | None,
    lookup: FollowerLookup,
    budget: float | None,
) -> dict[str, Any]:
    context: dict[str, Any] = {}
    if not names:
        return context
    stored = None
    if "follower" in names or ("channel" in names and channel is None):
        try:
            async with asyncio.timeout(budget):  # keeps a cancellation (wait_for may not)
                stored = await lookup(event.account, event.user)
        except TimeoutError:
            log.warning("follower %s not read in time; replying without it", event.user)
    if channel is None and stored is not None:
        channel = stored.get("last_channel") or stored.get("first_channel")
    if "channel" in names:
        known = book.channels.get(channel) if channel else None
        context["channel"] = {"name": channel or "", "title": known.title if known else ""}
    if "follower" in names:
        subscribed_at = stored.get("subscribed_at") if stored else None
        context["follower"] = {
            "openid": event.user,
            "first_channel": (stored or {}).get("first_channel") or channel or "",
            "channel": channel or "",
            "is_new": stored is None,
            "subscribed_at": _local(subscribed_at, book.timezone) if subscribed_at else "",
        }
    if "now" in names:
        now = datetime.now(book.timezone)
        context["now"] = {
            "date": now.strftime("%Y-%m-%d"),
            "time": now.strftime("%H:%M"),
            "hour": now.hour,
            "weekday": "星期" + WEEKDAYS[now.weekday()],
        }
    return context


def _local(value: datetime, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")
