"""What the WeChat-family JSON APIs (Official Account, WeCom) share: one HTTP exchange with
network failures mapped to :mod:`channels.errors`, and ``errcode`` tables mapped the same way.
Each platform's client gives its own table of codes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from channels.errors import (
    OutcomeUnknown,
    PlatformRejected,
    PlatformUnavailable,
    RateLimited,
    RecipientUnreachable,
    TokenRejected,
)


@dataclass(frozen=True)
class ErrcodeTable:
    """Which ``errcode`` values mean what; any other non-zero code is a rejection."""

    unavailable: frozenset[int]  # busy: try again later
    rate_limited: Mapping[int, float | None]  # code -> seconds to wait, when known
    token_refused: frozenset[int]
    unreachable: frozenset[int]  # the recipient cannot be messaged now

    def raise_for(self, payload: dict[str, Any]) -> None:
        """Raise the exception for a non-zero ``errcode`` (absent means success)."""
        code = payload.get("errcode", 0)
        if not isinstance(code, int) or code == 0:
            return
        message = str(payload.get("errmsg", ""))
        if code in self.unavailable:
            raise PlatformUnavailable(f"{code}: {message}")
        if code in self.rate_limited:
            raise RateLimited(f"{code}: {message}", self.rate_limited[code])
        if code in self.token_refused:
            raise TokenRejected(code, message)
        if code in self.unreachable:
            raise RecipientUnreachable(code, message)
        raise PlatformRejected(code, message)


async def exchange(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    where: str,
    time_limit: aiohttp.ClientTimeout,
    *,
    params: dict[str, str] | None = None,
    json: Any = None,
    data: aiohttp.FormData | None = None,
) -> tuple[int, str, bytes]:
    """One HTTP exchange: (status, content type, body). ``where`` names the call in errors
    (never the query: it carries the token or the secret)."""
    try:
        async with session.request(
            method, url, params=params, json=json, data=data, timeout=time_limit
        ) as resp:
            return resp.status, resp.content_type, await resp.read()
    except aiohttp.ConnectionTimeoutError:
        raise PlatformUnavailable(f"{where}: connection timed out") from None
    except aiohttp.ClientConnectorError as exc:
        raise PlatformUnavailable(f"{where}: cannot connect ({exc.os_error})") from None
    except TimeoutError:
        raise OutcomeUnknown(f"{where}: no answer within {time_limit.total} s") from None
    except aiohttp.ClientError as exc:
        raise OutcomeUnknown(f"{where}: {type(exc).__name__}") from None
