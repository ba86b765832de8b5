"""Telegram Update JSON -> StaffMessage: addressing in groups, mention and command cleanup with
UTF-16 offsets, pictures, buttons, and what is ignored."""

from __future__ import annotations

from typing import Any

from telegram import Update

from channels.telegram.decode import decode_update
from handlers.staff import StaffMessage
from tests.channels.telegram.updates import (
    ALICE,
    BOB,
    GROUP,
    OTHER_BOT,
    OUR_BOT,
    USERNAME,
    command,
    entity,
    message,
    telegram_bot,
    update,
)

BOT = telegram_bot()


def decode(data: dict[str, Any], username: str = USERNAME) -> StaffMessage | None:
    return decode_update(BOT, username, Update.de_json(data, None))


def test_chinese_command_words_in_a_private_chat_pass_through() -> None:
    for text in ("帮助", "规则 列表", "  渠道 新建 春节活动  "):
        got = decode(update(5, message=message(text)))
        assert got == StaffMessage(
            platform="telegram",
            account="demo",
            user="10001",
            chat="10001",
            direct=True,
            addressed=True,
            text=text.strip(),
            image="",
            dedupe_key="telegram:demo:5",
            name="Li Lei",
        )


def test_a_slash_command_keeps_its_slash_in_a_private_chat() -> None:
    got = decode(update(6, message=command("/help 规则")))
    assert got is not None
    assert (got.text, got.addressed) == ("/help 规则", True)


def test_a_command_for_us_in_a_group_is_addressed_and_cleaned() -> None:
    got = decode(update(7, message=command("/help@OurBot 规则", chat=GROUP, sender=BOB)))
    assert got is not None
    assert got.addressed and not got.direct
    assert got.text == "/help 规则"
    assert (got.user, got.chat, got.name) == ("10002", "-1001234567890", "韩梅梅")


def test_the_username_in_a_command_is_compared_without_case() -> None:
    got = decode(update(8, message=command("/rules@ourbot", chat=GROUP)))
    assert got is not None
    assert (got.addressed, got.text) == (True, "/rules")


def test_a_command_without_a_bot_name_in_a_group_is_addressed() -> None:
    got = decode(update(9, message=command("/help", chat=GROUP)))
    assert got is not None
    assert (got.addressed, got.text) == (True, "/help")


def test_a_command_for_another_bot_is_not_addressed() -> None:
    got = decode(update(10, message=command("/help@OtherBot 规则", chat=GROUP)))
    assert got is not None
    assert got.addressed is False
    assert got.text == "/help@OtherBot 规则"


def test_a_command_for_another_bot_stays_its_even_with_our_mention() -> None:
    text = "/help@OtherBot @OurBot"
    entities = [entity("bot_command", text, "/help@OtherBot"), entity("mention", text, "@OurBot")]
    got = decode(update(11, message=message(text, chat=GROUP, entities=entities)))
    assert got is not None
    assert got.addressed is False


def test_a_plain_group_message_is_not_addressed() -> None:
    got = decode(update(12, message=message("大家好 今天开会", chat=GROUP)))
    assert got is not None
    assert (got.addressed, got.direct, got.text) == (False, False, "大家好 今天开会")


def test_a_mention_of_us_in_a_group_is_addressed_and_removed() -> None:
    text = "@OurBot 规则 列表"
    got = decode(
        update(13, message=message(text, chat=GROUP, entities=[entity("mention", text, "@OurBot")]))
    )
    assert got is not None
    assert (got.addressed, got.text) == (True, "规则 列表")


def test_a_mention_of_someone_else_is_not_addressed_and_kept() -> None:
    text = "@OtherBot 规则 列表"
    got = decode(
        update(
            14, message=message(text, chat=GROUP, entities=[entity("mention", text, "@OtherBot")])
        )
    )
    assert got is not None
    assert (got.addressed, got.text) == (False, "@OtherBot 规则 列表")


def test_a_mention_after_an_emoji_is_cut_at_utf16_offsets() -> None:
    # 😀 and 🎉 are outside the BMP: two UTF-16 units each, one Python character.
    text = "😀🎉 请 @ourbot 帮忙查 规则"
    got = decode(
        update(15, message=message(text, chat=GROUP, entities=[entity("mention", text, "@ourbot")]))
    )
    assert got is not None
    assert got.addressed
    assert got.text == "😀🎉 请 帮忙查 规则"


