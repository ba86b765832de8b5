"""Async client of the WeCom server API for one self-built app (platform-facts.md §4.1, §4.3,
for contact ways, welcome messages and customer details §4.4-4.7, and for customer groups and
group mass messages §4.8, §4.11, join ways §4.9, corp tags and member names).

- The access token comes from :class:`channels.tokens.SharedToken` (database-shared), fetched
  with the app's secret from ``/cgi-bin/gettoken``.
- A call refused with 40014 / 42001 discards the token, refreshes it and is repeated once; a
  second refusal raises :class:`TokenRejected` (never a loop).
- The JS-SDK tickets (the corp's for ``wx.config``, the app's for ``wx.agentConfig``) are
  shared the same way: they are strictly rate limited (per hour, 400 fetches per corp and 100
  per app), so every process uses the one in the database until it runs out.
- Every request has a timeout. Network failures, HTTP statuses and ``errcode`` values (§4.12) are
  mapped once, here, to the exceptions of ``channels.errors``; callers never see an ``errcode``.
"""

from __future__ import annotations

import json as jsonlib
import logging
import time
from collections.abc import Sequence
from typing import Any

import aiohttp

from channels.errors import (
    OutcomeUnknown,
    PlatformRejected,
    PlatformUnavailable,
    RecipientUnreachable,
)
from channels.http_api import ErrcodeTable, exchange
from channels.tokens import SharedToken, TokenStorePort
from channels.wecom.app import WecomApp
from channels.wecom.jssdk import JsConfig, sign_page

log = logging.getLogger(__name__)

TOKEN_REFUSED = frozenset({40014, 42001})
UNAVAILABLE = frozenset({-1, 6000})  # system busy; data version conflict
# API frequency limit (per minute; for the JS-SDK tickets per hour), concurrent-call limit:
# seconds to wait, our own estimate.
RATE_LIMITED = {45009: 60.0, 45033: 5.0}
RECIPIENT_UNREACHABLE = frozenset({40003, 60011, 81013, 84061})
EVERY_RECIPIENT_INVALID = 81013
INVALID_CODE = 40029  # an OAuth code that is unknown, used already or older than 5 minutes
NOT_A_MEMBER = 0  # our code: the OAuth code identified someone outside the corp (an openid)
NOT_A_CUSTOMER_GROUP = 90501  # a chat id that is no (longer a) customer group of the corp
OWNERS_NEED_FILTER = 81017  # groupchat/list without owners when the app sees > 1000 members

WELCOME_CODE_USED = 41051  # welcome code used already, expired, or the customer already chatted
WELCOME_BUSY = 41096  # another app is sending this customer's welcome (not a success)
NOT_A_CUSTOMER = 84061  # the member does not (or not yet) have that customer
INVALID_EXTERNAL_USERID = 40096  # unknown external userid (wording unconfirmed)
TAG_NAME_EXISTS = 40071  # the tag group has a tag of that name already
INVALID_TAG = 40068  # an unknown corp tag id (or tag group id)
USER_NOT_FOUND = 60111  # user/get of a userid the corp does not have

GROUPCHAT_PAGE_MAX = 1000  # groupchat/list limit: 1..1000
OWNER_FILTER_MAX = 100  # userids per owner_filter (an official limit not in the sheet: unconfirmed)
GROUP_TASK_CHATS = 2000  # chat_id_list of one add_msg_template
TEMPLATE_ATTACHMENTS = 9
GROUPMSG_PAGE = 1000  # limit of get_groupmsg_task / get_groupmsg_send_result (unconfirmed)
CONTACT_WAY_STATE_CHARS = 30
CONTACT_WAY_REMARK_CHARS = 30
WELCOME_ATTACHMENTS = 9
JOIN_WAY_CHATS = 5  # chat_id_list of a join way: 1..5 groups
JOIN_WAY_STATE_CHARS = 30
JOIN_WAY_REMARK_CHARS = 30  # the platform truncates longer remarks; we cut them first
JOIN_WAY_BASE_NAME_CHARS = 40  # room_base_name of auto-created groups
TAG_NAME_CHARS = 30  # corp tag names (unconfirmed)


