"""The parts every command is made of: its spec, the context it runs in, its outcome, and the
ports through which it reaches the platforms (implemented in ``bot/`` over ``channels/``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from handlers.config import AccountConfig
from handlers.customers import ContactDefaults
from handlers.messages import Message, Text
from scripts_library.library import ScriptLibrary
from storage.group_codes_repo import GroupCode, Rebalanced

Role = Literal["staff", "admin"]
ROLES: tuple[Role, ...] = ("staff", "admin")
ROLE_NAMES = {"staff": "员工", "admin": "管理员"}
# read: shows something; config: changes configuration (audited, undoable); customers: reaches
# customers (asks for confirmation first); destructive: deletes something (asks first too).
Effect = Literal["read", "config", "customers", "destructive"]
CONFIRMED_EFFECTS = ("customers", "destructive")


class CommandError(Exception):
    """The command cannot run as asked; the message (Chinese) goes back to the person."""

    def __init__(self, message: str, *, usage: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage


class PlatformFailure(Exception):
    """A platform refused or failed what a command asked (raised by the ports); the message
    (Chinese) says what happened. ``transient``: busy or unreachable, worth trying later."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class Param:
    name: str
    label: str  # shown in the usage line: <名称>
    kind: Literal["word", "int", "rest"] = "word"
    required: bool = True


@dataclass(frozen=True)
class Caller:
    platform: str
    account: str  # the staff app or bot
    user: str
    chat: str
    direct: bool
    roles: frozenset[str]
    name: str = ""

    @property
    def person(self) -> str:
        return f"{self.platform}:{self.account}:{self.user}"

    @property
    def chat_key(self) -> str:
        return f"{self.platform}:{self.account}:{self.chat}"

    def has(self, role: Role) -> bool:
        return role in self.roles or (role == "staff" and "admin" in self.roles)


def split_chat_key(key: str) -> tuple[str, str, str] | None:
    """A :attr:`Caller.chat_key` (``platform:app:chat``) as its three parts; None when it names
    no chat (work made outside a chat)."""
    platform, _, rest = key.partition(":")
    account, _, chat = rest.partition(":")
    return (platform, account, chat) if chat else None


@dataclass
class Outcome:
    """What a command produced: the answer, and the configuration change it made (if any)."""

    messages: list[Message] = field(default_factory=list)
    change: tuple[dict[str, Any], dict[str, Any]] | None = None  # (before, after)
    detail: str = ""
    wizard: tuple[str, dict[str, Any]] | None = None  # start this wizard with these values

    @classmethod
    def say(cls, text: str, *, detail: str = "") -> Outcome:
        return cls([Text(text)], detail=detail)


class OfficialAccountPort(Protocol):
    """What admin commands ask of one Official Account's platform (channels/wechat)."""

    async def channel_qr(self, scene: str) -> tuple[str, str]:
        """Create (or re-create) the permanent QR code of a channel: (ticket, image URL)."""
        ...

    def qr_image_url(self, ticket: str) -> str: ...

    async def publish_menu(self, buttons: list[dict[str, Any]]) -> None: ...

    async def add_image(self, filename: str, data: bytes) -> tuple[str, str]:
        """Upload a permanent image material: (media_id, url)."""
        ...

    async def add_draft(self, articles: list[dict[str, Any]]) -> str: ...

    async def remove_material(self, kind: str, media_id: str) -> None: ...

    def menu_problems(self, buttons: list[dict[str, Any]], *, complete: bool) -> list[str]: ...

    # OpenIDs one mass send by list takes: (at least, at most).
    mass_batch: tuple[int, int]

    async def follower_total(self) -> int:
        """How many people follow the account (the platform's count)."""
        ...

    async def tags(self) -> list[dict[str, Any]]:
        """The account's follower tags: ``[{id, name, count}]``."""
        ...

    async def mass_submit(
        self,
        content: dict[str, Any],
        *,
        clientmsgid: str,
        tag_id: int | None = None,
        openids: list[str] | None = None,
    ) -> str:
        """Submit a mass send (to all, one tag, or 2..10,000 OpenIDs); its msg_id. A repeated
        ``clientmsgid`` returns the first send's msg_id instead of sending again."""
        ...

    async def mass_preview(self, openid: str, content: dict[str, Any]) -> None: ...

    def check_config(self, config: AccountConfig) -> None:
        """Raise ConfigError for what the platform would refuse."""
        ...


class StaffMediaPort(Protocol):
    async def fetch_image(self, platform: str, account: str, ref: str) -> bytes:
        """The bytes of a picture a staff member sent (its platform reference)."""
        ...


class SchedulerPort(Protocol):
    """Timed work (bot/scheduler.py): jobs fire once, at their time, on whichever server."""

    async def add(
        self,
        *,
        account: str,
        kind: str,
        name: str,
        payload: dict[str, Any],
        trigger: dict[str, Any],
        timezone: str,
        created_by: str = "",
        chat: str = "",
    ) -> Any:
        """Store a job (raises handlers.schedules.ScheduleError); returns it (``.id``,
        ``.next_run_at``)."""
        ...

    async def pause(self, job_id: int) -> bool: ...

    async def resume(self, job_id: int) -> bool: ...

    async def cancel(self, job_id: int) -> bool:
        """False when the job already fired (or ended): too late to cancel."""
        ...


class GroupSyncPort(Protocol):
    """Refresh the local list of WeCom customer groups from the platform."""

    async def sync(self, app: str) -> int:
        """Sync the groups of one WeCom app; how many groups are known afterwards."""
        ...


