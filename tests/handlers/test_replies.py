"""The reply engine: which reply answers which event, and rendering for the follower."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from handlers.config import ConfigError, account_config_from_dict
from handlers.events import Followed, MediaReceived, MenuClicked, Scanned, TextReceived, Unfollowed
from handlers.messages import News, Text
from handlers.replies import AccountReplies, compile_account, decide

CONFIG = {
    "default_follow_reply": [{"text": "欢迎关注"}],
    "channels": [
        {
            "name": "spring",
            "title": "春季活动",
            "follow_reply": [
                {"text": "来自{{ channel.title }}的朋友你好"},
                {"news": [{"title": "活动", "url": "https://example.com/a"}]},
                {"text": "第三条 {{ follower.openid }}"},
            ],
        },
        {"name": "quiet", "title": "没有回复的渠道"},
    ],
    "keyword_rules": [
        {"name": "price", "keywords": [{"exact": "价格"}], "reply": [{"text": "99元"}]},
        {
            "name": "off",
            "enabled": False,
            "keywords": [{"contains": "价"}],
            "reply": [{"text": "x"}],
        },
        {
            "name": "broken-at-runtime",
            "keywords": [{"exact": "坏"}],
            "reply": [{"text": "{{ 100 // ((follower.openid | length) - 28) }}"}, {"text": "照常"}],
        },
    ],
    "menu_replies": {"ABOUT": [{"text": "关于我们"}]},
}


def book(data: Mapping[str, Any] = CONFIG, **extra: Any) -> AccountReplies:
    config = account_config_from_dict("demo", {**data, **extra})
    return compile_account(config, 1, {r.name: i + 1 for i, r in enumerate(config.keyword_rules)})


async def no_follower(account: str, openid: str) -> None:
    return None


def ev(cls: type, **fields: Any) -> Any:
    return cls("wechat", "demo", "o" * 28, "k", True, **fields)


async def test_keyword_reply_and_hit() -> None:
    decision = await decide(book(), ev(TextReceived, text="价格"), no_follower)
    assert decision.messages == [Text("99元")]
    assert decision.hit_rule == 1
    assert decision.follower is not None and decision.follower.interacted


async def test_disabled_rules_do_not_answer_and_no_match_is_off_by_default() -> None:
    decision = await decide(book(), ev(TextReceived, text="多少价"), no_follower)
    assert decision.messages == []
    assert decision.hit_rule is None


async def test_no_match_reply_when_configured() -> None:
    b = book(no_match_reply=[{"text": "没听懂"}])
    assert (await decide(b, ev(TextReceived, text="?"), no_follower)).messages == [Text("没听懂")]
    assert (await decide(b, ev(MediaReceived, kind="image"), no_follower)).messages == [
        Text("没听懂")
    ]


async def test_follow_through_a_channel_gets_its_three_replies_in_order() -> None:
    decision = await decide(book(), ev(Followed, channel="spring"), no_follower)
    assert [type(m) for m in decision.messages] == [Text, News, Text]
    assert decision.messages[0] == Text("来自春季活动的朋友你好")
    assert decision.messages[2] == Text("第三条 " + "o" * 28)
    assert decision.follower is not None
    assert (decision.follower.channel, decision.follower.followed) == ("spring", True)


async def test_scan_by_a_follower_gets_the_channel_replies() -> None:
    decision = await decide(book(), ev(Scanned, channel="spring"), no_follower)
    assert len(decision.messages) == 3
    assert decision.follower is not None and not decision.follower.followed


@pytest.mark.parametrize("channel", [None, "quiet", "unknown-scene"])
async def test_default_follow_reply_when_the_channel_has_none(channel: str | None) -> None:
    decision = await decide(book(), ev(Followed, channel=channel), no_follower)
    assert decision.messages == [Text("欢迎关注")]


async def test_menu_click_and_unfollow() -> None:
    assert (await decide(book(), ev(MenuClicked, key="ABOUT"), no_follower)).messages == [
        Text("关于我们")
    ]
    assert (await decide(book(), ev(MenuClicked, key="NOPE"), no_follower)).messages == []
    bye = await decide(book(), ev(Unfollowed), no_follower)
    assert bye.messages == [] and bye.follower is not None and not bye.follower.subscribed


async def test_a_template_failing_at_runtime_is_skipped_and_the_rest_still_sent() -> None:
    decision = await decide(book(), ev(TextReceived, text="坏"), no_follower)
    assert decision.messages == [Text("照常")]


async def test_follower_context_comes_from_storage_only_when_used() -> None:
    asked: list[str] = []

    async def lookup(account: str, openid: str) -> Mapping[str, Any]:
        asked.append(openid)
        return {"first_channel": "spring", "last_channel": "spring", "subscribed_at": None}

    b = book(
        keyword_rules=[
            {
                "name": "who",
                "keywords": [{"exact": "我是谁"}],
                "reply": [
                    {"text": "你来自{{ channel.title }}，{{ '老朋友' if not follower.is_new }}"}
                ],
            },
            {"name": "static", "keywords": [{"exact": "你好"}], "reply": [{"text": "你好"}]},
        ]
    )
    assert (await decide(b, ev(TextReceived, text="你好"), lookup)).messages == [Text("你好")]
    assert asked == []
    decision = await decide(b, ev(TextReceived, text="我是谁"), lookup)
    assert decision.messages == [Text("你来自春季活动，老朋友")]
    assert asked == ["o" * 28]


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (
            {"keyword_rules": [{"name": "a", "keywords": [], "reply": [{"text": "x"}]}]},
            "keyword_rules[0].keywords",
        ),
        (
            {
                "keyword_rules": [
                    {"name": "a", "keywords": [{"fuzzy": "x"}], "reply": [{"text": "x"}]}
                ]
            },
            "keyword_rules[0].keywords[0]",
        ),
        (
            {
                "keyword_rules": [
                    {"name": "a", "keywords": [{"regex": "("}], "reply": [{"text": "x"}]}
                ]
            },
            "keyword_rules[0].keywords[0]",
        ),
        (
            {"channels": [{"name": "c", "follow_reply": [{"text": "1"}] * 4}]},
            "channels[0].follow_reply",
        ),
        ({"channels": [{"name": "c"}, {"name": "c"}]}, "channels"),
        ({"channels": [{"name": "bad name"}]}, "channels[0].name"),
        ({"default_follow_reply": [{"sticker": "x"}]}, "default_follow_reply[0]"),
        ({"menu_replies": {"K": [{"text": "{{ follower.secret }}"}]}}, "menu_replies.K[0].content"),
    ],
)
def test_bad_configuration_is_refused_with_its_place(data: dict[str, Any], where: str) -> None:
    with pytest.raises(ConfigError) as info:
        book(data)
    assert info.value.where == where
