"""Groups: privacy mode, membership, supergroup migration."""

from __future__ import annotations

import pytest
from telegram.error import ChatMigrated

from channels.telegram.sandbox import ActionRejected, TelegramLimits

from .conftest import ALICE, BOB, Sandbox, SandboxFactory

GROUP = -4002


async def test_bot_messages_into_a_group(sandbox: Sandbox) -> None:
    chat = sandbox.fake.group("ops", GROUP, "Ops team", [ALICE, BOB])
    assert chat.as_chat() == {"id": GROUP, "type": "group", "title": "Ops team"}
    bot = await sandbox.bot()
    message = await bot.send_message(GROUP, "daily report")
    assert message.chat.type == "group" and message.chat.title == "Ops team"
    supergroup = sandbox.fake.group("ops", -1001234567890, "Big team", [ALICE])
    assert supergroup.type == "supergroup"


async def test_privacy_mode_hides_chatter_but_not_commands_or_replies(sandbox: Sandbox) -> None:
    sandbox.fake.group("ops", GROUP, "Ops team", [ALICE])
    alice = sandbox.user()
    chatter = await alice.send("lunch anyone?", chat_id=GROUP)
    assert chatter.route == "hidden" and chatter.update_id is None
    for_other = await alice.send("/report@other_bot", chat_id=GROUP)
    assert for_other.route == "hidden"
    command = await alice.send("/report@ops_bot today", chat_id=GROUP)
    assert command.route == "polling"
    bot = await sandbox.bot()
    sent = await bot.send_message(GROUP, "which day?")
    reply = await alice.send("monday", chat_id=GROUP, reply_to=sent.message_id)
    assert reply.route == "polling"
    updates = await bot.get_updates()
    assert [u.message.text for u in updates if u.message] == ["/report@ops_bot today", "monday"]
    texts = [e["text"] for e in sandbox.fake.timeline("ops", GROUP) if e["sender"] == "user"]
    assert texts == ["lunch anyone?", "/report@other_bot", "/report@ops_bot today", "monday"]


async def test_without_privacy_mode_the_bot_sees_everything(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = await sandbox_factory(limits=TelegramLimits(group_privacy=False))
    sandbox.fake.group("ops", GROUP, "Ops team", [ALICE])
    assert (await sandbox.user().send("lunch anyone?", chat_id=GROUP)).route == "polling"


async def test_only_members_write_into_a_group(sandbox: Sandbox) -> None:
    sandbox.fake.group("ops", GROUP, "Ops team", [BOB])
    with pytest.raises(ActionRejected, match="not a member"):
        await sandbox.user().send("/start", chat_id=GROUP)
    with pytest.raises(ActionRejected, match="no group"):
        await sandbox.user().send("/start", chat_id=-999)


async def test_upgraded_group_answers_migrate_to_chat_id(sandbox: Sandbox) -> None:
    sandbox.fake.group("ops", GROUP, "Ops team", [ALICE])
    sandbox.fake.upgrade_group("ops", GROUP, -1009876543210)
    bot = await sandbox.bot()
    with pytest.raises(ChatMigrated) as migrated:
        await bot.send_message(GROUP, "hello")
    assert migrated.value.new_chat_id == -1009876543210
    message = await bot.send_message(-1009876543210, "hello")
    assert message.chat.type == "supergroup"
