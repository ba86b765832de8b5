"""Bot API: sendVideo (multipart upload, an earlier file_id, or an HTTP URL the fake fetches)."""

from __future__ import annotations

from typing import Any

from .api import MethodCall
from .api_photos import ATTACH_PREFIX, fetch_url
from .errors import BotApiError, bad_request
from .files import StoredFile, check_video
from .outgoing import (
    bot_message,
    formatted,
    markup,
    record,
    reply_target,
    target_chat,
    text_content,
)
from .timeline import VideoInfo, new_entry


async def send_video(call: MethodCall) -> dict[str, Any]:
    """Send an MP4 video with an optional caption (0-1024 characters after entity parsing).

    Uploads are at most 50 MB (413 beyond), URLs at most 20 MB; width, height and duration
    are what the sender declares (0 when not given: the fake does not read the video)."""
    chat = target_chat(call)
    caption = formatted(call, "caption", "caption_entities")
    if len(caption.text) > call.limits.caption_chars:
        raise bad_request("message caption is too long")
    reply_markup = markup(call)
    replied = reply_target(call, chat)
    video = await _video(call)
    content = {"video": video.as_video()}
    content.update(text_content(caption, caption=True))
    message = bot_message(call, chat, reply_markup, replied, content)
    record(
        chat,
        new_entry(
            call.now,
            "bot",
            "video",
            message_id=message["message_id"],
            parse_mode=call.params.string("parse_mode"),
            entities=caption.entities,
            reply_markup=reply_markup,
            caption=caption.text or None,
            source=call.params.string("caption"),
            video=VideoInfo(
                size=len(video.data),
                sha256=video.sha256,
                mime_type=video.content_type,
                width=video.width,
                height=video.height,
                duration=video.duration,
                file_id=video.file_id,
            ),
        ),
    )
    return message


async def _video(call: MethodCall) -> StoredFile:
    params, limits, files = call.params, call.limits, call.bot.files
    upload = params.files.get("video")
    value = params.string("video")
    if upload is None and value is not None and value.startswith(ATTACH_PREFIX):
        upload = params.files.get(value[len(ATTACH_PREFIX) :])
    if upload is not None:
        return files.add_video(
            check_video(upload.data, limits.video_upload_bytes), *_declared(call)
        )
    if not value:
        raise bad_request("there is no video in the request")
    if value.startswith(("http://", "https://")):
        data = await fetch_url(call, value, limits.video_url_bytes)
        try:
            checked = check_video(data, limits.video_url_bytes)
        except BotApiError:
            raise bad_request("wrong type of the web page content") from None
        return files.add_video(checked, *_declared(call))
    stored = files.get(value)
    if stored is None:
        raise bad_request("wrong file identifier/HTTP URL specified")
    if not stored.is_video:
        raise bad_request("can't use file of type Photo as Video")
    return stored


def _declared(call: MethodCall) -> tuple[int, int, int]:
    """Width, height and duration as the sender gave them (0 when absent)."""
    values = []
    for name in ("width", "height", "duration"):
        value = call.params.integer(name) or 0
        if value < 0:
            raise bad_request(f"{name} must be non-negative")
        values.append(value)
    return values[0], values[1], values[2]
