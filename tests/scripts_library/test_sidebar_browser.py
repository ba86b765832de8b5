"""The sidebar page in a real browser: Debian's headless chromium, driven by playwright, opens
the page through the real OAuth round trip at the WeCom fake; the two JS-SDK scripts are
replaced by a stub ``wx`` that answers like the WeCom client in a customer chat and records
every call, so the test can check what the page registered and sent."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.app import ENGINE
from scripts_library.model import Draft
from scripts_library.sidebar import JWEIXIN_URL, JWXWORK_URL
from storage import library_repo
from tests.helpers.stack import Stack, running_stack
from tests.scripts_library.test_sidebar import ADMIN, CUSTOMER, PNG, account, add, keep

try:
    from playwright.async_api import Page, Route, async_playwright, expect
except ImportError:  # pragma: no cover - depends on the venv
    pytest.skip("playwright is not installed (pip install playwright)", allow_module_level=True)

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():  # pragma: no cover - depends on the machine
    pytest.skip(
        "Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True
    )

SCREENSHOT = Path("/tmp/sidebar.png")  # noqa: S108 - to look at the page, not kept

# The stub JS-SDK. Both SDK URLs serve it; the second load changes nothing.
STUB = """
(function () {
  if (window.wx && window.wx.__stub) { return; }
  var record = window.__wx = { order: [], config: null, agentConfig: null, invokes: [] };
  var answers = %(answers)s;
  var ready = [];
  var configured = false;
  function copy(value) { return JSON.parse(JSON.stringify(value || {})); }
  window.wx = {
    __stub: true,
    config: function (args) {
      record.order.push('config');
      record.config = copy(args);
      configured = true;
      setTimeout(function () { ready.splice(0).forEach(function (f) { f(); }); }, 0);
    },
    ready: function (f) {
      if (configured) { setTimeout(f, 0); } else { ready.push(f); }
    },
    error: function () {},
    agentConfig: function (args) {
      record.order.push('agentConfig');
      record.agentConfig = copy(args);
      setTimeout(function () { args.success({ err_msg: 'agentConfig:ok' }); }, 0);
    },
    invoke: function (name, params, callback) {
      record.order.push(name);
      record.invokes.push({ name: name, params: copy(params) });
      var answer = answers[name] || { err_msg: name + ':fail unknown api' };
      setTimeout(function () { callback(answer); }, 0);
    },
  };
})();
"""


def stub(entry: str = "single_chat_tools", sent: str = "sendChatMessage:ok") -> str:
    answers = {
        "getContext": {"err_msg": "getContext:ok", "entry": entry},
        "getCurExternalContact": {"err_msg": "getCurExternalContact:ok", "userId": CUSTOMER},
        "sendChatMessage": {"err_msg": sent},
    }
    return STUB % {"answers": json.dumps(answers)}


@asynccontextmanager
async def sidebar_page(stack: Stack, sdk: str, userid: str = "lilei") -> AsyncIterator[Page]:
    """The sidebar opened by ``userid`` (signed in at the fake) with the stub SDK."""
    assert stack.wecom is not None
    stack.wecom.sign_in("corp", userid)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True
        )
        try:
            page = await browser.new_page(viewport={"width": 420, "height": 760})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))

            async def serve_stub(route: Route) -> None:
                await route.fulfill(body=sdk, content_type="application/javascript")

            await page.route(JWEIXIN_URL, serve_stub)
            await page.route(JWXWORK_URL, serve_stub)
            await page.goto(f"{stack.bot_url}/sidebar/corp")
            yield page
            assert errors == [], errors
        finally:
            await browser.close()


async def recorded(page: Page) -> dict[str, Any]:
    value: dict[str, Any] = await page.evaluate("() => window.__wx")
    return value


async def test_search_and_send_from_a_customer_chat(tmp_path: Path, db_url: str) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        assert stack.wecom is not None
        picture = await keep(stack, "image/png", PNG)
        greeting = await add(
            stack, Draft("退款流程", "text", {"text": "{{ staff.name }}为您办理退款"}, "tk")
        )
        chart = await add(stack, Draft("退款流程图", "image", {"image": picture}))
        await add(stack, Draft("售后须知", "text", {"text": "七天无理由退款"}))
        await add(stack, Draft("新品到店", "text", {"text": "本周新品"}))

        async with sidebar_page(stack, stub()) as page:
            page_url = f"{stack.bot_url}/sidebar/corp"
            # Back from the fake's OAuth page, code and state gone (the browser keeps the OAuth
            # link's "#wechat_redirect" across the redirects; signatures leave it out).
            assert page.url.split("#")[0] == page_url
            await expect(page.locator("#who")).to_have_text("lilei")
            # Ready once the page knows the customer of the chat.
            await page.wait_for_function(
                "() => window.__wx && window.__wx.order.includes('getCurExternalContact')"
            )

            await page.locator("#q").press_sequentially("退款")
            items = page.locator("#results .item")
            await expect(items.locator(".title")).to_have_text(
                ["退款流程", "退款流程图", "售后须知"]
            )
            await expect(page.locator("#notice")).to_be_hidden()
            await page.screenshot(path=str(SCREENSHOT), full_page=True)

            for script in (greeting, chart):
                row = page.locator(f'#results .item[data-id="{script.id}"]')
                await row.locator(".send").click()
                await expect(row.locator(".result")).to_have_text("已发送")

            wx = await recorded(page)
            assert wx["order"][:4] == [
                "config",
                "agentConfig",
                "getContext",
                "getCurExternalContact",
            ]
            sends = [i["params"] for i in wx["invokes"] if i["name"] == "sendChatMessage"]
            assert sends[0] == {
                "msgtype": "text",
                "enterChat": False,
                "text": {"content": "lilei为您办理退款"},
            }
            assert sends[1]["msgtype"] == "image"
            media = stack.wecom.state("corp").corp.media.items
            assert media[sends[1]["image"]["mediaid"]].data == PNG

            config, agent = wx["config"], wx["agentConfig"]
            assert config["beta"] is True and config["debug"] is False
            assert config["appId"] == stack.settings.wecom["corp"].corp_id
            assert agent["corpid"] == config["appId"]
            assert agent["agentid"] == stack.settings.wecom["corp"].agent_id
            assert {"sendChatMessage", "getContext", "getCurExternalContact"} <= set(
                agent["jsApiList"]
            )
            for agent_ticket, signed in ((False, config), (True, agent)):
                assert stack.wecom.check_js_signature(
                    "corp",
                    agent=agent_ticket,
                    url=page_url,
                    noncestr=signed["nonceStr"],
                    timestamp=signed["timestamp"],
                    signature=signed["signature"],
                )

        engine = stack.app[ENGINE]
        for script in (greeting, chart):
            uses = await library_repo.uses(engine, account(stack), script.id)
            assert [(u["person"], u["via"]) for u in uses] == [(ADMIN, "sidebar")]


async def test_a_failed_send_is_shown_and_not_counted(tmp_path: Path, db_url: str) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        script = await add(stack, Draft("退款流程", "text", {"text": "您好"}))
        failing = stub(sent="sendChatMessage:fail without context of external contact")
        async with sidebar_page(stack, failing, "hanmeimei") as page:
            await page.wait_for_function(
                "() => window.__wx && window.__wx.order.includes('getCurExternalContact')"
            )
            await page.locator("#q").press_sequentially("退款")
            row = page.locator(f'#results .item[data-id="{script.id}"]')
            await row.locator(".send").click()
            await expect(row.locator(".result")).to_have_text(
                "发送失败：sendChatMessage:fail without context of external contact"
            )
        assert await library_repo.uses(stack.app[ENGINE], account(stack), script.id) == []


async def test_opened_outside_a_customer_chat_it_says_so_and_cannot_send(
    tmp_path: Path, db_url: str
) -> None:
    async with running_stack(tmp_path, db_url, staff=True) as stack:
        await add(stack, Draft("退款流程", "text", {"text": "您好"}))
        async with sidebar_page(stack, stub(entry="normal")) as page:
            await expect(page.locator("#notice")).to_have_text("请从客户聊天的工具栏打开")
            await page.locator("#q").press_sequentially("退款")
            await expect(page.locator("#results .item .title")).to_have_text(["退款流程"])
            await expect(page.locator("#results .send")).to_be_disabled()
            wx = await recorded(page)
            assert "getCurExternalContact" not in wx["order"]
            assert "sendChatMessage" not in wx["order"]
