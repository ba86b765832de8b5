"""What the fake holds for web pages: JS-SDK tickets, their hourly quotas, and OAuth sign-ins
and codes.

- The corp ticket (``get_jsapi_ticket``, for ``wx.config``) is one per corp; the app ticket
  (``ticket/get?type=agent_config``, for ``wx.agentConfig``) one per app. Like access tokens, a
  ticket is handed out again while it is valid (``expires_in`` counting down) and replaced
  once it has run out.
- Fetches are limited per sliding hour: a corp's ticket 400 times per corp and 100 times per
  app, an app's ticket 100 times per app; beyond, errcode 45009.
- OAuth: tests sign a person in on an app (a member, or someone outside the corp who only has
  an openid); the authorize page then issues a code for that person, good for one use within
  5 minutes and only with the token of the same app; anything else is errcode 40029.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from typing import Final, TypedDict

from channels.wechat.sandbox.clock import Clock

from .apps import FakeWecomApp
from .errors import WecomApiError
from .limits import RateWindow

TICKET_TTL: Final = 7200
CODE_TTL: Final = 300
CORP_TICKETS_PER_HOUR: Final = 400
APP_TICKETS_PER_HOUR: Final = 100
HOUR: Final = 3600.0


@dataclass
class Ticket:
    """One jsapi ticket and when it runs out."""

    value: str
    expires_at: float

    def expires_in(self, now: float) -> int:
        """Whole seconds of validity left."""
        return max(0, math.ceil(self.expires_at - now))


@dataclass(frozen=True)
class Identity:
    """Who a browser belongs to: a member (``userid``) or someone outside the corp
    (``openid``)."""

    userid: str | None = None
    openid: str | None = None


@dataclass
class OAuthCode:
    """A code the authorize page issued."""

    app: str
    identity: Identity
    expires_at: float
    used: bool = False


class TicketView(TypedDict):
    """An app's current tickets (None when there is no live one) and its successful fetches."""

    corp_ticket: str | None
    agent_ticket: str | None
    corp_fetches: int
    agent_fetches: int


