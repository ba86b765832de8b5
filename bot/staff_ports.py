"""The command layer's ports, implemented over the platform clients of ``channels/``.

Clients are created when the app starts (they need its HTTP session), so the ports look them up
in the shared dicts at call time. Platform errors become :class:`PlatformFailure` with a
Chinese message for the admin.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from bot.config_file import check_platform
from channels.errors import (
    PlatformError,
    PlatformRejected,
    PlatformUnavailable,
    RateLimited,
)
from channels.telegram.client import TelegramClient
from channels.wechat.client import WechatClient, WechatQrIssuer
from channels.wechat.limits import menu_problems
from channels.wechat.mass import OPENIDS_MAX, OPENIDS_MIN, mass_message
from channels.wecom.client import USER_NOT_FOUND, WecomClient
from handlers.commands.base import PlatformFailure
from handlers.config import AccountConfig

# user/get answers for a userid the corp does not have: 40003 invalid, 60111 not found.
NO_SUCH_MEMBER = frozenset({40003, USER_NOT_FOUND})


@asynccontextmanager
async def platform_call(what: str) -> AsyncIterator[None]:
    """Turn a platform error into a message an admin can act on."""
    try:
        yield
    except RateLimited as exc:
        raise PlatformFailure(f"{what}：调用太频繁，请稍后再试（{exc}）", transient=True) from exc
    except PlatformRejected as exc:
        raise PlatformFailure(f"{what}：平台拒绝，错误码 {exc.code}（{exc.message}）") from exc
    except PlatformUnavailable as exc:
        raise PlatformFailure(
            f"{what}：暂时连不上平台，请稍后再试（{exc}）", transient=True
        ) from exc
    except PlatformError as exc:  # pragma: no cover - every subclass is handled above
        raise PlatformFailure(f"{what}：{exc}") from exc


class WechatAccountPort:
    """:class:`handlers.commands.base.OfficialAccountPort` for one Official Account."""

    def __init__(self, clients: Mapping[str, WechatClient], name: str) -> None:
        self._clients = clients
        self._name = name

    @property
    def _client(self) -> WechatClient:
        client = self._clients.get(self._name)
        if client is None:
            raise PlatformFailure(f"公众号 {self._name} 还没有连接好，请稍后再试")
        return client

    async def channel_qr(self, scene: str) -> tuple[str, str]:
        async with platform_call("生成二维码"):
            return await WechatQrIssuer(self._client).channel_qr(scene)

    def qr_image_url(self, ticket: str) -> str:
        return self._client.qr_image_url(ticket)

    async def publish_menu(self, buttons: list[dict[str, Any]]) -> None:
        async with platform_call("发布菜单"):
            await self._client.create_menu(buttons)

    async def add_image(self, filename: str, data: bytes) -> tuple[str, str]:
        async with platform_call("上传图片素材"):
            answer = await self._client.add_material("image", filename, data)
        return str(answer["media_id"]), str(answer.get("url", ""))

    async def add_draft(self, articles: list[dict[str, Any]]) -> str:
        async with platform_call("保存草稿"):
            return await self._client.draft_add(articles)

    async def remove_material(self, kind: str, media_id: str) -> None:
        async with platform_call("删除素材"):
            if kind == "news":
                await self._client.draft_delete(media_id)
            else:
                await self._client.del_material(media_id)

    def menu_problems(self, buttons: list[dict[str, Any]], *, complete: bool) -> list[str]:
        return menu_problems(buttons, complete=complete)

    mass_batch = (OPENIDS_MIN, OPENIDS_MAX)

    async def follower_total(self) -> int:
        async with platform_call("查询粉丝数"):
            return await self._client.follower_total()

    async def tags(self) -> list[dict[str, Any]]:
        async with platform_call("查询标签"):
            return await self._client.tags()

    async def mass_submit(
        self,
        content: dict[str, Any],
        *,
        clientmsgid: str,
        tag_id: int | None = None,
        openids: list[str] | None = None,
    ) -> str:
        message = _mass_message(content)
        async with platform_call("群发"):
            if openids is not None:
                sent = await self._client.mass_send_to(openids, message, clientmsgid=clientmsgid)
            else:
                sent = await self._client.mass_send_all(
                    message, clientmsgid=clientmsgid, tag_id=tag_id
                )
        return sent.msg_id

    async def mass_preview(self, openid: str, content: dict[str, Any]) -> None:
        async with platform_call("群发预览"):
            await self._client.mass_preview(openid, _mass_message(content))

    def check_config(self, config: AccountConfig) -> None:
        check_platform(config)


def _mass_message(content: dict[str, Any]) -> dict[str, Any]:
    kind = str(content.get("kind", ""))
    return mass_message(
        kind, text=str(content.get("text", "")), media_id=str(content.get("media_id", ""))
    )


class WecomContactWays:
    """:class:`handlers.commands.base.ContactWaysPort` over the WeCom apps' clients.

    Every way is made with ``multi`` (type 2), even for one member: the platform keeps a way's
    type for good, and a type-1 way can never take a second member, so a reception group that
    grows from one member to several would need its printed QR code replaced. Type 2 takes one
    member or many.
    """

    def __init__(self, clients: Mapping[str, WecomClient]) -> None:
        self._clients = clients

    def _client(self, app: str) -> WecomClient:
        client = self._clients.get(app)
        if client is None:
            raise PlatformFailure(f"企业微信应用 {app} 还没有连接好，请稍后再试")
        return client

    async def add_contact_way(
        self, app: str, users: Sequence[str], *, state: str, remark: str, skip_verify: bool
    ) -> tuple[str, str]:
        client = self._client(app)
        async with platform_call("创建联系我二维码"):
            return await client.add_contact_way(
                list(users), multi=True, state=state, remark=remark, skip_verify=skip_verify
            )

    async def update_contact_way(self, app: str, config_id: str, users: Sequence[str]) -> None:
        client = self._client(app)
        async with platform_call("更新联系我二维码的成员"):
            await client.update_contact_way(config_id, users=list(users))

    async def del_contact_way(self, app: str, config_id: str) -> None:
        client = self._client(app)
        async with platform_call("删除联系我二维码"):
            await client.del_contact_way(config_id)

    async def member_name(self, app: str, userid: str) -> str | None:
        client = self._client(app)
        try:
            async with platform_call("查询企业成员"):
                return await client.user_name(userid)
        except PlatformFailure as exc:
            cause = exc.__cause__
            if isinstance(cause, PlatformRejected) and cause.code in NO_SUCH_MEMBER:
                return None
            raise


class StaffMedia:
    """Downloads the pictures staff send, from whichever platform they came through."""

    def __init__(
        self, wecom: Mapping[str, WecomClient], telegram: Mapping[str, TelegramClient]
    ) -> None:
        self._wecom = wecom
        self._telegram = telegram

    async def fetch_image(self, platform: str, account: str, ref: str) -> bytes:
        async with platform_call("下载图片"):
            if platform == "wecom" and account in self._wecom:
                return await self._wecom[account].get_media(ref)
            if platform == "telegram" and account in self._telegram:
                return await self._telegram[account].download(ref)
        raise PlatformFailure(f"不认识的平台 {platform}:{account}")
