"""Errors of the fake platform.

ApiError        an OA API call answered with a non-zero errcode (HTTP 200, JSON body)
ActionRejected  a /sandbox control request the fake refuses (HTTP 4xx, JSON body)
ReplyError      a passive reply WeChat would not accept (defined in callbacks.py)
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any, Final

ERRMSG: Final[Mapping[int, str]] = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40004: "invalid media type",
    40005: "invalid file type",
    40006: "invalid media size",
    40007: "invalid media_id",
    40008: "invalid message type",
    40009: "invalid image size",
    40010: "invalid voice size",
    40011: "invalid video size",
    40012: "invalid thumb size",
    40013: "invalid appid",
    40014: "invalid access_token",
    40015: "invalid button type",
    40016: "invalid button size",
    40017: "invalid sub button size",
    40018: "invalid button name size",
    40019: "invalid button key size",
    40020: "invalid button url size",
    40032: "invalid openid list size",
    40053: "invalid action info",
    40054: "invalid sub button url domain",
    40055: "invalid button url domain",
    40059: "invalid msg id",
    40097: "invalid args",
    40130: "invalid openid list size, at least two openid",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    41005: "media data missing",
    42001: "access_token expired",
    43004: "require subscribe",
    44002: "empty post data",
    44004: "empty content",
    45001: "media size out of limit",
    45008: "article size out of limit",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
    45056: "too many tag now, no need to add new",
    45057: "can't delete the tag that has too many fans",
    45058: "can't modify sys tag",
    45059: "too many tags on user",
    45065: "clientmsgid exist",
    45067: "clientmsgid size out of limit",
    45103: "This API has been unsupported",
    45157: "invalid tag name",
    45158: "tag name too long",
    45159: "invalid tag id",
    46003: "menu no exist",
    47001: "data format error",
}


class ApiError(Exception):
    """An errcode answer; `detail` becomes the ` hint: [...]` part of errmsg."""

    def __init__(self, errcode: int, detail: str | None = None, **extra: Any) -> None:
        self.errcode = errcode
        self.detail = detail
        self.extra = extra
        super().__init__(f"{errcode} {ERRMSG.get(errcode, 'error')}: {detail or ''}")

    def body(self) -> dict[str, Any]:
        """The JSON answer, with a request id suffix like the real platform's."""
        message = ERRMSG.get(self.errcode, "injected error")
        if self.detail:
            message += f" hint: [{self.detail}]"
        message += f" rid: {secrets.token_hex(4)}-{secrets.token_hex(4)}-{secrets.token_hex(4)}"
        return {"errcode": self.errcode, "errmsg": message, **self.extra}


class ActionRejected(Exception):
    """A control request the fake refuses, with the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(message)