ERRCODES = ErrcodeTable(
    unavailable=UNAVAILABLE,
    rate_limited=RATE_LIMITED,
    token_refused=TOKEN_REFUSED,
    unreachable=RECIPIENT_UNREACHABLE,
)
raise_for_errcode = ERRCODES.raise_for


class WecomClient:
    def __init__(
        self,
        app: WecomApp,
        session: aiohttp.ClientSession,
        store: TokenStorePort,
        *,
        owner: str,
        timeout: float = 10.0,
    ) -> None:
        self.app = app
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=min(timeout, 5.0))
        self.token = SharedToken(f"wecom:{app.name}", store, self._fetch_token, owner=owner)
        self.corp_ticket = SharedToken(
            f"wecom:{app.name}:jsapi", store, self._fetch_corp_ticket, owner=owner
        )
        self.agent_ticket = SharedToken(
            f"wecom:{app.name}:agent_jsapi", store, self._fetch_agent_ticket, owner=owner
        )

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
        data: aiohttp.FormData | None = None,
    ) -> dict[str, Any]:
        """Call an API with the access token; refresh it and repeat once if it is refused."""
        payload, _ = await self._authorized(method, path, params, json, data, binary=False)
        if payload is None:  # pragma: no cover - without ``binary`` the answer is always JSON
            raise PlatformUnavailable(f"{method} {path}: not JSON")
        return payload

    async def _authorized(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None,
        json: Any,
        data: aiohttp.FormData | None,
        *,
        binary: bool,
    ) -> tuple[dict[str, Any] | None, bytes]:
        """The JSON answer (None for a binary one) and the body. A binary answer is accepted
        only when ``binary`` is set; a JSON answer is checked for its ``errcode`` either way."""
        for attempt in (1, 2):
            token = await self.token.get()
            query = {**(params or {}), "access_token": token}
            status, content_type, body = await self._request(method, path, query, json, data)
            if binary and status == 200 and not _is_json(content_type, body):
                return None, body
            payload = _json_object(f"{method} {path}", status, body)
            if payload.get("errcode", 0) in TOKEN_REFUSED and attempt == 1:
                log.info(
                    "%s: token refused (%s) on %s; refreshing once",
                    self.app.name,
                    payload["errcode"],
                    path,
                )
                await self.token.discard(token)
                continue
            raise_for_errcode(payload)
            return payload, body
        raise AssertionError("unreachable")  # pragma: no cover

    async def _fetch_token(self) -> tuple[str, int]:
        params = {"corpid": self.app.corp_id, "corpsecret": self.app.secret}
        status, _, body = await self._request("GET", "/cgi-bin/gettoken", params, None, None)
        payload = _json_object("GET /cgi-bin/gettoken", status, body)
        raise_for_errcode(payload)  # 40001 (wrong secret), 40013 (wrong corp id): rejected
        token = payload.get("access_token")
        if not isinstance(token, str) or not token:
            raise PlatformRejected(0, "gettoken answered without an access_token")
        return token, int(payload.get("expires_in", 7200))

    async def _fetch_corp_ticket(self) -> tuple[str, int]:
        answer = await self.call("GET", "/cgi-bin/get_jsapi_ticket")
        return _ticket("get_jsapi_ticket", answer)

    async def _fetch_agent_ticket(self) -> tuple[str, int]:
        answer = await self.call("GET", "/cgi-bin/ticket/get", params={"type": "agent_config"})
        return _ticket("ticket/get", answer)

    async def _request(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None,
        json: Any,
        data: aiohttp.FormData | None,
    ) -> tuple[int, str, bytes]:
        """Status, content type and body of one request; network failures and 5xx raised."""
        url = self.app.api_base.rstrip("/") + path
        where = f"{method} {path}"  # never the query: it carries the token or the secret
        status, content_type, body = await exchange(
            self._session, method, url, where, self._timeout, params=params, json=json, data=data
        )
        if status >= 500:
            # A read changes nothing and can simply be repeated; a write may have taken effect.
            error = PlatformUnavailable if method == "GET" else OutcomeUnknown
            raise error(f"{where}: HTTP {status}")
        return status, content_type, body

    # The API calls opsbot makes.

    async def send_message(self, touser: str, msgtype: str, body: dict[str, Any]) -> dict[str, Any]:
        """An app message to members (``touser`` = "id1|id2"); the platform's answer.

        Recipients the platform lists as invalid were skipped; when that is every one of them,
        :class:`RecipientUnreachable` is raised."""
        answer = await self.call(
            "POST",
            "/cgi-bin/message/send",
            json={
                "touser": touser,
                "msgtype": msgtype,
                "agentid": self.app.agent_id,
                msgtype: body,
            },
        )
        invalid = str(answer.get("invaliduser") or "")
        if invalid:
            skipped = {u.lower() for u in invalid.split("|")}
            if {u.lower() for u in touser.split("|")} <= skipped:
                raise RecipientUnreachable(
                    EVERY_RECIPIENT_INVALID, f"every recipient is invalid: {invalid}"
                )
            log.warning("%s: message/send skipped invalid users %s", self.app.name, invalid)
        return answer

    async def upload_media(self, kind: str, filename: str, content: bytes) -> str:
        """A temporary media file (3 days) of ``kind`` image/voice/video/file; its media_id."""
        form = aiohttp.FormData()
        form.add_field("media", content, filename=filename)
        answer = await self.call("POST", "/cgi-bin/media/upload", params={"type": kind}, data=form)
        media_id = answer.get("media_id")
        if not isinstance(media_id, str) or not media_id:
            raise PlatformRejected(0, "media/upload answered without a media_id")
        return media_id

    async def get_media(self, media_id: str) -> bytes:
        """The content of a temporary media file (a picture a staff member sent)."""
        _, body = await self._authorized(
            "GET", "/cgi-bin/media/get", {"media_id": media_id}, None, None, binary=True
        )
        return body

    async def js_config(self, url: str, *, agent: bool, now: float | None = None) -> JsConfig:
        """What the page at ``url`` passes to ``wx.config`` (the corp ticket) or, when ``agent``,
        to ``wx.agentConfig`` (the app ticket), signed at ``now`` (default: the current time)."""
        ticket = await (self.agent_ticket if agent else self.corp_ticket).get()
        return sign_page(
            self.app, ticket, url, agent=agent, now=time.time() if now is None else now
        )

    async def user_from_code(self, code: str) -> str:
        """The userid of the member whose browser came back from the OAuth link with ``code``.

        A code is good for one use within 5 minutes: an unknown, used or expired one raises
        :class:`PlatformRejected` with code :data:`INVALID_CODE`; someone who is not a member
        of the corp raises it with :data:`NOT_A_MEMBER`."""
        answer = await self.call("GET", "/cgi-bin/auth/getuserinfo", params={"code": code})
        userid = answer.get("userid")
        if isinstance(userid, str) and userid:
            return userid
        if answer.get("openid"):
            raise PlatformRejected(NOT_A_MEMBER, "the OAuth code identifies a non-member")
        raise PlatformRejected(NOT_A_MEMBER, "auth/getuserinfo answered without a userid")

    # Customer groups (客户群) and group mass messages (企业群发 to groups).

    async def groupchat_list(
        self, status_filter: int = 0, owners: Sequence[str] | None = None, limit: int = 1000
    ) -> list[str]:
        """Chat ids of the corp's customer groups, oldest first, following ``next_cursor`` to
        the end (``limit`` is the page size, 1..1000).

        ``status_filter`` 0 lists every group, 1-3 only those whose owner left (pending
        handover, handover running, handed over). ``owners`` keeps the groups of those members
        (asked 100 at a time; an empty list gives no groups). Without ``owners``, a corp whose
        app sees more than 1000 members is refused with :class:`PlatformRejected`
        :data:`OWNERS_NEED_FILTER`."""
        if not 1 <= limit <= GROUPCHAT_PAGE_MAX:
            raise ValueError(f"limit must be 1-{GROUPCHAT_PAGE_MAX}")
        if status_filter not in (0, 1, 2, 3):
            raise ValueError("status_filter must be 0, 1, 2 or 3")
        batches: list[list[str] | None] = [None]
        if owners is not None:
            unique = list(dict.fromkeys(owners))
            batches = [
                unique[i : i + OWNER_FILTER_MAX] for i in range(0, len(unique), OWNER_FILTER_MAX)
            ]
        chat_ids: dict[str, None] = {}
        for batch in batches:
            body: dict[str, Any] = {"status_filter": status_filter, "limit": limit}
            if batch is not None:
                body["owner_filter"] = {"userid_list": batch}
            for item in await self._collect(
                "/cgi-bin/externalcontact/groupchat/list", body, "group_chat_list"
            ):
                chat_id = item.get("chat_id")
                if isinstance(chat_id, str) and chat_id:
                    chat_ids[chat_id] = None
        return list(chat_ids)

    async def groupchat_get(self, chat_id: str) -> dict[str, Any]:
        """The ``group_chat`` object of one customer group (with members' names): chat_id,
        name, owner, create_time, notice, member_list, admin_list, member_version. A chat id
        that is not a customer group of the corp raises :class:`PlatformRejected`
        :data:`NOT_A_CUSTOMER_GROUP`."""
        answer = await self.call(
            "POST",
            "/cgi-bin/externalcontact/groupchat/get",
            json={"chat_id": chat_id, "need_name": 1},
        )
        group = answer.get("group_chat")
        if not isinstance(group, dict):
            raise PlatformRejected(0, "groupchat/get answered without a group_chat")
        return group

    async def add_group_msg_template(
        self, sender: str, chat_ids: list[str], text: str, attachments: list[dict[str, Any]]
    ) -> tuple[str, list[str]]:
        """A group mass message that ``sender`` must still confirm in the client, to the
        customer groups ``chat_ids`` (which the sender owns); (msgid, fail_list).

        One call takes at most 2000 chat ids and 9 attachments (each ``{"msgtype": ..., type:
        {...}}``): more raise :class:`ValueError`, so callers split their groups themselves,
        one task per chunk. ``fail_list`` names the chat ids the task will not reach; when none
        is left the platform refuses the call. The call creates a task: after
        :class:`OutcomeUnknown` it may exist, so repeating it may create a second one."""
        if not 1 <= len(chat_ids) <= GROUP_TASK_CHATS:
            raise ValueError(f"a group task goes to 1-{GROUP_TASK_CHATS} groups")
        if len(attachments) > TEMPLATE_ATTACHMENTS:
            raise ValueError(f"a group task carries at most {TEMPLATE_ATTACHMENTS} attachments")
        if not text and not attachments:
            raise ValueError("a group task needs text or attachments")
        body: dict[str, Any] = {"chat_type": "group", "sender": sender, "chat_id_list": chat_ids}
        if text:
            body["text"] = {"content": text}
        if attachments:
            body["attachments"] = attachments
        answer = await self.call("POST", "/cgi-bin/externalcontact/add_msg_template", json=body)
        msgid = answer.get("msgid")
        if not isinstance(msgid, str) or not msgid:
            raise PlatformRejected(0, "add_msg_template answered without a msgid")
        failed = answer.get("fail_list") or []
        return msgid, [str(c) for c in failed] if isinstance(failed, list) else []

    async def groupmsg_task(self, msgid: str) -> list[dict[str, Any]]:
        """Who has to send task ``msgid`` and whether they did: ``[{userid, status (0 not
        sent, 2 sent), send_time}]``, every page."""
        return await self._collect(
            "/cgi-bin/externalcontact/get_groupmsg_task",
            {"msgid": msgid, "limit": GROUPMSG_PAGE},
            "task_list",
        )

    async def groupmsg_send_result(self, msgid: str, userid: str) -> list[dict[str, Any]]:
        """What task ``msgid`` of ``userid`` became per group: ``[{chat_id, userid, status (0
        not sent, 1 sent, 3 receive cap reached), send_time}]``, every page."""
        return await self._collect(
            "/cgi-bin/externalcontact/get_groupmsg_send_result",
            {"msgid": msgid, "userid": userid, "limit": GROUPMSG_PAGE},
            "send_list",
        )

    # Customer contact: 「联系我」 contact ways, welcome messages, customer details.

    async def add_contact_way(
        self,
        users: Sequence[str],
        *,
        multi: bool = False,
        state: str = "",
        remark: str = "",
        skip_verify: bool = True,
        parties: Sequence[int] = (),
    ) -> tuple[str, str]:
        """A 「联系我」 QR code (scene 2) that adds one of ``users`` (type 1 with exactly one
        member unless ``multi``; ``parties`` only with ``multi``); (config_id, qr_code).

        ``state`` (≤ 30 characters) comes back as ``State`` in the add event and in the
        customer's details; ``remark`` ≤ 30 characters. Longer values or a wrong number of
        members raise :class:`ValueError`. API-made ways do not show in the admin console:
        keep the config_id. After :class:`OutcomeUnknown` a way may exist."""
        if not multi and (len(users) != 1 or parties):
            raise ValueError("a single-member contact way takes exactly one user and no parties")
        if multi and not users and not parties:
            raise ValueError("a multi-member contact way needs users or parties")
        _check_chars("state", state, CONTACT_WAY_STATE_CHARS)
        _check_chars("remark", remark, CONTACT_WAY_REMARK_CHARS)
        body: dict[str, Any] = {
            "type": 2 if multi else 1,
            "scene": 2,
            "skip_verify": skip_verify,
            "user": list(users),
        }
        if parties:
            body["party"] = list(parties)
        if state:
            body["state"] = state
        if remark:
            body["remark"] = remark
        answer = await self.call("POST", "/cgi-bin/externalcontact/add_contact_way", json=body)
        config_id, qr_code = answer.get("config_id"), answer.get("qr_code")
        if not isinstance(config_id, str) or not config_id:
            raise PlatformRejected(0, "add_contact_way answered without a config_id")
        if not isinstance(qr_code, str) or not qr_code:
            raise PlatformRejected(0, "add_contact_way answered without a qr_code")
        return config_id, qr_code

    async def get_contact_way(self, config_id: str) -> dict[str, Any]:
        """The ``contact_way`` object of one contact way (type, scene, user, state, ...)."""
        answer = await self.call(
            "POST", "/cgi-bin/externalcontact/get_contact_way", json={"config_id": config_id}
        )
        way = answer.get("contact_way")
        if not isinstance(way, dict):
            raise PlatformRejected(0, "get_contact_way answered without a contact_way")
        return way

    async def update_contact_way(
        self,
        config_id: str,
        *,
        users: Sequence[str] | None = None,
        state: str | None = None,
        remark: str | None = None,
        skip_verify: bool | None = None,
    ) -> None:
        """Change the given fields of a contact way (None leaves a field as it is)."""
        body: dict[str, Any] = {"config_id": config_id}
        if users is not None:
            body["user"] = list(users)
        if state is not None:
            _check_chars("state", state, CONTACT_WAY_STATE_CHARS)
            body["state"] = state
        if remark is not None:
            _check_chars("remark", remark, CONTACT_WAY_REMARK_CHARS)
            body["remark"] = remark
        if skip_verify is not None:
            body["skip_verify"] = skip_verify
        await self.call("POST", "/cgi-bin/externalcontact/update_contact_way", json=body)

    async def del_contact_way(self, config_id: str) -> None:
        """Remove a contact way: its code adds nobody any more."""
        await self.call(
            "POST", "/cgi-bin/externalcontact/del_contact_way", json={"config_id": config_id}
        )

    async def send_welcome_msg(
        self, welcome_code: str, text: str, attachments: Sequence[dict[str, Any]] = ()
    ) -> None:
        """The welcome of a new customer, with the ``WelcomeCode`` of its add event: within 20
        seconds of the event and once. A used or expired code (or a customer who already
        chatted) raises :class:`PlatformRejected` with :data:`WELCOME_CODE_USED` — do not
        retry; :data:`WELCOME_BUSY` means another app is sending one. At most 9 attachments
        (each ``{"msgtype": ..., type: {...}}``, as for group messages); more, or neither
        text nor attachments, raise :class:`ValueError`."""
        if len(attachments) > WELCOME_ATTACHMENTS:
            raise ValueError(f"a welcome carries at most {WELCOME_ATTACHMENTS} attachments")
        if not text and not attachments:
            raise ValueError("a welcome needs text or attachments")
        body: dict[str, Any] = {"welcome_code": welcome_code}
        if text:
            body["text"] = {"content": text}
        if attachments:
            body["attachments"] = list(attachments)
        await self.call("POST", "/cgi-bin/externalcontact/send_welcome_msg", json=body)

    async def remark_external_contact(self, userid: str, external_userid: str, remark: str) -> None:
        """Member ``userid``'s remark of a customer. A member who does not have that customer
        raises :class:`RecipientUnreachable` :data:`NOT_A_CUSTOMER` (it can happen shortly
        after the add event: retry after a short delay); the remark's length limit is the
        platform's (commonly 20 characters, unconfirmed)."""
        await self.call(
            "POST",
            "/cgi-bin/externalcontact/remark",
            json={"userid": userid, "external_userid": external_userid, "remark": remark},
        )

    async def get_external_contact(self, external_userid: str) -> dict[str, Any]:
        """A customer's details: ``{"external_contact": {...}, "follow_user": [{userid, remark,
        description, createtime, state, ...}]}``, every page of follow_user."""
        follow: list[dict[str, Any]] = []
        contact: dict[str, Any] = {}
        cursor = ""
        cursors: set[str] = set()
        path = "/cgi-bin/externalcontact/get"
        while True:
            params = {"external_userid": external_userid}
            if cursor:
                params["cursor"] = cursor
            answer = await self.call("GET", path, params=params)
            found = answer.get("external_contact")
            if not isinstance(found, dict):
                raise PlatformRejected(0, f"{path} answered without an external_contact")
            contact = found
            page = answer.get("follow_user", [])
            if isinstance(page, list):
                follow.extend(item for item in page if isinstance(item, dict))
            cursor = answer.get("next_cursor") or ""
            if not isinstance(cursor, str) or not cursor:
                return {"external_contact": contact, "follow_user": follow}
            if cursor in cursors:
                raise PlatformRejected(0, f"{path} answered the same next_cursor twice")
            cursors.add(cursor)

    # 「加入群聊」 join ways: one QR code for up to 5 customer groups.

    async def add_join_way(
        self,
        chat_ids: Sequence[str],
        *,
        state: str = "",
        remark: str = "",
        auto_create: bool = False,
        base_name: str = "",
        base_id: int = 1,
    ) -> str:
        """A join-way QR code (scene 2) for the customer groups ``chat_ids`` (1-5, tried in
        order: a scan joins the first one with room); its config_id (read the QR code URL with
        :meth:`get_join_way`).

        ``state`` (≤ 30 characters) is shown on members who joined through it; ``remark`` is
        cut to 30 characters. With ``auto_create`` the platform creates a new group named
        ``base_name`` (≤ 40 characters; default the first group's name) + a number counting up
        from ``base_id`` when every group is full. Wrong counts or lengths raise
        :class:`ValueError`; a chat id that is not a customer group of the corp raises
        :class:`PlatformRejected` (:data:`NOT_A_CUSTOMER_GROUP` on the fake). ``auto_create_room``
        is always sent (the platform's default is 1). Only this app can read or change the way:
        keep the config_id. After :class:`OutcomeUnknown` a way may exist."""
        _check_chars("base_name", base_name, JOIN_WAY_BASE_NAME_CHARS)
        body: dict[str, Any] = {"scene": 2, "chat_id_list": _join_chats(chat_ids)}
        body.update(
            _join_fields(
                state or None,
                remark or None,
                auto_create,
                (base_name or None) if auto_create else None,
                base_id if auto_create else None,
            )
        )
        answer = await self.call(
            "POST", "/cgi-bin/externalcontact/groupchat/add_join_way", json=body
        )
        config_id = answer.get("config_id")
        if not isinstance(config_id, str) or not config_id:
            raise PlatformRejected(0, "add_join_way answered without a config_id")
        return config_id

    async def get_join_way(self, config_id: str) -> dict[str, Any]:
        """The ``join_way`` object of one of this app's join ways: config_id, scene, remark,
        auto_create_room, room_base_name, room_base_id, chat_id_list, qr_code, state."""
        answer = await self.call(
            "POST",
            "/cgi-bin/externalcontact/groupchat/get_join_way",
            json={"config_id": config_id},
        )
        way = answer.get("join_way")
        if not isinstance(way, dict):
            raise PlatformRejected(0, "get_join_way answered without a join_way")
        return way

    async def update_join_way(
        self,
        config_id: str,
        chat_ids: Sequence[str],
        *,
        state: str | None = None,
        remark: str | None = None,
        auto_create: bool | None = None,
        base_name: str | None = None,
        base_id: int | None = None,
    ) -> None:
        """Give a join way the groups ``chat_ids`` (always sent, with scene 2) and the other
        fields that are not None (the platform replaces what it is given). Limits as for
        :meth:`add_join_way`."""
        body: dict[str, Any] = {
            "config_id": config_id,
            "scene": 2,
            "chat_id_list": _join_chats(chat_ids),
        }
        body.update(_join_fields(state, remark, auto_create, base_name, base_id))
        await self.call("POST", "/cgi-bin/externalcontact/groupchat/update_join_way", json=body)

    async def del_join_way(self, config_id: str) -> None:
        """Remove a join way: its QR code joins nobody any more."""
        await self.call(
            "POST",
            "/cgi-bin/externalcontact/groupchat/del_join_way",
            json={"config_id": config_id},
        )

    # Corp tags (企业客户标签) and member names.

    async def corp_tags(self) -> list[dict[str, Any]]:
        """Every tag group of the corp: ``[{group_id, group_name, create_time, order, tag:
        [{id, name, create_time, order}]}]``."""
        answer = await self.call("POST", "/cgi-bin/externalcontact/get_corp_tag_list", json={})
        groups = answer.get("tag_group", [])
        if not isinstance(groups, list):
            raise PlatformRejected(0, "get_corp_tag_list answered without a tag_group list")
        return [g for g in groups if isinstance(g, dict)]

    async def add_corp_tags(self, group_name: str, names: Sequence[str]) -> dict[str, str]:
        """New tags ``names`` in the tag group ``group_name`` (created when the corp has no
        group of that name); name -> tag id of each new tag. A name the group has already
        raises :class:`PlatformRejected` :data:`TAG_NAME_EXISTS` (and adds nothing); no names,
        a name given twice, or one longer than 30 characters raise :class:`ValueError`."""
        if not names:
            raise ValueError("give at least one tag name")
        if len(set(names)) != len(names):
            raise ValueError("a tag name is given twice")
        for name in (group_name, *names):
            if not name:
                raise ValueError("tag and group names must not be empty")
            _check_chars("a tag name", name, TAG_NAME_CHARS)
        answer = await self.call(
            "POST",
            "/cgi-bin/externalcontact/add_corp_tag",
            json={"group_name": group_name, "tag": [{"name": n} for n in names]},
        )
        group = answer.get("tag_group")
        tags = group.get("tag") if isinstance(group, dict) else None
        if not isinstance(tags, list):
            raise PlatformRejected(0, "add_corp_tag answered without a tag_group")
        created = {
            str(t["name"]): str(t["id"])
            for t in tags
            if isinstance(t, dict) and t.get("name") and t.get("id")
        }
        if set(created) != set(names):
            raise PlatformRejected(0, "add_corp_tag answered other tags than it was given")
        return created

    async def mark_tag(
        self,
        userid: str,
        external_userid: str,
        add: Sequence[str],
        remove: Sequence[str] = (),
    ) -> None:
        """Member ``userid`` puts the corp tags ``add`` on a customer and takes ``remove`` off
        (tag ids). An unknown tag id raises :class:`PlatformRejected` :data:`INVALID_TAG`; a
        member who does not have that customer :class:`RecipientUnreachable`
        :data:`NOT_A_CUSTOMER`; nothing to do raises :class:`ValueError`."""
        if not add and not remove:
            raise ValueError("give tags to add or to remove")
        await self.call(
            "POST",
            "/cgi-bin/externalcontact/mark_tag",
            json={
                "userid": userid,
                "external_userid": external_userid,
                "add_tag": list(add),
                "remove_tag": list(remove),
            },
        )

    async def user_name(self, userid: str) -> str:
        """The name of a member of the corp ("" when the answer has none). A userid the corp
        does not have raises :class:`PlatformRejected` :data:`USER_NOT_FOUND`."""
        answer = await self.call("GET", "/cgi-bin/user/get", params={"userid": userid})
        name = answer.get("name")
        return name if isinstance(name, str) else ""

    async def _collect(self, path: str, body: dict[str, Any], key: str) -> list[dict[str, Any]]:
        """Every item of the ``key`` lists of a paged POST API, following ``next_cursor``
        until it is empty (a cursor answered twice is refused rather than looped on)."""
        items: list[dict[str, Any]] = []
        cursor = ""
        cursors: set[str] = set()
        while True:
            page_body = {**body, "cursor": cursor} if cursor else body
            answer = await self.call("POST", path, json=page_body)
            page = answer.get(key, [])
            if not isinstance(page, list):
                raise PlatformRejected(0, f"{path} answered without a {key} list")
            items.extend(item for item in page if isinstance(item, dict))
            cursor = answer.get("next_cursor") or ""
            if not isinstance(cursor, str) or not cursor:
                return items
            if cursor in cursors:
                raise PlatformRejected(0, f"{path} answered the same next_cursor twice")
            cursors.add(cursor)


