"""The member side: send callbacks as WeCom does, read passive replies, verify the URL."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Final

import aiohttp

from channels.wechat.sandbox.callbacks import ReplyError
from channels.wechat.sandbox.errors import ActionRejected
from channels.wechat.sandbox.media import sniff

from .apps import FakeWecomApp
from .callbacks import (
    build_wecom_callback,
    build_wecom_verification,
    decode_wecom_reply,
    new_nonce,
    wecom_event_xml,
    wecom_image_xml,
    wecom_text_xml,
)
from .state import AppState, FakeWecom
from .timeline import TimelineEntry

ATTEMPTS: Final = 3
VERIFY_DEADLINE: Final = 1.0
"""WeCom wants the echo of a URL verification within 1 second."""


@dataclass(frozen=True)
class Outcome:
    """What happened to one member action: each attempt's HTTP status and the errors seen.

    `statuses` holds one entry per attempt (None when no HTTP answer came). `delivered` is
    True once an attempt answered 200. `reply` is a decoded passive reply, if one came back.
    """

    attempts: int
    statuses: tuple[int | None, ...]
    errors: tuple[str, ...]
    delivered: bool
    msg_id: int | None
    reply: dict[str, Any] | None
    seq: int
    """The member's newest timeline seq after the action."""

    def as_json(self) -> dict[str, Any]:
        """The control-route answer."""
        return {
            "attempts": self.attempts,
            "statuses": list(self.statuses),
            "errors": list(self.errors),
            "delivered": self.delivered,
            "msg_id": self.msg_id,
            "reply": self.reply,
            "seq": self.seq,
        }


@dataclass(frozen=True)
class Delivery:
    """The wire side of one callback: statuses per attempt, errors, the 200 answer's body."""

    statuses: tuple[int | None, ...]
    errors: tuple[str, ...]
    body: bytes | None


async def post_callback(wecom: FakeWecom, app: FakeWecomApp, inner_xml: str) -> Delivery:
    """POST a callback; on timeout, connection error or non-200 resend it identically (3 in all)."""
    query, body = build_wecom_callback(
        app, inner_xml, timestamp=str(int(wecom.clock.now())), nonce=new_nonce()
    )
    timeout = aiohttp.ClientTimeout(total=wecom.callback_timeout)
    statuses: list[int | None] = []
    errors: list[str] = []
    for attempt in range(1, ATTEMPTS + 1):
        try:
            async with wecom.session.post(
                app.callback_url,
                params=query,
                data=body,
                headers={"Content-Type": "text/xml"},
                timeout=timeout,
            ) as resp:
                answer = await resp.read()
            statuses.append(resp.status)
            if resp.status == 200:
                return Delivery(tuple(statuses), tuple(errors), answer)
            errors.append(f"attempt {attempt}: HTTP {resp.status}")
        except TimeoutError:
            statuses.append(None)
            errors.append(f"attempt {attempt}: no answer within {wecom.callback_timeout} s")
        except aiohttp.ClientError as exc:
            statuses.append(None)
            errors.append(f"attempt {attempt}: connection failed: {exc.__class__.__name__}")
    return Delivery(tuple(statuses), tuple(errors), None)


async def verify_callback_url(wecom: FakeWecom, app: FakeWecomApp) -> dict[str, Any]:
    """The GET URL verification of §4.2: the bot must answer the decrypted echo, nothing else."""
    echo = str(secrets.randbelow(10**19))
    query = build_wecom_verification(
        app, echo, timestamp=str(int(wecom.clock.now())), nonce=new_nonce()
    )
    timeout = aiohttp.ClientTimeout(total=min(wecom.callback_timeout, VERIFY_DEADLINE))
    try:
        async with wecom.session.get(app.callback_url, params=query, timeout=timeout) as resp:
            answer = await resp.read()
    except (TimeoutError, aiohttp.ClientError) as exc:
        return {"ok": False, "status": None, "detail": f"no answer: {exc.__class__.__name__}"}
    ok = resp.status == 200 and answer == echo.encode()
    detail = None if ok else f"expected exactly {echo!r}, got HTTP {resp.status} {answer[:80]!r}"
    return {"ok": ok, "status": resp.status, "detail": detail}


