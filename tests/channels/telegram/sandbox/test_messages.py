"""sendMessage and friends, driven by python-telegram-bot's own Bot."""

from __future__ import annotations

import pytest
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from telegram.error import BadRequest, Forbidden, InvalidToken

from .conftest import ALICE, OPS, Sandbox


async def test_initialize_reads_the_bot_from_get_me(sandbox: Sandbox) -> None:
    bot = await sandbox.bot()
    assert bot.bot.id == 123456 and bot.bot.is_bot
    assert bot.username == "ops_bot" and bot.first_name == "opsbot"
    assert bot.bot.can_read_all_group_messages is False


async def test_unknown_token_is_unauthorized(sandbox: Sandbox) -> None:
    bot = telegram.Bot("999:nope", base_url=f"{sandbox.base}/bot")
    with pytest.raises(InvalidToken):
        await bot.get_me()
    status, body = await sandbox.control("GET", "/bot999:nope/getMe")
    assert (status, body) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})


async def test_unknown_method_is_not_found_and_names_ignore_case(sandbox: Sandbox) -> None:
    status, body = await sandbox.control("GET", f"/bot{OPS.token}/noSuchMethod")
    assert (status, body["error_code"], body["description"]) == (404, 404, "Not Found")
    status, body = await sandbox.control("GET", f"/bot{OPS.token}/GETME")
    assert status == 200 and body["ok"] is True and body["result"]["username"] == "ops_bot"


async def test_plain_message_is_returned_and_put_on_the_timeline(sandbox: Sandbox) -> None:
    await sandbox.user().send("/start")
    bot = await sandbox.bot()
    message = await bot.send_message(ALICE, "hello there")
    assert message.text == "hello there" and message.chat.id == ALICE
    assert message.from_user is not None and message.from_user.id == OPS.id
    last = sandbox.fake.timeline("ops", ALICE)[-1]
    assert last["sender"] == "bot" and last["kind"] == "text"
    assert last["text"] == "hello there" and last["message_id"] == message.message_id


async def test_html_tags_become_entities(sandbox: Sandbox) -> None:
    await sandbox.user().send("/start")
    bot = await sandbox.bot()
    message = await bot.send_message(
        ALICE, "<b>Total</b>: 3 &lt; 5 &amp; <i>ok</i>", parse_mode="HTML"
    )
    assert message.text == "Total: 3 < 5 & ok"
    assert message.parse_entities() == {
        message.entities[0]: "Total",
        message.entities[1]: "ok",
    }
    assert [e.type for e in message.entities] == ["bold", "italic"]
    assert sandbox.fake.timeline("ops", ALICE)[-1]["source"].startswith("<b>Total</b>")


async def test_html_with_an_unknown_or_unclosed_tag_cannot_be_parsed(sandbox: Sandbox) -> None:
    await sandbox.user().send("/start")
    bot = await sandbox.bot()
    for text in ("<blink>x</blink>", "<b>bold"):
        with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
            await bot.send_message(ALICE, text, parse_mode="HTML")
    assert [e["kind"] for e in sandbox.fake.timeline("ops", ALICE)] == ["text"]  # only /start


async def test_markdown_v2_entities_count_utf16_units(sandbox: Sandbox) -> None:
    await sandbox.user().send("/start")
    bot = await sandbox.bot()
    message = await bot.send_message(ALICE, "😀 *bold* and `code\\.`", parse_mode="MarkdownV2")
    assert message.text == "😀 bold and code."
    assert message.entities[0].offset == 3  # the emoji counts 2
    assert list(message.parse_entities().values()) == ["bold", "code."]


async def test_markdown_v2_unescaped_reserved_character_is_refused(sandbox: Sandbox) -> None:
    await sandbox.user().send("/start")
    bot = await sandbox.bot()
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities: character '\.' is reserved"):
        await bot.send_message(ALICE, "Done.", parse_mode="MarkdownV2")
    escaped = await bot.send_message(ALICE, "Done\\.", parse_mode="MarkdownV2")
    assert escaped.text == "Done."


async def test_text_of_4096_characters_passes_and_4097_is_too_long(sandbox: Sandbox) -> None:
    await sandbox.user().send("/start")
    bot = await sandbox.bot()
    assert len((await bot.send_message(ALICE, "x" * 4096)).text or "") == 4096
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(ALICE, "x" * 4097)
    # the limit applies after entity parsing: markup does not count
    html = "<b>" + "y" * 4096 + "</b>"
    assert len((await bot.send_message(ALICE, html, parse_mode="HTML")).text or "") == 4096


async def test_empty_text_is_refused(sandbox: Sandbox) -> None:
    await sandbox.user().send("/start")
    bot = await sandbox.bot()
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(ALICE, "<b> </b>", parse_mode="HTML")


