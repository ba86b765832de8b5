"""What a WeCom web page (e.g. a chat-toolbar sidebar) needs from the server.

- JS-SDK signatures: ``wx.config`` is signed with the corp's jsapi ticket and
  ``wx.agentConfig`` with the app's ticket (the tickets come from :class:`WecomClient`, cached
  and shared like the access token). The signed string is
  ``jsapi_ticket=T&noncestr=N&timestamp=S&url=U`` in exactly that order, with the page URL
  up to (not including) ``#`` and nothing URL-encoded; the signature is its sha1 in hex.
- The OAuth link (``snsapi_base``) that sends the browser through WeCom and back to the page
  with a one-use ``code``, which :meth:`WecomClient.user_from_code` turns into the userid.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote, urlencode

from channels.wecom.app import WecomApp

NONCE_ALPHABET: Final = string.ascii_letters + string.digits
NONCE_LENGTH: Final = 16
STATE_PATTERN: Final = re.compile(r"[A-Za-z0-9]{0,128}")
"""What WeCom accepts as the OAuth ``state``: at most 128 letters and digits."""


def page_url(url: str) -> str:
    """The URL a signature covers: the page URL without ``#`` and what follows."""
    return url.split("#", 1)[0]


def js_signature(ticket: str, noncestr: str, timestamp: int | str, url: str) -> str:
    """The JS-SDK signature of a page (the ``#`` fragment of ``url`` is dropped)."""
    plain = f"jsapi_ticket={ticket}&noncestr={noncestr}&timestamp={timestamp}&url={page_url(url)}"
    return hashlib.sha1(plain.encode(), usedforsecurity=False).hexdigest()


def new_nonce() -> str:
    """A fresh ``nonceStr``: 16 random letters and digits."""
    return "".join(secrets.choice(NONCE_ALPHABET) for _ in range(NONCE_LENGTH))


@dataclass(frozen=True)
class JsConfig:
    """The signed values a page passes to ``wx.config`` (``agent_id`` None) or to
    ``wx.agentConfig`` (``agent_id`` set)."""

    corp_id: str
    timestamp: int
    nonce: str
    signature: str
    agent_id: int | None = None

    def as_json(self) -> dict[str, Any]:
        """The arguments as the JS-SDK names them (``jsApiList`` is left to the page)."""
        if self.agent_id is None:
            return {
                "appId": self.corp_id,
                "timestamp": self.timestamp,
                "nonceStr": self.nonce,
                "signature": self.signature,
            }
        return {
            "corpid": self.corp_id,
            "agentid": self.agent_id,
            "timestamp": self.timestamp,
            "nonceStr": self.nonce,
            "signature": self.signature,
        }


def sign_page(
    app: WecomApp,
    ticket: str,
    url: str,
    *,
    agent: bool,
    now: float,
    nonce: str | None = None,
) -> JsConfig:
    """Sign ``url`` with ``ticket`` (the corp ticket, or the app ticket when ``agent``) at the
    epoch time ``now``, with ``nonce`` or a fresh one."""
    timestamp = int(now)
    nonce = nonce or new_nonce()
    return JsConfig(
        corp_id=app.corp_id,
        timestamp=timestamp,
        nonce=nonce,
        signature=js_signature(ticket, nonce, timestamp, url),
        agent_id=app.agent_id if agent else None,
    )


def oauth_url(app: WecomApp, redirect_uri: str, state: str) -> str:
    """The link that has WeCom identify the person (``snsapi_base``) and send the browser to
    ``redirect_uri`` with ``code`` and ``state`` added to its query."""
    if not redirect_uri.startswith(("http://", "https://")):
        raise ValueError("redirect_uri must be an absolute http(s) URL")
    if not STATE_PATTERN.fullmatch(state):
        raise ValueError("state must be at most 128 letters and digits")
    query = urlencode(
        {
            "appid": app.corp_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": "snsapi_base",
            "state": state,
            "agentid": str(app.agent_id),
        },
        quote_via=quote,
    )
    return f"{app.oauth_base.rstrip('/')}/connect/oauth2/authorize?{query}#wechat_redirect"
