"""The chat-toolbar sidebar, server side, over real HTTP: the bot's app and the WeCom fake run on
loopback; a cookie-keeping HTTP client plays the staff member's browser, following the OAuth
redirects through the fake's authorize page."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from bot.app import ENGINE, LIBRARY, STAFF_CHAT
from channels.wecom.app import WecomApp
from scripts_library.model import Draft, Script, ScriptError
from scripts_library.sidebar import SESSION_COOKIE, session_cookie
from storage import library_repo
from tests.helpers.stack import Stack, running_stack

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
MP4 = bytes(4) + b"ftypisom" + bytes(60)
CUSTOMER = "wmCustomer001"
ADMIN = "wecom:corp:lilei"
STAFF = "wecom:corp:hanmeimei"


def account(stack: Stack) -> str:
    """The Official Account whose library the app "corp" uses."""
    return stack.settings.managed_account(stack.settings.wecom["corp"].manages)


def corp_app(stack: Stack) -> WecomApp:
    return next(a for a in stack.app[STAFF_CHAT].wecom_apps if a.name == "corp")


async def add(stack: Stack, draft: Draft, person: str = ADMIN) -> Script:
    return await stack.app[LIBRARY].add(account(stack), draft, person)


async def add_unchecked(stack: Stack, draft: Draft) -> Script:
    fields = {
        "title": draft.title,
        "shortcode": "",
        "kind": draft.kind,
        "body": draft.body,
        "tags": [],
        "owner": "",
        "category": "",
    }
    ids, _ = await library_repo.save_scripts(stack.app[ENGINE], account(stack), [fields], ADMIN)
    found = await stack.app[LIBRARY].get(account(stack), ids[0], ADMIN)
    assert found is not None
    return found


async def keep(stack: Stack, content_type: str, data: bytes) -> str:
    return await stack.app[LIBRARY].keep_file(content_type, data)


@dataclass
class Hop:
    status: int
    url: str
    location: str
    cookies: list[str]


@dataclass
class Browser:
    """A staff member's browser: keeps cookies (also for 127.0.0.1), follows redirects by hand
    so that each hop can be checked."""

    stack: Stack
    http: aiohttp.ClientSession
    hops: list[Hop] = field(default_factory=list)

    @property
    def page(self) -> str:
        return f"{self.stack.bot_url}/sidebar/corp"

    def api(self, name: str) -> str:
        return f"{self.page}/api/{name}"

    async def open(self, url: str, *, limit: int = 6) -> tuple[int, str]:
        """GET ``url`` and follow redirects; the final status and body."""
        status, body = await self.walk(url, limit)
        if status == 302:
            raise AssertionError(f"too many redirects: {self.hops}")
        return status, body

    async def walk(self, url: str, steps: int) -> tuple[int, str]:
        """GET ``url`` and follow at most ``steps - 1`` redirects; the last status and body."""
        self.hops = []
        for _ in range(steps):
            async with self.http.get(url, allow_redirects=False) as resp:
                location = resp.headers.get("Location", "")
                self.hops.append(
                    Hop(resp.status, url, location, resp.headers.getall("Set-Cookie", []))
                )
                if resp.status != 302:
                    return resp.status, await resp.text()
            url = location
        return 302, ""

    async def sign_in(self, userid: str, *, member: bool = True) -> tuple[int, str]:
        """Be ``userid`` at WeCom and open the sidebar."""
        assert self.stack.wecom is not None
        self.stack.wecom.sign_in("corp", userid, member=member)
        return await self.open(self.page)

    async def get(self, name: str, **params: str) -> tuple[int, Any]:
        async with self.http.get(self.api(name), params=params) as resp:
            return resp.status, await resp.json()

    async def post(self, name: str, body: Any, *, header: bool = True) -> tuple[int, Any]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if header:
            headers["X-Opsbot-Sidebar"] = "1"
        async with self.http.post(self.api(name), data=data, headers=headers) as resp:
            return resp.status, await resp.json()


@asynccontextmanager
async def browser(stack: Stack) -> AsyncIterator[Browser]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        yield Browser(stack, http)


def wecom_calls(stack: Stack, path: str) -> list[Any]:
    """The calls the bot made to the WeCom fake's ``path``."""
    assert stack.wecom is not None
    return stack.wecom.calls_to(path, "corp")


