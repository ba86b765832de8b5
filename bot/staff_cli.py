"""``opsbot chat --as admin|staff --via wecom|telegram``: be a staff member talking to the bot.

Each line typed goes to the bot through the sandbox's WeCom app chat or Telegram, exactly as the
platform would deliver it (signed and encrypted for WeCom, a webhook update for Telegram); the
bot's answers are printed as they arrive, read from the sandbox's record of the chat.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path
from typing import Any

import aiohttp

from bot.serve import sandbox_url
from bot.settings import Settings

HELP = """\
输入文字即发给机器人（试试：帮助、我是谁、规则 列表、菜单 查看）。
  /image [文件]   发送一张图片（默认一张示例 PNG）
  /help           本帮助      /quit  退出"""

# A valid 1x1 PNG, for trying "素材 添加" without a file at hand.
SAMPLE_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2a5a3"
    "6d0000000049454e44ae426082"
)


def person_for(settings: Settings, via: str, role: str, user: str | None) -> tuple[str, str]:
    """(app or bot name, user id) to act as: ``user`` if given, else the first person the
    settings give that role on that platform."""
    apps = settings.wecom if via == "wecom" else settings.telegram
    if not apps:
        raise SystemExit(f"opsbot chat: no {via} app is configured")
    if user:
        return next(iter(apps)), user
    people = settings.commands.admins if role == "admin" else settings.commands.staff
    for person in people:
        platform, account, who = person.split(":", 2)
        if platform == via and account in apps:
            return account, who
    raise SystemExit(f"opsbot chat: commands.{role}s names nobody on {via}; pass --user")


class _StaffChat:
    def __init__(self, session: aiohttp.ClientSession, base: str, via: str, app: str, user: str):
        self.session, self.via, self.user = session, via, user
        if via == "wecom":
            member = f"{base}/wecom/sandbox/apps/{app}/members/{user}"
            self.say_url, self.image_url, self.timeline_url = (
                f"{member}/say",
                f"{member}/image",
                f"{member}/timeline",
            )
        else:
            bot = f"{base}/telegram/sandbox/bots/{app}"
            self.say_url, self.image_url = f"{bot}/users/{user}/send", f"{bot}/users/{user}/photo"
            self.timeline_url = f"{bot}/chats/{user}/timeline"
        self.seen = 0

    async def say(self, text: str) -> None:
        async with self.session.post(self.say_url, json={"text": text}) as resp:
            if resp.status >= 400:
                print(f"（沙箱）{await resp.text()}", flush=True)

    async def image(self, data: bytes) -> None:
        async with self.session.post(self.image_url, data=data) as resp:
            if resp.status >= 400:
                print(f"（沙箱）{await resp.text()}", flush=True)

    async def print_new(self, wait: float) -> None:
        params = {"after": str(self.seen), "wait": str(wait)}
        async with self.session.get(self.timeline_url, params=params) as resp:
            data = await resp.json(content_type=None)
        for entry in data.get("entries", []):
            self.seen = max(self.seen, int(entry["seq"]))
            shown = render(entry)
            if shown:
                print(shown, flush=True)

    async def listen(self) -> None:
        while True:
            try:
                await self.print_new(wait=20)
            except aiohttp.ClientError:
                await asyncio.sleep(1)


def render(entry: dict[str, Any]) -> str | None:
    """What the bot said in one timeline entry (None for what the person sent)."""
    if entry.get("sender") == "user" or entry.get("kind") in ("press", "answer"):
        return None
    kind = entry.get("kind")
    if kind in ("text", "markdown"):
        body = str(entry.get("content") or entry.get("text") or "")
    elif kind in ("image", "photo"):
        size = entry.get("size") or (entry.get("photo") or {}).get("size") or 0
        caption = entry.get("caption") or ""
        body = f"[图片 {size} 字节]" + (f"\n{caption}" if caption else "")
    elif kind == "news":
        body = "\n".join(f"[图文] {a.get('title', '')}" for a in entry.get("articles", []))
    else:
        body = f"[{kind}]"
    return f"机器人 > {body}"


async def run_staff_chat(
    settings: Settings, *, via: str, role: str, user: str | None, linger: float
) -> int:
    app, who = person_for(settings, via, role, user)
    base = sandbox_url(settings)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        chat = _StaffChat(session, base, via, app, who)
        try:
            await chat.print_new(wait=0)
        except aiohttp.ClientError:
            print(
                f"opsbot chat: the sandbox is not answering at {base}; start the bot with "
                "`make run` (or `opsbot serve`) first",
                file=sys.stderr,
            )
            return 1
        where = "企业微信应用" if via == "wecom" else "Telegram"
        print(f"你是 {who}（{where}，{role}）。输入 /help 查看说明。", flush=True)
        interactive = sys.stdin.isatty()
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
                if line in ("/quit", "/exit"):
                    break
                if line == "/help":
                    print(HELP)
                elif line.startswith("/image"):
                    path = line[len("/image") :].strip()
                    data = await asyncio.to_thread(Path(path).read_bytes) if path else SAMPLE_PNG
                    await chat.image(data)
                else:
                    await chat.say(line)
            await asyncio.sleep(linger)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
    return 0
