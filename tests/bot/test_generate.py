"""/generate and its Continue button, end to end through the fake Discord.

The tiny GPT-2 (the default here) and the tiny chat model write noise quickly, and
now and then sample their end-of-text token: tests that need a part to run to
max_tokens use a seed or greedy decoding that does.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from chat.cards import Button
from chat.render import render
from chat.render.generate import (
    NOTHING_NEW,
    PROMPT_TITLE,
    SO_FAR,
    ZWSP,
    guard,
    part_text,
    shown,
    story_from_cards,
)
from inference.tasks.generate import GenerateResult
from tests.bot.conftest import BotFactory, final_message, reply_to_click
from tests.fakediscord import FakeDiscord
from tests.fakediscord.records import MessageRecord

CONTINUE = "generate:continue"
SHARE = "showcase:share"


def parts(message: MessageRecord) -> tuple[dict[str, Any], dict[str, Any]]:
    """The prompt embed and the text embed of a story message."""
    prompt, text = message.embeds
    assert prompt["title"] == PROMPT_TITLE
    return prompt, text


def shown_text(message: MessageRecord) -> str:
    return parts(message)[1]["description"].removeprefix(ZWSP).removesuffix(ZWSP)


def part_of(message: MessageRecord) -> str:
    """The text of the part a message shows ("" where it says the model wrote nothing)."""
    return part_text(parts(message)[1]["description"])


def shows(result: GenerateResult) -> str:
    """What a part with ``result``'s text shows: that text, or (sampling may end the text
    at once) the note that the model wrote nothing."""
    text = shown(result.text)
    return guard(text) if text else NOTHING_NEW


def so_far(message: MessageRecord) -> str:
    (field,) = parts(message)[0]["fields"]
    assert field["name"] == SO_FAR
    return field["value"].removeprefix("…").removeprefix(ZWSP).removesuffix(ZWSP)


def footer(message: MessageRecord) -> str:
    return parts(message)[1]["footer"]["text"]


def seed_of(message: MessageRecord) -> int:
    return int(re.search(r"Seed (\d+)", footer(message))[1])


async def test_prompt_text_seed_tokens_and_a_continue_button(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    inter = await fake_discord.invoke_slash(
        "generate", {"prompt": "Once upon a time", "max_tokens": 20, "seed": 42}
    )
    message = await final_message(inter)
    assert inter.deferred and not inter.ephemeral and inter.response_time < 3
    prompt, text = parts(message)
    assert prompt["description"] == "Once upon a time"
    assert shown_text(message)
    assert "fields" not in prompt or not prompt["fields"]  # nothing "so far" yet
    assert text["footer"]["text"] == (
        "🎲 Seed 42 · 🌡️ Temperature 0.7 · 20 tokens (max 20) · stopped at max_tokens · generate"
    )
    assert message.custom_ids == [CONTINUE, SHARE]


async def test_same_seed_same_text_and_a_random_seed_is_shown(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot(cooldown_rate=10)
    options = {"prompt": "The robot said", "max_tokens": 30, "temperature": 1.2}
    texts = []
    for seed in (7, 7, 8):
        inter = await fake_discord.invoke_slash("generate", {**options, "seed": seed})
        texts.append(shown_text(await final_message(inter)))
    assert texts[0] == texts[1] != texts[2]

    unseeded = await final_message(await fake_discord.invoke_slash("generate", options))
    again = await fake_discord.invoke_slash("generate", {**options, "seed": seed_of(unseeded)})
    assert shown_text(await final_message(again)) == shown_text(unseeded)

    greedy = await final_message(
        await fake_discord.invoke_slash("generate", {**options, "temperature": 0})
    )
    assert "Seed" not in footer(greedy) and "greedy" in footer(greedy)


async def test_continue_posts_the_next_part_for_anyone_also_after_a_restart(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    bot = await start_bot()
    first = await final_message(
        await fake_discord.invoke_slash(
            "generate",
            {"prompt": "Once upon a time", "max_tokens": 15, "temperature": 0.9, "seed": 1},
        )
    )
    click = await fake_discord.click(first, CONTINUE, user=fake_discord.moderator)
    second = await reply_to_click(click, first)
    assert not second.ephemeral and second.custom_ids == [CONTINUE, SHARE]
    assert parts(second)[0]["description"] == "Once upon a time"
    assert part_of(first).endswith(so_far(second))  # the end of the text before
    assert "Temperature 0.9 ·" in footer(second) and "(max 15)" in footer(second)
    assert seed_of(second) != seed_of(first)
    # the model went on from exactly what the first message shows; on the seed drawn for
    # it, what it wrote alone (or, as sampling may end the text at once, nothing)
    alone = await bot.service.run(
        "generate",
        prompt="Once upon a time",
        continue_from=part_of(first),
        max_tokens=15,
        temperature=0.9,
        seed=seed_of(second),
    )
    assert parts(second)[1]["description"] == shows(alone)
    assert first.custom_ids == [CONTINUE, SHARE]  # the earlier part keeps its button

    await bot.close()  # a restart: the new process knows nothing of the old messages
    bot = await start_bot()
    click = await fake_discord.click(second, CONTINUE)
    third = await reply_to_click(click, second)
    # "so far" is the end of all the message showed: its own "so far" and its part
    assert (so_far(second) + part_of(second)).endswith(so_far(third))
    assert third.custom_ids == [CONTINUE, SHARE]
    alone = await bot.service.run(
        "generate",
        prompt="Once upon a time",
        continue_from=so_far(second) + part_of(second),
        max_tokens=15,
        temperature=0.9,
        seed=seed_of(third),
    )
    assert parts(third)[1]["description"] == shows(alone)


async def test_continue_with_a_chat_model(
    fake_discord: FakeDiscord, start_bot: BotFactory, tiny_models: dict[str, Path]
) -> None:
    await start_bot(generate_model=str(tiny_models["chat"]))
    first = await final_message(
        await fake_discord.invoke_slash("generate", {"prompt": "Hello there", "max_tokens": 8})
    )
    assert footer(first).endswith("· chat")
    second = await reply_to_click(await fake_discord.click(first, CONTINUE), first)
    assert parts(second)[0]["description"] == "Hello there" and "(max 8)" in footer(second)


async def test_continue_on_a_message_that_no_longer_holds_the_story(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    message = await final_message(
        await fake_discord.invoke_slash("generate", {"prompt": "Hi", "max_tokens": 5})
    )
    message.data["embeds"] = message.embeds[1:]  # say, an edited message
    click = await fake_discord.click(message, CONTINUE)
    await click.wait_until(lambda i: i.original is not message, 5)
    assert click.original.ephemeral
    assert "can't be continued any more" in click.original.content


async def test_continue_counts_towards_the_generate_cooldown(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot(cooldown_rate=2, cooldown_per_s=60)
    first = await final_message(
        await fake_discord.invoke_slash("generate", {"prompt": "Hi", "max_tokens": 5})
    )
    await reply_to_click(await fake_discord.click(first, CONTINUE), first)
    again = await fake_discord.click(first, CONTINUE)
    await again.wait_until(lambda i: i.original is not first, 5)
    assert again.original.ephemeral and "Try again in" in again.original.content


async def test_a_long_part_fits_discords_limits(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    prompt = "word " * 399 + "end"  # 1,998 characters
    inter = await fake_discord.invoke_slash(
        "generate", {"prompt": prompt, "max_tokens": 512, "temperature": 0}
    )
    message = await final_message(inter)
    assert parts(message)[0]["description"] == prompt
    assert "512 tokens (max 512)" in footer(message)
    assert "read only the end" in footer(message)  # 512 new tokens leave 512 to read
    # the fake refuses any write over Discord's limits, failing the test


def written(prompt: str, before: str, text: str, tokens: int) -> GenerateResult:
    """A part of a story as the task returns it: ``text`` written after ``before``."""
    return GenerateResult(
        prompt=prompt,
        text=text,
        full_text=before + text,
        finish_reason="length",
        tokens=tokens,
        seed=1,
        temperature=0.7,
        model="gpt2",
        chat=False,
        truncated=False,
    )


def test_a_part_too_long_for_one_message_is_split_and_continues_from_the_last() -> None:
    # 9,600 characters after 500
    result = written("p" * 2000, "before it " * 50, " " + "many words here " * 600, 512)
    buttons = [Button("generate:continue", "Continue")]
    reply = render(result, max_tokens=512, buttons=buttons)
    assert len(reply.messages) > 2
    for message in reply.messages:
        assert sum(len(card) for card in message.cards) <= 6000
        assert all(len(card.description or "") <= 4096 for card in message.cards)
    assert [m.buttons for m in reply.messages] == [None] * (len(reply.messages) - 1) + [buttons]
    assert reply.messages[0].cards[0].title == PROMPT_TITLE  # the prompt comes first

    story = story_from_cards(reply.messages[-1].cards)
    assert story is not None and story.prompt == "p" * 2000
    assert (story.max_tokens, story.temperature) == (512, 0.7)
    assert result.full_text.endswith(story.text) and len(story.text) > 3000


@pytest.mark.parametrize("ending", ["\r", "\n", " ", "\r\n "])
def test_continue_reads_back_the_whitespace_a_part_ends_with(ending: str) -> None:
    result = written("Once", " upon a time,", " the fox ran" + ending, 5)
    (message,) = render(result, max_tokens=5).messages
    story = story_from_cards(message.cards)
    assert story is not None and story.text == result.full_text


async def test_bad_input_gets_the_tasks_error(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    (schema,) = [
        c for c in fake_discord.guild_commands[fake_discord.guild.id] if c["name"] == "generate"
    ]
    options = {o["name"]: o for o in schema["options"]}
    assert (options["max_tokens"]["min_value"], options["max_tokens"]["max_value"]) == (1, 512)
    assert options["temperature"]["max_value"] == 2 and options["prompt"]["max_length"] == 2000
    # Discord enforces those ranges; past them, the task says what is wrong
    inter = await fake_discord.invoke_slash("generate", {"prompt": "Hi", "temperature": 5})
    await inter.wait_for_response()
    assert inter.ephemeral and "temperature must be between 0 and 2" in inter.original.content
