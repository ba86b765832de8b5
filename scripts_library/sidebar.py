"""The chat-toolbar sidebar (聊天工具栏) of the script library: a page staff open from a customer
chat in WeCom to find a script and send it into that chat.

Routes (``{app}`` is a WeCom app of the settings):

- ``GET /sidebar/{app}``: the page. Who opens it is learned through WeCom OAuth: without a
  session the browser is sent to the OAuth link and comes back with a ``code``, which becomes
  the userid; a person with a role (staff or admin) gets a session cookie, anyone else a refusal.
  The cookie holds the userid, its expiry and an HMAC keyed from the app's secret, so every
  process accepts it and nobody can make one up.
- ``/sidebar/{app}/api/...``: JSON for the page (session required; POSTs also need the
  ``X-Opsbot-Sidebar`` header, which a cross-site form cannot send): the signed ``wx.config``
  and ``wx.agentConfig`` arguments, search, categories, favourites, recent scripts, the
  ``sendChatMessage`` parameters of a script (pictures and videos uploaded as temporary media,
  reused while they live) and the record that a script was sent.
- ``GET /sidebar/static/sidebar.js``: the page's script.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from jinja2 import Environment, PackageLoader
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.download import DownloadFailed, DownloadRefused, fetch_limited
from channels.errors import PlatformError, PlatformRejected
from channels.wecom import chat_toolbar
from channels.wecom.app import WecomApp
from channels.wecom.client import INVALID_CODE, WecomClient
from channels.wecom.jssdk import JsConfig, oauth_url, page_url
from channels.wecom.limits import TEMPORARY_MEDIA_REUSE
from scripts_library.library import ScriptLibrary
from scripts_library.model import (
    FILE_PREFIX,
    KINDS,
    Script,
    ScriptError,
    context,
    media_url,
    render_text,
)
from storage import commands_repo, library_repo
from storage.models import utcnow

log = logging.getLogger(__name__)

JWEIXIN_URL: Final = "https://res.wx.qq.com/open/js/jweixin-1.2.0.js"
JWXWORK_URL: Final = "https://open.work.weixin.qq.com/wwopen/js/jwxwork-1.0.0.js"
SESSION_COOKIE: Final = "opsbot_sidebar"
STATE_COOKIE: Final = "opsbot_sidebar_state"
SESSION_SECONDS: Final = 8 * 3600
STATE_SECONDS: Final = 600
POST_HEADER: Final = "X-Opsbot-Sidebar"
RESULTS: Final = 20
MAX_QUERY: Final = 100
MAX_URL: Final = 2048
MB: Final = 1024 * 1024
DOWNLOAD_TIMEOUT: Final = aiohttp.ClientTimeout(total=30)
_SESSION_LABEL: Final = b"opsbot sidebar session"
_SPACES: Final = re.compile(r"\s+")
_ID: Final = re.compile(r"[0-9]{1,12}")
MAX_ID: Final = 2**31 - 1  # the id column is a 32-bit integer on PostgreSQL
# The page takes no plugins, no <base> and posts no forms.
CSP: Final = "object-src 'none'; base-uri 'none'; form-action 'none'"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    """A request the API refuses: the HTTP status and the reason shown on the page."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Caller:
    """Who is using the sidebar, with which app, on which Official Account's library."""

    app: WecomApp
    account: str
    userid: str

    @property
    def person(self) -> str:
        return f"wecom:{self.app.name}:{self.userid}"


@dataclass(frozen=True)
class MediaRule:
    kind: str  # the WeCom upload type
    what: str  # its name on the page
    limit: int
    accepts: Callable[[str], bool]


IMAGE = MediaRule("image", "图片", 10 * MB, lambda t: t.startswith("image/"))
VIDEO = MediaRule("video", "视频", 10 * MB, lambda t: t == "video/mp4")
EXTENSIONS: Final = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "video/mp4": "mp4",
}


# The session cookie


def _session_key(app: WecomApp) -> bytes:
    return hmac.new(app.secret.encode(), _SESSION_LABEL, hashlib.sha256).digest()


def _mac(app: WecomApp, userid: str, expires: int) -> str:
    signed = f"{app.name}\n{userid}\n{expires}".encode()
    return hmac.new(_session_key(app), signed, hashlib.sha256).hexdigest()


def session_cookie(app: WecomApp, userid: str, expires: int) -> str:
    """The cookie value saying ``userid`` uses the app's sidebar until ``expires`` (epoch)."""
    encoded = base64.urlsafe_b64encode(userid.encode()).decode().rstrip("=")
    return f"{encoded}.{expires}.{_mac(app, userid, expires)}"