def titles(items: list[dict[str, Any]]) -> list[str]:
    return [i["title"] for i in items]


async def test_oauth_round_trip_through_the_fake_sets_the_session_cookie(
    tmp_path: Path, db_url: str
) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack, browser(stack) as me:
        status, html = await me.sign_in("lilei")
        assert status == 200, html
        assert "企业话术库" in html and "lilei" in html
        first, at_wecom, back, page = me.hops
        # 1. No session: off to WeCom's OAuth page (the fake's), with a state to match.
        authorize = urlsplit(first.location)
        assert authorize.path == "/wecom/connect/oauth2/authorize"
        asked = parse_qs(authorize.query)
        assert asked["redirect_uri"] == [me.page]
        assert asked["scope"] == ["snsapi_base"] and asked["agentid"] == ["1000002"]
        assert any(
            c.startswith(f"opsbot_sidebar_state={asked['state'][0]};") for c in first.cookies
        )
        # 2. The fake sends the browser back with a code and the same state.
        returned = parse_qs(urlsplit(at_wecom.location).query)
        assert returned["state"] == asked["state"] and returned["code"]
        # 3. The code becomes the session cookie, and the browser goes to the clean page URL.
        assert back.status == 302 and back.location == me.page
        session = next(c for c in back.cookies if c.startswith(f"{SESSION_COOKIE}="))
        attributes = {a.strip().lower() for a in session.split(";")[1:]}
        assert {"httponly", "path=/sidebar/corp", "samesite=lax", "max-age=28800"} <= attributes
        assert page.status == 200 and page.url == me.page
        # The code was used up at the fake; the page opens again without another round trip.
        assert len(wecom_calls(stack, "/cgi-bin/auth/getuserinfo")) == 1
        assert (await me.open(me.page))[0] == 200 and len(me.hops) == 1
        # A code brought back to another browser (no matching state) is refused unused: nobody
        # can sign someone else in with their own code.
        async with browser(stack) as victim, browser(stack) as attacker:
            await attacker.walk(attacker.page, 2)  # to WeCom and back, not followed
            fresh = attacker.hops[-1].location
            assert "code=" in fresh
            status, html = await victim.open(fresh)
            assert status == 400 and "登录已失效" in html
            assert len(wecom_calls(stack, "/cgi-bin/auth/getuserinfo")) == 1
            assert (await victim.get("recent"))[0] == 401
            # The browser that asked for it gets in with it.
            assert (await attacker.open(fresh))[0] == 200


async def test_people_without_a_role_and_outsiders_are_refused(tmp_path: Path, db_url: str) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        async with browser(stack) as stranger:
            status, html = await stranger.sign_in("wangwu")
            assert status == 403 and "没有权限" in html and "wangwu" in html
            assert not any(
                c.startswith(SESSION_COOKIE + "=") for h in stranger.hops for c in h.cookies
            )
            assert (await stranger.get("search", q="退款"))[0] == 401
        async with browser(stack) as outsider:
            status, html = await outsider.sign_in("guest", member=False)
            assert status == 403 and "只有企业成员" in html
        async with browser(stack) as me:
            status, html = await me.open(f"{stack.bot_url}/sidebar/nosuchapp")
            assert status == 404 and "找不到" in html
            assert len(me.hops) == 1