class JssdkState:
    """Tickets, quotas, signed-in people and OAuth codes of every app of the fake."""

    def __init__(
        self,
        clock: Clock,
        *,
        ticket_ttl: int = TICKET_TTL,
        code_ttl: int = CODE_TTL,
        corp_per_hour: int = CORP_TICKETS_PER_HOUR,
        app_per_hour: int = APP_TICKETS_PER_HOUR,
    ) -> None:
        self._clock = clock
        self._ticket_ttl = ticket_ttl
        self._code_ttl = code_ttl
        self._corp_per_hour = corp_per_hour
        self._app_per_hour = app_per_hour
        self._corp_tickets: dict[str, Ticket] = {}  # by corp id
        self._agent_tickets: dict[str, Ticket] = {}  # by app name
        self._corp_windows: dict[str, RateWindow] = {}  # corp ticket fetches by corp id
        self._app_windows: dict[tuple[str, bool], RateWindow] = {}  # by (app, agent)
        self._fetches: dict[tuple[str, bool], int] = {}  # successful fetches by (app, agent)
        self._signed_in: dict[str, Identity] = {}  # by app name
        self._openids: dict[tuple[str, str], str] = {}  # by (corp id, lower-cased name)
        self._codes: dict[str, OAuthCode] = {}

    # tickets

    def fetch(self, app: FakeWecomApp, *, agent: bool) -> Ticket:
        """A fetch by ``app`` of the corp ticket (or, when ``agent``, of its own ticket);
        45009 once the hourly quota is used up."""
        now = self._clock.now()
        windows = [
            self._app_windows.setdefault((app.name, agent), RateWindow(self._app_per_hour, HOUR))
        ]
        if not agent:
            windows.append(
                self._corp_windows.setdefault(app.corp_id, RateWindow(self._corp_per_hour, HOUR))
            )
        if not all(w.allows(now) for w in windows):
            quota = "app ticket, 100 per app" if agent else "corp ticket, 400 per corp, 100 per app"
            raise WecomApiError(45009, f"hourly quota of the {quota} used up")
        for window in windows:
            window.record(now)
        tickets, key = self._tickets(app, agent=agent)
        ticket = tickets.get(key)
        if ticket is None or now >= ticket.expires_at:
            ticket = Ticket(secrets.token_urlsafe(64), now + self._ticket_ttl)
            tickets[key] = ticket
        self._fetches[(app.name, agent)] = self._fetches.get((app.name, agent), 0) + 1
        return ticket

    def current(self, app: FakeWecomApp, *, agent: bool) -> Ticket | None:
        """The live corp (or app) ticket, if one was fetched and has not run out."""
        tickets, key = self._tickets(app, agent=agent)
        ticket = tickets.get(key)
        if ticket is None or self._clock.now() >= ticket.expires_at:
            return None
        return ticket

    def view(self, app: FakeWecomApp) -> TicketView:
        """The app's current tickets and fetch counts."""
        corp, own = self.current(app, agent=False), self.current(app, agent=True)
        return {
            "corp_ticket": corp.value if corp else None,
            "agent_ticket": own.value if own else None,
            "corp_fetches": self._fetches.get((app.name, False), 0),
            "agent_fetches": self._fetches.get((app.name, True), 0),
        }

    def expire(self, app: FakeWecomApp) -> int:
        """Let the app's corp ticket and its own ticket run out now; how many were live."""
        now = self._clock.now()
        expired = 0
        for agent in (False, True):
            ticket = self.current(app, agent=agent)
            if ticket is not None:
                ticket.expires_at = now
                expired += 1
        return expired

    def check_signature(
        self,
        app: FakeWecomApp,
        *,
        agent: bool,
        url: str,
        noncestr: str,
        timestamp: int | str,
        signature: str,
    ) -> bool:
        """Whether ``signature`` signs the page ``url`` with the live corp (or app) ticket."""
        ticket = self.current(app, agent=agent)
        if ticket is None:
            return False
        page = url.split("#", 1)[0]
        plain = f"jsapi_ticket={ticket.value}&noncestr={noncestr}&timestamp={timestamp}&url={page}"
        expected = hashlib.sha1(plain.encode(), usedforsecurity=False).hexdigest()
        return secrets.compare_digest(expected, signature.lower())

    def _tickets(self, app: FakeWecomApp, *, agent: bool) -> tuple[dict[str, Ticket], str]:
        return (self._agent_tickets, app.name) if agent else (self._corp_tickets, app.corp_id)

    # OAuth

    def sign_in(self, app: FakeWecomApp, identity: Identity) -> None:
        """``identity`` is who opens the app's pages from now on."""
        self._signed_in[app.name] = identity

    def sign_out(self, app: FakeWecomApp) -> None:
        """Nobody is signed in on the app any more."""
        self._signed_in.pop(app.name, None)

    def outsider(self, app: FakeWecomApp, name: str) -> Identity:
        """Someone outside the corp, known by the same openid each time."""
        key = (app.corp_id, name.lower())
        openid = self._openids.setdefault(key, "wo" + secrets.token_urlsafe(21))
        return Identity(openid=openid)

    def issue_code(self, app: FakeWecomApp) -> str | None:
        """A new code for whoever is signed in on the app; None when nobody is."""
        identity = self._signed_in.get(app.name)
        if identity is None:
            return None
        now = self._clock.now()
        for value in [v for v, c in self._codes.items() if c.used or now >= c.expires_at]:
            del self._codes[value]
        code = secrets.token_urlsafe(24)
        self._codes[code] = OAuthCode(app.name, identity, now + self._code_ttl)
        return code

    def redeem(self, app: FakeWecomApp, code: str) -> Identity:
        """Who a code belongs to, using it up; 40029 when unknown, used, expired or issued for
        another app."""
        entry = self._codes.get(code)
        if entry is None or entry.app != app.name:
            raise WecomApiError(40029, "unknown code")
        if entry.used:
            raise WecomApiError(40029, "code already used")
        if self._clock.now() >= entry.expires_at:
            raise WecomApiError(40029, "code expired")
        entry.used = True
        return entry.identity
