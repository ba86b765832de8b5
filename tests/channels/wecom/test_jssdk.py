"""JS-SDK signatures (the platform's own sample as the golden case), nonces, signed page
configs and the OAuth link."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qsl, urlsplit

import pytest

from channels.wecom.jssdk import js_signature, new_nonce, oauth_url, sign_page
from tests.channels.wecom.wire import APP

# The sample of the WeCom JS-SDK documentation (signature algorithm).
TICKET = "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg"
NONCE = "Wm3WZYTPz0wzccnW"
TIMESTAMP = 1414587457
URL = "http://mp.weixin.qq.com?params=value"
SIGNATURE = "0f9de62fce790f9a083d5c99e95740ceb90c27ed"


@pytest.mark.parametrize("timestamp", [TIMESTAMP, str(TIMESTAMP)])
def test_the_documented_sample(timestamp: int | str) -> None:
    assert js_signature(TICKET, NONCE, timestamp, URL) == SIGNATURE


def test_the_fragment_is_not_signed_but_the_rest_of_the_url_is() -> None:
    assert js_signature(TICKET, NONCE, TIMESTAMP, URL + "#/orders?id=3") == SIGNATURE
    assert js_signature(TICKET, NONCE, TIMESTAMP, URL + "&x=1") != SIGNATURE
    # Nothing is URL-encoded: an encoded URL is a different page.
    encoded = "http%3A%2F%2Fmp.weixin.qq.com%3Fparams%3Dvalue"
    assert js_signature(TICKET, NONCE, TIMESTAMP, encoded) != SIGNATURE
    assert js_signature(TICKET + "x", NONCE, TIMESTAMP, URL) != SIGNATURE


def test_nonces_are_16_random_letters_and_digits() -> None:
    nonces = {new_nonce() for _ in range(20)}
    assert len(nonces) == 20
    for nonce in nonces:
        assert len(nonce) == 16 and nonce.isascii() and nonce.isalnum()


def test_a_page_config_for_wx_config() -> None:
    config = sign_page(APP, TICKET, URL + "#top", agent=False, now=TIMESTAMP + 0.9, nonce=NONCE)
    assert (config.timestamp, config.nonce, config.signature) == (TIMESTAMP, NONCE, SIGNATURE)
    assert config.as_json() == {
        "appId": APP.corp_id,
        "timestamp": TIMESTAMP,
        "nonceStr": NONCE,
        "signature": SIGNATURE,
    }


def test_a_page_config_for_wx_agent_config_with_a_fresh_nonce() -> None:
    config = sign_page(APP, TICKET, URL, agent=True, now=TIMESTAMP)
    assert len(config.nonce) == 16 and config.nonce != NONCE
    assert config.signature == js_signature(TICKET, config.nonce, TIMESTAMP, URL)
    assert config.as_json() == {
        "corpid": APP.corp_id,
        "agentid": APP.agent_id,
        "timestamp": TIMESTAMP,
        "nonceStr": config.nonce,
        "signature": config.signature,
    }


def test_the_oauth_link() -> None:
    redirect = "https://bot.example/sidebar?a=1&b=x y"
    url = oauth_url(APP, redirect, "st4te")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "open.weixin.qq.com",
        "/connect/oauth2/authorize",
    )
    assert parts.fragment == "wechat_redirect"
    assert parse_qsl(parts.query) == [
        ("appid", APP.corp_id),
        ("redirect_uri", redirect),
        ("response_type", "code"),
        ("scope", "snsapi_base"),
        ("state", "st4te"),
        ("agentid", str(APP.agent_id)),
    ]
    assert "redirect_uri=https%3A%2F%2Fbot.example%2Fsidebar%3Fa%3D1%26b%3Dx%20y&" in parts.query


def test_the_oauth_link_follows_oauth_base() -> None:
    app = replace(APP, oauth_base="http://127.0.0.1:8081/wecom/")
    url = oauth_url(app, "http://127.0.0.1:8080/page", "")
    assert url.startswith("http://127.0.0.1:8081/wecom/connect/oauth2/authorize?appid=")
    assert "&state=&" in url


@pytest.mark.parametrize(
    ("redirect", "state"),
    [("/sidebar", "s"), ("ftp://x/y", "s"), ("https://x/y", "a-b"), ("https://x/y", "s" * 129)],
)
def test_a_link_the_platform_would_refuse_is_not_built(redirect: str, state: str) -> None:
    with pytest.raises(ValueError):
        oauth_url(APP, redirect, state)
