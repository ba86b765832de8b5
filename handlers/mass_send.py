"""Official Account mass sends (群发): audiences, the parts a send is cut into, and the firing.

An admin builds a send (content from a text or a material, an audience, a time), previews it to
one follower, and confirms it; the confirmation schedules a one-off job of kind ``mass_send``
(bot/scheduler.py), so the send fires once, on one server, also after a restart. Firing writes the
send's parts first, each with the ``clientmsgid`` the platform dedupes on, then submits them: a
retried firing resubmits only parts without a msg_id, and the platform answers a repeated
clientmsgid with the first msg_id instead of sending again. The platform's MASSSENDJOBFINISH
event for each part fills in the counts; when all parts are in, the admin is told in their chat.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from handlers.commands.base import OfficialAccountPort, PlatformFailure, Queue, split_chat_key
from handlers.messages import Text
from handlers.schedules import RetryLater
from storage import mass_repo as repo
from storage.mass_repo import MassSend
from storage.schedule_repo import Job

log = logging.getLogger(__name__)

KIND = "mass_send"
# How long a MASSSENDJOBFINISH for a msg_id not stored yet waits for it (inside the platform's
# 5 s callback deadline).
FINISH_WAIT_SECONDS = 3.0
CONTENT_NAMES = {"text": "文字", "image": "图片", "news": "图文"}
STATUS_NAMES = {
    "draft": "待确认",
    "scheduled": "已排期",
    "sending": "发送中",
    "submitted": "已提交，等待结果",
    "done": "已完成",
    "failed": "失败",
    "cancelled": "已取消",
}


def describe_content(content: Mapping[str, Any]) -> str:
    kind = content.get("kind")
    if kind == "text":
        return f"[文字] {content.get('text', '')}"
    title = f"「{content['title']}」" if content.get("title") else ""
    return f"[{CONTENT_NAMES.get(str(kind), str(kind))}] {title}素材「{content.get('material')}」"


def describe_audience(audience: Mapping[str, Any]) -> str:
    kind = audience.get("type")
    if kind == "tag":
        return f"标签「{audience.get('name')}」的粉丝"
    if kind == "channel":
        return f"渠道「{audience.get('channel')}」来的粉丝"
    return "全部粉丝"


async def count_audience(
    engine: AsyncEngine, port: OfficialAccountPort, account: str, audience: Mapping[str, Any]
) -> int:
    """How many followers the audience has now (the platform's count for all and for a tag; the
    followers we know came through the channel for a channel)."""
    kind = audience.get("type")
    if kind == "channel":
        return await repo.channel_count(engine, account, str(audience.get("channel")))
    if kind == "tag":
        for tag in await port.tags():
            if tag.get("id") == audience.get("tag_id"):
                return int(tag.get("count", 0))
        return 0
    return await port.follower_total()


def cut(openids: list[str], low: int, high: int) -> list[list[str]]:
    """Cut an OpenID list into as few parts as possible, each of ``low`` to ``high`` OpenIDs
    (evenly, so no part is left below ``low``). ValueError when there are fewer than ``low``."""
    if len(openids) < low:
        raise ValueError(len(openids))
    count = -(-len(openids) // high)
    size, extra = divmod(len(openids), count)
    parts, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        parts.append(openids[start:end])
        start = end
    return parts


def clientmsgid(account: str, send_id: int, part: int) -> str:
    """The id the platform dedupes a part on (at most 64 bytes), the same on every retry."""
    digest = hashlib.sha256(account.encode()).hexdigest()[:10]
    return f"opsbot-{digest}-{send_id}-{part}"


class MassSendRunner:
    """The ``mass_send`` job kind and the MASSSENDJOBFINISH results."""

    def __init__(
        self,
        engine: AsyncEngine,
        accounts: Mapping[str, OfficialAccountPort],
        queue: Queue,
    ) -> None:
        self._engine = engine
        self._accounts = accounts
        self._queue = queue

    async def run(self, job: Job, fire_at: datetime) -> str:
        send = await repo.by_id(self._engine, int(job.payload["send_id"]))
        if send is None or send.status == "cancelled":
            return "群发已取消，没有发送"
        if not await repo.move(self._engine, send.id, "sending", allowed=("scheduled", "sending")):
            return f"群发状态是「{STATUS_NAMES.get(send.status, send.status)}」，没有再发送"
        port = self._accounts[send.account]
        lists: list[list[str]] | None = None
        if send.audience.get("type") == "channel":
            openids = await repo.channel_openids(
                self._engine, send.account, str(send.audience.get("channel"))
            )
            low, high = port.mass_batch
            try:
                lists = cut(openids, low, high)
            except ValueError:
                why = f"渠道粉丝只有 {len(openids)} 人，按名单群发至少要 {low} 人"
                await repo.move(self._engine, send.id, "failed", allowed=("sending",), detail=why)
                raise RuntimeError(why) from None
            plan = [
                (clientmsgid(send.account, send.id, i), len(ids))
                for i, ids in enumerate(lists, start=1)
            ]
        else:
            plan = [(clientmsgid(send.account, send.id, 1), send.audience_count)]
        parts = await repo.add_parts(self._engine, send, plan)
        tag_id = send.audience.get("tag_id") if send.audience.get("type") == "tag" else None
        for part in parts:
            if part.status != "pending":
                continue
            try:
                msg_id = await port.mass_submit(
                    send.content,
                    clientmsgid=part.clientmsgid,
                    tag_id=int(tag_id) if tag_id is not None else None,
                    openids=lists[part.part - 1] if lists is not None else None,
                )
            except PlatformFailure as exc:
                if exc.transient:
                    raise RetryLater(str(exc)) from exc
                await repo.part_failed(self._engine, part.id, str(exc))
                continue
            await repo.part_submitted(self._engine, part.id, msg_id)
        return await self._submitted(send)

    async def _submitted(self, send: MassSend) -> str:
        parts = await repo.parts_of(self._engine, send.id)
        failed = [p for p in parts if p.status == "failed"]
        if len(failed) == len(parts):
            why = "；".join(str(p.result.get("error", "")) for p in failed)
            await repo.move(self._engine, send.id, "failed", allowed=("sending",), detail=why)
            raise RuntimeError(f"群发 #{send.id} 没有发出：{why}")
        detail = f"{len(failed)} 批被平台拒绝" if failed else ""
        await repo.move(self._engine, send.id, "submitted", allowed=("sending",), detail=detail)
        return f"群发 #{send.id} 已提交 {len(parts) - len(failed)}/{len(parts)} 批"

    async def finished(self, account: str, msg_id: str, result: dict[str, Any]) -> None:
        """A part's MASSSENDJOBFINISH (repeats are ignored); tell the admin when all are in.

        The result can arrive before the part's msg_id is stored (a small audience finishes at
        once): while a part of the account is being submitted, an unknown msg_id is waited for
        a little, then raises, so the callback answers 503 and the platform sends the event
        again. A msg_id that is none of ours (a send made in the platform's console) is
        ignored."""
        waited = 0.0
        while True:
            # Asked first: if nothing was being submitted then, a msg_id of ours is stored.
            pending = await repo.submitting(self._engine, account)
            known, send = await repo.finish_part(self._engine, account, msg_id, result)
            if known or not pending:
                break
            if waited >= FINISH_WAIT_SECONDS:
                raise LookupError(f"mass send {msg_id} finished before it was stored as sent")
            await asyncio.sleep(0.1)
            waited += 0.1
        if send is None:
            return
        where = split_chat_key(send.chat)
        if where is None:
            return
        t = send.totals
        text = (
            f"群发 #{send.id} 已完成：{describe_content(send.content)}\n"
            f"发给{describe_audience(send.audience)}：粉丝 {t.get('total', 0)}，"
            f"过滤后 {t.get('filter', 0)}，成功 {t.get('sent', 0)}，失败 {t.get('errors', 0)}。"
        )
        await self._queue(*where, [Text(text)])
