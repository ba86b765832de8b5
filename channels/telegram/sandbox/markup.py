"""reply_markup: inline keyboards (each button exactly one action) and reply keyboards."""

from __future__ import annotations

from typing import Any, Final

from .errors import bad_request
from .limits import TelegramLimits

BUTTON_ACTIONS: Final = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_URL_SCHEMES: Final = ("http://", "https://", "tg://")


def check_reply_markup(markup: Any, limits: TelegramLimits) -> dict[str, Any] | None:
    """The validated reply_markup object (None when absent); 400 when Telegram refuses it."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        _check_inline(markup["inline_keyboard"], limits)
    elif "keyboard" in markup:
        _check_reply_keyboard(markup["keyboard"])
    elif markup.get("remove_keyboard") is not True and markup.get("force_reply") is not True:
        raise bad_request("can't parse reply keyboard markup JSON object")
    return markup


def inline_keyboard(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    """The part of reply_markup a Message echoes back: only inline keyboards."""
    if markup is not None and "inline_keyboard" in markup:
        return {"inline_keyboard": markup["inline_keyboard"]}
    return None


def callback_data_of(markup: dict[str, Any] | None) -> list[str]:
    """Every callback_data of an inline keyboard."""
    keyboard = inline_keyboard(markup)
    if keyboard is None:
        return []
    return [
        button["callback_data"]
        for row in keyboard["inline_keyboard"]
        for button in row
        if "callback_data" in button
    ]


def _check_inline(rows: Any, limits: TelegramLimits) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('can\'t parse inline keyboard: field "inline_keyboard" must be Array')
    for row in rows:
        for button in row:
            _check_inline_button(button, limits)


def _check_inline_button(button: Any, limits: TelegramLimits) -> None:
    if not isinstance(button, dict):
        raise bad_request("can't parse inline keyboard button: Object expected")
    text = button.get("text")
    if not isinstance(text, str) or not text.strip():
        raise bad_request("can't parse inline keyboard button: Text must be non-empty")
    actions = [name for name in BUTTON_ACTIONS if name in button]
    if not actions:
        raise bad_request("text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        raise bad_request(
            "can't parse inline keyboard button: exactly one of the optional fields must be "
            f"used, got {', '.join(actions)}"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode()) <= limits.callback_data_bytes:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button:
        url = button["url"]
        if not isinstance(url, str) or not url.startswith(_URL_SCHEMES) or len(url) < 8:
            raise bad_request(f"inline keyboard button URL {url!r} is invalid: Wrong HTTP URL")


def _check_reply_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('can\'t parse reply keyboard markup: field "keyboard" must be Array')
    for row in rows:
        for button in row:
            text = button.get("text") if isinstance(button, dict) else button
            if not isinstance(text, str) or not text:
                raise bad_request("keyboard button text must be non-empty")
