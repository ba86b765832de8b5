"""Platform limits the WeChat adapter enforces before it sends (platform-facts.md §1.7, §2.2)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from handlers.messages import Clip, Message, News, Picture, TransferToAgent

# Passive news replies: 1 article when answering a customer's message, 8 for events.
PASSIVE_NEWS_TO_MESSAGE = 1
PASSIVE_NEWS_TO_EVENT = 8
# Customer-service news messages carry exactly one article.
CUSTOM_NEWS_ARTICLES = 1
# Customer-service messages a customer's action allows: 5 in 48 hours after a message, 3 within
# a minute after a follow, a scan or a menu click (§2.2).
CUSTOM_QUOTA_AFTER_MESSAGE = 5
CUSTOM_QUOTA_AFTER_EVENT = 3
# A channel's QR code carries its name as scene_str (§2.4); a menu button's key (§2.3).
QR_SCENE_CHARS = 64
MENU_KEY_BYTES = 128


def channel_name_problem(name: str) -> str | None:
    if len(name) > QR_SCENE_CHARS:
        return f"a QR code scene is at most {QR_SCENE_CHARS} characters; this name has {len(name)}"
    return None


def menu_key_problem(key: str) -> str | None:
    size = len(key.encode())
    if size > MENU_KEY_BYTES:
        return f"a menu key is at most {MENU_KEY_BYTES} bytes (UTF-8); this one has {size}"
    return None


def reply_problems(messages: Sequence[Message], *, answers_message: bool) -> list[tuple[int, str]]:
    """What the platform would refuse or cut in a reply, as (message index, problem) pairs.

    The first message goes back passively; the next ones go out as customer-service messages,
    within the quota the customer's action earns (§2.2).
    """
    problems = []
    quota = CUSTOM_QUOTA_AFTER_MESSAGE if answers_message else CUSTOM_QUOTA_AFTER_EVENT
    if len(messages) - 1 > quota:
        problems.append(
            (
                quota + 1,
                f"the platform lets a reply add {quota} messages after the "
                f"first; this one adds {len(messages) - 1}",
            )
        )
    for i, message in enumerate(messages):
        if i == 0 and isinstance(message, News):
            limit = PASSIVE_NEWS_TO_MESSAGE if answers_message else PASSIVE_NEWS_TO_EVENT
            if len(message.articles) > limit:
                scene = "answering a message" if answers_message else "answering an event"
                count = len(message.articles)
                problems.append(
                    (
                        i,
                        f"a passive reply {scene} shows at most {limit} news "
                        f"article(s); this one has {count}",
                    )
                )
        elif i > 0 and isinstance(message, News) and len(message.articles) > CUSTOM_NEWS_ARTICLES:
            problems.append(
                (
                    i,
                    f"later messages go out as customer-service messages, which "
                    f"carry {CUSTOM_NEWS_ARTICLES} news article; this one has "
                    f"{len(message.articles)}",
                )
            )
        elif isinstance(message, Picture):
            problems.append((i, "an Official Account sends images as materials (media_id)"))
        elif isinstance(message, Clip):
            problems.append((i, "an Official Account sends videos as materials (media_id)"))
        elif i > 0 and isinstance(message, TransferToAgent):
            problems.append((i, "a hand-over to customer service can only be the first message"))
    return problems


# Custom menu (§2.3): 1-3 top-level buttons, 1-5 sub-buttons each; name sizes in UTF-8 bytes.
MENU_TOP_BUTTONS = 3
MENU_SUB_BUTTONS = 5
MENU_TOP_NAME_BYTES = 16
MENU_SUB_NAME_BYTES = 60
MENU_URL_BYTES = 1024
_URL_SCHEMES = ("http://", "https://")


def menu_problems(buttons: Sequence[dict[str, Any]], *, complete: bool) -> list[str]:
    """What the platform would refuse in a menu, each naming the limit (in Chinese: admins
    read these in chat). ``complete`` also asks that every item has an action or sub-items, as
    publishing needs."""
    problems = []
    if len(buttons) > MENU_TOP_BUTTONS:
        problems.append(f"一级菜单最多 {MENU_TOP_BUTTONS} 个，现在有 {len(buttons)} 个")
    if complete and not buttons:
        problems.append("菜单是空的：至少要有 1 个一级菜单")
    for i, item in enumerate(buttons, 1):
        children = item.get("sub_button") or []
        problems += _item_problems(item, str(i), MENU_TOP_NAME_BYTES, complete and not children)
        if len(children) > MENU_SUB_BUTTONS:
            count = len(children)
            problems.append(
                f"「{item.get('name')}」的子菜单最多 {MENU_SUB_BUTTONS} 个，现在有 {count} 个"
            )
        for j, child in enumerate(children, 1):
            problems += _item_problems(child, f"{i}/{j}", MENU_SUB_NAME_BYTES, complete)
    return problems


def _item_problems(
    item: dict[str, Any], where: str, name_limit: int, needs_action: bool
) -> list[str]:
    name = str(item.get("name", ""))
    label = f"菜单 {where}「{name}」"
    problems = []
    size = len(name.encode())
    if size > name_limit:
        level = "一级" if "/" not in where else "子"
        problems.append(
            f"{label}：{level}菜单名称最多 {name_limit} 字节（约 {name_limit // 3} 个汉字），"
            f"现在 {size} 字节"
        )
    kind = item.get("type")
    if needs_action and kind is None:
        problems.append(f"{label}：还没有设置动作（点击回复、链接或小程序），也没有子菜单")
    key = item.get("key")
    if isinstance(key, str) and len(key.encode()) > MENU_KEY_BYTES:
        problems.append(f"{label}：key 最多 {MENU_KEY_BYTES} 字节")
    url = item.get("url")
    if isinstance(url, str):
        if len(url.encode()) > MENU_URL_BYTES:
            problems.append(
                f"{label}：链接最多 {MENU_URL_BYTES} 字节，现在 {len(url.encode())} 字节"
            )
        if not url.startswith(_URL_SCHEMES) or len(url) <= len("https://"):
            problems.append(f"{label}：链接要以 http:// 或 https:// 开头")
    if kind == "miniprogram":
        appid = str(item.get("appid", ""))
        if not appid.startswith("wx") or not appid[2:].isalnum() or len(appid) != 18:
            problems.append(f"{label}：小程序 appid 是 wx 开头的 18 位字母数字")
        if str(item.get("pagepath", "")).startswith("/"):
            problems.append(f"{label}：小程序页面路径不以 / 开头，如 pages/index/index")
    return problems
