"""Bot API: sendPhoto (multipart upload, an earlier file_id, or an HTTP URL the fake fetches)."""

from __future__ import annotations

from typing import Any

import aiohttp

from .api import MethodCall
from .errors import bad_request
from .files import StoredFile, check_photo
from .outgoing import (
    bot_message,
    formatted,
    markup,
    record,
    reply_target,
    target_chat,
    text_content,
)
from .timeline import PhotoInfo, new_entry

ATTACH_PREFIX = "attach://"


async def send_photo(call: MethodCall) -> dict[str, Any]:
    """Send a photo with an optional caption (0-1024 characters after entity parsing)."""
    chat = target_chat(call)
    caption = formatted(call, "caption", "caption_entities")
    if len(caption.text) > call.limits.caption_chars:
        raise bad_request("message caption is too long")
    reply_markup = markup(call)
    replied = reply_target(call, chat)
    sizes = await _photo_sizes(call)
    content = {"photo": [size.as_photo_size() for size in sizes]}
    content.update(text_content(caption, caption=True))
    message = bot_message(call, chat, reply_markup, replied, content)
    largest = sizes[-1]
    record(
        chat,
        new_entry(
            call.now,
            "bot",
            "photo",
            message_id=message["message_id"],
            parse_mode=call.params.string("parse_mode"),
            entities=caption.entities,
            reply_markup=reply_markup,
            caption=caption.text or None,
            source=call.params.string("caption"),
            photo=PhotoInfo(
                size=len(largest.data),
                sha256=largest.sha256,
                width=largest.width,
                height=largest.height,
                file_id=largest.file_id,
            ),
        ),
    )
    return message


async def _photo_sizes(call: MethodCall) -> list[StoredFile]:
    params, limits, files = call.params, call.limits, call.bot.files
    upload = params.files.get("photo")
    value = params.string("photo")
    if upload is None and value is not None and value.startswith(ATTACH_PREFIX):
        upload = params.files.get(value[len(ATTACH_PREFIX) :])
    if upload is not None:
        return files.add_photo(check_photo(upload.data, limits, limits.photo_upload_bytes))
    if not value:
        raise bad_request("there is no photo in the request")
    if value.startswith(("http://", "https://")):
        data = await fetch_url(call, value, limits.photo_url_bytes)
        return files.add_photo(check_photo(data, limits, limits.photo_url_bytes))
    sizes = files.photo_sizes(value)
    if sizes is None:
        raise bad_request("wrong file identifier/HTTP URL specified")
    return sizes


async def fetch_url(call: MethodCall, url: str, limit: int) -> bytes:
    """GET a file URL as Telegram's servers would (at most `limit` bytes)."""
    data = bytearray()
    try:
        async with call.fake.session.get(
            url, timeout=aiohttp.ClientTimeout(total=call.fake.webhook_timeout)
        ) as resp:
            if resp.status != 200:
                raise bad_request("failed to get HTTP URL content")
            async for chunk in resp.content.iter_chunked(64 * 1024):
                data.extend(chunk)
                if len(data) > limit:
                    raise bad_request("failed to get HTTP URL content")
    except (TimeoutError, aiohttp.ClientError):
        raise bad_request("failed to get HTTP URL content") from None
    if not data:
        raise bad_request("wrong type of the web page content")
    return bytes(data)