async def test_the_api_needs_a_valid_session_and_posts_need_the_header(
    tmp_path: Path, db_url: str
) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        script = await add(stack, Draft("退款流程", "text", {"text": "您好"}))
        app = corp_app(stack)
        future = int(time.time()) + 3600
        values = {
            "none": None,
            "forged": session_cookie(replace(app, secret="not-the-secret"), "lilei", future),
            "expired": session_cookie(app, "lilei", int(time.time()) - 1),
            "garbage": "bGlsZWk.123.abc",
        }
        async with aiohttp.ClientSession() as http:
            for name, value in values.items():
                headers = {"Cookie": f"{SESSION_COOKIE}={value}"} if value else {}
                url = f"{stack.bot_url}/sidebar/corp/api/search?q=退款"
                async with http.get(url, headers=headers) as resp:
                    assert resp.status == 401, name
                    assert "登录" in (await resp.json())["error"]
                # A forged cookie does not open the page either: off to OAuth.
                async with http.get(
                    f"{stack.bot_url}/sidebar/corp", headers=headers, allow_redirects=False
                ) as resp:
                    assert (
                        resp.status == 302
                        and "/connect/oauth2/authorize" in resp.headers["Location"]
                    )
            # A cookie made with the app's secret is good in any process.
            good = {"Cookie": f"{SESSION_COOKIE}={session_cookie(app, 'lilei', future)}"}
            url = f"{stack.bot_url}/sidebar/corp/api/search?q=退款"
            async with http.get(url, headers=good) as resp:
                assert resp.status == 200 and titles(await resp.json()) == ["退款流程"]
        async with browser(stack) as me:
            await me.sign_in("lilei")
            status, answer = await me.post("sent", {"id": script.id}, header=False)
            assert status == 403 and "X-Opsbot-Sidebar" in answer["error"]
            assert await library_repo.uses(stack.app[ENGINE], account(stack), script.id) == []


async def test_config_is_signed_with_both_tickets_fetched_once(tmp_path: Path, db_url: str) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack, browser(stack) as me:
        assert stack.wecom is not None
        await me.sign_in("hanmeimei")
        app = corp_app(stack)
        for url in (me.page, me.page + "?from=toolbar", me.page + "#top", me.page):
            await me.open(me.page)  # another page load
            status, signed = await me.get("config", url=url)
            assert status == 200, signed
            assert signed["corpid"] == app.corp_id and signed["agentid"] == app.agent_id
            for agent, part in ((False, "config"), (True, "agentConfig")):
                values = signed[part]
                assert set(values) == {"timestamp", "nonceStr", "signature"}
                assert stack.wecom.check_js_signature(
                    "corp",
                    agent=agent,
                    url=url,
                    noncestr=values["nonceStr"],
                    timestamp=values["timestamp"],
                    signature=values["signature"],
                ), (url, part)
                # Signed with the other ticket, it would not verify.
                assert not stack.wecom.check_js_signature(
                    "corp",
                    agent=not agent,
                    url=url,
                    noncestr=values["nonceStr"],
                    timestamp=values["timestamp"],
                    signature=values["signature"],
                )
        tickets = stack.wecom.tickets("corp")
        assert tickets["corp_fetches"] == 1 and tickets["agent_fetches"] == 1
        for foreign in (
            "https://evil.example/sidebar/corp",
            me.page + "x",
            me.page + "/api/config",
            f"{stack.bot_url}/sidebar/other",
            "",
        ):
            status, answer = await me.get("config", url=foreign)
            assert status == 400 and "签名" in answer["error"], foreign


