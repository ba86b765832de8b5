"""In-memory state of the fake WeCom: apps, corp directories, media, tokens, calls, faults."""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict

import aiohttp

from channels.wechat.sandbox.clock import Clock
from channels.wechat.sandbox.errors import ActionRejected

from .apps import FakeWecomApp
from .contacts import CorpContacts, ExternalContact
from .groups import CorpGroups, CustomerGroup, GroupMsgTask
from .jssdk import Identity, JssdkState, TicketView
from .limits import RateWindow, WecomLimits
from .media import WecomMediaStore
from .timeline import MemberTimeline, TimelineEntry
from .tokens import WecomTokenStore

if TYPE_CHECKING:
    from .contact_control import ContactControl, ContactOutcome
    from .group_control import GroupControl, GroupOutcome
    from .join_control import JoinControl, JoinOutcome
    from .join_ways import JoinWay
    from .member import FakeMember

USERID: re.Pattern[str] = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
"""A valid WeCom userid: 1-64 letters, digits, '-', '_', '.' (and '@' of e-mail style ids)."""


class ApiCall(TypedDict):
    """One /cgi-bin call, recorded on arrival (access_token and corpsecret shown as "***").

    `status` is 0 and `errcode`/`response` None until the fake has answered.
    """

    seq: int
    time: float
    app: str | None
    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int
    errcode: int | None
    response: Any


class SendRecord(TypedDict):
    """One accepted message/send and what became of each recipient."""

    msgid: str
    time: float
    msgtype: str
    delivered: list[str]
    dropped: list[str]
    """Recipients over the per-member rate: silently not delivered."""
    duplicate: bool
    """Identical to a send within duplicate_check_interval: delivered to nobody."""
    invaliduser: list[str]
    truncated: bool


@dataclass
class Fault:
    """A programmed misbehaviour for the next `remaining` calls to one path."""

    errcode: int | None
    http_status: int | None
    hang: float
    remaining: int


@dataclass
class DirectoryMember:
    """A member of a corp's address book (通讯录)."""

    userid: str
    name: str


@dataclass
class CorpState:
    """What a corp holds across its apps: the directory, temporary media, customer groups and
    the group mass-message tasks."""

    corp_id: str
    media: WecomMediaStore
    directory: dict[str, DirectoryMember] = field(default_factory=dict)
    """By lower-cased userid (WeCom userids are case-insensitive)."""
    groups: CorpGroups = field(default_factory=CorpGroups)
    contacts: CorpContacts = field(default_factory=CorpContacts)

    def find(self, userid: str) -> DirectoryMember | None:
        """A member by userid, ignoring case."""
        return self.directory.get(userid.lower())


@dataclass
class DuplicateGuard:
    """A message/send body remembered for enable_duplicate_check."""

    msgid: str
    until: float


class AppState:
    """Everything the platform holds for one app."""

    def __init__(self, app: FakeWecomApp, corp: CorpState, limits: WecomLimits) -> None:
        self.app = app
        self.corp = corp
        self.limits = limits
        self.timelines: dict[str, MemberTimeline] = {}
        self.rates: dict[str, tuple[RateWindow, RateWindow]] = {}
        self.recent: dict[str, DuplicateGuard] = {}
        self.sends: list[SendRecord] = []
        self.event_times: dict[str, int] = {}

    def timeline(self, userid: str) -> MemberTimeline:
        """The member's timeline with this app, created on first use."""
        return self.timelines.setdefault(userid.lower(), MemberTimeline())

    def rate_allows(self, userid: str, now: float) -> bool:
        """Count one message to the member if within 30/minute and 1000/hour."""
        minute, hour = self.rates.setdefault(
            userid.lower(),
            (
                RateWindow(self.limits.member_per_minute, 60.0),
                RateWindow(self.limits.member_per_hour, 3600.0),
            ),
        )
        if not (minute.allows(now) and hour.allows(now)):
            return False
        minute.record(now)
        hour.record(now)
        return True


