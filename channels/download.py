"""Fetching a file named by URL (a picture or video to upload), within a size limit.

Shared by the WeCom and Telegram senders and the sidebar; each turns the outcome into its own
error (an outbox verdict, an HTTP answer) with its own words.
"""

from __future__ import annotations

from collections.abc import Callable

import aiohttp


class DownloadRefused(Exception):
    """The server answered, but not with a file we can use. ``why`` is ``"status"`` (not 200;
    see ``status``), ``"type"`` (``accepts`` refused ``content_type``) or ``"size"`` (larger
    than the limit, by its Content-Length or as it streamed)."""

    def __init__(self, why: str, *, status: int = 0, content_type: str = "") -> None:
        super().__init__(why)
        self.why = why
        self.status = status
        self.content_type = content_type


class DownloadFailed(Exception):
    """The network failed or timed out (worth another try); the message names the error."""


async def fetch_limited(
    session: aiohttp.ClientSession,
    url: str,
    *,
    limit: int,
    client_timeout: aiohttp.ClientTimeout,
    accepts: Callable[[str], bool] | None = None,
    allow_redirects: bool = True,
) -> tuple[bytes, str]:
    """The body (possibly empty) and content type of ``url``, never more than ``limit`` bytes."""
    try:
        async with session.get(
            url, timeout=client_timeout, allow_redirects=allow_redirects
        ) as resp:
            if resp.status != 200:
                raise DownloadRefused("status", status=resp.status)
            content_type = resp.content_type
            if accepts is not None and not accepts(content_type):
                raise DownloadRefused("type", content_type=content_type)
            if resp.content_length is not None and resp.content_length > limit:
                raise DownloadRefused("size")
            data = bytearray()
            async for chunk in resp.content.iter_chunked(64 * 1024):
                data += chunk
                if len(data) > limit:
                    raise DownloadRefused("size")
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise DownloadFailed(type(exc).__name__) from exc
    return bytes(data), content_type
