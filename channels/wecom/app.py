"""What the WeCom adapter needs to know about one self-built app (自建应用)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class WecomApp:
    name: str  # the settings name; the callback route is /wecom/{name}
    corp_id: str
    agent_id: int
    secret: str = field(repr=False)
    token: str = field(repr=False)
    encoding_aes_key: str = field(repr=False)
    api_base: str = "https://qyapi.weixin.qq.com"
    # Where browsers are sent for web-page identity (OAuth); the sandbox serves it on api_base.
    oauth_base: str = "https://open.weixin.qq.com"