def session_user(app: WecomApp, value: str, now: float) -> str | None:
    """The userid a cookie value was made for; None when forged, damaged or expired."""
    try:
        encoded, expires_text, mac = value.split(".")
        userid = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        expires = int(expires_text)
    except (ValueError, UnicodeDecodeError):
        return None
    if not userid or expires <= now:
        return None
    if not hmac.compare_digest(mac.encode(), _mac(app, userid, expires).encode()):
        return None
    return userid


# What the page lists


def preview(script: Script) -> str:
    """A line of what the script says or shows."""
    body = script.body
    text = {
        "text": body.get("text", ""),
        "image": "[图片]",
        "link": body.get("description") or body.get("url", ""),
        "miniprogram": f"[小程序] {body.get('title') or script.title}",
        "video": body.get("description") or "[视频]",
    }[script.kind]
    line = _SPACES.sub(" ", text).strip()
    return line if len(line) <= 80 else line[:79] + "…"


def listed(script: Script, why: str = "") -> dict[str, Any]:
    return {
        "id": script.id,
        "title": script.title,
        "kind": script.kind,
        "kind_name": KINDS[script.kind],
        "shortcode": script.shortcode,
        "preview": preview(script),
        "why": why,
        "personal": bool(script.owner),
    }


def _signed(config: JsConfig) -> dict[str, Any]:
    return {"timestamp": config.timestamp, "nonceStr": config.nonce, "signature": config.signature}


