"""One typed settings object, read once at start-up.

Sources, later ones winning:
1. the embedded default, ``bot/demo/opsbot.toml`` (SQLite file, the sandbox fakes, a demo account);
2. the TOML file given with ``--config`` or ``OPSBOT_CONFIG`` (replaces the default entirely);
3. ``OPSBOT_*`` environment variables, with ``__`` between levels:
   ``OPSBOT_DATABASE__URL``, ``OPSBOT_WECHAT__MAIN__SECRET``, ``OPSBOT_LOG_LEVEL``.

Every value is checked here, with a message that names the setting. Secrets are wrapped in
:class:`Secret`, which never shows its value in a repr, a log line or an error message.
"""

from __future__ import annotations

import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

DEFAULT_CONFIG = Path(__file__).parent / "demo" / "opsbot.toml"
ENV_PREFIX = "OPSBOT_"
# Environment variables with the prefix that are not settings.
ENV_NOT_SETTINGS = ("OPSBOT_CONFIG", "OPSBOT_TEST_")

AES_KEY_PATTERN = re.compile(r"[A-Za-z0-9]{43}")
ACCOUNT_NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
MESSAGE_MODES = ("plaintext", "compatible", "safe")
TOKEN_ENDPOINTS = ("classic", "stable")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
TELEGRAM_MODES = ("webhook", "polling")


class SettingsError(Exception):
    """A setting is missing, unknown or malformed; the message names it."""


