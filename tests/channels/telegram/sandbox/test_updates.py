"""Receiving updates: getUpdates long polling, offsets, conflicts, retention, entities."""

from __future__ import annotations

import asyncio

import pytest
from telegram.error import BadRequest, Conflict

from .conftest import Sandbox


async def _until_polling(sandbox: Sandbox, count: int = 1) -> None:
    """Wait until `count` getUpdates calls are in flight (a condition, not a timing check)."""
    for _ in range(1000):
        if sum(1 for c in sandbox.fake.calls_to("getUpdates") if c["status"] == 0) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("getUpdates never reached the fake")


async def test_long_poll_wakes_on_a_new_update_and_offset_confirms(sandbox: Sandbox) -> None:
    bot = await sandbox.bot(read_timeout=5)
    poll = asyncio.create_task(bot.get_updates(timeout=20))
    await _until_polling(sandbox)
    assert not poll.done()
    await sandbox.user().send("/start")
    updates = await poll
    assert len(updates) == 1 and updates[0].message is not None
    assert updates[0].message.text == "/start"
    again = await bot.get_updates()  # not confirmed yet: delivered again
    assert [u.update_id for u in again] == [updates[0].update_id]
    confirmed = await bot.get_updates(offset=updates[0].update_id + 1)
    assert confirmed == ()
    assert sandbox.fake.bot("ops").updates.pending == []


async def test_update_ids_grow_by_one_and_limit_applies(sandbox: Sandbox) -> None:
    alice = sandbox.user()
    for text in ("one", "two", "three"):
        await alice.send(text)
    bot = await sandbox.bot()
    first_two = await bot.get_updates(limit=2)
    assert [u.message.text for u in first_two if u.message] == ["one", "two"]
    assert first_two[1].update_id == first_two[0].update_id + 1
    rest = await bot.get_updates(offset=first_two[1].update_id + 1)
    assert [u.message.text for u in rest if u.message] == ["three"]
    with pytest.raises(BadRequest, match=r"(?i)limit"):
        await bot.get_updates(limit=101)


async def test_negative_offset_keeps_only_the_newest(sandbox: Sandbox) -> None:
    alice = sandbox.user()
    for text in ("old", "older", "newest"):
        await alice.send(text)
    bot = await sandbox.bot()
    updates = await bot.get_updates(offset=-1)
    assert [u.message.text for u in updates if u.message] == ["newest"]


async def test_webhook_makes_get_updates_conflict(sandbox: Sandbox, hook_url: str) -> None:
    bot = await sandbox.bot()
    assert await bot.set_webhook(hook_url) is True
    with pytest.raises(Conflict, match=r"(?i)can't use getupdates method while webhook is active"):
        await bot.get_updates()
    assert await bot.delete_webhook() is True
    assert await bot.get_updates() == ()


async def test_newer_get_updates_terminates_the_waiting_one(sandbox: Sandbox) -> None:
    bot = await sandbox.bot(read_timeout=5)
    waiting = asyncio.create_task(bot.get_updates(timeout=20))
    await _until_polling(sandbox)
    assert await bot.get_updates() == ()
    with pytest.raises(Conflict, match=r"(?i)terminated by other getupdates request"):
        await waiting


async def test_unconfirmed_updates_expire_after_24_hours(sandbox: Sandbox) -> None:
    alice = sandbox.user()
    await alice.send("stale")
    sandbox.fake.clock.advance(24 * 3600 + 1)
    await alice.send("fresh")
    bot = await sandbox.bot()
    updates = await bot.get_updates()
    assert [u.message.text for u in updates if u.message] == ["fresh"]


async def test_allowed_updates_filter_new_updates(sandbox: Sandbox) -> None:
    bot = await sandbox.bot()
    await bot.get_updates(allowed_updates=["callback_query"])
    delivery = await sandbox.user().send("not wanted")
    assert delivery.route == "filtered" and delivery.update_id is None
    await bot.get_updates(allowed_updates=[])  # back to the default set
    assert (await sandbox.user().send("wanted")).route == "polling"


async def test_command_entity_offsets_count_utf16_units(sandbox: Sandbox) -> None:
    delivery = await sandbox.user().send("😀 /help@ops_bot now, cc @bob_smith")
    assert delivery.update is not None
    entities = delivery.update["message"]["entities"]
    assert entities == [
        {"type": "bot_command", "offset": 3, "length": 13},
        {"type": "mention", "offset": 25, "length": 10},
    ]
    bot = await sandbox.bot()
    (update,) = await bot.get_updates()
    assert update.message is not None
    assert list(update.message.parse_entities().values()) == ["/help@ops_bot", "@bob_smith"]


async def test_a_command_at_the_start_is_a_bot_command(sandbox: Sandbox) -> None:
    delivery = await sandbox.user().send("/find refund policy")
    assert delivery.update is not None
    assert delivery.update["message"]["entities"] == [
        {"type": "bot_command", "offset": 0, "length": 5}
    ]
    plain = await sandbox.user().send("no command here")
    assert plain.update is not None and "entities" not in plain.update["message"]