class Sidebar:
    """The routes of the sidebar of every WeCom app; ``clients`` is filled in at start-up and
    ``http`` gives the shared client session once it exists."""

    def __init__(
        self,
        library: ScriptLibrary,
        engine: AsyncEngine,
        *,
        apps: Iterable[WecomApp],
        accounts: Mapping[str, str],
        clients: Mapping[str, WecomClient],
        base_url: str,
        http: Callable[[], aiohttp.ClientSession],
        js_sdk: tuple[str, str] = (JWEIXIN_URL, JWXWORK_URL),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._library = library
        self._engine = engine
        self._apps = {a.name: a for a in apps}
        self._accounts = accounts
        self._clients = clients
        self._base = base_url.rstrip("/")
        self._http = http
        self._js_sdk = js_sdk
        self._clock = clock
        self._secure = self._base.startswith("https://")
        self._templates = Environment(
            loader=PackageLoader("scripts_library", "templates"), autoescape=True
        )
        self._script = resources.files("scripts_library").joinpath("static/sidebar.js").read_bytes()
        self._script_version = hashlib.sha256(self._script).hexdigest()[:12]

    def routes(self) -> list[web.RouteDef]:
        api = "/sidebar/{app}/api/"
        return [
            web.get("/sidebar/static/sidebar.js", self._serve_script),
            web.get("/sidebar/{app}", self._page),
            web.get(api + "config", self._api(self._config)),
            web.get(api + "search", self._api(self._search)),
            web.get(api + "categories", self._api(self._categories)),
            web.get(api + "category", self._api(self._category)),
            web.get(api + "favourites", self._api(self._favourites)),
            web.get(api + "recent", self._api(self._recent)),
            web.post(api + "prepare", self._api(self._prepare)),
            web.post(api + "sent", self._api(self._sent)),
        ]

    # The page and signing in

    async def _serve_script(self, request: web.Request) -> web.Response:
        return web.Response(
            body=self._script,
            content_type="application/javascript",
            charset="utf-8",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    def _page_url(self, app: WecomApp) -> str:
        return f"{self._base}/sidebar/{app.name}"

    async def _page(self, request: web.Request) -> web.StreamResponse:
        app = self._apps.get(request.match_info["app"])
        if app is None:
            return self._message(404, "找不到这个页面", "没有这个企业微信应用的话术库。")
        userid = self._session_user(request, app)
        if userid is not None:
            if not await self._allowed(app, userid):
                refused = self._refusal(app, userid)
                refused.del_cookie(SESSION_COOKIE, path=self._cookie_path(app))
                return refused
            if "code" in request.query:
                return self._redirect(self._clean_url(app, request))
            return self._render_page(app, userid)
        code = request.query.get("code")
        if code:
            return await self._sign_in(request, app, code)
        return self._to_oauth(app)

    def _session_user(self, request: web.Request, app: WecomApp) -> str | None:
        value = request.cookies.get(SESSION_COOKIE)
        return session_user(app, value, self._clock()) if value else None

    async def _allowed(self, app: WecomApp, userid: str) -> bool:
        return bool(await commands_repo.roles_of(self._engine, f"wecom:{app.name}:{userid}"))

    def _cookie_path(self, app: WecomApp) -> str:
        return f"/sidebar/{app.name}"

    def _set_cookie(
        self, response: web.StreamResponse, app: WecomApp, name: str, value: str, max_age: int
    ) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path=self._cookie_path(app),
            httponly=True,
            samesite="Lax",
            secure=self._secure,
        )

    def _to_oauth(self, app: WecomApp) -> web.Response:
        state = secrets.token_hex(16)
        response = self._redirect(oauth_url(app, self._page_url(app), state))
        self._set_cookie(response, app, STATE_COOKIE, state, STATE_SECONDS)
        return response

    def _clean_url(self, app: WecomApp, request: web.Request) -> str:
        """The page URL with the query it was opened with, less the OAuth ``code`` and ``state``."""
        kept = [(k, v) for k, v in request.query.items() if k not in ("code", "state")]
        return self._page_url(app) + (f"?{urlencode(kept)}" if kept else "")

    async def _sign_in(self, request: web.Request, app: WecomApp, code: str) -> web.Response:
        state = request.query.get("state", "").encode()
        expected = request.cookies.get(STATE_COOKIE, "").encode()
        again = self._page_url(app)
        if not expected or not hmac.compare_digest(state, expected):
            log.info("sidebar %s: OAuth answer without a matching state", app.name)
            return self._message(400, "登录已失效", "请重新打开话术库。", again)
        client = self._clients.get(app.name)
        if client is None:
            return self._message(503, "服务正在启动", "请稍后再打开话术库。", again)
        try:
            userid = await client.user_from_code(code)
        except PlatformRejected as exc:
            log.info("sidebar %s: OAuth code refused: %s", app.name, exc)
            if exc.code == INVALID_CODE:
                return self._message(400, "登录已失效", "登录链接已过期或已使用过。", again)
            return self._message(403, "无法使用", "只有企业成员可以使用话术库。")
        except PlatformError as exc:
            log.warning("sidebar %s: could not learn who signed in: %s", app.name, exc)
            return self._message(503, "暂时无法登录", "企业微信暂时没有响应，请稍后再试。", again)
        if not await self._allowed(app, userid):
            return self._refusal(app, userid)
        log.info("sidebar %s: %s signed in", app.name, userid)
        response = self._redirect(self._clean_url(app, request))
        expires = int(self._clock()) + SESSION_SECONDS
        value = session_cookie(app, userid, expires)
        self._set_cookie(response, app, SESSION_COOKIE, value, SESSION_SECONDS)
        response.del_cookie(STATE_COOKIE, path=self._cookie_path(app))
        return response

    def _refusal(self, app: WecomApp, userid: str) -> web.Response:
        log.info("sidebar %s: %s has no role; refused", app.name, userid)
        return self._message(403, "没有权限", f"{userid}，你还没有使用话术库的权限，请联系管理员。")

    @staticmethod
    def _redirect(location: str) -> web.Response:
        return web.Response(status=302, headers={"Location": location, "Cache-Control": "no-store"})

    def _render_page(self, app: WecomApp, userid: str) -> web.Response:
        html = self._templates.get_template("sidebar.html").render(
            userid=userid,
            api=f"/sidebar/{app.name}/api/",
            script=f"/sidebar/static/sidebar.js?v={self._script_version}",
            jweixin=self._js_sdk[0],
            jwxwork=self._js_sdk[1],
        )
        return self._html(200, html)

    def _message(self, status: int, title: str, text: str, retry: str = "") -> web.Response:
        html = self._templates.get_template("sidebar.html").render(
            message=title, detail=text, retry=retry
        )
        return self._html(status, html)

    @staticmethod
    def _html(status: int, html: str) -> web.Response:
        return web.Response(
            status=status,
            text=html,
            content_type="text/html",
            charset="utf-8",
            headers={
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": CSP,
                "Referrer-Policy": "same-origin",
            },
        )

    # The JSON API

    def _api(self, handler: Callable[[web.Request, Caller], Awaitable[Any]]) -> Handler:
        async def run(request: web.Request) -> web.StreamResponse:
            try:
                caller = await self._caller(request)
                try:
                    result = await handler(request, caller)
                except PlatformError as exc:
                    log.warning("sidebar %s %s: %s", request.method, request.path, exc)
                    raise ApiError(503, "企业微信暂时没有响应，请稍后再试。") from exc
            except ApiError as exc:
                log.info(
                    "sidebar %s %s refused (%d): %s",
                    request.method,
                    request.path,
                    exc.status,
                    exc.message,
                )
                return self._json({"error": exc.message}, exc.status)
            return self._json(result, 200)

        return run

    @staticmethod
    def _json(data: Any, status: int) -> web.Response:
        return web.json_response(data, status=status, headers={"Cache-Control": "no-store"})

    async def _caller(self, request: web.Request) -> Caller:
        app = self._apps.get(request.match_info["app"])
        if app is None:
            raise ApiError(404, "没有这个企业微信应用的话术库。")
        if request.method == "POST" and request.headers.get(POST_HEADER) != "1":
            raise ApiError(403, f"请求缺少 {POST_HEADER} 头。")
        userid = self._session_user(request, app)
        if userid is None:
            raise ApiError(401, "登录已过期，请重新打开话术库。")
        if not await self._allowed(app, userid):
            raise ApiError(403, "你没有使用话术库的权限。")
        return Caller(app, self._accounts.get(app.name, ""), userid)

    def _client(self, caller: Caller) -> WecomClient:
        client = self._clients.get(caller.app.name)
        if client is None:
            raise ApiError(503, "服务正在启动，请稍后再试。")
        return client

    async def _config(self, request: web.Request, caller: Caller) -> dict[str, Any]:
        url = page_url(request.query.get("url", ""))
        page = self._page_url(caller.app)
        if len(url) > MAX_URL or not (url == page or url.startswith(page + "?")):
            raise ApiError(400, "只能为话术库页面签名。")
        client = self._client(caller)
        now = self._clock()
        corp = await client.js_config(url, agent=False, now=now)
        agent = await client.js_config(url, agent=True, now=now)
        return {
            "corpid": caller.app.corp_id,
            "agentid": caller.app.agent_id,
            "config": _signed(corp),
            "agentConfig": _signed(agent),
        }

    async def _search(self, request: web.Request, caller: Caller) -> list[dict[str, Any]]:
        query = request.query.get("q", "").strip()[:MAX_QUERY]
        category = _optional_id(request.query.get("category", ""), "category")
        if not query:
            if category is None:
                return []
            path = (await self._library.categories(caller.account, caller.person)).get(category)
            if path is None:
                raise ApiError(404, "没有这个分类。")
            return await self._in_category(caller, path)
        found = await self._library.search(
            caller.account, query, caller.person, limit=RESULTS, category=category
        )
        return [listed(f.script, f.why) for f in found]

    async def _categories(self, request: web.Request, caller: Caller) -> list[dict[str, Any]]:
        categories = await self._library.categories(caller.account, caller.person)
        ordered = sorted(categories.items(), key=lambda item: item[1])
        return [{"id": i, "path": path} for i, path in ordered]

    async def _category(self, request: web.Request, caller: Caller) -> list[dict[str, Any]]:
        path = request.query.get("path", "").strip()
        if not path:
            raise ApiError(400, "缺少分类路径（path）。")
        return await self._in_category(caller, path)

    async def _in_category(self, caller: Caller, path: str) -> list[dict[str, Any]]:
        try:
            scripts = await self._library.in_category(caller.account, path, caller.person)
        except ScriptError as exc:
            raise ApiError(404, str(exc)) from None
        return [listed(s) for s in scripts]

    async def _favourites(self, request: web.Request, caller: Caller) -> list[dict[str, Any]]:
        return [listed(s) for s in await self._library.favourites(caller.account, caller.person)]

    async def _recent(self, request: web.Request, caller: Caller) -> list[dict[str, Any]]:
        scripts = await self._library.recent(caller.account, caller.person, RESULTS)
        return [listed(s) for s in scripts]

    async def _prepare(self, request: web.Request, caller: Caller) -> dict[str, Any]:
        body = await _json_object(request)
        customer = _customer(body)
        script = await self._script_of(caller, body)
        return await self._chat_message(caller, script, customer)

    async def _sent(self, request: web.Request, caller: Caller) -> dict[str, Any]:
        body = await _json_object(request)
        _customer(body)
        script = await self._script_of(caller, body)
        await self._library.record_use(caller.account, script, caller.person, "sidebar")
        log.info("sidebar %s: %s sent script %d", caller.app.name, caller.userid, script.id)
        return {"ok": True}

    async def _script_of(self, caller: Caller, body: Mapping[str, Any]) -> Script:
        script_id = body.get("id")
        if (
            isinstance(script_id, bool)
            or not isinstance(script_id, int)
            or not 0 < script_id <= MAX_ID
        ):
            raise ApiError(400, "id 要是话术的编号（正整数）。")
        script = await self._library.get(caller.account, script_id, caller.person)
        if script is None:
            raise ApiError(404, f"没有编号为 {script_id} 的话术。")
        return script

    # Turning a script into sendChatMessage parameters

    def _file_url(self, sha256: str) -> str:
        return f"{self._base}/library/files/{sha256}"

    async def _chat_message(
        self, caller: Caller, script: Script, customer: str
    ) -> chat_toolbar.ChatMessage:
        body = script.body
        try:
            if script.kind == "text":
                variables = context(
                    {"id": customer, "name": ""}, {"name": caller.userid, "userid": caller.userid}
                )
                return chat_toolbar.text_message(render_text(script, variables))
            if script.kind == "image":
                return chat_toolbar.image_message(await self._media(caller, body["image"], IMAGE))
            if script.kind == "video":
                return chat_toolbar.video_message(await self._media(caller, body["video"], VIDEO))
            title = body.get("title") or script.title
            cover = media_url(body.get("cover", ""), self._file_url)
            if script.kind == "link":
                desc = body.get("description", "")
                return chat_toolbar.news_message(body["url"], title, desc, cover)
            return chat_toolbar.miniprogram_message(body["appid"], title, cover, body["page"])
        except (ScriptError, ValueError) as exc:
            log.warning("sidebar: script %d cannot be sent: %s", script.id, exc)
            raise ApiError(422, f"话术「{script.title}」不能发送：{exc}") from None

    async def _media(self, caller: Caller, ref: str, rule: MediaRule) -> str:
        """The media_id of a picture or video, uploaded once and reused while it lives."""
        owner = f"wecom:{caller.app.name}"
        kept = ref.startswith(FILE_PREFIX)
        source = ref[len(FILE_PREFIX) :] if kept else hashlib.sha256(ref.encode()).hexdigest()
        media_id = await library_repo.platform_media(self._engine, owner, source, utcnow())
        if media_id is not None:
            return media_id
        content_type, data = await (self._kept_file(source) if kept else self._download(ref, rule))
        if not rule.accepts(content_type):
            raise ApiError(422, f"这个{rule.what}是 {content_type} 格式，企业微信不接受。")
        if len(data) > rule.limit:
            raise _too_big(rule)
        filename = f"{rule.kind}.{EXTENSIONS.get(content_type, 'bin')}"
        try:
            media_id = await self._client(caller).upload_media(rule.kind, filename, data)
        except PlatformRejected as exc:
            log.warning("sidebar: %s %s refused by WeCom: %s", rule.kind, ref, exc)
            raise ApiError(502, f"企业微信没有接受这个{rule.what}：{exc.message}") from None
        expires = utcnow() + TEMPORARY_MEDIA_REUSE
        await library_repo.put_platform_media(self._engine, owner, source, media_id, expires)
        log.info("sidebar: uploaded %s %s for %s", rule.kind, ref[:80], owner)
        return media_id

    async def _kept_file(self, sha256: str) -> tuple[str, bytes]:
        found = await self._library.file(sha256)
        if found is None:
            raise ApiError(422, "话术的文件已不在库里，请管理员重新上传。")
        return found

    async def _download(self, url: str, rule: MediaRule) -> tuple[str, bytes]:
        failed = f"{rule.what}下载失败"
        try:
            data, content_type = await fetch_limited(
                self._http(),
                url,
                limit=rule.limit,
                client_timeout=DOWNLOAD_TIMEOUT,
                allow_redirects=False,
            )
        except DownloadRefused as exc:
            if exc.why == "size":
                raise _too_big(rule) from None
            raise ApiError(502, f"{failed}（HTTP {exc.status}）。") from None
        except DownloadFailed as exc:
            log.warning("sidebar: downloading %s failed: %s", url, exc)
            raise ApiError(502, f"{failed}，请稍后再试。") from None
        return content_type, data


def _too_big(rule: MediaRule) -> ApiError:
    return ApiError(422, f"这个{rule.what}超过 {rule.limit // MB} MB，企业微信不接受。")


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "请求内容不是有效的 JSON。") from None
    if not isinstance(body, dict):
        raise ApiError(400, "请求内容要是一个 JSON 对象。")
    return body


def _customer(body: Mapping[str, Any]) -> str:
    """The customer's external userid ("" when the page does not know it, e.g. in a group)."""
    customer = body.get("customer")
    if customer is None:
        return ""
    if not isinstance(customer, dict):
        raise ApiError(400, 'customer 要是一个对象，例如 {"id": "wm..."}。')
    value = customer.get("id")
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > 128:
        raise ApiError(400, "customer.id 要是客户的 external userid（字符串）。")
    return value


def _optional_id(value: str, name: str) -> int | None:
    if not value:
        return None
    if not _ID.fullmatch(value):
        raise ApiError(400, f"{name} 要是正整数。")
    return int(value)