class Secret:
    """A string that must not leak: ``repr`` and ``str`` show stars, ``get()`` gives the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    # The address the platforms reach us at; shown in the README's "point WeChat here" step.
    public_url: str = ""
    max_body_bytes: int = 64 * 1024
    # Passive replies must be ready inside WeChat's 5 s; later work goes out through the API.
    reply_deadline_seconds: float = 3.0
    # Callbacks whose timestamp is further than this from our clock are refused as replays.
    timestamp_window_seconds: int = 300
    # How often each process checks the database for configuration changed by another.
    config_poll_seconds: float = 2.0


@dataclass(frozen=True)
class DatabaseSettings:
    # A Secret: a PostgreSQL URL may carry a password.
    url: Secret = field(default_factory=lambda: Secret("sqlite+aiosqlite:///var/opsbot.db"))
    echo: bool = False
    # SQLite only: NORMAL survives a process crash; FULL also survives a power cut, slower.
    sqlite_synchronous: str = "NORMAL"
    # How long inbound dedupe keys are kept; WeChat retries within about 15 seconds.
    dedupe_retention_hours: int = 24
    # How long messages sent through the outbox stay on record.
    outbox_retention_days: int = 7


@dataclass(frozen=True)
class DeliverySettings:
    # Follow-up messages wait this long so that they land after the passive reply.
    followup_delay_seconds: float = 1.0
    poll_seconds: float = 1.0
    max_attempts: int = 5
    lease_seconds: float = 60.0
    api_timeout_seconds: float = 10.0


@dataclass(frozen=True)
class SchedulerSettings:
    # How often each process looks for work falling due (and plans its timers).
    poll_seconds: float = 5.0
    # A firing found later than this (every server was down) is reported, not run.
    grace_seconds: float = 3600.0
    # A run still "running" after this was cut off by a crash: reported, never redone.
    lease_seconds: float = 600.0
    retry_seconds: float = 60.0
    max_attempts: int = 3
    # Firings one process runs at once (each needs database connections).
    max_concurrent_runs: int = 8
    timezone: str = "Asia/Shanghai"  # of the schedules people type
    # Every process syncs the WeCom customer groups at start and then this often; 0: never
    # (change_external_chat events keep the list current in between).
    group_sync_seconds: float = 3600.0


@dataclass(frozen=True)
class CustomerSettings:
    """WeCom customer contact: what new customers get, and the unlimited group codes."""

    # The welcome when a code's lead channel has none and admins set no default by chat;
    # a template with {{ customer.name }} (nickname) and {{ staff.name }}.
    default_welcome: str = (
        "您好{{ '，' + customer.name if customer.name else '' }}！"
        "我是{{ staff.name or '您的顾问' }}，很高兴为您服务，有问题随时找我。"
    )
    # New customers' remark: {昵称} {渠道} {接待组} filled in, then cut to remark_chars
    # (the platform's limit of externalcontact/remark is unconfirmed; commonly 20).
    remark_pattern: str = "{昵称}-{渠道}"
    remark_chars: int = 20
    # The corp tag group (企业标签组) that channel tags the bot creates go into.
    tag_group: str = "引流渠道"
    # Remark and tags right after an add may meet 84061 (not yet a customer): tried this often.
    followup_attempts: int = 5
    followup_retry_seconds: float = 2.0
    # Group codes: a group with this many members counts as full (joining by QR stops at 200,
    # unconfirmed); admins are told when this few groups with room are left.
    group_full_members: int = 190
    group_low_water: int = 1


@dataclass(frozen=True)
class SandboxSettings:
    # Start the platform fakes in the same process, on loopback (the embedded default).
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 8081
    callback_timeout_seconds: float = 5.0


@dataclass(frozen=True)
class WechatAccountSettings:
    """One Official Account: the values from its admin console (基本配置)."""

    app_id: str
    secret: Secret
    token: Secret
    encoding_aes_key: Secret | None = None
    mode: str = "safe"
    api_base: str = "https://api.weixin.qq.com"
    qr_image_base: str = "https://mp.weixin.qq.com"
    original_id: str = ""
    token_endpoint: str = "stable"  # noqa: S105 - an endpoint name, not a secret
    name: str = ""


@dataclass(frozen=True)
class WecomAppSettings:
    """One WeCom self-built app (自建应用) whose chat staff and admins use."""

    corp_id: str
    agent_id: int
    secret: Secret
    token: Secret
    encoding_aes_key: Secret
    api_base: str = "https://qyapi.weixin.qq.com"
    # Where browsers are sent to learn who opens the app's web pages (OAuth); in the sandbox,
    # the same base as api_base.
    oauth_base: str = "https://open.weixin.qq.com"
    # The Official Account that admins of this app configure (default: the first one).
    manages: str = ""
    name: str = ""


@dataclass(frozen=True)
class TelegramBotSettings:
    """One Telegram bot that staff and admins talk to."""

    token: Secret
    # webhook: Telegram POSTs to {server.public_url}/telegram/{name}; polling: we ask getUpdates.
    mode: str = "webhook"
    webhook_secret: Secret | None = None
    api_base: str = "https://api.telegram.org"
    # The bot's @username without the @ (asked from getMe when empty).
    username: str = ""
    manages: str = ""
    name: str = ""


@dataclass(frozen=True)
class CommandSettings:
    """Who may do what in staff chats. People are written ``platform:account:user`` and chats
    ``platform:account:chat`` (``wecom:demo:zhangsan``, ``telegram:demo:-1001234``)."""

    # Roles granted at start-up; more are granted and revoked by command.
    admins: list[str] = field(default_factory=list)
    staff: list[str] = field(default_factory=list)
    # Group chats where admin commands are accepted (they always are in a direct chat).
    admin_chats: list[str] = field(default_factory=list)
    # How long a confirmation waits for its answer, and a wizard for its next step.
    confirm_seconds: int = 120
    wizard_minutes: int = 30
    # Commands one person may send per minute.
    rate_per_minute: int = 30


@dataclass(frozen=True)
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    sandbox: SandboxSettings = field(default_factory=SandboxSettings)
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)
    customers: CustomerSettings = field(default_factory=CustomerSettings)
    wechat: dict[str, WechatAccountSettings] = field(default_factory=dict)
    wecom: dict[str, WecomAppSettings] = field(default_factory=dict)
    telegram: dict[str, TelegramBotSettings] = field(default_factory=dict)
    commands: CommandSettings = field(default_factory=CommandSettings)
    log_level: str = "INFO"
    source: str = ""

    def managed_account(self, manages: str) -> str:
        """The Official Account a staff app's admins configure: ``manages`` or the first one."""
        return manages or next(iter(self.wechat), "")

    def account(self, name: str) -> WechatAccountSettings:
        try:
            return self.wechat[name]
        except KeyError:
            raise SettingsError(f"no Official Account named {name!r} in the settings") from None


