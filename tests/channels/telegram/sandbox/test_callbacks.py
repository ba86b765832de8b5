"""Inline buttons: users press them, the bot answers each press once."""

from __future__ import annotations

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest

from channels.telegram.sandbox import ActionRejected

from .conftest import ALICE, Sandbox

KEYBOARD = InlineKeyboardMarkup(
    [
        [InlineKeyboardButton("Yes", callback_data="confirm:1")],
        [InlineKeyboardButton("Docs", url="https://example.com")],
    ]
)


async def test_press_delivers_a_callback_query_answered_once(sandbox: Sandbox) -> None:
    alice = sandbox.user()
    await alice.send("/start")
    bot = await sandbox.bot()
    sent = await bot.send_message(ALICE, "Send it?", reply_markup=KEYBOARD)
    (start,) = await bot.get_updates()
    delivery = await alice.press(sent.message_id, "confirm:1")
    assert delivery.route == "polling"
    (update,) = await bot.get_updates(offset=start.update_id + 1)
    query = update.callback_query
    assert query is not None and query.data == "confirm:1"
    assert query.from_user.id == ALICE and query.message is not None
    assert query.message.message_id == sent.message_id
    assert await bot.answer_callback_query(query.id, text="Sent") is True
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query.id)
    kinds = [(e["kind"], e["data"], e["text"]) for e in sandbox.fake.timeline("ops", ALICE)]
    assert kinds[-2:] == [("press", "confirm:1", None), ("answer", "confirm:1", "Sent")]


async def test_answer_text_is_at_most_200_characters(sandbox: Sandbox) -> None:
    alice = sandbox.user()
    await alice.send("/start")
    bot = await sandbox.bot()
    sent = await bot.send_message(ALICE, "?", reply_markup=KEYBOARD)
    delivery = await alice.press(sent.message_id, "confirm:1")
    assert delivery.update is not None
    query_id = delivery.update["callback_query"]["id"]
    with pytest.raises(BadRequest):
        await bot.answer_callback_query(query_id, text="x" * 201)
    assert await bot.answer_callback_query(query_id, text="x" * 200)


async def test_press_needs_a_matching_button(sandbox: Sandbox) -> None:
    alice = sandbox.user()
    await alice.send("/start")
    bot = await sandbox.bot()
    plain = await bot.send_message(ALICE, "no buttons")
    with_keyboard = await bot.send_message(ALICE, "?", reply_markup=KEYBOARD)
    with pytest.raises(ActionRejected, match="no inline button"):
        await alice.press(plain.message_id, "confirm:1")
    with pytest.raises(ActionRejected, match="no inline button"):
        await alice.press(with_keyboard.message_id, "confirm:2")
    with pytest.raises(ActionRejected, match="no message 1 of the bot"):
        await alice.press(1, "confirm:1")  # message 1 is Alice's own /start


async def test_removed_keyboard_cannot_be_pressed(sandbox: Sandbox) -> None:
    alice = sandbox.user()
    await alice.send("/start")
    bot = await sandbox.bot()
    sent = await bot.send_message(ALICE, "?", reply_markup=KEYBOARD)
    await bot.edit_message_reply_markup(ALICE, sent.message_id, reply_markup=None)
    with pytest.raises(ActionRejected):
        await alice.press(sent.message_id, "confirm:1")
