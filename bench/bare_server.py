"""The reference: a bare aiohttp handler that reads the body and answers ``success``.

python -m bench.bare_server PORT
"""

from __future__ import annotations

import sys

from aiohttp import web


async def receive(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(text="success")


def main() -> None:
    app = web.Application()
    app.router.add_post("/wechat/{account}", receive)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