async def test_callback_data_of_65_bytes_is_refused(sandbox: Sandbox) -> None:
    await sandbox.user().send("/start")
    bot = await sandbox.bot()
    fits = InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="a" * 64)]])
    message = await bot.send_message(ALICE, "pick", reply_markup=fits)
    assert message.reply_markup == fits
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("no", callback_data="é" * 32 + "a")]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(ALICE, "pick", reply_markup=too_long)


async def test_inline_button_needs_exactly_one_action(sandbox: Sandbox) -> None:
    await sandbox.user().send("/start")
    path = f"/bot{OPS.token}/sendMessage"
    two = {"text": "b", "url": "https://example.com", "callback_data": "x"}
    for button, detail in (({"text": "a"}, "text buttons"), (two, "exactly one")):
        status, body = await sandbox.control(
            "POST",
            path,
            json={"chat_id": ALICE, "text": "t", "reply_markup": {"inline_keyboard": [[button]]}},
        )
        assert status == 400 and detail in body["description"], body


async def test_unknown_chat_and_strangers_are_refused(sandbox: Sandbox) -> None:
    bot = await sandbox.bot()
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(424242, "hi")
    sandbox.user()  # known to Telegram but never wrote to the bot
    with pytest.raises(Forbidden, match=r"(?i)can't initiate conversation"):
        await bot.send_message(ALICE, "hi")


async def test_blocked_user_refuses_messages_until_writing_again(sandbox: Sandbox) -> None:
    alice = sandbox.user()
    await alice.send("/start")
    alice.block()
    bot = await sandbox.bot()
    with pytest.raises(Forbidden, match=r"(?i)blocked by the user"):
        await bot.send_message(ALICE, "hi")
    await alice.send("hello again")
    assert (await bot.send_message(ALICE, "hi")).text == "hi"


async def test_reply_parameters_quote_the_message(sandbox: Sandbox) -> None:
    delivery = await sandbox.user().send("where is my order?")
    assert delivery.update is not None
    asked = delivery.update["message"]["message_id"]
    bot = await sandbox.bot()
    answer = await bot.send_message(ALICE, "on its way", reply_parameters=ReplyParameters(asked))
    assert answer.reply_to_message is not None
    assert answer.reply_to_message.text == "where is my order?"
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await bot.send_message(ALICE, "x", reply_parameters=ReplyParameters(9999))
    lenient = ReplyParameters(9999, allow_sending_without_reply=True)
    assert (await bot.send_message(ALICE, "x", reply_parameters=lenient)).reply_to_message is None


async def test_json_and_query_string_parameters_work_too(sandbox: Sandbox) -> None:
    await sandbox.user().send("/start")
    path = f"/bot{OPS.token}/sendmessage"
    keyboard = {"inline_keyboard": [[{"text": "Yes", "callback_data": "y"}]]}
    status, body = await sandbox.control(
        "POST", path, json={"chat_id": ALICE, "text": "json", "reply_markup": keyboard}
    )
    assert status == 200 and body["result"]["reply_markup"] == keyboard
    status, body = await sandbox.control("GET", path, params={"chat_id": ALICE, "text": "query"})
    assert status == 200 and body["result"]["text"] == "query"


async def test_edit_text_and_not_modified(sandbox: Sandbox) -> None:
    await sandbox.user().send("/start")
    bot = await sandbox.bot()
    sent = await bot.send_message(ALICE, "draft")
    edited = await bot.edit_message_text("final", chat_id=ALICE, message_id=sent.message_id)
    assert isinstance(edited, telegram.Message) and edited.text == "final"
    assert edited.edit_date is not None
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("final", chat_id=ALICE, message_id=sent.message_id)
    assert sandbox.fake.timeline("ops", ALICE)[-1]["kind"] == "edit"


async def test_delete_own_message_once_and_only_within_48_hours(sandbox: Sandbox) -> None:
    await sandbox.user().send("/start")
    bot = await sandbox.bot()
    first = await bot.send_message(ALICE, "one")
    second = await bot.send_message(ALICE, "two")
    assert await bot.delete_message(ALICE, first.message_id) is True
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(ALICE, first.message_id)
    sandbox.fake.clock.advance(48 * 3600 + 1)
    with pytest.raises(BadRequest, match=r"(?i)message can't be deleted"):
        await bot.delete_message(ALICE, second.message_id)


async def test_chat_action_and_commands_menu(sandbox: Sandbox) -> None:
    await sandbox.user().send("/start")
    bot = await sandbox.bot()
    assert await bot.send_chat_action(ALICE, "typing") is True
    status, body = await sandbox.control(
        "POST", f"/bot{OPS.token}/sendChatAction", json={"chat_id": ALICE, "action": "dancing"}
    )
    assert status == 400 and "action" in body["description"]
    commands = [telegram.BotCommand("help", "Show help"), telegram.BotCommand("find", "Search")]
    assert await bot.set_my_commands(commands) is True
    assert tuple(await bot.get_my_commands()) == tuple(commands)
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([telegram.BotCommand("Help Me", "x")])
    assert await bot.delete_my_commands() is True
    assert await bot.get_my_commands() == ()
