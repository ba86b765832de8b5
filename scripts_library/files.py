"""Serving the files kept for scripts (pictures and videos an admin sent in the chat) by their
SHA-256, so that the senders and the WeCom upload can fetch them like any other URL."""

from __future__ import annotations

import re

from aiohttp import web

from scripts_library.library import ScriptLibrary

SHA256 = re.compile(r"[0-9a-f]{64}")


def routes(library: ScriptLibrary) -> list[web.RouteDef]:
    async def serve(request: web.Request) -> web.Response:
        digest = request.match_info["sha256"]
        if not SHA256.fullmatch(digest):
            raise web.HTTPNotFound(text="no such file")
        found = await library.file(digest)
        if found is None:
            raise web.HTTPNotFound(text="no such file")
        content_type, data = found
        return web.Response(
            body=data,
            content_type=content_type,
            headers={"Cache-Control": "public, max-age=31536000, immutable"},
        )

    return [web.get("/library/files/{sha256}", serve)]
