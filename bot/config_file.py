"""Configuration as code: ``opsbot import FILE`` and ``opsbot export``.

The file holds reply configuration per Official Account, in YAML or TOML::

    accounts:
      demo:
        default_follow_reply: [{text: "欢迎关注！"}]
        channels:
          - {name: spring_campaign, title: 春季活动, follow_reply: [{text: ...}, ...]}
        keyword_rules:
          - {name: price, priority: 10, keywords: [{exact: 价格}, {regex: "多少钱"}],
             reply: [{text: ...}]}
        menu_replies: {V1001_TODAY: [{text: ...}]}

An import replaces the whole configuration of each account the file names (accounts it does not
name are left alone), in one transaction per account; nothing is written if any part is refused.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w
import yaml
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.settings import Settings
from channels.wechat.limits import (
    channel_name_problem,
    menu_key_problem,
    menu_problems,
    reply_problems,
)
from handlers.books import load_config, save_config
from handlers.config import (
    AccountConfig,
    ConfigError,
    account_config_from_dict,
    account_config_to_dict,
)
from handlers.messages import message_from_dict
from handlers.replies import check_templates
from storage import config_repo


@dataclass(frozen=True)
class ImportReport:
    account: str
    revision: int
    rules: int
    channels: int


def file_format(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix in (".yaml", ".yml"):
        return "yaml"
    if suffix == ".toml":
        return "toml"
    raise ConfigError(str(path), "the file name must end in .yaml, .yml or .toml")


def read_file(path: str | Path) -> Any:
    fmt = file_format(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read the file: {exc.strerror}") from None
    try:
        return yaml.safe_load(text) if fmt == "yaml" else tomllib.loads(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(str(path), f"not valid {fmt.upper()}: {exc}") from None


def parse(data: Any, settings: Settings) -> list[AccountConfig]:
    """Validate a whole file; raise :class:`ConfigError` naming the first problem found."""
    if not isinstance(data, dict) or set(data) != {"accounts"}:
        raise ConfigError("", "the file must have one top-level key, accounts")
    accounts = data["accounts"]
    if not isinstance(accounts, dict) or not accounts:
        raise ConfigError("accounts", "expected a mapping of account names")
    configs = []
    for name, section in accounts.items():
        if name not in settings.wechat:
            known = ", ".join(settings.wechat) or "none"
            raise ConfigError(
                f"accounts.{name}", f"no such account in the settings (known: {known})"
            )
        config = account_config_from_dict(name, section, f"accounts.{name}.")
        check_platform(config, f"accounts.{name}.")
        try:
            check_templates(config)
        except ConfigError as exc:
            raise ConfigError(f"accounts.{name}.{exc.where}", exc.problem) from None
        configs.append(config)
    return configs


def check_platform(config: AccountConfig, where: str = "") -> None:
    """Refuse what the Official Account platform would refuse (its limits, §2.2-2.4)."""
    replies: list[tuple[str, Sequence[dict[str, Any]], bool]] = [
        ("default_follow_reply", config.default_follow_reply, False),
        ("no_match_reply", config.no_match_reply, True),
        *(
            (f"channels[{i}].follow_reply", c.follow_reply, False)
            for i, c in enumerate(config.channels)
        ),
        *((f"keyword_rules[{i}].reply", r.reply, True) for i, r in enumerate(config.keyword_rules)),
        *((f"menu_replies.{k}", v, False) for k, v in config.menu_replies.items()),
    ]
    for i, channel in enumerate(config.channels):
        problem = channel_name_problem(channel.name)
        if problem:
            raise ConfigError(f"{where}channels[{i}].name", problem)
    for key in config.menu_replies:
        problem = menu_key_problem(key)
        if problem:
            raise ConfigError(f"{where}menu_replies.{key}", problem)
    menu = menu_problems(config.menu, complete=False)
    if menu:
        raise ConfigError(f"{where}menu", menu[0])
    for path, messages, answers_message in replies:
        problems = reply_problems(
            [message_from_dict(m) for m in messages], answers_message=answers_message
        )
        if problems:
            index, problem = problems[0]
            raise ConfigError(f"{where}{path}[{index}]", problem)


async def import_configs(
    engine: AsyncEngine, configs: Sequence[AccountConfig]
) -> list[ImportReport]:
    reports = []
    for config in configs:
        revision = await save_config(engine, config)
        reports.append(
            ImportReport(config.account, revision, len(config.keyword_rules), len(config.channels))
        )
    return reports


async def has_configuration(engine: AsyncEngine) -> bool:
    return await config_repo.has_any(engine)


async def export_configs(engine: AsyncEngine, accounts: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for account in accounts:
        config, _revision, _ids = await load_config(engine, account)
        out[account] = account_config_to_dict(config)
    return {"accounts": out}


def dump(data: dict[str, Any], fmt: str) -> str:
    if fmt == "toml":
        return tomli_w.dumps(data)
    text: str = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
    return text