class FakeWecom:
    """The whole fake: apps, corps, tokens, recorded calls, faults and the callback session."""

    def __init__(
        self,
        apps: Sequence[FakeWecomApp],
        *,
        clock: Clock,
        callback_timeout: float,
        token_ttl: int,
        limits: WecomLimits,
    ) -> None:
        names = [a.name for a in apps]
        if len(set(names)) != len(names):
            raise ValueError("app names must be unique")
        if len({(a.corp_id, a.secret) for a in apps}) != len(apps):
            raise ValueError("each app of a corp needs its own secret")
        if len({(a.corp_id, a.agent_id) for a in apps}) != len(apps):
            raise ValueError("agent ids must be unique within a corp")
        self.clock = clock
        self.limits = limits
        self.callback_timeout = callback_timeout
        self.tokens = WecomTokenStore(clock, token_ttl)
        self.jssdk = JssdkState(clock)
        self.calls: list[ApiCall] = []
        self._apps = {a.name: a for a in apps}
        self._corps = {
            a.corp_id: CorpState(a.corp_id, WecomMediaStore(limits.media_ttl)) for a in apps
        }
        self._states = {a.name: AppState(a, self._corps[a.corp_id], limits) for a in apps}
        self._members: dict[tuple[str, str], FakeMember] = {}
        self._faults: dict[str, deque[Fault]] = {}
        self._msg_id = 7_300_000_000_000_000_000
        self.group_event_details = True
        """Whether change_external_chat member events carry the newer MemChangeList, LastMemVer
        and CurMemVer (False: only JoinScene/QuitScene and MemChangeCnt, like older payloads)."""
        self._session: aiohttp.ClientSession | None = None
        self._closing: asyncio.Event | None = None

    # apps, corps and members

    @property
    def apps(self) -> list[FakeWecomApp]:
        """The configured apps."""
        return list(self._apps.values())

    def state(self, app: str) -> AppState:
        """State of an app by name (ActionRejected 404 when unknown)."""
        try:
            return self._states[app]
        except KeyError:
            raise ActionRejected(404, f"unknown app {app!r}") from None

    def corp(self, corp_id: str) -> CorpState | None:
        """A corp by id."""
        return self._corps.get(corp_id)

    def by_secret(self, corp_id: str, secret: str) -> AppState | None:
        """The app of a corp whose secret this is."""
        return next(
            (
                s
                for s in self._states.values()
                if s.app.corp_id == corp_id and s.app.secret == secret
            ),
            None,
        )

    def member(self, app_name: str, userid: str, name: str = "") -> FakeMember:
        """The member `userid` chatting with an app; joins the corp directory on first use."""
        from .member import FakeMember

        state = self.state(app_name)
        if not USERID.fullmatch(userid):
            raise ActionRejected(400, "userid must be 1-64 of [A-Za-z0-9_.@-]")
        entry = state.corp.directory.setdefault(
            userid.lower(), DirectoryMember(userid, name or userid)
        )
        if name:
            entry.name = name
        key = (app_name, userid.lower())
        if key not in self._members:
            self._members[key] = FakeMember(self, state, entry.userid)
        return self._members[key]

    def timeline(self, app: str, userid: str) -> list[TimelineEntry]:
        """A copy of everything one member saw from one app."""
        return self.state(app).timeline(userid).after(0)

    def next_msg_id(self) -> int:
        """A unique, increasing 64-bit MsgId."""
        self._msg_id += 1
        return self._msg_id

    # customer groups and group mass-message tasks (§4.8, §4.10, §4.11)

    def _groups(self, app: str) -> GroupControl:
        from .group_control import GroupControl

        return GroupControl(self, self.state(app))

    async def create_group(
        self,
        app: str,
        owner: str,
        name: str = "",
        members: Sequence[str] = (),
        *,
        admins: Sequence[str] = (),
        created_at: float | None = None,
        notify: bool = True,
    ) -> GroupOutcome:
        """A customer group of the app's corp owned by `owner` (a member, joining the directory
        on first use) with `members`: userids of members and external userids ("wm..."), all
        invited directly by the owner. `created_at` (platform time, default now) may lie in the
        past. Sends ChangeType create to the app unless `notify` is False."""
        return await self._groups(app).create(owner, name, members, admins, created_at, notify)

    def create_groups(
        self,
        app: str,
        owners: Sequence[str],
        count: int,
        *,
        members_per_group: int = 0,
        created_at: float | None = None,
    ) -> list[str]:
        """`count` groups at once, owned in turn by `owners`, each with `members_per_group` new
        external members; no callbacks. Their chat ids, oldest first."""
        return self._groups(app).create_many(owners, count, members_per_group, created_at)

    def group(self, app: str, chat_id: str) -> CustomerGroup:
        """A group of the app's corp, dismissed ones included (ActionRejected 404 if unknown)."""
        group = self.state(app).corp.groups.by_id.get(chat_id)
        if group is None:
            raise ActionRejected(404, f"no customer group {chat_id!r} in this corp")
        return group

    async def add_group_members(
        self,
        app: str,
        chat_id: str,
        userids: Sequence[str],
        *,
        scene: int = 1,
        invitor: str | None = None,
        state: str = "",
        notify: bool = True,
    ) -> GroupOutcome:
        """Members join a group. `scene` is the join_scene groupchat/get shows: 1 invited
        directly, 2 by invite link (the event says JoinScene 0 for both; invitor defaults to the
        owner), 3 scanned the group QR (JoinScene 3; only below the QR cap). `state` is the
        join-way state they came with. Sends update/add_member."""
        return await self._groups(app).add_members(chat_id, userids, scene, invitor, state, notify)

    async def remove_group_members(
        self,
        app: str,
        chat_id: str,
        userids: Sequence[str],
        *,
        quit_scene: int = 0,
        notify: bool = True,
    ) -> GroupOutcome:
        """Members leave (`quit_scene` 0) or are removed (1); never the owner. Sends
        update/del_member."""
        return await self._groups(app).remove_members(chat_id, userids, quit_scene, notify)

    async def rename_group(
        self, app: str, chat_id: str, name: str, *, notify: bool = True
    ) -> GroupOutcome:
        """A new group name. Sends update/change_name."""
        return await self._groups(app).rename(chat_id, name, notify)

    async def change_group_notice(
        self, app: str, chat_id: str, notice: str, *, notify: bool = True
    ) -> GroupOutcome:
        """A new group notice. Sends update/change_notice."""
        return await self._groups(app).change_notice(chat_id, notice, notify)

    async def change_group_owner(
        self, app: str, chat_id: str, owner: str, *, notify: bool = True
    ) -> GroupOutcome:
        """Another member owns the group (joining it if needed). Sends update/change_owner."""
        return await self._groups(app).change_owner(chat_id, owner, notify)

    async def dismiss_group(self, app: str, chat_id: str, *, notify: bool = True) -> GroupOutcome:
        """The owner dismisses the group. Sends ChangeType dismiss."""
        return await self._groups(app).dismiss(chat_id, notify)

    def set_group_status(self, app: str, chat_id: str, status: int) -> None:
        """The group's handover status 0-3 (no event: the platform sends none for it)."""
        self._groups(app).set_status(chat_id, status)

    def group_tasks(self, app: str) -> list[GroupMsgTask]:
        """The group mass-message tasks the app created, oldest first."""
        return [t for t in self.state(app).corp.groups.tasks.values() if t.app == app]

    def confirm_group_task(self, app: str, userid: str, msgid: str) -> GroupMsgTask:
        """The sender `userid` sends task `msgid` from the client: the groups get it within
        their receive caps (result status 1, or 3 at the cap). ActionRejected when the task is
        unknown in the corp (404), `userid` is not its sender (403) or it was sent (409)."""
        return self._groups(app).confirm(userid, msgid)

    # customer contact: contact ways, external contacts, welcome codes (§4.4-4.7)

    def _contacts(self, app: str) -> ContactControl:
        from .contact_control import ContactControl

        return ContactControl(self, self.state(app))

    async def scan_contact_way(
        self,
        app: str,
        config_id: str,
        *,
        name: str = "",
        userid: str | None = None,
        welcome: bool = True,
        notify: bool = True,
    ) -> ContactOutcome:
        """A new WeChat customer called `name` scans contact way `config_id` and adds one of
        its members: `userid`, or for a multi-member code the members take turns. The fake
        creates the external contact and sends change_external_contact / add_external_contact
        with State and, when `welcome` (False: the customer already chatted or the admin
        configured a welcome), a WelcomeCode."""
        return await self._contacts(app).scan(config_id, name, userid, welcome, notify)

    async def delete_external_contact(
        self, app: str, userid: str, external_userid: str, *, source: str = "", notify: bool = True
    ) -> ContactOutcome:
        """The member `userid` deletes the customer (del_external_contact, with `source`)."""
        return await self._contacts(app).drop(
            userid, external_userid, "del_external_contact", source, notify
        )

    async def delete_follow_user(
        self, app: str, userid: str, external_userid: str, *, notify: bool = True
    ) -> ContactOutcome:
        """The customer deletes the member `userid` (del_follow_user)."""
        return await self._contacts(app).drop(
            userid, external_userid, "del_follow_user", "", notify
        )

    def external_contact(self, app: str, external_userid: str) -> ExternalContact:
        """A customer of the app's corp (ActionRejected 404 if unknown); its `received` list
        holds the welcome messages it got."""
        found = self.state(app).corp.contacts.external(external_userid)
        if found is None:
            raise ActionRejected(404, f"no external contact {external_userid!r} in this corp")
        return found

    # join ways 「加入群聊」 (§4.9)

    def _joins(self, app: str) -> JoinControl:
        from .join_control import JoinControl

        return JoinControl(self, self.state(app))

    async def scan_join_way(
        self,
        app: str,
        config_id: str,
        external_userid: str | None = None,
        name: str | None = None,
        notify: bool = True,
    ) -> JoinOutcome:
        """A customer (`external_userid`, default a new one, called `name`) scans the QR code
        of join way `config_id` and joins the first listed group below the QR cap, with
        JoinScene 3 and the way's state; when all are full a group is auto-created (its create
        callback first) or, without auto_create_room, ActionRejected 409. Sends
        update/add_member to `app`."""
        return await self._joins(app).scan(config_id, external_userid, name, notify)

    def join_way(self, app: str, config_id: str) -> JoinWay:
        """A join way of the app's corp (ActionRejected 404 if unknown or deleted)."""
        return self._joins(app).way(config_id)

    # web pages: OAuth sign-in and JS-SDK tickets

    def sign_in(self, app: str, userid: str, *, member: bool = True) -> None:
        """``userid`` is who opens the app's web pages from now on: the OAuth page issues codes
        for them. A member joins the corp directory; with ``member=False`` it is someone outside
        the corp, whose code gives an openid and no userid."""
        state = self.state(app)
        if not USERID.fullmatch(userid):
            raise ActionRejected(400, "userid must be 1-64 of [A-Za-z0-9_.@-]")
        if member:
            identity = Identity(userid=self.member(app, userid).userid)
        else:
            identity = self.jssdk.outsider(state.app, userid)
        self.jssdk.sign_in(state.app, identity)

    def sign_out(self, app: str) -> None:
        """Nobody is signed in on the app: the OAuth page answers 403."""
        self.jssdk.sign_out(self.state(app).app)

    def tickets(self, app: str) -> TicketView:
        """The app's live corp and app tickets (None when none) and how often it fetched each."""
        return self.jssdk.view(self.state(app).app)

    def expire_tickets(self, app: str) -> int:
        """Let the app's corp ticket and app ticket run out now; how many were live."""
        return self.jssdk.expire(self.state(app).app)

    def check_js_signature(
        self,
        app: str,
        *,
        agent: bool,
        url: str,
        noncestr: str,
        timestamp: int | str,
        signature: str,
    ) -> bool:
        """Whether a page at ``url`` was signed right: with the live corp ticket of the app's
        corp (``wx.config``) or, when ``agent``, the app's own ticket (``wx.agentConfig``)."""
        return self.jssdk.check_signature(
            self.state(app).app,
            agent=agent,
            url=url,
            noncestr=noncestr,
            timestamp=timestamp,
            signature=signature,
        )

    # tokens, faults, calls

    def expire_tokens(self, app: str) -> int:
        """Make the app's tokens expire now (42001)."""
        self.state(app)
        return self.tokens.expire(app)

    def inject_fault(
        self,
        path: str,
        *,
        errcode: int | None = None,
        http_status: int | None = None,
        hang: float = 0.0,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls to `path` misbehave.

        `path` is the API path after the base URL, e.g. "/cgi-bin/message/send" (a mount prefix
        such as "/wecom" is ignored). `hang` seconds of waiting come first; then the call answers
        `errcode` (HTTP 200 JSON) or `http_status` (e.g. 500), or runs normally if neither.
        """
        if times < 1 or hang < 0:
            raise ValueError("times must be >= 1 and hang >= 0")
        if errcode is not None and http_status is not None:
            raise ValueError("give errcode or http_status, not both")
        if errcode in (None, 0) and http_status is None and hang == 0:
            raise ValueError("give a non-zero errcode, an http_status or a hang")
        if http_status is not None and not 400 <= http_status <= 599:
            raise ValueError("http_status must be 400-599")
        key = api_path(path)
        self._faults.setdefault(key, deque()).append(Fault(errcode, http_status, hang, times))

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

    def calls_to(self, path: str | None = None, app: str | None = None) -> list[ApiCall]:
        """Recorded calls, optionally filtered by API path and app."""
        wanted = api_path(path) if path else None
        return [c for c in self.calls if wanted in (None, c["path"]) and app in (None, c["app"])]

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
        self._closing = asyncio.Event()

    def release_hangs(self) -> None:
        """End every hanging call now (app shutdown)."""
        if self._closing is not None:
            self._closing.set()

    async def hang(self, seconds: float) -> bool:
        """Wait `seconds` of real time; False if the app shut down meanwhile."""
        closing = self._closing or asyncio.Event()
        try:
            async with asyncio.timeout(seconds):
                await closing.wait()
        except TimeoutError:
            return True
        return False

    def close(self) -> None:
        """Detach the session (app clean-up)."""
        self.release_hangs()
        self._session = None


def api_path(path: str) -> str:
    """The API path after the base URL: "/wecom/cgi-bin/x" and "/cgi-bin/x" give "/cgi-bin/x"."""
    for marker in ("/cgi-bin/", "/connect/", "/sandbox/"):
        index = path.find(marker)
        if index >= 0:
            return path[index:]
    return path
