"""Firing group SOPs (群SOP): the job kind ``sop`` and the results of the tasks it creates.

One firing (:meth:`SopRunner.run`, payload ``{"rule_id"}``; 立即执行 adds ``"manual": true`` and
``"at"``, the instant it was asked for, which keys its executions instead of the fire time):

1. The rule is read; a paused or removed rule does nothing (the returned line says so).
2. The target groups are picked (handlers/group_sop.py), by owner; for an "after_created" rule
   only those created on the local day N days before the firing's.
3. The content is built once (bot/wecom_content.py): materials become image or link
   attachments, scripts' pictures and videos WeCom temporary media, links and mini programs
   their attachments.
4. Per owner: the execution is written (or found, on a retry), then ``add_msg_template`` is
   called for the owner's groups, at most 2000 per call; each call's msgid and fail list is
   stored at once, and the owner is reminded in the app chat to confirm the task.

The call is not idempotent: a retried firing skips the owners whose executions are no longer
``pending`` and, for a pending one, the calls already made. Busy or rate-limited platform answers
raise :class:`RetryLater` (the scheduler tries again, then reports). A call whose outcome is
unknown (a timeout after sending) is not repeated: that owner's execution fails with a note to
check, as does one the platform refuses; the other owners go on. When no owner got a task the
firing fails (the scheduler reports it); when some did, the job's chat is told who did not. A
manual firing always tells its chat how it went.

:meth:`SopRunner.refresh` (the commands' SopResultsPort) asks WeCom how the tasks of a rule went
and stores each group's result once the owner has sent the task.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import aiohttp
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.wecom_content import ContentError, WecomContent
from channels.errors import (
    OutcomeUnknown,
    PlatformError,
    PlatformRejected,
    PlatformUnavailable,
    RateLimited,
)
from channels.wecom.client import GROUP_TASK_CHATS, WecomClient
from handlers.commands.base import PlatformFailure, Queue, split_chat_key
from handlers.group_sop import (
    KIND,
    creation_window,
    describe_attachment,
)
from handlers.messages import Text
from handlers.schedules import RetryLater
from scripts_library.library import ScriptLibrary
from storage import sop_repo as repo
from storage.models import utcnow
from storage.schedule_repo import Job
from storage.sop_repo import Execution, Group, Rule

__all__ = ["KIND", "SopContentError", "SopRunner"]

log = logging.getLogger(__name__)


MB: Final = 1024 * 1024
DOWNLOAD_TIMEOUT: Final = aiohttp.ClientTimeout(total=30)
REMINDER_GROUPS: Final = 10  # group names listed in a reminder
TASK_SENT: Final = 2  # get_groupmsg_task status once the owner sent the task
RESULTS: Final = {0: "not_sent", 1: "sent", 2: "not_friend", 3: "cap"}
UNKNOWN_OUTCOME: Final = (
    "请求发出后没有收到企业微信的回应，任务可能已经创建；为避免重复没有再试，请在企业微信管理后台"
    "「客户联系 → 群发」核对"
)


SopContentError = ContentError  # the rule's content cannot be built; reported, not retried


@dataclass
class _Tally:
    created: list[tuple[str, int]] = field(default_factory=list)  # owner, groups reached
    failed: list[tuple[str, str]] = field(default_factory=list)  # owner, why
    earlier: int = 0  # owners an earlier attempt of this firing handled

    def line(self, rule: Rule) -> str:
        groups = sum(n for _, n in self.created)
        parts = [f"群SOP「{rule.name}」：{len(self.created)} 位群主已创建群发任务（{groups} 个群）"]
        if self.failed:
            who = "；".join(f"{owner}：{why}" for owner, why in self.failed[:5])
            more = f" 等 {len(self.failed)} 位" if len(self.failed) > 5 else ""
            parts.append(f"{len(self.failed)} 位群主失败（{who}{more}）")
        if self.earlier:
            parts.append(f"{self.earlier} 位群主在之前的尝试中已处理")
        return "，".join(parts) + "。"


def _transient(exc: PlatformError) -> bool:
    """Busy, unreachable or rate limited, and certainly not carried out."""
    return isinstance(exc, RateLimited | PlatformUnavailable) and not isinstance(
        exc, OutcomeUnknown
    )


def _instant(value: Any) -> datetime | None:
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


def _reason(exc: PlatformError) -> str:
    if isinstance(exc, PlatformRejected):
        return f"企业微信拒绝（错误码 {exc.code}：{exc.message}）"
    return f"企业微信暂时不可用（{exc}）"


class SopRunner:
    def __init__(
        self,
        engine: AsyncEngine,
        clients: Mapping[str, WecomClient],
        queue: Queue,
        library: ScriptLibrary | None,
        *,
        file_url: Callable[[str], str] = lambda sha256: f"/library/files/{sha256}",
        http: Callable[[], aiohttp.ClientSession] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._engine = engine
        self._clients = clients  # filled in at start-up
        self._queue = queue
        self._content = WecomContent(engine, library, file_url=file_url, http=http, clock=clock)
        self._clock = clock

    # One firing

    async def run(self, job: Job, fire_at: datetime) -> str:
        """Create the group message tasks of one firing of a rule; a line for the run record."""
        rule_id = int(job.payload.get("rule_id", 0))
        manual = bool(job.payload.get("manual"))
        rule = await repo.rule_by_id(self._engine, rule_id)
        if rule is None or rule.status == "removed":
            return f"群SOP #{rule_id} 已删除，没有执行。"
        if rule.status == "paused":
            return f"群SOP「{rule.name}」已暂停，没有执行。"
        client = self._clients.get(rule.app)
        if client is None:
            raise RetryLater(f"企业微信应用 {rule.app} 还没有连接好")
        if not manual and rule.schedule.get("type") == "once":
            await repo.set_status(self._engine, rule.id, "done", allowed=("active",))
        window = creation_window(rule.schedule, rule.timezone, fire_at)
        by_owner = await repo.targets(self._engine, rule.app, rule.targets, window)
        if not by_owner:
            line = f"群SOP「{rule.name}」：没有符合条件的客户群，没有创建群发任务。"
            if manual:
                await self._tell(job.chat, line)
            return line
        text = str(rule.content.get("text") or "")
        try:
            attachments = await self._content.attachments(client, rule.app, rule.content)
        except PlatformError as exc:
            if _transient(exc):
                raise RetryLater(_reason(exc)) from exc
            raise SopContentError(f"附件上传失败：{_reason(exc)}") from exc
        # A manual run is told apart from every other firing by the instant it was asked for
        # (two runs asked within one second would otherwise share one fire time).
        firing = _instant(job.payload.get("at")) if manual else None
        tally = _Tally()
        for owner, groups in by_owner.items():
            execution = await repo.start_execution(
                self._engine, rule.id, firing or fire_at, owner, [g.chat_id for g in groups]
            )
            if execution.status != "pending":
                tally.earlier += 1
                continue
            try:
                await self._create(client, rule, execution, groups, text, attachments, tally)
            except RetryLater as exc:
                done = len(tally.created)
                raise RetryLater(
                    f"{exc}；本次已为 {done} 位群主创建任务，稍后重试其余群主"
                ) from exc
        line = tally.line(rule)
        if tally.failed and not tally.created and not tally.earlier:
            raise SopContentError(line)
        if manual or tally.failed:
            await self._tell(job.chat, line)
        return line

    async def _create(
        self,
        client: WecomClient,
        rule: Rule,
        execution: Execution,
        groups: list[Group],
        text: str,
        attachments: list[dict[str, Any]],
        tally: _Tally,
    ) -> None:
        """Make the owner's missing calls, then end the execution and remind the owner."""
        chat_ids = execution.chat_ids
        chunks = [
            chat_ids[i : i + GROUP_TASK_CHATS] for i in range(0, len(chat_ids), GROUP_TASK_CHATS)
        ]
        made = len(execution.msgids)
        unreached: list[str] = list(execution.fail_list)
        refused: list[str] = []
        why = ""
        for chunk in chunks[made:]:
            try:
                msgid, fail_list = await client.add_group_msg_template(
                    execution.owner, chunk, text, attachments
                )
            except PlatformError as exc:
                if _transient(exc):
                    raise RetryLater(_reason(exc)) from exc
                why = UNKNOWN_OUTCOME if isinstance(exc, OutcomeUnknown) else _reason(exc)
                log.warning("sop %d: task for %s failed: %s", rule.id, execution.owner, exc)
                refused.extend(chunk)
                continue
            await repo.add_call(self._engine, execution.id, msgid, fail_list)
            unreached.extend(fail_list)
            made += 1
        if made == 0:
            await repo.finish_execution(self._engine, execution.id, "failed", why)
            tally.failed.append((execution.owner, why))
            return
        await repo.finish_execution(self._engine, execution.id, "created", why, more_failed=refused)
        missing = set(unreached) | set(refused)
        reached = [g for g in groups if g.chat_id not in missing]
        tally.created.append((execution.owner, len(reached)))
        if why:
            tally.failed.append((execution.owner, f"部分群：{why}"))
        await self._queue(
            "wecom",
            rule.app,
            execution.owner,
            [Text(self._reminder(rule, reached, [g for g in groups if g.chat_id in missing]))],
        )

    @staticmethod
    def _reminder(rule: Rule, reached: list[Group], missing: list[Group]) -> str:
        names = "、".join(g.name or g.chat_id for g in reached[:REMINDER_GROUPS])
        more = f" 等 {len(reached)} 个群" if len(reached) > REMINDER_GROUPS else ""
        lines = [
            f"【群SOP提醒】{rule.name}",
            f"已为你的 {len(reached)} 个客户群创建群发任务：{names}{more}。",
            "请在企业微信客户端「群发助手」中确认发送。",
            "内容：",
            str(rule.content.get("text") or "（无文字）"),
        ]
        lines += [f"附件：{describe_attachment(a)}" for a in rule.content.get("attachments") or []]
        if missing:
            gone = "、".join(g.name or g.chat_id for g in missing[:REMINDER_GROUPS])
            lines.append(f"（{len(missing)} 个群无法发送：{gone}）")
        return "\n".join(lines)

    async def _tell(self, chat: str, text: str) -> None:
        """Tell a chat (``platform:account:chat``) how a firing went."""
        where = split_chat_key(chat)
        if where is not None:
            await self._queue(*where, [Text(text)])
        else:
            log.info("%s", text)

    # Results (SopResultsPort)

    async def refresh(self, rule_id: int) -> None:
        """Ask WeCom how each task of the rule still waiting for its owner went; store each
        group's result once the owner has sent it. Raises PlatformFailure (Chinese)."""
        rule = await repo.rule_by_id(self._engine, rule_id)
        if rule is None:
            return
        client = self._clients.get(rule.app)
        if client is None:
            raise PlatformFailure(f"企业微信应用 {rule.app} 还没有连接好", transient=True)
        waiting = await repo.executions(self._engine, rule_id, statuses=("created",), limit=100)
        for execution in waiting:
            try:
                await self._refresh_one(client, execution)
            except PlatformError as exc:
                raise PlatformFailure(
                    f"查询群发结果失败：{_reason(exc)}", transient=_transient(exc)
                ) from exc

    async def _refresh_one(self, client: WecomClient, execution: Execution) -> None:
        sent = True
        results: dict[str, str] = {}
        owner = execution.owner.lower()
        for msgid in execution.msgids:
            tasks = await client.groupmsg_task(msgid)
            mine = [t for t in tasks if str(t.get("userid", "")).lower() == owner]
            if not mine or any(t.get("status") != TASK_SENT for t in mine):
                sent = False
                continue
            for row in await client.groupmsg_send_result(msgid, execution.owner):
                chat_id = str(row.get("chat_id") or "")
                if chat_id:
                    results[chat_id] = RESULTS.get(int(row.get("status", 0)), "not_sent")
        for chat_id in execution.fail_list:
            results[chat_id] = "failed"
        await repo.save_results(
            self._engine, execution.id, results, done=sent, checked_at=self._clock()
        )
