"""What the WeChat adapter needs to know about one Official Account."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class WechatAccount:
    name: str
    app_id: str
    secret: str = field(repr=False)
    token: str = field(repr=False)
    encoding_aes_key: str | None = field(default=None, repr=False)
    mode: str = "safe"  # plaintext | compatible | safe
    api_base: str = "https://api.weixin.qq.com"
    qr_image_base: str = "https://mp.weixin.qq.com"  # showqrcode; the sandbox serves it on api_base
    original_id: str = ""  # gh_...; when set, callbacks for another account are refused
    token_endpoint: str = "stable"  # noqa: S105 - an endpoint name  # stable (/cgi-bin/stable_token) | classic (/cgi-bin/token)
