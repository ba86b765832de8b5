"""In-memory state of the fake platform: accounts, customers, tokens, calls, faults."""

from __future__ import annotations

import asyncio
import secrets
from collections import deque
from collections.abc import Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypedDict

import aiohttp

from .accounts import FakeAccount
from .clock import Clock
from .drafts import Draft, DraftBox
from .errors import ActionRejected
from .limits import Grant, Limits, SlidingWindow
from .media import Media, MediaKind, MediaStore, sniff
from .timeline import Timeline, TimelineEntry
from .tokens import TokenStore

FIRST_TAG_ID: Final = 100
"""Ids of created tags count from here; 0, 1 and 2 are the platform's reserved tags."""


class ApiCall(TypedDict):
    """One /cgi-bin call, recorded on arrival (access_token and secrets shown as "***").

    `status` is 0 and `response` None until the fake has answered.
    """

    seq: int
    at: float
    account: str | None
    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int
    response: Any


@dataclass
class Fault:
    """A programmed misbehaviour for the next `remaining` calls to one path."""

    errcode: int | None
    delay: float
    remaining: int


@dataclass
class Customer:
    """A WeChat user as one OA sees them."""

    openid: str
    following: bool = False
    subscribe_time: int = 0
    subscribe_scene: str = "ADD_SCENE_SEARCH"
    qr_scene: int = 0
    qr_scene_str: str = ""
    remark: str = ""
    tagid_list: list[int] = field(default_factory=list)
    wxname: str | None = None
    grants: list[Grant] = field(default_factory=list)
    mass_receipts: list[float] = field(default_factory=list)
    last_event_time: int = 0


@dataclass
class QrCode:
    """A parametric QR code; `expires_at` is None for permanent codes."""

    ticket: str
    action_name: str
    scene: str
    scene_id: int | None
    url: str
    created_at: float
    expires_at: float | None

    def alive(self, now: float) -> bool:
        """Whether the code can still be scanned."""
        return self.expires_at is None or now < self.expires_at


@dataclass
class MassJob:
    """One accepted mass send."""

    msg_id: int
    msg_data_id: int | None
    msgtype: str
    payload: dict[str, Any]
    digest: str
    clientmsgid: str | None
    created_at: float
    status: str = "SENDING"
    counts: dict[str, int] = field(default_factory=dict)
    callback: str | None = None


class AccountState:
    """Everything the platform holds for one OA."""

    def __init__(self, account: FakeAccount, limits: Limits) -> None:
        self.account = account
        self.customers: dict[str, Customer] = {}
        self.timelines: dict[str, Timeline] = {}
        self.menu: dict[str, Any] | None = None
        self.menu_id = 0
        self.media = MediaStore()
        self.qrcodes: dict[str, QrCode] = {}
        self.mass_jobs: dict[int, MassJob] = {}
        self.mass_rate = SlidingWindow(limits.mass_requests_per_minute, 60.0)
        self.previews_by_day: dict[str, int] = {}
        self.article_images: set[str] = set()
        self.drafts = DraftBox()
        self.tags: dict[int, str] = {}
        """Created tags, id -> name; customers carry the ids in `Customer.tagid_list`."""
        self.next_tag_id = FIRST_TAG_ID

    def timeline(self, openid: str) -> Timeline:
        """The customer's timeline, created on first use."""
        return self.timelines.setdefault(openid, Timeline())

    def followers(self) -> list[Customer]:
        """Following customers in follow order."""
        return [c for c in self.customers.values() if c.following]

    def add_tag(self, name: str) -> int:
        """Create a tag (no checks) and return its id."""
        tag_id = self.next_tag_id
        self.next_tag_id += 1
        self.tags[tag_id] = name
        return tag_id

    def tagged(self, tag_id: int) -> list[Customer]:
        """Following customers carrying a tag, in follow order."""
        return [c for c in self.followers() if tag_id in c.tagid_list]

    def live_qr(self, scene: str, now: float) -> QrCode | None:
        """The newest live QR code carrying `scene`."""
        found = [q for q in self.qrcodes.values() if q.scene == scene and q.alive(now)]
        return max(found, key=lambda q: q.created_at) if found else None


