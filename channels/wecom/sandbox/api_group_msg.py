"""Mass messages to customer groups (§4.11): POST /cgi-bin/externalcontact/add_msg_template
with chat_type "group", get_groupmsg_task and get_groupmsg_send_result.

add_msg_template (chat_type "group"):

- ``sender`` is required and must be a member of the corp (40058 missing, 40003 unknown);
  ``chat_id_list`` is required, 1..``msg_template_chats`` chat ids (40058 otherwise).
- ``text.content`` (at most ``msg_template_text_bytes``, refused beyond) and up to
  ``msg_template_attachments`` attachments; at least one of the two (44004). Attachments:
  image ``{media_id}`` (a live image upload) or ``{pic_url}``; link ``{title ≤128 B, url,
  picurl, desc ≤512 B}``; miniprogram ``{title ≤64 B, pic_media_id (live image), appid, page}``;
  video ``{media_id}`` (live video); file ``{media_id}``. Missing media ids answer 41006,
  unknown, expired or wrong-kind ones 40007, an unknown attachment msgtype 40008, oversized
  fields 40058 (the fake refuses rather than truncates).
- Groups: the sheet only documents ``fail_list`` for customers. The fake's choice for groups:
  a chat id that is not a live customer group of the corp, or that another member owns, is
  listed in ``fail_list`` (a chat id), and the task goes to the rest (each once). When no
  group is left the call fails with 90501 and still carries ``fail_list``.
- The task waits for the sender (``FakeWecom.confirm_group_task``); it shows on the sender's
  timeline as kind "group_msg_task" (via "add_msg_template").
- chat_type "single" is valid on the platform but not served by this fake (40058 with a hint).

get_groupmsg_task ``{msgid, limit, cursor}`` → ``task_list [{userid, status 0|2, send_time}]``
and get_groupmsg_send_result ``{msgid, userid, limit, cursor}`` → ``send_list [{chat_id,
userid, status 0|1|3, send_time}]`` (``send_time`` only once sent; for a userid that is not the
sender the list is empty). ``limit`` defaults to ``groupmsg_page_default``, at most
``groupmsg_page_max``. A msgid unknown in the corp answers 40058.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from .api import ApiContext, JsonResult, ok
from .api_groups import make_cursor, page_limit, read_cursor, text
from .errors import WecomApiError
from .groups import SENT, TASK_SENT, ChatResult, GroupMsgTask, new_msgid
from .limits import DESCRIPTION_BYTES, MINIPROGRAM_TITLE_BYTES, TITLE_BYTES, utf8_len
from .state import USERID, AppState

Rule = Callable[[AppState, dict[str, Any], str, float], dict[str, Any]]


def _string(payload: dict[str, Any], key: str, where: str, missing: int = 40058) -> str:
    value = payload.get(key)
    if value is None or value == "":
        raise WecomApiError(missing, f"{where}.{key} is required")
    if not isinstance(value, str):
        raise WecomApiError(40058, f"{where}.{key} must be a string")
    return value


def _optional(payload: dict[str, Any], key: str, where: str) -> str:
    value = payload.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise WecomApiError(40058, f"{where}.{key} must be a string")
    return value


def _within(value: str, limit: int, where: str) -> str:
    if utf8_len(value) > limit:
        raise WecomApiError(40058, f"{where} is longer than {limit} bytes")
    return value


def _url(value: str, where: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise WecomApiError(40058, f"{where} must be an http(s) URL")
    return value


def _image(state: AppState, payload: dict[str, Any], where: str, now: float) -> dict[str, Any]:
    if payload.get("media_id") is None and payload.get("pic_url"):
        return {"pic_url": _url(_string(payload, "pic_url", where), f"{where}.pic_url")}
    return state.corp.media.get(
        payload.get("media_id"), ("image",), now, f"{where}.media_id"
    ).describe()


def _link(state: AppState, payload: dict[str, Any], where: str, now: float) -> dict[str, Any]:
    return {
        "title": _within(_string(payload, "title", where, 41016), TITLE_BYTES, f"{where}.title"),
        "url": _url(_string(payload, "url", where, 41010), f"{where}.url"),
        "picurl": _optional(payload, "picurl", where),
        "desc": _within(_optional(payload, "desc", where), DESCRIPTION_BYTES, f"{where}.desc"),
    }


def _miniprogram(
    state: AppState, payload: dict[str, Any], where: str, now: float
) -> dict[str, Any]:
    title = _string(payload, "title", where, 41016)
    cover = state.corp.media.get(
        payload.get("pic_media_id"), ("image",), now, f"{where}.pic_media_id"
    )
    return {
        "title": _within(title, MINIPROGRAM_TITLE_BYTES, f"{where}.title"),
        "pic": cover.describe(),
        "appid": _string(payload, "appid", where),
        "page": _string(payload, "page", where),
    }


def _media(kinds: tuple[str, ...]) -> Rule:
    def rule(state: AppState, payload: dict[str, Any], where: str, now: float) -> dict[str, Any]:
        return state.corp.media.get(
            payload.get("media_id"), kinds, now, f"{where}.media_id"
        ).describe()

    return rule


ATTACHMENTS: Final[dict[str, Rule]] = {
    "image": _image,
    "link": _link,
    "miniprogram": _miniprogram,
    "video": _media(("video",)),
    "file": _media(("image", "voice", "video", "file")),
}
"""Attachment msgtypes and what the groups see of each."""


def _attachments(state: AppState, body: dict[str, Any], now: float) -> list[dict[str, Any]]:
    return read_attachments(state, body, now, state.limits.msg_template_attachments)


def read_attachments(
    state: AppState, body: dict[str, Any], now: float, ceiling: int
) -> list[dict[str, Any]]:
    """The `attachments` of a body as the customer sees them (also used by send_welcome_msg):
    at most `ceiling`, each checked by its msgtype's rule."""
    items = body.get("attachments", [])
    if items is None:
        return []
    if not isinstance(items, list):
        raise WecomApiError(40058, "attachments must be a list")
    if len(items) > ceiling:
        raise WecomApiError(40058, f"at most {ceiling} attachments, got {len(items)}")
    seen: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        where = f"attachments[{index}]"
        if not isinstance(item, dict):
            raise WecomApiError(40058, f"{where} must be an object")
        msgtype = item.get("msgtype")
        if not isinstance(msgtype, str) or msgtype not in ATTACHMENTS:
            raise WecomApiError(40008, f"{where}.msgtype must be one of {', '.join(ATTACHMENTS)}")
        payload = item.get(msgtype)
        if not isinstance(payload, dict):
            raise WecomApiError(40058, f"{where}.{msgtype} must be an object")
        fields = ATTACHMENTS[msgtype](state, payload, f"{where}.{msgtype}", now)
        seen.append({"msgtype": msgtype, **fields})
    return seen


