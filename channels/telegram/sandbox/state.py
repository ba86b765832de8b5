"""In-memory state of the fake Telegram: bots, users, chats, updates, calls, faults."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

import aiohttp

from channels.wechat.sandbox import Clock

from .bots import FakeBot
from .chats import CallbackQueryRecord, Chat, ChatType, UserRecord
from .errors import ActionRejected, BotApiError, bad_request, forbidden
from .files import FileStore
from .flood import FloodControl
from .limits import TelegramLimits
from .timeline import TimelineEntry
from .updates import UpdateQueue
from .webhook import Attempt, WebhookConfig

if TYPE_CHECKING:
    from .users import FakeUser

DEFAULT_UPDATE_TYPES: frozenset[str] = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "callback_query",
        "inline_query",
        "chosen_inline_result",
        "my_chat_member",
        "shipping_query",
        "pre_checkout_query",
        "poll",
        "poll_answer",
        "chat_join_request",
    }
)
"""What a bot receives while allowed_updates is unset or empty (chat_member etc. excluded)."""

T = TypeVar("T")
MethodTable = Mapping[str, Callable[[Any], Awaitable[Any]]]


class ApiCall(TypedDict):
    """One Bot API call as recorded on arrival; `status` 0 and `response` None until answered.

    `bot` is None for an unknown token; `via` is "http" or "webhook-reply" (a method call a
    bot returned in its webhook answer).
    """

    seq: int
    at: float
    bot: str | None
    method: str
    via: str
    params: dict[str, Any] | None
    status: int
    response: Any


@dataclass
class Fault:
    """A programmed misbehaviour for the next `remaining` calls of one method."""

    method: str
    bot: str | None
    error_code: int | None
    description: str | None
    retry_after: int | None
    delay: float
    remaining: int

    def error(self) -> BotApiError | None:
        """The error to answer, if the fault has one."""
        if self.error_code is None:
            return None
        description = self.description or _DEFAULT_DESCRIPTIONS.get(self.error_code, "Error")
        retry_after = self.retry_after
        if self.error_code == 429:
            retry_after = retry_after or 1
            description = self.description or f"Too Many Requests: retry after {retry_after}"
        return BotApiError(self.error_code, description, retry_after=retry_after)


_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


class BotState:
    """Everything Telegram holds for one bot."""

    def __init__(
        self, bot: FakeBot, limits: TelegramLimits, users: Mapping[int, UserRecord]
    ) -> None:
        self.bot = bot
        self.limits = limits
        self.chats: dict[int, Chat] = {}
        self.files = FileStore()
        self.updates = UpdateQueue()
        self.webhook: WebhookConfig | None = None
        self.allowed_updates: list[str] | None = None
        self.last_error_date: int | None = None
        self.last_error_message: str | None = None
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.callbacks: dict[str, CallbackQueryRecord] = {}
        self.flood = FloodControl(limits)
        self.webhook_attempts: dict[int, list[Attempt]] = {}
        self.delivery_lock = asyncio.Lock()
        self._users = users

    def accepts(self, update_type: str) -> bool:
        """Whether allowed_updates lets this update type through."""
        if not self.allowed_updates:
            return update_type in DEFAULT_UPDATE_TYPES
        return update_type in self.allowed_updates

    def chat_for_bot(self, chat_id: int | str) -> Chat:
        """The chat a Bot API call addresses, with Telegram's refusals."""
        chat = self.chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            if isinstance(chat_id, int) and chat_id in self._users:
                raise forbidden("bot can't initiate conversation with a user")
            raise bad_request("chat not found")
        if chat.migrated_to is not None:
            raise BotApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                migrate_to_chat_id=chat.migrated_to,
            )
        if chat.blocked:
            raise forbidden("bot was blocked by the user")
        return chat

    def private_chat(self, user: UserRecord) -> Chat:
        """The private chat with a user, opened on first use."""
        chat = self.chats.get(user.id)
        if chat is None:
            chat = Chat(id=user.id, type="private", user=user)
            self.chats[user.id] = chat
        return chat

    def record_webhook_error(self, at: float, message: str) -> None:
        """Remember the newest webhook failure for getWebhookInfo."""
        self.last_error_date = int(at)
        self.last_error_message = message

    def webhook_info(self) -> dict[str, Any]:
        """The `WebhookInfo` object."""
        config = self.webhook
        info: dict[str, Any] = {
            "url": config.url if config else "",
            "has_custom_certificate": bool(config and config.has_custom_certificate),
            "pending_update_count": len(self.updates.pending),
        }
        if config is not None:
            info["max_connections"] = config.max_connections
            if config.ip_address:
                info["ip_address"] = config.ip_address
        if self.last_error_date is not None:
            info["last_error_date"] = self.last_error_date
            info["last_error_message"] = self.last_error_message
        if self.allowed_updates is not None:
            info["allowed_updates"] = list(self.allowed_updates)
        return info