class FakePlatform:
    """The whole fake: accounts, tokens, recorded calls, faults and background work."""

    def __init__(
        self,
        accounts: Sequence[FakeAccount],
        *,
        clock: Clock,
        callback_timeout: float,
        token_ttl: int,
        limits: Limits,
    ) -> None:
        names = [a.name for a in accounts]
        if len(set(names)) != len(names) or len({a.app_id for a in accounts}) != len(names):
            raise ValueError("account names and app ids must be unique")
        self.clock = clock
        self.limits = limits
        self.callback_timeout = callback_timeout
        self.tokens = TokenStore(clock, token_ttl)
        self.calls: list[ApiCall] = []
        self._accounts = {a.name: a for a in accounts}
        self._states = {a.name: AccountState(a, limits) for a in accounts}
        self._faults: dict[str, deque[Fault]] = {}
        self._msg_id = 6_054_768_590_064_713_728
        self._tasks: set[asyncio.Task[None]] = set()
        self.background_errors: list[str] = []
        """Failures of background work (a healthy run leaves this empty)."""
        self._session: aiohttp.ClientSession | None = None

    # accounts and customers

    @property
    def accounts(self) -> list[FakeAccount]:
        """The configured accounts."""
        return list(self._accounts.values())

    def state(self, account: str) -> AccountState:
        """State of an account by name (ActionRejected 404 when unknown)."""
        try:
            return self._states[account]
        except KeyError:
            raise ActionRejected(404, f"unknown account {account!r}") from None

    def states(self) -> list[AccountState]:
        """State of every account."""
        return list(self._states.values())

    def by_app_id(self, app_id: str) -> AccountState | None:
        """State of the account with this app id."""
        return next((s for s in self._states.values() if s.account.app_id == app_id), None)

    def timeline(self, account: str, openid: str) -> list[TimelineEntry]:
        """A copy of everything one customer did and saw."""
        return self.state(account).timeline(openid).after(0)

    def add_follower(
        self,
        account: str,
        openid: str | None = None,
        *,
        tags: Iterable[int] = (),
        wxname: str | None = None,
    ) -> str:
        """Seed a following customer silently (no callback, no CS allowance)."""
        state = self.state(account)
        openid = openid or new_openid()
        customer = state.customers.setdefault(openid, Customer(openid))
        customer.following = True
        customer.subscribe_time = int(self.clock.now())
        customer.tagid_list = list(tags)
        customer.wxname = wxname
        return openid

    def add_tag(self, account: str, name: str) -> int:
        """Seed a tag as given (no validation) and return its id (100, 101, ...)."""
        return self.state(account).add_tag(name)

    def add_media(
        self,
        account: str,
        kind: MediaKind,
        data: bytes = b"",
        *,
        permanent: bool = True,
        articles: list[dict[str, Any]] | None = None,
    ) -> str:
        """Seed a medium (a legacy "news" material takes `articles`) and return its media_id."""
        media_id = new_media_id(permanent)
        fmt = sniff(data) or ""
        self.state(account).media.add(
            Media(
                media_id,
                kind,
                data,
                fmt=fmt,
                filename=f"{media_id}.{fmt or 'bin'}",
                created_at=self.clock.now(),
                permanent=permanent,
                articles=articles or [],
            )
        )
        return media_id

    def add_draft(self, account: str, articles: list[dict[str, Any]]) -> str:
        """Seed a draft as given (no validation) and return its media_id for mpnews sends."""
        now = self.clock.now()
        draft = Draft(new_media_id(True), [dict(a) for a in articles], now, now)
        return self.state(account).drafts.add(draft).media_id

    def next_msg_id(self) -> int:
        """A unique, increasing 64-bit message id."""
        self._msg_id += 1
        return self._msg_id

    # tokens, faults, calls

    def revoke_tokens(self, account: str) -> int:
        """Make every token of the account invalid (40001), as if another party refreshed."""
        self.state(account)
        return self.tokens.revoke(account)

    def expire_tokens(self, account: str) -> int:
        """Make every token of the account expire now (42001)."""
        self.state(account)
        return self.tokens.expire(account)

    def inject_fault(
        self, path: str, *, errcode: int | None = None, times: int = 1, delay: float = 0.0
    ) -> None:
        """Make the next `times` calls to `path` sleep `delay` s and/or answer `errcode`."""
        if not path.startswith("/"):
            raise ValueError("path must start with '/', e.g. /cgi-bin/message/custom/send")
        if times < 1 or delay < 0:
            raise ValueError("times must be >= 1 and delay >= 0")
        if errcode in (None, 0) and delay == 0:
            raise ValueError("give a non-zero errcode, a delay, or both")
        self._faults.setdefault(path, deque()).append(Fault(errcode, delay, times))

    def take_fault(self, path: str) -> Fault | None:
        """Consume one use of the oldest fault programmed for `path`."""
        queue = self._faults.get(path)
        if not queue:
            return None
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            queue.popleft()
        return fault

    def record(self, call: ApiCall) -> None:
        """Append a call with the next seq."""
        call["seq"] = len(self.calls) + 1
        self.calls.append(call)

    def calls_to(self, path: str | None = None, account: str | None = None) -> list[ApiCall]:
        """Recorded calls, optionally filtered by path and account."""
        return [
            c for c in self.calls if path in (None, c["path"]) and account in (None, c["account"])
        ]

    def reset(self) -> None:
        """Forget all platform state (the clock is left as it is)."""
        self.tokens.clear()
        self.calls.clear()
        self._faults.clear()
        self._states = {a.name: AccountState(a, self.limits) for a in self._accounts.values()}

    # lifecycle

    @property
    def session(self) -> aiohttp.ClientSession:
        """HTTP session for callbacks; exists while the fake app runs."""
        if self._session is None:
            raise RuntimeError("the fake app is not running: start it before sending callbacks")
        return self._session

    def start(self, session: aiohttp.ClientSession) -> None:
        """Attach the callback session (app start-up)."""
        self._session = session

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run background work (e.g. MASSSENDJOBFINISH pushes) owned by the app."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.background_errors.append(repr(task.exception()))

    async def drain(self) -> None:
        """Wait for background work to finish."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self) -> None:
        """Cancel background work and detach the session (app clean-up)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._session = None


def new_openid() -> str:
    """A realistic 28-character OpenID."""
    return "o" + secrets.token_urlsafe(20)[:27]


def new_media_id(permanent: bool) -> str:
    """A media_id shaped like the platform's (temporary ones are longer)."""
    return secrets.token_urlsafe(48 if not permanent else 32)
