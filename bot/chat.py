"""``opsbot chat``: be a customer of an Official Account in the sandbox.

Each line typed is what the customer does; everything the Official Account sends back (the
passive reply, customer-service messages sent later through the API, mass sends) is printed as it
arrives, read from the sandbox's record of the customer's chat.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import string
import sys
from typing import Any

import aiohttp

from bot.serve import sandbox_url
from bot.settings import Settings

HELP = """\
输入文字即以顾客身份发送消息。命令：
  /follow [渠道]     关注（带渠道 = 扫描该渠道的带参二维码；已关注时为扫码事件）
  /scan 渠道         已关注的顾客扫描渠道二维码
  /unfollow          取消关注
  /click 菜单KEY     点击菜单（click 类型）
  /view 网址         点击菜单链接
  /image             发送一张图片
  /voice [识别文字]  发送语音（可带语音识别结果）
  /location          发送位置
  /menu              查看公众号当前菜单
  /whoami            查看当前顾客 openid
  /help              帮助      /quit  退出
以 // 开头的行按原样发送（例如 //follow 会发送文字 "/follow"）。"""

VIA = {
    "passive": "被动回复",
    "customer_service": "客服消息",
    "mass": "群发",
    "system": "系统提示",
}
OPENID_CHARS = string.ascii_letters + string.digits + "_-"


def new_openid() -> str:
    return "o" + "".join(secrets.choice(OPENID_CHARS) for _ in range(27))


def render(entry: dict[str, Any]) -> str:
    """One thing the customer sees, as text."""
    via = VIA.get(str(entry.get("via")), str(entry.get("via")))
    message = entry.get("message") or {}
    kind = message.get("type")
    if kind == "text":
        body = str(message.get("content", ""))
    elif kind == "news":
        lines = []
        for article in message.get("articles", []):
            lines.append(f"[图文] {article.get('title', '')} — {article.get('description', '')}")
            if article.get("url"):
                lines.append(f"       {article['url']}")
        body = "\n".join(lines)
    elif kind in ("image", "voice"):
        body = f"[{'图片' if kind == 'image' else '语音'}] {message.get('media_id', '')}"
    elif kind == "video":
        body = f"[视频] {message.get('title', '')}"
    elif kind == "music":
        body = f"[音乐] {message.get('title', '')}"
    elif kind == "miniprogrampage":
        body = f"[小程序] {message.get('title', '')}"
    else:
        body = json.dumps(message, ensure_ascii=False)
    return f"公众号（{via}）> {body}"


class _Chat:
    def __init__(
        self, session: aiohttp.ClientSession, base: str, account: str, openid: str
    ) -> None:
        self.session = session
        self.user_url = f"{base}/sandbox/{account}/users/{openid}"
        self.menu_url = f"{base}/sandbox/{account}/menu"
        self.openid = openid
        self.seen = 0

    async def act(self, action: str, body: dict[str, Any]) -> None:
        async with self.session.post(f"{self.user_url}/{action}", json=body) as resp:
            data = await resp.json(content_type=None)
        if resp.status >= 400:
            print(f"（沙箱）{data.get('error', resp.status)}", flush=True)
        elif (data.get("reply") or {}).get("MsgType") == "transfer_customer_service":
            print("公众号（被动回复）> （消息已转给人工客服）", flush=True)

    async def show_menu(self) -> None:
        async with self.session.get(self.menu_url) as resp:
            data = await resp.json(content_type=None)
        menu = data.get("menu") if isinstance(data, dict) else None
        print(json.dumps(menu, ensure_ascii=False, indent=2) if menu else "（公众号尚未发布菜单）")

    async def print_new(self, wait: float) -> None:
        params = {"after": str(self.seen), "wait": str(wait)}
        async with self.session.get(f"{self.user_url}/timeline", params=params) as resp:
            data = await resp.json(content_type=None)
        for entry in data.get("entries", []):
            self.seen = max(self.seen, int(entry["seq"]))
            if entry.get("direction") == "out":
                print(render(entry), flush=True)

    async def listen(self) -> None:
        while True:
            try:
                await self.print_new(wait=20)
            except aiohttp.ClientError:
                await asyncio.sleep(1)

    async def handle(self, line: str) -> bool:
        """Carry out one input line; False to stop."""
        if not line.startswith("/") or line.startswith("//"):
            await self.act("text", {"content": line[1:] if line.startswith("//") else line})
            return True
        command, _, arg = line[1:].partition(" ")
        arg = arg.strip()
        if command in ("quit", "exit", "q"):
            return False
        if command == "help":
            print(HELP)
        elif command == "whoami":
            print(f"openid: {self.openid}")
        elif command == "menu":
            await self.show_menu()
        elif command == "follow":
            await self.act("follow", {"scene": arg or None})
        elif command in ("scan", "click", "view") and arg:
            key = {"scan": "scene", "click": "key", "view": "url"}[command]
            await self.act(command, {key: arg})
        elif command in ("unfollow", "image"):
            await self.act(command, {})
        elif command == "voice":
            await self.act("voice", {"recognition": arg} if arg else {})
        elif command == "location":
            await self.act("location", {"lat": 31.2304, "lng": 121.4737, "label": "上海市人民广场"})
        else:
            print(f"未知命令或缺少参数：{line}（输入 /help 查看命令）")
        return True


async def run_chat(
    settings: Settings, *, account: str | None, openid: str | None, linger: float
) -> int:
    if not settings.wechat:
        print("opsbot chat: no Official Account is configured", file=sys.stderr)
        return 2
    name = account or next(iter(settings.wechat))
    if name not in settings.wechat:
        print(f"opsbot chat: no Official Account named {name!r}", file=sys.stderr)
        return 2
    base = sandbox_url(settings)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        chat = _Chat(session, base, name, openid or new_openid())
        try:
            await chat.print_new(wait=0)
        except aiohttp.ClientError:
            print(
                f"opsbot chat: the sandbox is not answering at {base}; start the bot with "
                "`make run` (or `opsbot serve`) first",
                file=sys.stderr,
            )
            return 1
        interactive = sys.stdin.isatty()
        print(f"你是公众号 {name} 的顾客 {chat.openid}。输入 /help 查看命令。", flush=True)
        listener = asyncio.create_task(chat.listen())
        loop = asyncio.get_running_loop()
        try:
            while True:
                if interactive:
                    print("你 > ", end="", flush=True)
                line = await loop.run_in_executor(None, sys.stdin.readline)
                if not line:
                    break
                line = line.strip()
                if not line:
                    continue
                if not interactive:
                    print(f"你 > {line}", flush=True)
                if not await chat.handle(line):
                    break
            await asyncio.sleep(linger)  # messages sent later through the API
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
    return 0
