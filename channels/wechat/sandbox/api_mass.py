"""Mass send (§2.5): sendall, send, preview, get, delete and the MASSSENDJOBFINISH push."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Final

from .api import ApiContext, JsonResult, ok
from .callbacks import mass_finish_xml
from .customer import post_callback
from .errors import ApiError
from .limits import MASS_DEDUPE_WINDOW, china_day, receipt_allowed, utf8_len
from .payloads import MASS_RULES, message_payload
from .state import AccountState, Customer, FakePlatform, MassJob
from .validation import integer, msg_id, obj, text

MAX_OPENIDS: Final = 10_000
DELETABLE: Final = frozenset({"mpnews", "mpvideo"})


def _rate(ctx: ApiContext) -> None:
    if not ctx.state.mass_rate.hit(ctx.now):
        limit = ctx.platform.limits.mass_requests_per_minute
        raise ApiError(45011, f"mass-send APIs allow {limit} requests per minute")


def _clientmsgid(body: dict[str, Any]) -> str | None:
    value = body.get("clientmsgid")
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(47001, "clientmsgid must be a string")
    if utf8_len(value) > 64:
        raise ApiError(45067, f"clientmsgid is {utf8_len(value)} bytes, at most 64")
    return value


def _duplicate(state: AccountState, clientmsgid: str | None, digest: str, now: float) -> None:
    for job in state.mass_jobs.values():
        if job.created_at <= now - MASS_DEDUPE_WINDOW:
            continue
        same = job.clientmsgid == clientmsgid if clientmsgid else job.digest == digest
        if same:
            raise ApiError(45065, "same mass message within 24 hours", msg_id=job.msg_id)


async def _submit(
    ctx: ApiContext,
    body: dict[str, Any],
    audience: list[Customer],
    target: Any,
    total: int | None = None,
) -> JsonResult:
    """Validate, dedupe, deliver within each customer's receipt quota, then push the result.

    A repeated clientmsgid is answered (45065 with the first msg_id) before the payload is
    checked: the first send of an mpnews took its draft out of the box, and a retry must
    still learn that the send happened rather than get 40007.
    """
    clientmsgid = _clientmsgid(body)
    if clientmsgid:
        _duplicate(ctx.state, clientmsgid, "", ctx.now)
    msgtype, payload = message_payload(MASS_RULES, ctx.state, body, ctx.now)
    digest = hashlib.sha256(
        json.dumps([target, msgtype, payload], sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()
    _duplicate(ctx.state, clientmsgid, digest, ctx.now)
    platform, state = ctx.platform, ctx.state
    job = MassJob(
        platform.next_msg_id(),
        platform.next_msg_id() if msgtype == "mpnews" else None,
        msgtype,
        payload,
        digest,
        clientmsgid,
        ctx.now,
    )
    state.mass_jobs[job.msg_id] = job
    seen = {"type": msgtype, **payload, **_articles(state, msgtype, payload), "msg_id": job.msg_id}
    if msgtype == "mpnews":
        state.drafts.remove(payload["media_id"])  # a mass-sent draft leaves the box
    eligible = [c for c in audience if c.following]
    sent = 0
    for customer in eligible:
        if not receipt_allowed(
            customer.mass_receipts,
            limits=platform.limits,
            now=ctx.now,
            service_account=state.account.service_account,
        ):
            continue
        customer.mass_receipts.append(ctx.now)
        state.timeline(customer.openid).append(ctx.now, "out", "mass", dict(seen))
        sent += 1
    job.counts = {
        "total": len(audience) if total is None else total,
        "filter": len(eligible),
        "sent": sent,
        "errors": len(eligible) - sent,
    }
    platform.spawn(_push_finish(platform, state, job))
    answer = ok(msg_id=job.msg_id)
    answer["errmsg"] = "send job submission success"
    if job.msg_data_id is not None:
        answer["msg_data_id"] = job.msg_data_id
    return answer


def _articles(state: AccountState, msgtype: str, payload: dict[str, Any]) -> dict[str, Any]:
    """What a customer sees of an mpnews besides its media_id: the titles of the draft."""
    if msgtype != "mpnews":
        return {}
    draft = state.drafts.get(payload.get("media_id"), "mpnews.media_id")
    return {"titles": [str(a.get("title", "")) for a in draft.articles]}


async def _push_finish(platform: FakePlatform, state: AccountState, job: MassJob) -> None:
    counts = job.counts
    status = "send success" if counts["sent"] or not counts["filter"] else "send fail"
    job.status = "SEND_SUCCESS" if status == "send success" else "SEND_FAIL"
    xml = mass_finish_xml(
        state.account,
        mass_event_sender(state),
        int(platform.clock.now()),
        msg_id=job.msg_id,
        status=status,
        total=counts["total"],
        filter_count=counts["filter"],
        sent=counts["sent"],
        errors=counts["errors"],
    )
    delivery = await post_callback(platform, state, xml)
    job.callback = f"HTTP {delivery.status}" if delivery.failure is None else delivery.failure


def mass_event_sender(state: AccountState) -> str:
    """FromUserName of MASSSENDJOBFINISH events (a fixed system OpenID per account)."""
    return "o" + hashlib.sha1(state.account.app_id.encode()).hexdigest()[:27]  # noqa: S324


async def sendall(ctx: ApiContext) -> JsonResult:
    """Send to all followers or to one tag."""
    _rate(ctx)
    body = await ctx.json()
    filter_ = obj(body, "filter")
    if filter_.get("is_to_all") is True:
        return await _submit(ctx, body, ctx.state.followers(), "all")
    tag_id = integer(filter_, "tag_id", "filter.")
    audience = ctx.state.tagged(tag_id)
    return await _submit(ctx, body, audience, {"tag_id": tag_id})


async def send(ctx: ApiContext) -> JsonResult:
    """Send to a list of 2..10000 OpenIDs."""
    _rate(ctx)
    body = await ctx.json()
    touser = body.get("touser")
    if not isinstance(touser, list) or not all(isinstance(o, str) for o in touser):
        raise ApiError(47001, "touser must be a list of OpenIDs")
    if not 2 <= len(touser) <= MAX_OPENIDS:
        raise ApiError(40130, f"touser has {len(touser)} OpenIDs, allowed 2-{MAX_OPENIDS}")
    customers = ctx.state.customers
    audience = [customers[o] for o in dict.fromkeys(touser) if o in customers]
    return await _submit(ctx, body, audience, sorted(set(touser)), total=len(set(touser)))


async def preview(ctx: ApiContext) -> JsonResult:
    """Preview to one follower by OpenID or WeChat ID (towxname: 100 per day)."""
    _rate(ctx)
    body = await ctx.json()
    state = ctx.state
    if "towxname" in body:
        name = text(body, "towxname")
        customer = next((c for c in state.customers.values() if c.wxname == name), None)
        day = china_day(ctx.now)
        if state.previews_by_day.get(day, 0) >= ctx.platform.limits.previews_by_wxname_per_day:
            raise ApiError(45009, "towxname previews are limited per day")
    else:
        customer = state.customers.get(text(body, "touser", errcode=40003))
        day = None
    if customer is None:
        raise ApiError(40003, "no customer with this OpenID / WeChat ID")
    msgtype, payload = message_payload(MASS_RULES, state, body, ctx.now)
    if not customer.following:
        raise ApiError(43004, "the customer does not follow this account")
    if day is not None:
        state.previews_by_day[day] = state.previews_by_day.get(day, 0) + 1
    state.timeline(customer.openid).append(
        ctx.now,
        "out",
        "mass",
        {"type": msgtype, **payload, **_articles(state, msgtype, payload), "preview": True},
    )
    answer = ok(msg_id=ctx.platform.next_msg_id())
    answer["errmsg"] = "preview success"
    return answer


def _job(ctx: ApiContext, body: dict[str, Any]) -> MassJob:
    job = ctx.state.mass_jobs.get(msg_id(body))
    if job is None:
        raise ApiError(40059, "no mass message with this msg_id")
    return job


async def mass_get(ctx: ApiContext) -> JsonResult:
    """Status of a mass message."""
    job = _job(ctx, await ctx.json())
    return {"msg_id": job.msg_id, "msg_status": job.status}


async def mass_delete(ctx: ApiContext) -> JsonResult:
    """Delete an mpnews / mpvideo mass message (kills the article page)."""
    body = await ctx.json()
    job = _job(ctx, body)
    index = body.get("article_idx", 0)
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise ApiError(47001, "article_idx must be an integer >= 0")
    if job.msgtype not in DELETABLE:
        raise ApiError(40008, "only mpnews and mpvideo mass messages can be deleted")
    if index == 0:
        job.status = "DELETE"
    return ok()
