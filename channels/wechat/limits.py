"""Platform limits the WeChat adapter enforces before it sends (platform-facts.md §1.7, §2.2)."""

from __future__ import annotations

from collections.abc import Sequence

from handlers.messages import Message, News, Picture, TransferToAgent

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
        elif i > 0 and isinstance(message, TransferToAgent):
            problems.append((i, "a hand-over to customer service can only be the first message"))
    return problems
