"""Attachments of WeCom customer messages: the group message tasks of add_msg_template (§4.11)
and the welcome of send_welcome_msg (§4.6) take the same shapes, built here with their cuts."""

from __future__ import annotations

from typing import Any

from channels.wecom.limits import cut

LINK_TITLE_BYTES = 128
LINK_DESC_BYTES = 512
MINIPROGRAM_TITLE_BYTES = 64

Attachment = dict[str, Any]


def image(*, media_id: str = "", pic_url: str = "") -> Attachment:
    """A picture: a temporary media_id, or the URL of an image already on WeChat's servers."""
    return {
        "msgtype": "image",
        "image": {"media_id": media_id} if media_id else {"pic_url": pic_url},
    }


def video(media_id: str) -> Attachment:
    return {"msgtype": "video", "video": {"media_id": media_id}}


def link(title: str, url: str, *, picurl: str = "", desc: str = "") -> Attachment:
    body: dict[str, Any] = {"title": cut(title, LINK_TITLE_BYTES), "url": url}
    if picurl:
        body["picurl"] = picurl
    if desc:
        body["desc"] = cut(desc, LINK_DESC_BYTES)
    return {"msgtype": "link", "link": body}


def miniprogram(title: str, pic_media_id: str, appid: str, page: str) -> Attachment:
    card = {
        "title": cut(title, MINIPROGRAM_TITLE_BYTES),
        "pic_media_id": pic_media_id,
        "appid": appid,
        "page": page,
    }
    return {"msgtype": "miniprogram", "miniprogram": card}
