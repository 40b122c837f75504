"""/sentiment and the "Sentiment" message menu, end to end through the fake Discord."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests.bot.conftest import BotFactory, ModelGate, final_message, install_gate
from tests.fakediscord import FakeDiscord


async def test_sentiment_defers_then_shows_label_score_and_bar(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    inter = await fake_discord.invoke_slash("sentiment", {"text": "I love this bot"})
    message = await final_message(inter)
    assert inter.deferred and not inter.ephemeral
    assert inter.response_time is not None and inter.response_time < 3
    embed = message.embeds[0]
    assert embed["title"] == "Sentiment"
    assert embed["description"].startswith(("**Positive**", "**Neutral**", "**Negative**"))
    assert embed["footer"]["text"].endswith(" · sentiment")  # the model, never its path
    assert "%" in embed["description"] and "█" in embed["description"]
    assert "> I love this bot" in embed["description"]


async def test_message_menu(fake_discord: FakeDiscord, start_bot: BotFactory) -> None:
    await start_bot()
    posted = await fake_discord.post_message("What a wonderful day")
    inter = await fake_discord.invoke_message_command("Sentiment", posted)
    message = await final_message(inter)
    assert "What a wonderful day" in message.embeds[0]["description"]


async def test_message_menu_on_a_message_without_text(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    posted = await fake_discord.post_message("", files=[("cat.png", b"\x89PNG....")])
    inter = await fake_discord.invoke_message_command("Sentiment", posted)
    await inter.wait_for_response()
    assert inter.ephemeral
    assert "no text" in inter.original.content


async def test_queue_position_is_shown_while_waiting(
    fake_discord: FakeDiscord, start_bot: BotFactory, gate: ModelGate
) -> None:
    bot = await start_bot(max_batch_size=1)
    await install_gate(bot, "sentiment", gate)
    gate.opened.clear()
    users = [fake_discord.add_user(f"user{i}") for i in range(3)]
    first = await fake_discord.invoke_slash("sentiment", {"text": "one"}, user=users[0])
    await asyncio.to_thread(gate.entered.wait, 10)
    second = await fake_discord.invoke_slash("sentiment", {"text": "two"}, user=users[1])
    third = await fake_discord.invoke_slash("sentiment", {"text": "three"}, user=users[2])
    await third.wait_until(
        lambda i: i.original and "1 request ahead of yours" in i.original.content, 10
    )
    await second.wait_until(lambda i: i.original and "next in line" in i.original.content, 10)
    gate.opened.set()
    for inter in (first, second, third):
        assert (await final_message(inter)).embeds[0]["title"] == "Sentiment"


async def test_slow_model_still_answers_within_three_seconds(
    fake_discord: FakeDiscord, start_bot: BotFactory, gate: ModelGate
) -> None:
    bot = await start_bot()
    await install_gate(bot, "sentiment", gate)
    gate.delay = 4.0
    inter = await fake_discord.invoke_slash("sentiment", {"text": "slow"})
    await inter.wait_for_response(timeout=3)
    assert inter.deferred and inter.response_time < 3
    message = await final_message(inter)
    assert message.embeds[0]["title"] == "Sentiment"


async def test_text_longer_than_the_model_reads_is_noted(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    inter = await fake_discord.invoke_slash("sentiment", {"text": "good " * 300})
    message = await final_message(inter)
    assert "only its start was used" in message.embeds[0]["description"]


async def test_text_longer_than_allowed_is_refused_in_discord(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    commands = fake_discord.guild_commands[fake_discord.guild.id]
    (schema,) = [c for c in commands if c["name"] == "sentiment"]
    assert schema["options"][0]["max_length"] == 4000


async def test_whitespace_text_gets_a_short_ephemeral_error(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    inter = await fake_discord.invoke_slash("sentiment", {"text": "   "})
    await inter.wait_for_response()
    assert inter.ephemeral
    assert inter.original.content == "⚠️ The text is empty."


async def test_cooldown(fake_discord: FakeDiscord, start_bot: BotFactory) -> None:
    await start_bot(cooldown_rate=1, cooldown_per_s=60)
    first = await fake_discord.invoke_slash("sentiment", {"text": "one"})
    await final_message(first)
    second = await fake_discord.invoke_slash("sentiment", {"text": "two"})
    await second.wait_for_response()
    assert second.ephemeral
    assert "Try again in" in second.original.content
    other = await fake_discord.invoke_slash(
        "sentiment", {"text": "someone else"}, user=fake_discord.moderator
    )
    assert (await final_message(other)).embeds


async def test_the_menu_shares_the_commands_cooldown_and_other_tasks_do_not(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot(cooldown_rate=1, cooldown_per_s=60)
    await final_message(await fake_discord.invoke_slash("sentiment", {"text": "one"}))
    posted = await fake_discord.post_message("What a wonderful day")
    menu = await fake_discord.invoke_message_command("Sentiment", posted)
    await menu.wait_for_response()
    assert menu.ephemeral and "Try again in" in menu.original.content
    # another model has its own allowance
    ner = await fake_discord.invoke_message_command("Extract entities", posted)
    assert not (await final_message(ner)).ephemeral


async def test_failure_inside_inference_gives_an_apology_and_the_bot_keeps_serving(
    fake_discord: FakeDiscord,
    start_bot: BotFactory,
    gate: ModelGate,
    caplog: pytest.LogCaptureFixture,
) -> None:
    bot = await start_bot()
    await install_gate(bot, "sentiment", gate)
    gate.fail_next = RuntimeError("CUDA error: an illegal memory access was encountered")
    with caplog.at_level(logging.ERROR, logger="bot.errors"):
        broken = await fake_discord.invoke_slash("sentiment", {"text": "boom"})
        await broken.wait_until(lambda i: i.followups, 20)
    apology = broken.followups[0]
    assert apology.ephemeral and "Sorry, something went wrong" in apology.content
    error_id = apology.content.split("`")[1]
    assert any(error_id in r.getMessage() and r.exc_info for r in caplog.records)
    assert broken.original is None or broken.original.deleted  # no public "thinking…" left

    fine = await fake_discord.invoke_slash("sentiment", {"text": "still working?"})
    assert (await final_message(fine)).embeds[0]["title"] == "Sentiment"


async def test_mentions_in_results_never_ping(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    text = "@everyone @here <@&123456789012345678> <@234567890123456789> look"
    inter = await fake_discord.invoke_slash("sentiment", {"text": text})
    message = await final_message(inter)
    assert "@everyone" in message.embeds[0]["description"]
    for write in message.writes:
        if write.body.get("content") or write.body.get("embeds"):
            allowed = write.allowed_mentions
            assert allowed is not None and allowed["parse"] == []
            assert not allowed.get("users") and not allowed.get("roles")
    assert not message.mentions.everyone and not message.mentions.roles
    assert not message.mentions.users