def test_a_reply_to_the_bot_in_a_group_is_addressed() -> None:
    ours = message("规则已保存", chat=GROUP, sender=OUR_BOT, message_id=40)
    got = decode(update(16, message=message("再加一条", chat=GROUP, reply_to_message=ours)))
    assert got is not None
    assert (got.addressed, got.text) == (True, "再加一条")


def test_a_reply_to_someone_else_is_not_addressed() -> None:
    theirs = message("hello", chat=GROUP, sender=BOB, message_id=41)
    got = decode(update(17, message=message("收到", chat=GROUP, reply_to_message=theirs)))
    assert got is not None
    assert got.addressed is False


def test_a_photo_gives_the_largest_size_and_the_caption() -> None:
    sizes = [
        {"file_id": "small", "file_unique_id": "s", "width": 90, "height": 90},
        {"file_id": "large", "file_unique_id": "l", "width": 1280, "height": 1280},
        {"file_id": "medium", "file_unique_id": "m", "width": 320, "height": 320},
    ]
    caption = "@OurBot 新渠道二维码"
    got = decode(
        update(
            18,
            message=message(
                chat=GROUP,
                photo=sizes,
                caption=caption,
                caption_entities=[entity("mention", caption, "@OurBot")],
            ),
        )
    )
    assert got is not None
    assert (got.image, got.text, got.addressed) == ("large", "新渠道二维码", True)


def test_a_photo_without_caption_in_a_private_chat() -> None:
    sizes = [{"file_id": "only", "file_unique_id": "o", "width": 10, "height": 10}]
    got = decode(update(19, message=message(photo=sizes)))
    assert got is not None
    assert (got.image, got.text, got.addressed) == ("only", "", True)


def test_a_button_press_becomes_a_message_with_its_data() -> None:
    shown = message("确认删除？", chat=GROUP, sender=OUR_BOT, message_id=50)
    query = {
        "id": "cbq-1",
        "from": BOB,
        "message": shown,
        "chat_instance": "ci",
        "data": "确认 42",
    }
    got = decode(update(20, callback_query=query))
    assert got == StaffMessage(
        platform="telegram",
        account="demo",
        user="10002",
        chat="-1001234567890",
        direct=False,
        addressed=True,
        text="确认 42",
        image="",
        dedupe_key="telegram:demo:20",
        name="韩梅梅",
    )


def test_a_button_under_an_inline_message_has_no_chat_and_is_ignored() -> None:
    query = {
        "id": "cbq-2",
        "from": ALICE,
        "inline_message_id": "x",
        "chat_instance": "ci",
        "data": "y",
    }
    assert decode(update(21, callback_query=query)) is None


def test_a_message_from_a_bot_is_ignored() -> None:
    assert decode(update(22, message=command("/help@OurBot", chat=GROUP, sender=OTHER_BOT))) is None


def test_edits_and_other_kinds_are_ignored() -> None:
    assert decode(update(23, edited_message={**message("改了"), "edit_date": 1})) is None
    channel = {"id": -100999, "type": "channel", "title": "news"}
    post = {"message_id": 3, "chat": channel, "date": 1, "text": "公告"}
    assert decode(update(24, channel_post=post)) is None
    sticker = message(
        sticker={
            "file_id": "st",
            "file_unique_id": "st",
            "type": "regular",
            "width": 1,
            "height": 1,
            "is_animated": False,
            "is_video": False,
        }
    )
    assert decode(update(25, message=sticker)) is None


def test_without_a_known_username_only_plain_commands_are_addressed() -> None:
    got = decode(update(27, message=command("/help@OurBot", chat=GROUP)), username="")
    assert got is not None and got.addressed is False
    # The bot's own id (from its token) still recognises a reply to it.
    ours = message("ok", chat=GROUP, sender=OUR_BOT, message_id=60)
    got = decode(update(28, message=message("再来", chat=GROUP, reply_to_message=ours)), "")
    assert got is not None and got.addressed
