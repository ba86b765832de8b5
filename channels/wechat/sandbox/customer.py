"""The customer side: send callbacks as WeChat does, read the reply, keep the timeline."""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from typing import Any, Final, Literal

import aiohttp
import segno

from .callbacks import (
    ReplyError,
    build_callback,
    build_verification,
    decode_reply,
    event_xml,
    image_xml,
    link_xml,
    location_xml,
    scan_xml,
    subscribe_xml,
    text_xml,
    voice_xml,
)
from .errors import ActionRejected
from .limits import INTERACTION_GRANT, MESSAGE_GRANT, open_window
from .state import AccountState, Customer, FakePlatform, QrCode

UNAVAILABLE_NOTICE: Final = "该公众号暂时无法提供服务，请稍后再试"
ATTEMPTS: Final = 3
MAX_NEWS_TO_MESSAGE: Final = 1
MAX_NEWS_TO_EVENT: Final = 8
Context = Literal["message", "event"]


@dataclass(frozen=True)
class Delivery:
    """What happened on the wire: attempts made and the final answer, if any."""

    attempts: int
    status: int | None
    body: bytes | None
    failure: str | None


@dataclass(frozen=True)
class Outcome:
    """What the customer experienced after one action."""

    outcome: Literal["reply", "no_reply", "unavailable"]
    attempts: int
    reply: dict[str, Any] | None
    seq: int
    detail: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The control-route answer."""
        return {
            "outcome": self.outcome,
            "attempts": self.attempts,
            "reply": self.reply,
            "seq": self.seq,
            "detail": self.detail,
        }


async def post_callback(platform: FakePlatform, state: AccountState, inner_xml: str) -> Delivery:
    """POST one callback, retrying the identical payload on timeout, connection error or 5xx."""
    query, body = build_callback(
        state.account,
        inner_xml,
        timestamp=int(platform.clock.now()),
        nonce=str(secrets.randbelow(10**10)),
    )
    timeout = aiohttp.ClientTimeout(total=platform.callback_timeout)
    failure = ""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            async with platform.session.post(
                state.account.callback_url,
                params=query,
                data=body,
                headers={"Content-Type": "text/xml"},
                timeout=timeout,
            ) as resp:
                answer = await resp.read()
                if resp.status < 500:
                    return Delivery(attempt, resp.status, answer, None)
                failure = f"HTTP {resp.status}"
        except TimeoutError:
            failure = f"no answer within {platform.callback_timeout} s"
        except aiohttp.ClientError as exc:
            failure = f"connection failed: {exc.__class__.__name__}"
    return Delivery(ATTEMPTS, None, None, f"{ATTEMPTS} attempts failed, last: {failure}")


async def verify_url(platform: FakePlatform, state: AccountState) -> dict[str, Any]:
    """The GET URL verification of §1.2: the bot must echo `echostr` exactly."""
    echostr = str(secrets.randbelow(10**19))
    query = build_verification(
        state.account,
        timestamp=int(platform.clock.now()),
        nonce=str(secrets.randbelow(10**10)),
        echostr=echostr,
    )
    timeout = aiohttp.ClientTimeout(total=platform.callback_timeout)
    try:
        async with platform.session.get(
            state.account.callback_url, params=query, timeout=timeout
        ) as resp:
            answer = await resp.read()
    except (TimeoutError, aiohttp.ClientError) as exc:
        return {"ok": False, "status": None, "detail": f"no answer: {exc.__class__.__name__}"}
    ok = resp.status == 200 and answer == echostr.encode()
    detail = None if ok else f"expected exactly {echostr!r}, got HTTP {resp.status} {answer[:80]!r}"
    return {"ok": ok, "status": resp.status, "detail": detail}


def read_reply(
    state: AccountState, openid: str, delivery: Delivery, now: float
) -> tuple[dict[str, Any] | None, str | None]:
    """The accepted reply (None for no reply) or the reason the customer sees the notice."""
    if delivery.failure is not None:
        return None, delivery.failure
    if delivery.status != 200:
        return None, f"HTTP {delivery.status}"
    try:
        reply = decode_reply(state.account, delivery.body or b"", openid=openid)
    except ReplyError as exc:
        return None, str(exc)
    if reply is None:
        return None, None
    problem = _media_problem(state, reply, now)
    return (None, problem) if problem else (reply, None)


def _media_problem(state: AccountState, reply: dict[str, Any], now: float) -> str | None:
    kind = reply["MsgType"]
    wanted = {
        "image": ("Image", ("image",)),
        "voice": ("Voice", ("voice",)),
        "video": ("Video", ("video",)),
        "music": ("Music", ("thumb", "image")),
    }.get(kind)
    if wanted is None:
        return None
    block, kinds = wanted
    key = "ThumbMediaId" if kind == "music" else "MediaId"
    media_id = reply[block].get(key)
    if kind == "music" and not media_id:
        return None
    media = state.media.items.get(media_id) if isinstance(media_id, str) else None
    if media is None or not media.alive(now) or media.kind not in kinds:
        return f"{block}/{key} {media_id!r} is not a live uploaded {'/'.join(kinds)} of this OA"
    return None


def seen_message(reply: dict[str, Any], context: Context) -> dict[str, Any] | None:
    """The reply as the customer sees it (news cut to 1 or 8 articles), None if invisible."""
    kind = reply["MsgType"]
    if kind == "text":
        return {"type": "text", "content": reply["Content"]}
    if kind in ("image", "voice"):
        return {"type": kind, "media_id": reply[kind.capitalize()]["MediaId"]}
    if kind == "video":
        video = reply["Video"]
        return {
            "type": "video",
            "media_id": video["MediaId"],
            "title": video.get("Title", ""),
            "description": video.get("Description", ""),
        }
    if kind == "music":
        music = reply["Music"]
        return {"type": "music", **{k.lower(): v for k, v in music.items()}}
    if kind == "news":
        limit = MAX_NEWS_TO_MESSAGE if context == "message" else MAX_NEWS_TO_EVENT
        articles = [
            {
                "title": a.get("Title", ""),
                "description": a.get("Description", ""),
                "pic_url": a.get("PicUrl", ""),
                "url": a.get("Url", ""),
            }
            for a in reply["Articles"]
        ]
        return {
            "type": "news",
            "articles": articles[:limit],
            "dropped": max(0, len(articles) - limit),
        }
    return None  # transfer_customer_service: the customer sees nothing


class FakeCustomer:
    """One WeChat user of one OA; each action sends the callback and returns the Outcome."""

    def __init__(self, platform: FakePlatform, account: str, openid: str) -> None:
        self.platform = platform
        self.state = platform.state(account)
        self.openid = openid

    # actions

    async def follow(self, scene: str | None = None) -> Outcome:
        """Follow (subscribe), or SCAN when already following and a scene is given."""
        customer = self.state.customers.get(self.openid)
        if customer is not None and customer.following:
            if scene is None:
                raise ActionRejected(409, "the customer already follows this account")
            return await self.scan(scene)
        qr = self._qr(scene) if scene is not None else None
        now = self.platform.clock.now()
        customer = self.state.customers.setdefault(self.openid, Customer(self.openid))
        customer.following = True
        customer.subscribe_time = int(now)
        customer.subscribe_scene = "ADD_SCENE_QR_CODE" if qr else "ADD_SCENE_SEARCH"
        customer.qr_scene = (qr.scene_id or 0) if qr else 0
        customer.qr_scene_str = qr.scene if qr is not None and qr.scene_id is None else ""
        open_window(customer.grants, INTERACTION_GRANT, now, "follow")
        xml = subscribe_xml(
            self.state.account,
            self.openid,
            self._event_time(customer),
            scene=scene,
            ticket=qr.ticket if qr else None,
        )
        return await self._act(
            xml, {"type": "event", "event": "subscribe", "scene": scene}, "event"
        )

    async def scan(self, scene: str) -> Outcome:
        """An already-following customer scans a parametric QR code."""
        customer = self._following()
        qr = self._qr(scene)
        open_window(customer.grants, INTERACTION_GRANT, self.platform.clock.now(), "scan")
        xml = scan_xml(
            self.state.account,
            self.openid,
            self._event_time(customer),
            scene=scene,
            ticket=qr.ticket,
        )
        return await self._act(xml, {"type": "event", "event": "SCAN", "scene": scene}, "event")

    async def unfollow(self) -> Outcome:
        """Unfollow: the allowance ends and replies are no longer visible."""
        customer = self._following()
        customer.following = False
        customer.grants.clear()
        xml = event_xml(self.state.account, self.openid, "unsubscribe", self._event_time(customer))
        return await self._act(
            xml, {"type": "event", "event": "unsubscribe"}, "event", visible=False
        )

    async def text(self, content: str) -> Outcome:
        """Send a text message."""
        msg_id = self._message_grant()
        xml = text_xml(self.state.account, self.openid, content, msg_id, self._now())
        return await self._act(
            xml, {"type": "text", "content": content, "msg_id": msg_id}, "message"
        )

    async def click(self, key: str) -> Outcome:
        """Click a click-type menu button (the key must be in the published menu, if any)."""
        customer = self._following()
        menu_keys = self._menu_values("click", "key")
        if menu_keys is not None and key not in menu_keys:
            raise ActionRejected(400, f"key {key!r} is not a click button of the published menu")
        open_window(customer.grants, INTERACTION_GRANT, self.platform.clock.now(), "click")
        xml = event_xml(
            self.state.account, self.openid, "CLICK", self._event_time(customer), event_key=key
        )
        return await self._act(xml, {"type": "event", "event": "CLICK", "key": key}, "event")

    async def view(self, url: str) -> Outcome:
        """Open a view-type menu button (earns no allowance)."""
        customer = self._following()
        menu_urls = self._menu_values("view", "url")
        if menu_urls is not None and url not in menu_urls:
            raise ActionRejected(400, f"url {url!r} is not a view button of the published menu")
        xml = event_xml(
            self.state.account,
            self.openid,
            "VIEW",
            self._event_time(customer),
            event_key=url,
            extra={"MenuId": self.state.menu_id},
        )
        return await self._act(xml, {"type": "event", "event": "VIEW", "url": url}, "event")

    async def image(self, data: bytes | None = None) -> Outcome:
        """Send a photo; it becomes a temporary image media the bot can download."""
        msg_id = self._message_grant()
        media_id = self.platform.add_media(
            self.state.account.name, "image", data or _sample_png(), permanent=False
        )
        fmt = self.state.media.items[media_id].fmt or "png"
        pic_url = f"http://mmbiz.qpic.cn/mmbiz_{fmt}/{media_id[:24]}/0"
        xml = image_xml(self.state.account, self.openid, pic_url, media_id, msg_id, self._now())
        return await self._act(
            xml,
            {"type": "image", "media_id": media_id, "pic_url": pic_url, "msg_id": msg_id},
            "message",
        )

    async def voice(self, recognition: str | None = None) -> Outcome:
        """Send a voice note (AMR), optionally with speech recognition text."""
        msg_id = self._message_grant()
        media_id = self.platform.add_media(
            self.state.account.name, "voice", _SAMPLE_AMR, permanent=False
        )
        xml = voice_xml(
            self.state.account, self.openid, media_id, msg_id, self._now(), recognition=recognition
        )
        seen: dict[str, Any] = {
            "type": "voice",
            "media_id": media_id,
            "format": "amr",
            "msg_id": msg_id,
        }
        if recognition is not None:
            seen["recognition"] = recognition
        return await self._act(xml, seen, "message")

    async def location(self, lat: float, lng: float, label: str, scale: int = 15) -> Outcome:
        """Share a location."""
        msg_id = self._message_grant()
        xml = location_xml(
            self.state.account, self.openid, lat, lng, scale, label, msg_id, self._now()
        )
        return await self._act(
            xml,
            {
                "type": "location",
                "lat": lat,
                "lng": lng,
                "scale": scale,
                "label": label,
                "msg_id": msg_id,
            },
            "message",
        )

    async def link(self, title: str, description: str, url: str) -> Outcome:
        """Share a link."""
        msg_id = self._message_grant()
        xml = link_xml(
            self.state.account, self.openid, title, description, url, msg_id, self._now()
        )
        return await self._act(
            xml,
            {
                "type": "link",
                "title": title,
                "description": description,
                "url": url,
                "msg_id": msg_id,
            },
            "message",
        )

    # helpers

    async def _act(
        self, xml: str, seen_in: dict[str, Any], context: Context, *, visible: bool = True
    ) -> Outcome:
        timeline = self.state.timeline(self.openid)
        seq = timeline.append(self.platform.clock.now(), "in", "customer", seen_in)
        delivery = await post_callback(self.platform, self.state, xml)
        now = self.platform.clock.now()
        reply, problem = read_reply(self.state, self.openid, delivery, now)
        if problem is not None:
            if visible:
                seq = timeline.append(
                    now, "out", "system", {"type": "text", "content": UNAVAILABLE_NOTICE}
                )
            return Outcome("unavailable", delivery.attempts, None, seq, problem)
        if reply is None:
            return Outcome("no_reply", delivery.attempts, None, seq)
        seen = seen_message(reply, context)
        if seen is not None and visible:
            seq = timeline.append(now, "out", "passive", seen)
        return Outcome("reply", delivery.attempts, reply, seq)

    def _following(self) -> Customer:
        customer = self.state.customers.get(self.openid)
        if customer is None or not customer.following:
            raise ActionRejected(409, "the customer does not follow this account")
        return customer

    def _message_grant(self) -> int:
        customer = self._following()
        open_window(customer.grants, MESSAGE_GRANT, self.platform.clock.now(), "message")
        return self.platform.next_msg_id()

    def _now(self) -> int:
        return int(self.platform.clock.now())

    def _event_time(self, customer: Customer) -> int:
        # Events dedupe on FromUserName + CreateTime: keep them distinct per customer.
        customer.last_event_time = max(self._now(), customer.last_event_time + 1)
        return customer.last_event_time

    def _qr(self, scene: str) -> QrCode:
        qr = self.state.live_qr(scene, self.platform.clock.now())
        if qr is None:
            raise ActionRejected(404, f"no live QR code of this account carries scene {scene!r}")
        return qr

    def _menu_values(self, button_type: str, field: str) -> set[str] | None:
        if self.state.menu is None:
            return None
        values: set[str] = set()
        for button in self.state.menu["button"]:
            for leaf in button.get("sub_button") or [button]:
                if leaf.get("type") == button_type:
                    values.add(leaf[field])
        return values


_SAMPLE_AMR: Final = b"#!AMR\n" + (b"\x3c" + bytes(31)) * 50
"""One second of AMR-NB frames (12.2 kbit/s, 20 ms each), content silent."""


def _sample_png() -> bytes:
    buffer = io.BytesIO()
    segno.make("sandbox photo").save(buffer, kind="png", scale=2)
    return buffer.getvalue()