class SopResultsPort(Protocol):
    """Ask WeCom how the group message tasks of an SOP rule went."""

    async def refresh(self, rule_id: int) -> None: ...


class ContactWaysPort(Protocol):
    """「联系我」 contact ways and member lookups of a WeCom app (raise PlatformFailure)."""

    async def add_contact_way(
        self, app: str, users: Sequence[str], *, state: str, remark: str, skip_verify: bool
    ) -> tuple[str, str]:
        """A QR-code contact way adding one of ``users``: (config_id, qr_code URL)."""
        ...

    async def update_contact_way(self, app: str, config_id: str, users: Sequence[str]) -> None:
        """Change who a contact way adds."""
        ...

    async def del_contact_way(self, app: str, config_id: str) -> None: ...

    async def member_name(self, app: str, userid: str) -> str | None:
        """A corp member's name ("" when the platform does not say); None when no such member."""
        ...


class GroupCodesPort(Protocol):
    """Unlimited group codes (无限群活码) over WeCom join ways (bot/group_codes.py); raise
    CommandError for what cannot be done and PlatformFailure for what WeCom refused."""

    def landing_url(self, slug: str) -> str:
        """The address of a code's landing page."""
        ...

    async def create(
        self,
        app: str,
        name: str,
        chat_ids: Sequence[str],
        *,
        auto_create: bool,
        base_name: str,
        created_by: str,
        chat: str,
    ) -> GroupCode: ...

    async def add_groups(self, code: GroupCode, chat_ids: Sequence[str]) -> Rebalanced: ...

    async def set_full(self, code: GroupCode, members: int) -> Rebalanced: ...

    async def remove(self, code: GroupCode) -> None: ...

    async def rebalance(self, code: GroupCode) -> Rebalanced: ...


# Queue answers into a staff chat now (progress of long work): (platform, account, chat, msgs).
Queue = Callable[[str, str, str, list[Message]], Awaitable[None]]


@dataclass(frozen=True)
class Limits:
    confirm_seconds: int = 120
    wizard_minutes: int = 30
    rate_per_minute: int = 30


@dataclass
class Services:
    engine: AsyncEngine
    accounts: Mapping[str, OfficialAccountPort]  # Official Account name -> its port
    managed: Callable[[str, str], str]  # (platform, staff app) -> Official Account name
    media: StaffMediaPort
    queue: Queue
    clock: Callable[[], datetime]
    limits: Limits = field(default_factory=Limits)
    admin_chats: frozenset[str] = frozenset()  # platform:account:chat
    library: ScriptLibrary | None = None
    scheduler: SchedulerPort | None = None
    timezone: str = "Asia/Shanghai"  # the zone people's times are read and shown in
    wecom_apps: tuple[str, ...] = ()  # the WeCom apps, in settings order
    group_sync: GroupSyncPort | None = None
    sop_results: SopResultsPort | None = None
    contact_ways: ContactWaysPort | None = None
    contact_defaults: ContactDefaults = field(default_factory=ContactDefaults)
    group_codes: GroupCodesPort | None = None
    # The address where the server serves a kept file (a script's picture or video) by SHA-256.
    file_url: Callable[[str], str] = lambda sha256: f"/library/files/{sha256}"


@dataclass
class Ctx:
    """What a command handler gets: who asked, the arguments, and the services."""

    caller: Caller
    args: dict[str, Any]
    text: str
    services: Services
    confirmed: bool = False

    @property
    def account(self) -> str:
        """The Official Account this staff app manages."""
        return self.services.managed(self.caller.platform, self.caller.account)

    @property
    def oa(self) -> OfficialAccountPort:
        return self.services.accounts[self.account]

    @property
    def engine(self) -> AsyncEngine:
        return self.services.engine

    @property
    def library(self) -> ScriptLibrary:
        if self.services.library is None:
            raise CommandError("话术库没有启用。")
        return self.services.library

    @property
    def scheduler(self) -> SchedulerPort:
        if self.services.scheduler is None:
            raise CommandError("定时任务没有启用。")
        return self.services.scheduler

    @property
    def wecom_app(self) -> str:
        """The WeCom app whose customer groups this command is about: the caller's own app, or
        (from Telegram) the first one configured."""
        if self.caller.platform == "wecom":
            return self.caller.account
        if not self.services.wecom_apps:
            raise CommandError("没有配置企业微信应用，无法管理客户群。")
        return self.services.wecom_apps[0]

    async def progress(self, text: str) -> None:
        """Tell the person how long work is going, before the command ends."""
        c = self.caller
        await self.services.queue(c.platform, c.account, c.chat, [Text(text)])


Run = Callable[[Ctx], Awaitable[Outcome]]
Preview = Callable[[Ctx], Awaitable[str]]


@dataclass(frozen=True)
class CommandSpec:
    name: str  # stable id used in the audit log: "rule.add"
    area: str  # help area: "规则"
    words: tuple[str, ...]  # what people type, the Chinese form first: ("规则 添加", "rule add")
    summary: str
    run: Run
    params: tuple[Param, ...] = ()
    examples: tuple[str, ...] = ()
    role: Role = "admin"
    effect: Effect = "read"
    preview: Preview | None = None  # what will change, for the confirmation

    @property
    def usage(self) -> str:
        parts = [self.words[0]]
        for p in self.params:
            label = f"<{p.label}…>" if p.kind == "rest" else f"<{p.label}>"
            parts.append(label if p.required else f"[{label}]")
        return " ".join(parts)

    @property
    def needs_confirmation(self) -> bool:
        return self.effect in CONFIRMED_EFFECTS