def load_settings(
    path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read the TOML file (or the embedded default) and apply ``OPSBOT_*`` overrides."""
    env = os.environ if environ is None else environ
    chosen = (
        Path(path) if path else Path(env["OPSBOT_CONFIG"]) if env.get("OPSBOT_CONFIG") else None
    )
    source = chosen or DEFAULT_CONFIG
    try:
        raw = tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"settings file {source} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"settings file {source} is not valid TOML: {exc}") from None
    for key, value in env.items():
        if key.startswith(ENV_PREFIX) and not key.startswith(ENV_NOT_SETTINGS):
            _apply_override(raw, key, value)
    raw["source"] = str(source)
    settings: Settings = _build(Settings, raw, "")
    _check(settings)
    return settings


def _apply_override(raw: dict[str, Any], key: str, value: str) -> None:
    parts = [p.lower() for p in key[len(ENV_PREFIX) :].split("__")]
    if not all(parts):
        raise SettingsError(f"environment variable {key} is not of the form OPSBOT_SECTION__KEY")
    node = raw
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise SettingsError(f"environment variable {key}: {part} is not a section")
        node = child
    node[parts[-1]] = value


def _build(cls: type[Any], raw: Any, where: str) -> Any:
    if not isinstance(raw, dict):
        raise SettingsError(f"{where or 'settings'} must be a table")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    for key in raw:
        if key not in known:
            raise SettingsError(f"unknown setting {_join(where, key)}")
    values: dict[str, Any] = {}
    for f in fields(cls):
        name = _join(where, f.name)
        if f.name in raw:
            values[f.name] = _convert(hints[f.name], raw[f.name], name)
        elif f.default is MISSING and f.default_factory is MISSING:
            raise SettingsError(f"{name} is required")
    return cls(**values)


def _convert(hint: Any, value: Any, name: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return None if value is None else _convert(options[0], value, name)
    if origin is list:
        if not isinstance(value, list):
            raise SettingsError(f"{name} must be a list")
        item_hint = typing.get_args(hint)[0]
        return [_convert(item_hint, item, f"{name}[{i}]") for i, item in enumerate(value)]
    if origin is dict:
        item_type = typing.get_args(hint)[1]
        if not isinstance(value, dict):
            raise SettingsError(f"{name} must be a table")
        result = {}
        for key, item in value.items():
            if isinstance(item, dict) and "name" not in item:
                item = {**item, "name": key}
            result[key] = _convert(item_type, item, _join(name, key))
        return result
    if is_dataclass(hint):
        return _build(hint, value, name)  # type: ignore[arg-type]
    if hint is Secret:
        if not isinstance(value, str) or not value:
            raise SettingsError(f"{name} must be a non-empty string")
        return Secret(value)
    if hint is bool:
        return _to_bool(value, name)
    if hint is int:
        if isinstance(value, bool):
            raise SettingsError(f"{name} must be an integer")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise SettingsError(f"{name} must be an integer (got {value!r})") from None
    if hint is float:
        if isinstance(value, bool):
            raise SettingsError(f"{name} must be a number")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise SettingsError(f"{name} must be a number (got {value!r})") from None
    if hint is str:
        if not isinstance(value, str):
            raise SettingsError(f"{name} must be a string")
        return value
    raise SettingsError(f"{name}: unsupported setting type {hint!r}")  # pragma: no cover


def _to_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on"):
        return True
    if isinstance(value, str) and value.lower() in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false (got {value!r})")


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _check(s: Settings) -> None:
    """Cross-field rules that types alone cannot say."""
    _in_range("server.port", s.server.port, 1, 65535)
    _in_range("sandbox.port", s.sandbox.port, 1, 65535)
    _in_range("server.max_body_bytes", s.server.max_body_bytes, 1024, 16 * 1024 * 1024)
    if not 0.1 <= s.server.reply_deadline_seconds <= 4.5:
        raise SettingsError(
            "server.reply_deadline_seconds must be between 0.1 and 4.5: "
            "WeChat gives up on a callback after 5 seconds"
        )
    _in_range("server.timestamp_window_seconds", s.server.timestamp_window_seconds, 10, 86400)
    _in_range("delivery.max_attempts", s.delivery.max_attempts, 1, 100)
    _in_range("scheduler.max_concurrent_runs", s.scheduler.max_concurrent_runs, 1, 1000)
    _in_range("database.dedupe_retention_hours", s.database.dedupe_retention_hours, 1, 24 * 30)
    if s.database.sqlite_synchronous.upper() not in ("NORMAL", "FULL"):
        raise SettingsError("database.sqlite_synchronous must be NORMAL or FULL")
    if s.log_level.upper() not in LOG_LEVELS:
        raise SettingsError(f"log_level must be one of {', '.join(LOG_LEVELS)}")
    _in_range("database.outbox_retention_days", s.database.outbox_retention_days, 1, 3650)
    _in_range("customers.remark_chars", s.customers.remark_chars, 1, 100)
    _in_range("customers.followup_attempts", s.customers.followup_attempts, 1, 100)
    _in_range("customers.group_full_members", s.customers.group_full_members, 2, 100000)
    _in_range("customers.group_low_water", s.customers.group_low_water, 0, 100)
    if s.scheduler.group_sync_seconds < 0:
        raise SettingsError("scheduler.group_sync_seconds must be 0 (off) or more")
    if not s.database.url.get().startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise SettingsError(
            "database.url must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
        )
    for name, account in s.wechat.items():
        _check_account(name, account)
    for name, app in s.wecom.items():
        _check_wecom(name, app, s)
    for name, bot in s.telegram.items():
        _check_telegram(name, bot, s)
    _check_commands(s)


def _check_name(where: str, name: str) -> None:
    if not ACCOUNT_NAME_PATTERN.fullmatch(name):
        raise SettingsError(
            f"{where}: names are 1-32 characters of a-z, 0-9, _ and -, starting with a "
            "letter or digit"
        )


def _check_manages(where: str, manages: str, s: Settings) -> None:
    if manages and manages not in s.wechat:
        raise SettingsError(f"{where}.manages names no Official Account in [wechat]: {manages!r}")


def _check_wecom(name: str, a: WecomAppSettings, s: Settings) -> None:
    where = f"wecom.{name}"
    _check_name(where, name)
    if not re.fullmatch(r"[A-Za-z0-9]{1,64}", a.corp_id):
        raise SettingsError(f"{where}.corp_id must be letters and digits")
    _in_range(f"{where}.agent_id", a.agent_id, 1, 2**31 - 1)
    if not re.fullmatch(r"[A-Za-z0-9]{1,32}", a.token.get()):
        raise SettingsError(f"{where}.token must be 1-32 letters and digits")
    if not AES_KEY_PATTERN.fullmatch(a.encoding_aes_key.get()):
        raise SettingsError(f"{where}.encoding_aes_key must be 43 characters from A-Z a-z 0-9")
    if not a.api_base.startswith(("http://", "https://")):
        raise SettingsError(f"{where}.api_base must be an http(s) URL")
    if not a.oauth_base.startswith(("http://", "https://")):
        raise SettingsError(f"{where}.oauth_base must be an http(s) URL")
    _check_manages(where, a.manages, s)


def _check_telegram(name: str, b: TelegramBotSettings, s: Settings) -> None:
    where = f"telegram.{name}"
    _check_name(where, name)
    if b.mode not in TELEGRAM_MODES:
        raise SettingsError(f"{where}.mode must be one of {', '.join(TELEGRAM_MODES)}")
    if not re.fullmatch(r"\d{1,20}:[A-Za-z0-9_-]{20,80}", b.token.get()):
        raise SettingsError(f"{where}.token must look like 123456:ABC-DEF... (from @BotFather)")
    if b.mode == "webhook":
        if b.webhook_secret is None:
            raise SettingsError(f"{where}.webhook_secret is required in webhook mode")
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", b.webhook_secret.get()):
            raise SettingsError(f"{where}.webhook_secret must be 1-256 of A-Z a-z 0-9 _ -")
    if not b.api_base.startswith(("http://", "https://")):
        raise SettingsError(f"{where}.api_base must be an http(s) URL")
    _check_manages(where, b.manages, s)


def _check_commands(s: Settings) -> None:
    c = s.commands
    for where, values in (
        ("commands.admins", c.admins),
        ("commands.staff", c.staff),
        ("commands.admin_chats", c.admin_chats),
    ):
        for value in values:
            platform, _, rest = value.partition(":")
            account, _, who = rest.partition(":")
            apps: dict[str, dict[str, Any]] = {"wecom": s.wecom, "telegram": s.telegram}
            known = apps.get(platform, {})
            if account not in known or not who:
                raise SettingsError(
                    f"{where}: {value!r} is not platform:account:id with platform wecom or "
                    "telegram and an account from the settings"
                )
    _in_range("commands.confirm_seconds", c.confirm_seconds, 10, 86400)
    _in_range("commands.wizard_minutes", c.wizard_minutes, 1, 7 * 24 * 60)
    _in_range("commands.rate_per_minute", c.rate_per_minute, 1, 10_000)


def _check_account(name: str, a: WechatAccountSettings) -> None:
    where = f"wechat.{name}"
    _check_name(where, name)
    if a.mode not in MESSAGE_MODES:
        raise SettingsError(f"{where}.mode must be one of {', '.join(MESSAGE_MODES)}")
    if a.token_endpoint not in TOKEN_ENDPOINTS:
        raise SettingsError(f"{where}.token_endpoint must be one of {', '.join(TOKEN_ENDPOINTS)}")
    if not re.fullmatch(r"[A-Za-z0-9]{1,64}", a.token.get()):
        raise SettingsError(f"{where}.token must be 1-64 letters and digits")
    if a.encoding_aes_key is None:
        if a.mode != "plaintext":
            raise SettingsError(f"{where}.encoding_aes_key is required in {a.mode} mode")
    elif not AES_KEY_PATTERN.fullmatch(a.encoding_aes_key.get()):
        raise SettingsError(f"{where}.encoding_aes_key must be 43 characters from A-Z a-z 0-9")
    if not a.api_base.startswith(("http://", "https://")):
        raise SettingsError(f"{where}.api_base must be an http(s) URL")
    if not a.qr_image_base.startswith(("http://", "https://")):
        raise SettingsError(f"{where}.qr_image_base must be an http(s) URL")
    if not a.app_id:
        raise SettingsError(f"{where}.app_id must not be empty")


def _in_range(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high} (got {value})")