def _check_chars(name: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise ValueError(f"{name} is longer than {limit} characters")


def _join_chats(chat_ids: Sequence[str]) -> list[str]:
    """The chat_id_list of a join way (1-5 distinct chat ids, else ValueError)."""
    if not 1 <= len(chat_ids) <= JOIN_WAY_CHATS:
        raise ValueError(f"a join way lists 1-{JOIN_WAY_CHATS} customer groups")
    if len(set(chat_ids)) != len(chat_ids):
        raise ValueError("a join way lists a customer group twice")
    return list(chat_ids)


def _join_fields(
    state: str | None,
    remark: str | None,
    auto_create: bool | None,
    base_name: str | None,
    base_id: int | None,
) -> dict[str, Any]:
    """The join-way fields that are not None, checked; the remark cut to its limit."""
    body: dict[str, Any] = {}
    if state is not None:
        _check_chars("state", state, JOIN_WAY_STATE_CHARS)
        body["state"] = state
    if remark is not None:
        body["remark"] = remark[:JOIN_WAY_REMARK_CHARS]
    if auto_create is not None:
        body["auto_create_room"] = 1 if auto_create else 0
    if base_name is not None:
        _check_chars("base_name", base_name, JOIN_WAY_BASE_NAME_CHARS)
        body["room_base_name"] = base_name
    if base_id is not None:
        if base_id < 0:
            raise ValueError("base_id must not be negative")
        body["room_base_id"] = base_id
    return body


def _ticket(where: str, answer: dict[str, Any]) -> tuple[str, int]:
    ticket = answer.get("ticket")
    if not isinstance(ticket, str) or not ticket:
        raise PlatformRejected(0, f"{where} answered without a ticket")
    return ticket, int(answer.get("expires_in", 7200))


def _is_json(content_type: str, body: bytes) -> bool:
    """Whether a media download answered with an error document instead of the file."""
    if "json" in content_type:
        return True
    return content_type == "text/plain" and body.lstrip().startswith(b"{")


def _json_object(where: str, status: int, body: bytes) -> dict[str, Any]:
    """The JSON answer; an HTTP 4xx without an ``errcode`` is a rejection (a wrong path or
    base URL: repeating it will not help)."""
    try:
        payload = jsonlib.loads(body)
    except ValueError:
        payload = None
    if isinstance(payload, dict) and (status < 400 or payload.get("errcode")):
        return payload
    if status >= 400:
        raise PlatformRejected(0, f"{where}: HTTP {status}")
    raise PlatformUnavailable(f"{where}: HTTP {status}, not a JSON object")