async def test_search_categories_favourites_and_recent(tmp_path: Path, db_url: str) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack, browser(stack) as me:
        refund = await add(
            stack,
            Draft(
                "退款流程", "text", {"text": "您好，退款请在订单页申请"}, "tk", category="售后/退款"
            ),
        )
        notice = await add(stack, Draft("售后须知", "text", {"text": "七天无理由退款，运费自理"}))
        await add(stack, Draft("新品到店", "text", {"text": "本周新品"}, category="活动"))
        mine = await add(
            stack, Draft("我的退款话术", "text", {"text": "我来处理"}, owner=STAFF), STAFF
        )
        await me.sign_in("lilei")

        status, found = await me.get("search", q="退款")
        assert status == 200
        assert [(i["title"], i["why"]) for i in found] == [
            ("退款流程", "标题"),
            ("售后须知", "内容"),
        ]
        first = found[0]
        assert first == {
            "id": refund.id,
            "title": "退款流程",
            "kind": "text",
            "kind_name": "文本",
            "shortcode": "tk",
            "preview": "您好，退款请在订单页申请",
            "why": "标题",
            "personal": False,
        }
        assert [i["why"] for i in (await me.get("search", q="tk"))[1]][:1] == ["快捷码"]
        assert (await me.get("search", q=""))[1] == []

        status, categories = await me.get("categories")
        paths = {c["path"]: c["id"] for c in categories}
        assert {"售后/退款", "活动"} <= set(paths)
        assert titles((await me.get("category", path="售后/退款"))[1]) == ["退款流程"]
        assert titles((await me.get("search", q="", category=str(paths["活动"])))[1]) == [
            "新品到店"
        ]
        assert titles((await me.get("search", q="退款", category=str(paths["活动"])))[1]) == []
        assert (await me.get("category", path="没有这个"))[0] == 404
        assert (await me.get("search", q="退款", category="abc"))[0] == 400

        assert (await me.get("favourites"))[1] == []
        await stack.app[LIBRARY].set_favourite(ADMIN, notice, True)
        assert titles((await me.get("favourites"))[1]) == ["售后须知"]
        assert (await me.get("recent"))[1] == []
        assert (await me.post("sent", {"id": refund.id, "customer": {"id": CUSTOMER}}))[0] == 200
        assert titles((await me.get("recent"))[1]) == ["退款流程"]

        # hanmeimei's personal script is hers alone.
        assert mine.id not in [i["id"] for i in found]
        async with browser(stack) as her:
            await her.sign_in("hanmeimei")
            hers = (await her.get("search", q="退款"))[1]
            assert "我的退款话术" in titles(hers)
            assert next(i for i in hers if i["id"] == mine.id)["personal"] is True


async def test_prepare_gives_the_send_parameters_of_each_kind(tmp_path: Path, db_url: str) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack, browser(stack) as me:
        assert stack.wecom is not None
        picture = await keep(stack, "image/png", PNG)
        clip = await keep(stack, "video/mp4", MP4)
        sha = picture.removeprefix("file:")
        file_url = f"{stack.bot_url}/library/files/{sha}"
        text = await add(
            stack,
            Draft("问候", "text", {"text": "我是{{ staff.name }}，您的编号 {{ customer.id }}"}),
        )
        image = await add(stack, Draft("海报", "image", {"image": picture}))
        # Saving refuses a loopback media URL (the server would fetch it); the download path is
        # exercised on the test's loopback server by storing the row as an older version would.
        with pytest.raises(ScriptError, match="公网"):
            await add(stack, Draft("网上海报", "image", {"image": file_url}))
        linked = await add_unchecked(stack, Draft("网上海报", "image", {"image": file_url}))
        video = await add(stack, Draft("介绍视频", "video", {"video": clip}))
        link = await add(
            stack,
            Draft(
                "活动页",
                "link",
                {"url": "https://example.com/sale", "description": "满100减20", "cover": picture},
            ),
        )
        mini = await add(
            stack,
            Draft(
                "商城",
                "miniprogram",
                {
                    "appid": "wx1234567890abcdef",
                    "page": "pages/index?from=sidebar",
                    "cover": picture,
                },
            ),
        )
        await me.sign_in("lilei")

        async def prepare(script: Script, customer: Any = None) -> dict[str, Any]:
            body = {"id": script.id, "customer": customer or {"id": CUSTOMER}}
            status, params = await me.post("prepare", body)
            assert status == 200, params
            return dict(params)

        assert await prepare(text) == {
            "msgtype": "text",
            "enterChat": False,
            "text": {"content": f"我是lilei，您的编号 {CUSTOMER}"},
        }
        # In a group chat the page knows no customer.
        status, params = await me.post("prepare", {"id": text.id})
        assert status == 200 and params["text"]["content"] == "我是lilei，您的编号 "

        media = stack.wecom.state("corp").corp.media.items
        first = await prepare(image)
        second = await prepare(image)
        assert first["msgtype"] == "image" and first["enterChat"] is False
        assert first == second
        assert media[first["image"]["mediaid"]].data == PNG
        assert len(wecom_calls(stack, "/cgi-bin/media/upload")) == 1  # uploaded once, then reused
        # A picture given by URL is downloaded, then uploaded once too.
        by_url = await prepare(linked)
        assert by_url != first and media[by_url["image"]["mediaid"]].data == PNG
        assert await prepare(linked) == by_url
        assert len(wecom_calls(stack, "/cgi-bin/media/upload")) == 2

        sent_video = await prepare(video)
        assert sent_video["msgtype"] == "video"
        assert media[sent_video["video"]["mediaid"]].data == MP4

        assert await prepare(link) == {
            "msgtype": "news",
            "enterChat": False,
            "news": {
                "link": "https://example.com/sale",
                "title": "活动页",
                "desc": "满100减20",
                "imgUrl": file_url,
            },
        }
        assert await prepare(mini) == {
            "msgtype": "miniprogram",
            "enterChat": False,
            "miniprogram": {
                "appid": "wx1234567890abcdef",
                "title": "商城",
                "imgUrl": file_url,
                "page": "pages/index.html?from=sidebar",
            },
        }
        assert len(wecom_calls(stack, "/cgi-bin/media/upload")) == 3  # covers go as URLs


