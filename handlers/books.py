"""Reply configuration in the database, and the compiled reply books each process answers from.

Every process keeps each account's compiled :class:`AccountReplies` in memory and checks the
revision counters every few seconds; a change made by any process (an import, later a chat
command) is picked up by all of them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from handlers.config import (
    AccountConfig,
    ChannelConfig,
    ConfigError,
    KeywordRuleConfig,
    account_config_from_dict,
)
from handlers.replies import AccountReplies, compile_account, template_compiler
from storage import config_repo

log = logging.getLogger(__name__)

FOLLOW_DEFAULT = "follow_default"
NO_MATCH = "no_match"
MENU = "menu"


async def load_config(
    engine: AsyncEngine, account: str
) -> tuple[AccountConfig, int, dict[str, int]]:
    """The stored configuration of ``account``, its revision, and the ids of its rules by name."""
    stored = await config_repo.load(engine, account)
    replies = {(e["trigger"], e["key"]): e["messages"] for e in stored.event_replies}
    data: dict[str, Any] = {
        "keyword_rules": [
            {k: r[k] for k in ("name", "keywords", "priority", "enabled")}
            | {"reply": r["messages"]}
            for r in stored.rules
        ],
        "channels": [
            {"name": c["name"], "title": c["title"], "follow_reply": c["follow_messages"]}
            for c in stored.channels
        ],
        "default_follow_reply": replies.get((FOLLOW_DEFAULT, ""), []),
        "no_match_reply": replies.get((NO_MATCH, ""), []),
        "menu_replies": {key: m for (trigger, key), m in replies.items() if trigger == MENU},
        "menu": stored.menu,
    }
    config = account_config_from_dict(account, data)
    return config, stored.revision, {r["name"]: r["id"] for r in stored.rules}


async def save_config(engine: AsyncEngine, config: AccountConfig) -> int:
    """Replace the account's stored configuration with ``config``; returns the new revision."""
    rules = [_rule_row(i, r) for i, r in enumerate(config.keyword_rules)]
    channels = [_channel_row(c) for c in config.channels]
    replies = [
        {"trigger": trigger, "key": key, "messages": list(messages)}
        for trigger, key, messages in (
            (FOLLOW_DEFAULT, "", config.default_follow_reply),
            (NO_MATCH, "", config.no_match_reply),
            *((MENU, k, v) for k, v in config.menu_replies.items()),
        )
        if messages
    ]
    return await config_repo.replace(
        engine, config.account, rules, channels, replies, [dict(b) for b in config.menu]
    )


def _rule_row(position: int, rule: KeywordRuleConfig) -> dict[str, Any]:
    return {
        "name": rule.name,
        "position": position,
        "priority": rule.priority,
        "enabled": rule.enabled,
        "keywords": [{k.kind: k.text} for k in rule.keywords],
        "messages": list(rule.reply),
    }


def _channel_row(channel: ChannelConfig) -> dict[str, Any]:
    return {
        "name": channel.name,
        "title": channel.title,
        "follow_messages": list(channel.follow_reply),
    }


class ReplyBooks:
    """The compiled replies of every configured account, reloaded when their revision changes."""

    def __init__(self, engine: AsyncEngine, accounts: Iterable[str]) -> None:
        self._engine = engine
        self._compiler = template_compiler()
        self._books: dict[str, AccountReplies] = {}
        self._refused: dict[str, int] = {}
        for account in accounts:
            self._books[account] = compile_account(AccountConfig(account), 0, {})

    def get(self, account: str) -> AccountReplies:
        return self._books[account]

    def __contains__(self, account: object) -> bool:
        return account in self._books

    async def refresh(self) -> list[str]:
        """Reload the accounts whose revision changed; returns their names."""
        revisions = await config_repo.revisions(self._engine)
        changed = []
        for account, book in self._books.items():
            revision = revisions.get(account, 0)
            if revision in (book.revision, self._refused.get(account)):
                continue
            try:
                config, revision, rule_ids = await load_config(self._engine, account)
                # Compiling thousands of rules takes a while: not on the event loop.
                self._books[account] = await asyncio.to_thread(
                    compile_account, config, revision, rule_ids, self._compiler
                )
            except ConfigError as exc:
                # Keep answering from the last good revision rather than stop replying.
                log.error("configuration revision %d of %s is refused: %s", revision, account, exc)
                self._refused[account] = revision
                continue
            changed.append(account)
            log.info("replies of %s loaded (revision %d)", account, revision)
        return changed

    async def poll(self, interval: float) -> None:
        """Refresh forever (run as a background task)."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.refresh()
            except Exception:
                log.exception("reloading reply configuration failed; will retry")
