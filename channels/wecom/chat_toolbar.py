"""The parameters a chat-toolbar page passes to the WeCom JS-SDK's ``sendChatMessage``.

A page opened from the toolbar of a customer chat (聊天工具栏) sends into that chat with
``wx.invoke('sendChatMessage', params, callback)``; the callback's ``err_msg`` is
``sendChatMessage:ok`` once sent. ``params`` is one of (WeCom JS-SDK doc "sendChatMessage"):

- text: ``{"msgtype": "text", "text": {"content": ...}}``
- image / video: ``{"msgtype": "image", "image": {"mediaid": ...}}``, a temporary media_id
  uploaded by the same app (``media/upload``)
- news (an H5 link card): ``{"link", "title", "desc", "imgUrl"}``
- miniprogram: ``{"appid", "title", "imgUrl", "page"}``; the app id must be a mini program
  linked to the corp's workbench, and ``page`` must end in ``.html`` or WeChat cannot find it

Every ``imgUrl`` is a network picture and must be an absolute http(s) URL (a relative one is
refused by the client with "fail invalid imgUrl"). ``enterChat`` is always false: the staff
member stays in the sidebar after sending.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

ChatMessage = dict[str, Any]
HTML_SUFFIX = ".html"


def text_message(content: str) -> ChatMessage:
    if not content.strip():
        raise ValueError("a text message needs some content")
    return _params("text", {"content": content})


def image_message(media_id: str) -> ChatMessage:
    return _params("image", {"mediaid": _required("mediaid", media_id)})


def video_message(media_id: str) -> ChatMessage:
    return _params("video", {"mediaid": _required("mediaid", media_id)})


def news_message(link: str, title: str, desc: str, img_url: str) -> ChatMessage:
    """An H5 link card; ``img_url`` (the cover) may be "" for a card without a picture."""
    body = {"link": _absolute("link", link), "title": _required("title", title), "desc": desc}
    if img_url:
        body["imgUrl"] = _absolute("imgUrl", img_url)
    return _params("news", body)


def miniprogram_message(appid: str, title: str, img_url: str, page: str) -> ChatMessage:
    """A mini-program card; every field is required."""
    return _params(
        "miniprogram",
        {
            "appid": _required("appid", appid),
            "title": _required("title", title),
            "imgUrl": _absolute("imgUrl", img_url),
            "page": html_page(_required("page", page)),
        },
    )


def html_page(page: str) -> str:
    """The page path with the ``.html`` suffix WeChat needs (added before any query)."""
    path, mark, query = page.partition("?")
    if not path.endswith(HTML_SUFFIX):
        path += HTML_SUFFIX
    return f"{path}{mark}{query}"


def _params(msgtype: str, body: dict[str, str]) -> ChatMessage:
    return {"msgtype": msgtype, "enterChat": False, msgtype: body}


def _required(name: str, value: str) -> str:
    if not value:
        raise ValueError(f"{name} is required")
    return value


def _absolute(name: str, url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{name} must be an absolute http(s) URL, not {url!r}")
    return url
