"""The seconds after a customer adds a staff member, and the counting of customer changes
(``change_external_contact``, platform-facts.md §4.5-4.7).

An add event (``add_external_contact`` / ``add_half_external_contact``):

1. The event is stored once (its dedupe key is unique) and counted to the channel live code
   whose ``state`` it carries, with the code's lead channel and reception group. A retried
   callback finds the row and does nothing more: it never sends a second welcome. An add of
   a relation whose newest event is an add already (the full add after a half add) is not
   counted again.
2. The welcome goes first, while the welcome code lives (20 seconds, one use): the lead
   channel's welcome, else the app's default set by chat, else the settings' default; a
   template with ``{{ customer.name }}`` (the nickname, asked only when used) and
   ``{{ staff.name }}``; attachments built from materials and scripts. The outcome is stored:
   ``sent`` with the latency from the event's arrival, ``used`` (41051: already used, expired
   or the customer already chatted; not retried), ``expired`` (preparing it took longer than
   the window, so it was not tried), or ``failed`` with the reason. Busy answers (41096,
   -1, rate limits) are retried while the window lasts. A crash while sending leaves
   ``sending``: shown to admins, never resent.
3. Then, in the background, the remark (the reception group's pattern, or the settings', with
   {昵称} {渠道} {接待组}, cut to the platform's limit) and the channel's corp tags (created in the
   settings' tag group when missing). Right after an add WeCom may still answer 84061 (not
   a customer yet): tried ``followup_attempts`` times. A process that stops with follow-ups
   pending finishes them at its next start (both calls set values, so doing one twice is
   harmless).

Deletions (``del_external_contact``: the member deleted the customer; ``del_follow_user``: the
customer deleted the member) are stored once and counted to the relation's add.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.settings import CustomerSettings
from bot.wecom_content import ContentError, WecomContent
from channels.errors import (
    OutcomeUnknown,
    PlatformError,
    PlatformRejected,
    PlatformUnavailable,
    RateLimited,
)
from channels.wecom.client import (
    NOT_A_CUSTOMER,
    TAG_NAME_EXISTS,
    WELCOME_BUSY,
    WELCOME_CODE_USED,
    WecomClient,
)
from channels.wecom.decode import ContactChange
from handlers.customers import remark_text
from scripts_library.model import context, render_source
from storage import contacts_repo as repo
from storage.contacts_repo import ContactEvent
from storage.models import utcnow

log = logging.getLogger(__name__)

ADDS: Final = frozenset({"add_external_contact", "add_half_external_contact"})
DELETES: Final[dict[str, Literal["del_external", "del_follow"]]] = {
    "del_external_contact": "del_external",
    "del_follow_user": "del_follow",
}
WELCOME_WINDOW: Final = 20.0  # seconds a welcome code lives (§4.6)
WELCOME_MARGIN: Final = 2.0  # no call is started this close to the window's end
BUSY_RETRY: Final = 1.0  # seconds between tries of a busy welcome call
# Follow-ups of one process at once: they wait, so that welcomes (which cannot) find free
# database connections.
FOLLOWUPS_AT_ONCE: Final = 4


@dataclass(frozen=True)
class _Welcome:
    text: str
    attachments: list[dict[str, Any]]


class CustomerContact:
    def __init__(
        self,
        engine: AsyncEngine,
        clients: Mapping[str, WecomClient],
        content: WecomContent,
        settings: CustomerSettings,
        timezone: str,
        *,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._engine = engine
        self._clients = clients  # filled in at start-up
        self._content = content
        self._settings = settings
        self._zone = ZoneInfo(timezone)
        self._clock = clock
        self._sleep = sleep
        self._tasks: set[asyncio.Task[None]] = set()
        self._followups = asyncio.Semaphore(FOLLOWUPS_AT_ONCE)
        self._staff_names: dict[tuple[str, str], str] = {}
        self._tag_ids: dict[tuple[str, str], str] = {}

    # Events (WecomCallback's on_contact_change)

    async def on_change(self, change: ContactChange) -> None:
        """Handle one customer change; raising makes WeCom retry the callback."""
        if change.change_type in ADDS:
            await self._added(change)
        elif change.change_type in DELETES:
            at = datetime.fromtimestamp(change.at, UTC)
            stored = await repo.record_delete(
                self._engine,
                dedupe_key=change.dedupe_key,
                app=change.account,
                kind=DELETES[change.change_type],
                userid=change.userid,
                external_userid=change.external_userid,
                at=at,
                day=at.astimezone(self._zone).date(),
            )
            if stored is None:
                log.info("%s: seen before, not counted again", change.dedupe_key)
        else:
            log.info("%s: nothing to do for %s", change.dedupe_key, change.change_type)

    async def _added(self, change: ContactChange) -> None:
        started = time.monotonic()
        received = self._clock()
        client = self._clients.get(change.account)
        if client is None:
            raise RuntimeError(f"WeCom app {change.account} is not connected yet")
        known = await repo.add_context(
            self._engine, change.account, change.userid, change.external_userid, change.state
        )
        if known.latest is not None and known.latest.kind == "add":
            # A retry, or the full add after a half add (WeCom then sends no new welcome code):
            # the relation is counted and welcomed already.
            log.info("%s: this customer is counted already", change.dedupe_key)
            return
        code = known.code
        at = datetime.fromtimestamp(change.at, UTC)
        event = await repo.claim_add(
            self._engine,
            dedupe_key=change.dedupe_key,
            app=change.account,
            userid=change.userid,
            external_userid=change.external_userid,
            state=change.state,
            code=code,
            at=at,
            day=at.astimezone(self._zone).date(),
            received_at=received,
            welcome_status="sending" if change.welcome_code else "none",
            followup="pending" if code is not None else "done",
        )
        if event is None:
            log.info("%s: handled before; no second welcome", change.dedupe_key)
            return
        customer: dict[str, str] = {"id": change.external_userid}
        if change.welcome_code:
            content = _welcome_content(known, self._settings.default_welcome)
            await self._welcome(client, event, change.welcome_code, content, customer, started)
        if code is not None:
            self._background(self.followup(event.id, customer.get("name")))

    async def _welcome(
        self,
        client: WecomClient,
        event: ContactEvent,
        welcome_code: str,
        content: Mapping[str, Any],
        customer: dict[str, str],
        started: float,
    ) -> None:
        def elapsed() -> float:
            return time.monotonic() - started

        try:
            welcome = await self._prepare(client, event, content, customer)
        except (ContentError, PlatformError) as exc:
            await self._welcome_done(event, "failed", f"欢迎语准备失败：{_reason(exc)}", None)
            return
        while True:
            if elapsed() > WELCOME_WINDOW - WELCOME_MARGIN:
                detail = f"准备欢迎语用了 {elapsed():.1f} 秒，欢迎语码已过期"
                await self._welcome_done(event, "expired", detail, None)
                return
            try:
                await client.send_welcome_msg(welcome_code, welcome.text, welcome.attachments)
            except PlatformRejected as exc:
                if exc.code == WELCOME_CODE_USED:
                    detail = "欢迎语码已被使用或过期，或客户已经开始聊天（41051）"
                    await self._welcome_done(event, "used", detail, None)
                    return
                if exc.code != WELCOME_BUSY:
                    await self._welcome_done(event, "failed", _reason(exc), None)
                    return
            except OutcomeUnknown as exc:
                # Sent, perhaps: never repeated (the code is single-use anyway).
                await self._welcome_done(event, "failed", f"结果未知：{exc}", None)
                return
            except (PlatformUnavailable, RateLimited):
                pass  # busy: try again while the code lives
            else:
                await self._welcome_done(event, "sent", "", round(elapsed() * 1000))
                return
            await self._sleep(BUSY_RETRY)

    async def _welcome_done(
        self, event: ContactEvent, status: str, detail: str, welcome_ms: int | None
    ) -> None:
        if status != "sent":
            log.warning("welcome of %s: %s (%s)", event.external_userid, status, detail)
        await repo.finish_welcome(self._engine, event.id, status, detail, welcome_ms)

    async def _prepare(
        self,
        client: WecomClient,
        event: ContactEvent,
        content: Mapping[str, Any],
        customer: dict[str, str],
    ) -> _Welcome:
        source = str(content.get("text") or "")
        text = ""
        if source:
            if "customer" in source:
                try:
                    customer["name"] = await self._nickname(client, event.external_userid)
                except PlatformError as exc:
                    who = event.external_userid
                    log.warning("no nickname of %s (%s); welcomed without", who, exc)
                    customer["name"] = ""
            staff = {"userid": event.userid, "name": ""}
            if "staff" in source:
                staff["name"] = await self._staff_name(client, event.app, event.userid)
            rendered = render_source(source, context(customer, staff), f"welcome {event.id}")
            if rendered is None:
                raise ContentError("欢迎语模板渲染失败")
            text = rendered.strip()
        attachments = await self._content.attachments(client, event.app, content)
        if not text and not attachments:
            raise ContentError("欢迎语是空的")
        return _Welcome(text, attachments)

    async def _nickname(self, client: WecomClient, external_userid: str) -> str:
        details = await client.get_external_contact(external_userid)
        return str(details["external_contact"].get("name") or "")

    async def _staff_name(self, client: WecomClient, app: str, userid: str) -> str:
        key = (app, userid)
        if key not in self._staff_names:
            try:
                self._staff_names[key] = await client.user_name(userid)
            except PlatformRejected:
                log.warning("no name of member %s of %s; the welcome leaves it out", userid, app)
                return ""
        return self._staff_names[key]

    # Remark and tags

    async def followup(self, event_id: int, nickname: str | None = None) -> None:
        """Remark the new customer and add the channel's tags (tries again on 84061)."""
        event = await repo.event_by_id(self._engine, event_id)
        if event is None or event.followup != "pending":
            return
        attempts = self._settings.followup_attempts
        for attempt in range(1, attempts + 1):
            try:
                remark = await self._remark_and_tag(event, nickname)
            except PlatformRejected as exc:
                if exc.code == NOT_A_CUSTOMER and attempt < attempts:
                    await self._sleep(self._settings.followup_retry_seconds)
                    continue
                await repo.finish_followup(self._engine, event.id, "failed", _reason(exc), "")
                return
            except (PlatformUnavailable, RateLimited) as exc:
                if attempt < attempts:  # both calls set values: repeating one is harmless
                    await self._sleep(self._settings.followup_retry_seconds)
                    continue
                await repo.finish_followup(self._engine, event.id, "failed", _reason(exc), "")
                return
            await repo.finish_followup(self._engine, event.id, "done", "", remark)
            return

    async def _remark_and_tag(self, event: ContactEvent, nickname: str | None) -> str:
        client = self._clients.get(event.app)
        if client is None:
            raise PlatformUnavailable(f"WeCom app {event.app} is not connected yet")
        channel = (
            await repo.channel_by_id(self._engine, event.channel_id) if event.channel_id else None
        )
        group = await repo.group_by_id(self._engine, event.group_id) if event.group_id else None
        pattern = (group.remark if group else "") or self._settings.remark_pattern
        if nickname is None and "{昵称}" in pattern:
            nickname = await self._nickname(client, event.external_userid)
        remark = remark_text(
            pattern,
            nickname=nickname or "",
            channel=channel.name if channel else "",
            group=group.name if group else "",
            limit=self._settings.remark_chars,
        )
        if remark:
            await client.remark_external_contact(event.userid, event.external_userid, remark)
        if channel is not None and channel.tags:
            tag_ids = await self._tag_ids_of(client, event.app, channel.tags)
            await client.mark_tag(event.userid, event.external_userid, tag_ids)
        return remark

    async def _tag_ids_of(self, client: WecomClient, app: str, names: tuple[str, ...]) -> list[str]:
        """The corp tag ids of ``names``, creating the missing ones in the settings' group."""
        missing = [n for n in names if (app, n) not in self._tag_ids]
        if missing:
            self._learn_tags(app, await client.corp_tags())
            missing = [n for n in names if (app, n) not in self._tag_ids]
        if missing:
            try:
                made = await client.add_corp_tags(self._settings.tag_group, missing)
            except PlatformRejected as exc:
                if exc.code != TAG_NAME_EXISTS:  # another process made them meanwhile
                    raise
                self._learn_tags(app, await client.corp_tags())
            else:
                for name, tag_id in made.items():
                    self._tag_ids[(app, name)] = tag_id
        return [self._tag_ids[(app, n)] for n in names if (app, n) in self._tag_ids]

    def _learn_tags(self, app: str, groups: list[dict[str, Any]]) -> None:
        preferred = self._settings.tag_group
        ordered = sorted(groups, key=lambda g: g.get("group_name") != preferred)
        for tag_group in reversed(ordered):  # the preferred group's tags win
            for tag in tag_group.get("tag") or []:
                if isinstance(tag, dict) and tag.get("name") and tag.get("id"):
                    self._tag_ids[(app, str(tag["name"]))] = str(tag["id"])

    # Life cycle

    async def resume(self) -> int:
        """Finish the follow-ups a stopped process left (at start); how many were found."""
        pending = await repo.pending_followups(self._engine)
        for event in pending:
            self._background(self.followup(event.id))
        return len(pending)

    async def stop(self) -> None:
        """Wait for the follow-ups under way (they are short), then cancel what is left."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _background(self, work: Awaitable[None]) -> None:
        async def guarded() -> None:
            try:
                async with self._followups:
                    await work
            except Exception:
                log.exception("customer follow-up failed; it is done again at the next start")

        task = asyncio.get_running_loop().create_task(guarded(), name="customer-followup")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _welcome_content(known: repo.AddContext, fallback: str) -> Mapping[str, Any]:
    """The code's channel's welcome, else the app's default set by chat, else ``fallback``."""
    for content in (known.channel.welcome if known.channel else {}, known.default_welcome):
        if content.get("text") or content.get("attachments"):
            return content
    return {"text": fallback, "attachments": []}


def _reason(exc: Exception) -> str:
    if isinstance(exc, PlatformRejected):
        return f"企业微信拒绝（错误码 {exc.code}：{exc.message}）"
    if isinstance(exc, PlatformError):
        return f"企业微信暂时不可用（{exc}）"
    return str(exc)