def _content(state: AppState, body: dict[str, Any]) -> str:
    block = body.get("text")
    if block is None:
        return ""
    if not isinstance(block, dict):
        raise WecomApiError(40058, "text must be an object")
    content = _optional(block, "content", "text")
    return _within(content, state.limits.msg_template_text_bytes, "text.content")


def _chat_ids(state: AppState, body: dict[str, Any]) -> list[str]:
    chat_ids = body.get("chat_id_list")
    if not isinstance(chat_ids, list) or not all(isinstance(c, str) for c in chat_ids):
        raise WecomApiError(40058, "chat_id_list must be a list of chat ids")
    ceiling = state.limits.msg_template_chats
    if not 1 <= len(chat_ids) <= ceiling:
        raise WecomApiError(40058, f"chat_id_list holds 1-{ceiling} chat ids, got {len(chat_ids)}")
    return list(dict.fromkeys(chat_ids))


async def add_msg_template(ctx: ApiContext) -> JsonResult:
    """A group task for the sender to confirm: {fail_list, msgid}."""
    body = await ctx.json()
    state, now = ctx.state, ctx.now
    chat_type = body.get("chat_type", "single")
    if chat_type == "single":
        raise WecomApiError(40058, "this fake serves chat_type group only")
    if chat_type != "group":
        raise WecomApiError(40058, "chat_type must be single or group")
    sender_id = body.get("sender")
    if not isinstance(sender_id, str) or not sender_id:
        raise WecomApiError(40058, "sender is required for chat_type group")
    sender = state.corp.find(sender_id) if USERID.fullmatch(sender_id) else None
    if sender is None:
        raise WecomApiError(40003, f"sender {sender_id!r} is not a member of the corp")
    chat_ids = _chat_ids(state, body)
    content = _content(state, body)
    attachments = _attachments(state, body, now)
    if not content and not attachments:
        raise WecomApiError(44004, "give text.content or attachments")
    groups = state.corp.groups
    accepted: list[str] = []
    fail_list: list[str] = []
    for chat_id in chat_ids:
        group = groups.live(chat_id)
        (accepted if group is not None and group.owned_by(sender.userid) else fail_list).append(
            chat_id
        )
    if not accepted:
        raise WecomApiError(
            90501,
            "no chat in chat_id_list is a customer group the sender owns",
            fail_list=fail_list,
        )
    task = GroupMsgTask(
        msgid=new_msgid(),
        app=state.app.name,
        sender=sender.userid,
        create_time=int(now),
        text=content,
        attachments=attachments,
        chat_ids=accepted,
        fail_list=fail_list,
        results={chat_id: ChatResult() for chat_id in accepted},
    )
    groups.tasks[task.msgid] = task
    fields = {
        "msgid": task.msgid,
        "chat_ids": list(accepted),
        "fail_list": list(fail_list),
        "text": content,
        "attachments": attachments,
    }
    state.timeline(sender.userid).append(now, "group_msg_task", "add_msg_template", fields)
    return ok(fail_list=fail_list, msgid=task.msgid)


