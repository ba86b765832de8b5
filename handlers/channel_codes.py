"""Every channel gets its QR code: a permanent parametric code whose scene is the channel name.

A customer who scans it follows (or, already following, scans) "through the channel", and gets
the channel's follow replies. Codes are created by whichever process sees a channel without one
first; a failure is retried on the next pass.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from storage import config_repo

log = logging.getLogger(__name__)


class QrIssuer(Protocol):
    async def channel_qr(self, scene: str) -> tuple[str, str]:
        """Create a permanent QR code for ``scene``; returns (ticket, url encoded in the code)."""
        ...


class ChannelCodes:
    def __init__(self, engine: AsyncEngine, issuers: Mapping[str, QrIssuer]) -> None:
        self._engine = engine
        self._issuers = issuers

    async def provision(self) -> int:
        """Create the missing QR codes; returns how many were created."""
        created = 0
        for account, name in await config_repo.channels_without_qr(self._engine):
            issuer = self._issuers.get(account)
            if issuer is None:
                continue
            try:
                ticket, url = await issuer.channel_qr(name)
            except Exception as exc:
                log.warning("QR code for channel %s of %s not created yet: %s", name, account, exc)
                continue
            if await config_repo.set_channel_qr(self._engine, account, name, ticket, url):
                created += 1
                log.info("QR code created for channel %s of %s", name, account)
        return created

    async def run(self, interval: float) -> None:
        while True:
            try:
                await self.provision()
            except Exception:
                log.exception("provisioning channel QR codes failed; will retry")
            await asyncio.sleep(interval)
