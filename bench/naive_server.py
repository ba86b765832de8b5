"""A second reference: the straightforward aiohttp + wechatpy handler that stores nothing.

It checks the signature, decrypts, parses with wechatpy, answers a fixed text reply with
wechatpy's reply class and encrypts it: the per-request work of a typical hand-written bot.

    python -m bench.naive_server PORT TOKEN AES_KEY APP_ID
"""

from __future__ import annotations

import sys

from aiohttp import web
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature


def main() -> None:
    port, token, key, app_id = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    crypto = WeChatCrypto(token, key, app_id)

    async def receive(request: web.Request) -> web.Response:
        query = request.query
        body = await request.read()
        check_signature(token, query["signature"], query["timestamp"], query["nonce"])
        xml = crypto.decrypt_message(
            body, query["msg_signature"], query["timestamp"], query["nonce"]
        )
        message = parse_message(xml)
        reply = TextReply(message=message, content="您好，已收到").render()
        sealed = crypto.encrypt_message(reply, query["nonce"])
        return web.Response(text=sealed, content_type="application/xml")

    app = web.Application()
    app.router.add_post("/wechat/{account}", receive)
    web.run_app(app, host="127.0.0.1", port=int(port), access_log=None, print=None)


if __name__ == "__main__":
    main()