def seen_reply(state: AppState, reply: dict[str, Any], now: float) -> tuple[str, dict[str, Any]]:
    """A passive reply as the member sees it: (kind, timeline fields)."""
    kind = str(reply["MsgType"])
    if kind == "text":
        return kind, {"content": reply["Content"]}
    if kind in ("image", "voice", "video"):
        media_id = reply[kind.capitalize()]["MediaId"]
        media = state.corp.media.items.get(media_id)
        if media is not None and now < media.created_at + state.corp.media.ttl:
            return kind, media.describe()
        return kind, {"media_id": media_id, "unknown_media": True}
    if kind == "news":
        articles = [{k.lower(): v for k, v in a.items()} for a in reply["Articles"]]
        return kind, {"articles": articles}
    return kind, {k: v for k, v in reply.items() if k not in ("ToUserName", "FromUserName")}


class FakeMember:
    """A staff member of the corp chatting with one app (get one with `FakeWecom.member`)."""

    def __init__(self, wecom: FakeWecom, state: AppState, userid: str) -> None:
        self.wecom = wecom
        self.state = state
        self.userid = userid

    @property
    def app(self) -> FakeWecomApp:
        """The app this member chats with."""
        return self.state.app

    @property
    def timeline(self) -> list[TimelineEntry]:
        """Copies of what the member saw from the app, oldest first."""
        return self.state.timeline(self.userid).after(0)

    async def say(self, text: str) -> Outcome:
        """Send a text message to the app."""
        if not text:
            raise ActionRejected(400, "a text message needs some text")
        msg_id = self.wecom.next_msg_id()
        xml = wecom_text_xml(self.app, self.userid, text, msg_id, self._now())
        return await self._act(xml, msg_id)

    async def send_image(self, data: bytes) -> Outcome:
        """Send a photo (PNG or JPEG); it becomes a medium the bot can fetch with media/get."""
        fmt = sniff(data)
        if fmt not in ("png", "jpeg"):
            raise ActionRejected(400, "the image must be PNG or JPEG")
        if len(data) > self.state.limits.image_bytes:
            raise ActionRejected(400, f"the image is larger than {self.state.limits.image_bytes}")
        media = self.state.corp.media.add(
            "image", data, fmt, f"photo.{'jpg' if fmt == 'jpeg' else 'png'}", self.wecom.clock.now()
        )
        msg_id = self.wecom.next_msg_id()
        pic_url = f"https://wework.qpic.cn/wwpic/{media.media_id[:24]}/0"
        xml = wecom_image_xml(self.app, self.userid, pic_url, media.media_id, msg_id, self._now())
        return await self._act(xml, msg_id)

    async def event(self, event: str, key: str = "") -> Outcome:
        """An event such as enter_agent, or click with the menu key."""
        if not event:
            raise ActionRejected(400, "name the event, e.g. enter_agent or click")
        # Events are deduplicated on FromUserName + CreateTime: keep them distinct per member.
        lower = self.userid.lower()
        created = max(self._now(), self.state.event_times.get(lower, 0) + 1)
        self.state.event_times[lower] = created
        xml = wecom_event_xml(self.app, self.userid, event, key, created)
        return await self._act(xml, None)

    async def verify_url(self) -> bool:
        """Run WeCom's GET URL verification against the app's callback URL."""
        return bool((await verify_callback_url(self.wecom, self.app))["ok"])

    async def _act(self, xml: str, msg_id: int | None) -> Outcome:
        delivery = await post_callback(self.wecom, self.app, xml)
        errors = list(delivery.errors)
        reply: dict[str, Any] | None = None
        line = self.state.timeline(self.userid)
        if delivery.body is not None:
            try:
                reply = decode_wecom_reply(self.app, delivery.body, userid=self.userid)
            except ReplyError as exc:
                errors.append(f"reply ignored: {exc}")
        if reply is not None:
            now = self.wecom.clock.now()
            kind, fields = seen_reply(self.state, reply, now)
            line.append(now, kind, "passive_reply", fields)
        return Outcome(
            attempts=len(delivery.statuses),
            statuses=delivery.statuses,
            errors=tuple(errors),
            delivered=delivery.body is not None,
            msg_id=msg_id,
            reply=reply,
            seq=line.last,
        )

    def _now(self) -> int:
        return int(self.wecom.clock.now())