async def test_media_over_the_size_limit_is_not_uploaded(tmp_path: Path, db_url: str) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack, browser(stack) as me:
        big = await keep(stack, "video/mp4", MP4 + bytes(10 * 1024 * 1024))
        video = await add(stack, Draft("大视频", "video", {"video": big}))
        await me.sign_in("lilei")
        status, answer = await me.post("prepare", {"id": video.id})
        assert status == 422 and "10 MB" in answer["error"]
        assert wecom_calls(stack, "/cgi-bin/media/upload") == []


async def test_sent_records_the_use(tmp_path: Path, db_url: str) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack, browser(stack) as me:
        script = await add(stack, Draft("退款流程", "text", {"text": "您好"}))
        await me.sign_in("hanmeimei")
        status, answer = await me.post("sent", {"id": script.id, "customer": {"id": CUSTOMER}})
        assert status == 200 and answer == {"ok": True}
        engine = stack.app[ENGINE]
        uses = await library_repo.uses(engine, account(stack), script.id)
        assert [(u["person"], u["via"]) for u in uses] == [(STAFF, "sidebar")]
        again = await stack.app[LIBRARY].get(account(stack), script.id, STAFF)
        assert again is not None and again.usage == 1


async def test_another_staff_members_personal_script_is_not_found(
    tmp_path: Path, db_url: str
) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack, browser(stack) as me:
        hers = await add(stack, Draft("我的开场白", "text", {"text": "嗨"}, owner=STAFF), STAFF)
        await me.sign_in("lilei")
        for name in ("prepare", "sent"):
            status, answer = await me.post(name, {"id": hers.id, "customer": {"id": CUSTOMER}})
            assert status == 404 and str(hers.id) in answer["error"], name
        assert (await me.get("search", q="开场白"))[1] == []
        assert await library_repo.uses(stack.app[ENGINE], account(stack), hers.id) == []
        async with browser(stack) as her:
            await her.sign_in("hanmeimei")
            status, params = await her.post("prepare", {"id": hers.id})
            assert status == 200 and params["text"]["content"] == "嗨"


async def test_bad_requests_are_refused_and_change_nothing(tmp_path: Path, db_url: str) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack, browser(stack) as me:
        script = await add(stack, Draft("退款流程", "text", {"text": "您好"}))
        await me.sign_in("lilei")
        bad: list[tuple[Any, int, str]] = [
            (b"{not json", 400, "JSON"),
            ([script.id], 400, "对象"),
            ({}, 400, "id"),
            ({"id": str(script.id)}, 400, "id"),
            ({"id": True}, 400, "id"),
            ({"id": -1}, 400, "id"),
            ({"id": script.id, "customer": "wm1"}, 400, "customer"),
            ({"id": script.id, "customer": {"id": 42}}, 400, "customer.id"),
            ({"id": 999999}, 404, "999999"),
        ]
        for name in ("prepare", "sent"):
            for body, status, words in bad:
                got, answer = await me.post(name, body)
                assert got == status and words in answer["error"], (name, body, answer)
        assert await library_repo.uses(stack.app[ENGINE], account(stack), script.id) == []
        again = await stack.app[LIBRARY].get(account(stack), script.id, ADMIN)
        assert again is not None and again.usage == 0