class FakeTelegram:
    """The whole fake: bots, users, recorded calls, faults and background work."""

    def __init__(
        self,
        bots: Sequence[FakeBot],
        *,
        clock: Clock,
        webhook_timeout: float,
        limits: TelegramLimits,
    ) -> None:
        if not bots:
            raise ValueError("the fake needs at least one bot")
        for attribute in ("name", "token", "id", "username"):
            values = [getattr(b, attribute) for b in bots]
            if len(set(values)) != len(values):
                raise ValueError(f"bot {attribute}s must be unique")
        self.clock = clock
        self.limits = limits
        self.webhook_timeout = webhook_timeout
        self.methods: MethodTable = {}
        """Bot API handlers by lower-case method name (filled in by the app factory)."""
        self.users: dict[int, UserRecord] = {}
        self.calls: list[ApiCall] = []
        self.background_errors: list[str] = []
        """Failures of background work (a healthy run leaves this empty)."""
        self._bots = {b.name: BotState(b, limits, self.users) for b in bots}
        self._tokens = {b.token: self._bots[b.name] for b in bots}
        self._faults: list[Fault] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._session: aiohttp.ClientSession | None = None
        self.closing = asyncio.Event()

    # bots, users, chats

    @property
    def bots(self) -> list[FakeBot]:
        """The configured bots."""
        return [state.bot for state in self._bots.values()]

    def bot(self, name: str) -> BotState:
        """A bot's state by name (ActionRejected 404 when unknown)."""
        try:
            return self._bots[name]
        except KeyError:
            raise ActionRejected(404, f"unknown bot {name!r}") from None

    def by_token(self, token: str) -> BotState | None:
        """The bot a token belongs to."""
        return self._tokens.get(token)

    def user(self, bot_name: str, user_id: int, first_name: str, username: str = "") -> FakeUser:
        """A Telegram user talking to `bot_name`, created on first use (names are updated)."""
        from .users import FakeUser  # users.py builds on this module

        if isinstance(user_id, bool) or not isinstance(user_id, int) or user_id <= 0:
            raise ActionRejected(400, "user_id must be a positive integer")
        if not first_name:
            raise ActionRejected(400, "first_name must not be empty")
        record = self.users.get(user_id)
        if record is None:
            record = UserRecord(user_id, first_name, username)
            self.users[user_id] = record
        else:
            record.first_name = first_name
            record.username = username or record.username
        return FakeUser(self, self.bot(bot_name), record)

    def group(
        self,
        bot_name: str,
        chat_id: int,
        title: str,
        members: Iterable[int],
        *,
        kind: ChatType | None = None,
    ) -> Chat:
        """A group with the bot and `members` in it; ids <= -10^12 make a supergroup."""
        state = self.bot(bot_name)
        if isinstance(chat_id, bool) or not isinstance(chat_id, int) or chat_id >= 0:
            raise ActionRejected(400, "a group chat_id must be a negative integer")
        if chat_id in state.chats:
            raise ActionRejected(409, f"chat {chat_id} already exists")
        if not title:
            raise ActionRejected(400, "a group needs a title")
        chat_type: ChatType = kind or ("supergroup" if chat_id <= -1_000_000_000_000 else "group")
        if chat_type == "private":
            raise ActionRejected(400, "kind must be group or supergroup")
        member_ids = set()
        for member in members:
            if isinstance(member, bool) or not isinstance(member, int) or member <= 0:
                raise ActionRejected(400, "members must be positive user ids")
            self.users.setdefault(member, UserRecord(member, f"user{member}"))
            member_ids.add(member)
        chat = Chat(id=chat_id, type=chat_type, title=title, members=member_ids)
        state.chats[chat_id] = chat
        return chat

    def upgrade_group(self, bot_name: str, chat_id: int, new_chat_id: int) -> Chat:
        """Turn a group into a supergroup with a new id; the old id answers migrate_to_chat_id."""
        state = self.bot(bot_name)
        old = state.chats.get(chat_id)
        if old is None or old.type != "group" or old.migrated_to is not None:
            raise ActionRejected(404, f"no basic group {chat_id} to upgrade")
        if new_chat_id > -1_000_000_000_000 or new_chat_id in state.chats:
            raise ActionRejected(400, "new_chat_id must be an unused id <= -1000000000000")
        old.migrated_to = new_chat_id
        chat = Chat(id=new_chat_id, type="supergroup", title=old.title, members=set(old.members))
        state.chats[new_chat_id] = chat
        return chat

    def chat(self, bot_name: str, chat_id: int) -> Chat:
        """A chat of a bot (ActionRejected 404 when unknown)."""
        chat = self.bot(bot_name).chats.get(chat_id)
        if chat is None:
            raise ActionRejected(404, f"bot {bot_name!r} has no chat {chat_id}")
        return chat

    def timeline(self, bot_name: str, chat_id: int) -> list[TimelineEntry]:
        """Everything that happened in a chat so far."""
        return self.chat(bot_name, chat_id).timeline.after(0)

    # calls and faults

    def record(self, call: ApiCall) -> None:
        """Append a call with the next seq."""
        call["seq"] = len(self.calls) + 1
        self.calls.append(call)

    def calls_to(self, method: str | None = None, bot: str | None = None) -> list[ApiCall]:
        """Recorded calls, optionally of one method (any case) and one bot."""
        wanted = method.lower() if method else None
        return [
            c
            for c in self.calls
            if wanted in (None, c["method"].lower()) and bot in (None, c["bot"])
        ]

    def inject_fault(
        self,
        method: str,
        *,
        bot: str | None = None,
        error_code: int | None = None,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        delay: float = 0.0,
    ) -> None:
        """Make the next `times` calls of `method` wait `delay` s and/or answer `error_code`.

        A delay longer than the client's timeout makes it time out while the call still
        takes effect afterwards (unless an error_code is given too), as on Telegram.
        """
        if not method:
            raise ValueError("name the method, e.g. sendMessage")
        if bot is not None:
            self.bot(bot)
        if times < 1 or delay < 0:
            raise ValueError("times must be >= 1 and delay >= 0")
        if error_code is None and delay == 0:
            raise ValueError("give an error_code, a delay, or both")
        if error_code is not None and not 400 <= error_code <= 599:
            raise ValueError("error_code must be an HTTP error status (400-599)")
        if retry_after is not None and retry_after < 1:
            raise ValueError("retry_after must be >= 1")
        self._faults.append(
            Fault(method.lower(), bot, error_code, description, retry_after, delay, times)
        )

    def take_fault(self, bot: str, method: str) -> Fault | None:
        """Consume one use of the oldest fault matching this bot and method."""
        for fault in self._faults:
            if fault.method == method.lower() and fault.bot in (None, bot):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    async def pause(self, seconds: float) -> None:
        """Sleep real seconds, cut short when the app shuts down."""
        try:
            async with asyncio.timeout(seconds):
                await self.closing.wait()
        except TimeoutError:
            return

    # lifecycle

    @property
    def session(self) -> aiohttp.ClientSession:
        """HTTP session for webhook POSTs and photo URLs; exists while the app runs."""
        if self._session is None:
            raise RuntimeError("the fake app is not running: start it before delivering updates")
        return self._session

    def start(self, session: aiohttp.ClientSession) -> None:
        """Attach the HTTP session (app start-up)."""
        self._session = session
        self.closing = asyncio.Event()

    def spawn(self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Run work owned by the app (delivering pending updates, carrying out API calls)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.background_errors.append(repr(task.exception()))

    async def drain(self) -> None:
        """Wait for background work to finish."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def shut_down(self) -> None:
        """Release long polls and fault delays (app shutdown, before requests are drained)."""
        self.closing.set()
        for state in self._bots.values():
            state.updates.wake()

    async def close(self) -> None:
        """Cancel background work and detach the session (app clean-up)."""
        self.shut_down()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._session = None