def _task(ctx: ApiContext, body: dict[str, Any]) -> GroupMsgTask:
    msgid = text(body, "msgid")
    task = ctx.state.corp.groups.tasks.get(msgid)
    if task is None:
        raise WecomApiError(40058, f"unknown msgid {msgid!r}")
    return task


def _page(
    ctx: ApiContext, body: dict[str, Any], kind: str, rows: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], str]:
    limits = ctx.state.limits
    limit = page_limit(body, limits.groupmsg_page_default, limits.groupmsg_page_max)
    start = read_cursor(body, kind)
    end = start + limit
    return rows[start:end], make_cursor(kind, end) if end < len(rows) else ""


async def get_groupmsg_task(ctx: ApiContext) -> JsonResult:
    """Who has to send the task and whether they did: {task_list, next_cursor}."""
    body = await ctx.json()
    task = _task(ctx, body)
    row: dict[str, Any] = {"userid": task.sender, "status": task.status}
    if task.status == TASK_SENT:
        row["send_time"] = task.send_time
    rows, cursor = _page(ctx, body, "task", [row])
    return ok(next_cursor=cursor, task_list=rows)


async def get_groupmsg_send_result(ctx: ApiContext) -> JsonResult:
    """What each group of the sender's task became: {send_list, next_cursor}."""
    body = await ctx.json()
    task = _task(ctx, body)
    userid = text(body, "userid")
    rows: list[dict[str, Any]] = []
    if userid.lower() == task.sender.lower():
        for chat_id in task.chat_ids:
            result = task.results[chat_id]
            row: dict[str, Any] = {"chat_id": chat_id, "userid": task.sender}
            row["status"] = result.status
            if result.status == SENT:
                row["send_time"] = result.send_time
            rows.append(row)
    page, cursor = _page(ctx, body, "result", rows)
    return ok(next_cursor=cursor, send_list=page)
