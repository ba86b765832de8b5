"""Bot API: answerCallbackQuery, getFile, and the command menu (set/get/deleteMyCommands)."""

from __future__ import annotations

import json
import re
from typing import Any, Final

from aiohttp import web
from aiohttp.typedefs import Handler as WebHandler

from .api import MethodCall
from .errors import bad_request
from .state import FakeTelegram
from .timeline import new_entry

QUERY_INVALID: Final = "query is too old and response timeout expired or query ID is invalid"
_COMMAND: Final = re.compile(r"[a-z0-9_]+")


async def answer_callback_query(call: MethodCall) -> bool:
    """Answer a button press once (text 0-200 characters, optionally as an alert)."""
    params, bot = call.params, call.bot
    query_id = params.required_string("callback_query_id", QUERY_INVALID)
    query = bot.callbacks.get(query_id)
    if query is None or query.answered:
        raise bad_request(QUERY_INVALID)
    text = params.string("text") or ""
    if len(text) > call.limits.callback_answer_chars:
        raise bad_request("MESSAGE_TOO_LONG")
    url = params.string("url")
    if url is not None and not url.startswith(("http://", "https://", "tg://", "t.me/")):
        raise bad_request("URL_INVALID")
    params.integer("cache_time")
    query.answered = True
    chat = bot.chats[query.chat_id]
    chat.timeline.append(
        new_entry(
            call.now,
            "bot",
            "answer",
            user_id=query.user_id,
            message_id=query.message_id,
            text=text or None,
            data=query.data,
            show_alert=params.boolean("show_alert"),
        )
    )
    return True


async def get_file(call: MethodCall) -> dict[str, Any]:
    """A file's path for downloading (file ids are valid only for the bot that got them)."""
    file_id = call.params.required_string("file_id", "file_id is empty")
    stored = call.bot.files.get(file_id)
    if stored is None:
        raise bad_request("invalid file_id")
    if len(stored.data) > call.limits.download_bytes:
        raise bad_request("file is too big")
    return stored.as_file()


def file_download_handler(fake: FakeTelegram) -> WebHandler:
    """The handler of `/file/bot<token>/<file_path>`."""

    async def download(request: web.Request) -> web.StreamResponse:
        bot = fake.by_token(request.match_info["token"])
        stored = bot.files.by_path(request.match_info["file_path"]) if bot else None
        if stored is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        return web.Response(body=stored.data, content_type=stored.content_type)

    return download


def _scope_key(call: MethodCall) -> tuple[str, str]:
    scope = call.params.json("scope") or {"type": "default"}
    if not isinstance(scope, dict) or not isinstance(scope.get("type"), str):
        raise bad_request("can't parse BotCommandScope JSON object")
    return json.dumps(scope, sort_keys=True), call.params.string("language_code") or ""


async def set_my_commands(call: MethodCall) -> bool:
    """Store the command menu for a scope and language (at most 100 commands)."""
    limits = call.limits
    commands = call.params.json("commands")
    if not isinstance(commands, list):
        raise bad_request("can't parse commands JSON object")
    if len(commands) > limits.commands_per_scope:
        raise bad_request("BOT_COMMANDS_TOO_MUCH")
    stored: list[dict[str, str]] = []
    for item in commands:
        if not isinstance(item, dict):
            raise bad_request("can't parse BotCommand JSON object")
        command, description = item.get("command"), item.get("description")
        if not isinstance(command, str) or not isinstance(description, str):
            raise bad_request("can't parse BotCommand JSON object")
        command = command.removeprefix("/")
        if not 1 <= len(command) <= limits.command_chars or not _COMMAND.fullmatch(command):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(description) <= limits.command_description_chars:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        stored.append({"command": command, "description": description})
    call.bot.commands[_scope_key(call)] = stored
    return True


async def get_my_commands(call: MethodCall) -> list[dict[str, str]]:
    """The command menu of a scope and language ([] when none is set)."""
    return list(call.bot.commands.get(_scope_key(call), []))


async def delete_my_commands(call: MethodCall) -> bool:
    """Forget the command menu of a scope and language."""
    call.bot.commands.pop(_scope_key(call), None)
    return True
