"""WeCom message content shared by group SOPs and welcomes: ``{"text", "attachments"}`` whose
attachments name materials (``{"source": "material", "ref", "account"}``) or scripts of the
library (``{"source": "script", "id", "account", "viewer"}``), built into WeCom attachment
objects (channels/wecom/attachments.py).

Materials become image (``pic_url``) or link attachments; scripts' pictures and videos are
uploaded as WeCom temporary media once and reused while they live (the upload cache is shared
with the sidebar), links and mini programs become their attachments.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import aiohttp
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.download import DownloadFailed, DownloadRefused, fetch_limited
from channels.wecom import attachments
from channels.wecom.client import WecomClient
from channels.wecom.limits import TEMPORARY_MEDIA_REUSE
from handlers.schedules import RetryLater
from scripts_library.library import ScriptLibrary
from scripts_library.model import FILE_PREFIX, media_url
from storage import commands_repo, library_repo
from storage.models import utcnow

MB: Final = 1024 * 1024
DOWNLOAD_TIMEOUT: Final = aiohttp.ClientTimeout(total=30)


class ContentError(Exception):
    """The content cannot be built (a material or script gone, a file refused); the message
    (Chinese) says which."""


@dataclass(frozen=True)
class _Media:
    kind: str  # the WeCom upload type
    what: str
    limit: int
    accepts: Callable[[str], bool]


IMAGE: Final = _Media("image", "图片", 10 * MB, lambda t: t.startswith("image/"))
VIDEO: Final = _Media("video", "视频", 10 * MB, lambda t: t == "video/mp4")
EXTENSIONS: Final = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "video/mp4": "mp4",
}


class WecomContent:
    def __init__(
        self,
        engine: AsyncEngine,
        library: ScriptLibrary | None,
        *,
        file_url: Callable[[str], str] = lambda sha256: f"/library/files/{sha256}",
        http: Callable[[], aiohttp.ClientSession] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._engine = engine
        self._library = library
        self._file_url = file_url
        self._http = http
        self._clock = clock

    async def attachments(
        self, client: WecomClient, app: str, content: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """The WeCom attachments of ``content["attachments"]``, in order. Raises
        :class:`ContentError`, or the client's PlatformError when an upload fails."""
        built = []
        for item in content.get("attachments") or []:
            if item.get("source") == "material":
                built.append(await self._material(item))
            else:
                built.append(await self._script(client, app, item))
        return built

    async def _material(self, item: Mapping[str, Any]) -> dict[str, Any]:
        name = str(item.get("ref", ""))
        found = await commands_repo.material(self._engine, str(item.get("account", "")), name)
        if found is None:
            raise ContentError(f"附件素材「{name}」已不存在。")
        detail = dict(found.get("detail") or {})
        if found["kind"] == "image":
            if not found.get("url"):
                raise ContentError(f"图片素材「{name}」没有图片地址。")
            return attachments.image(pic_url=found["url"])
        url = found.get("url") or detail.get("url") or ""
        if not url:
            raise ContentError(f"图文素材「{name}」还没有可访问的文章链接。")
        return attachments.link(
            detail.get("title") or name,
            url,
            picurl=detail.get("picurl") or "",
            desc=detail.get("digest") or "",
        )

    async def _script(
        self, client: WecomClient, app: str, item: Mapping[str, Any]
    ) -> dict[str, Any]:
        title = str(item.get("title") or item.get("ref") or "")
        if self._library is None:
            raise ContentError("话术库没有启用，无法发送话术附件。")
        script = await self._library.get(
            str(item.get("account", "")), int(item.get("id", 0)), str(item.get("viewer", ""))
        )
        if script is None:
            raise ContentError(f"附件话术「{title}」已不存在。")
        body = script.body
        if script.kind == "image":
            return attachments.image(media_id=await self._media(client, app, body["image"], IMAGE))
        if script.kind == "video":
            return attachments.video(await self._media(client, app, body["video"], VIDEO))
        name = body.get("title") or script.title
        if script.kind == "link":
            return attachments.link(
                name,
                body["url"],
                picurl=media_url(body.get("cover", ""), self._file_url),
                desc=body.get("description") or "",
            )
        if script.kind == "miniprogram":
            cover_id = await self._media(client, app, body["cover"], IMAGE)
            return attachments.miniprogram(name, cover_id, body["appid"], body["page"])
        raise ContentError(f"话术「{script.title}」是文本话术，请把文字写进内容里。")

    async def _media(self, client: WecomClient, app: str, ref: str, rule: _Media) -> str:
        """The media_id of a picture or video, uploaded once and reused while it lives."""
        owner = f"wecom:{app}"
        kept = ref.startswith(FILE_PREFIX)
        source = ref[len(FILE_PREFIX) :] if kept else hashlib.sha256(ref.encode()).hexdigest()
        media_id = await library_repo.platform_media(self._engine, owner, source, self._clock())
        if media_id is not None:
            return media_id
        content_type, data = await (self._kept(source) if kept else self._download(ref, rule))
        if not rule.accepts(content_type):
            raise ContentError(f"这个{rule.what}是 {content_type} 格式，企业微信不接受。")
        if len(data) > rule.limit:
            raise ContentError(f"这个{rule.what}超过 {rule.limit // MB} MB，企业微信不接受。")
        filename = f"{rule.kind}.{EXTENSIONS.get(content_type, 'bin')}"
        media_id = await client.upload_media(rule.kind, filename, data)
        expires = self._clock() + TEMPORARY_MEDIA_REUSE
        await library_repo.put_platform_media(self._engine, owner, source, media_id, expires)
        return media_id

    async def _kept(self, sha256: str) -> tuple[str, bytes]:
        found = await self._library.file(sha256) if self._library is not None else None
        if found is None:
            raise ContentError("话术的文件已不在库里，请管理员重新上传。")
        return found

    async def _download(self, url: str, rule: _Media) -> tuple[str, bytes]:
        if self._http is None:
            raise ContentError(f"无法下载{rule.what}：没有可用的网络连接。")
        try:
            data, content_type = await fetch_limited(
                self._http(),
                url,
                limit=rule.limit,
                client_timeout=DOWNLOAD_TIMEOUT,
                allow_redirects=False,
            )
        except DownloadRefused as exc:
            if exc.why == "size":
                raise ContentError(
                    f"这个{rule.what}超过 {rule.limit // MB} MB，企业微信不接受。"
                ) from None
            raise ContentError(f"{rule.what}下载失败（HTTP {exc.status}）。") from None
        except DownloadFailed as exc:
            raise RetryLater(f"{rule.what}下载失败（{exc}）") from exc
        return content_type, data
