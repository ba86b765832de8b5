"""WeCom API errors: the errcodes the fake answers (§4.12 and WeCom's global errcode list).

Control-route refusals reuse the Official Account fake's ActionRejected.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any, Final

ERRMSG: Final[Mapping[int, str]] = {
    -1: "system busy",
    40001: "invalid secret",
    40003: "invalid userid",
    40004: "invalid media file type",
    40005: "invalid type parameter",
    40006: "invalid file size",
    40007: "invalid media_id",
    40008: "invalid message type",
    40009: "invalid image size",
    40011: "invalid video size",
    40013: "invalid corpid",
    40014: "invalid access_token",
    40029: "invalid code",
    40032: "invalid userid list size",
    40056: "invalid agentid",
    40058: "invalid parameter",
    40068: "invalid tagid",
    40071: "tag name exists",
    40074: "news message does not support the safe type",
    40096: "invalid external userid",
    41001: "access_token missing",
    41002: "corpid missing",
    41004: "corpsecret missing",
    41005: "media data missing",
    41006: "media_id missing",
    41008: "missing code",
    41010: "url missing",
    41011: "agentid missing",
    41016: "title missing",
    41033: "description missing",
    41037: "contact way type missing",
    41051: "externaluser has started chatting",
    42001: "access_token expired",
    44001: "empty media data",
    44004: "empty content",
    45008: "article count out of limit",
    45009: "api freq out of limit",
    45033: "api concurrent out of limit",
    48002: "api forbidden",
    60011: "no privilege to access/modify contact/party/agent",
    60111: "userid not found",
    81012: "missing touser, toparty and totag",
    81013: "user & party & tag all invalid",
    81017: "too many visible members: filter groupchat/list by owner",
    84061: "not external contact",
    90501: "chat is not an external group chat",
}
WRONG_JSON: Final = "Warning: wrong json format."
"""The errmsg prefix WeCom uses when the request body is not valid JSON."""


class WecomApiError(Exception):
    """An errcode answer (HTTP 200, JSON body); `detail` becomes the hint of errmsg."""

    def __init__(
        self, errcode: int, detail: str | None = None, *, prefix: str = "", **extra: Any
    ) -> None:
        self.errcode = errcode
        self.detail = detail
        self.prefix = prefix
        self.extra = extra
        super().__init__(f"{errcode} {ERRMSG.get(errcode, 'error')}: {detail or ''}")

    def body(self) -> dict[str, Any]:
        """The JSON answer, shaped like the platform's (message text may change; codes not)."""
        message = self.prefix + ERRMSG.get(self.errcode, "injected error")
        if self.detail:
            message += f" ({self.detail})"
        message += (
            f", hint: [{secrets.token_hex(5)}], from ip: 127.0.0.1, more info at "
            f"https://open.work.weixin.qq.com/devtool/query?e={self.errcode}"
        )
        return {"errcode": self.errcode, "errmsg": message, **self.extra}
