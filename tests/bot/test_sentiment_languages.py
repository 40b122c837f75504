"""/sentiment in every language, end to end through the fake Discord: the reply of each
label scheme (fixed-output stand-ins, tests/tiny_sentiment_models.py), the language
option and its autocomplete, the message menu, and bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chat.cards import NEUTRAL, POSITIVE
from tests.bot.conftest import BotFactory, final_message
from tests.bot.test_speak import error_text
from tests.fakediscord import FakeDiscord

KOREAN = "이 영화 정말 재미있어요"
SPANISH = "Me encanta esta película, es maravillosa."
GERMAN = "Ich liebe diesen Film, er ist wunderbar."


@pytest.fixture
def languages(sentiment_models: dict[str, Path]) -> dict[str, Any]:
    """Korean: a binary model too unsure to call (P("1", positive) 0.55); German: a star
    model sure of "4 stars"; the rest: a 3-class model sure of "neutral"."""
    return {
        "sentiment_models": {
            "ko": str(sentiment_models["korean_unsure"]),
            "de": str(sentiment_models["stars_four"]),
            "*": str(sentiment_models["three_neutral"]),
        }
    }


async def reply(fake_discord: FakeDiscord, options: dict[str, str]) -> dict[str, Any]:
    message = await final_message(await fake_discord.invoke_slash("sentiment", options))
    return message.embeds[0]


async def test_a_binary_models_unsure_answer_is_neutral_and_says_where_it_leans(
    fake_discord: FakeDiscord, start_bot: BotFactory, languages: dict[str, Any]
) -> None:
    await start_bot(**languages)
    embed = await reply(fake_discord, {"text": KOREAN})
    lines = embed["description"].splitlines()
    assert lines[0] == "**Neutral** `█████████░` 90.0% · polarity +0.10"
    assert lines[1] == "-# Too close to call: the model leans positive (55.0%)."
    assert f"> {KOREAN}" in lines
    assert embed["footer"]["text"] == "Korean (detected) · korean_unsure"
    assert embed["color"] == NEUTRAL


async def test_a_star_model_shows_its_rating(
    fake_discord: FakeDiscord, start_bot: BotFactory, languages: dict[str, Any]
) -> None:
    await start_bot(**languages)
    embed = await reply(fake_discord, {"text": GERMAN})
    lines = embed["description"].splitlines()
    assert lines[0] == "**Positive** `████████░░` 80.0% · polarity +0.38"
    assert lines[1] == "The model's rating: **4 stars** (70.0%)"
    assert embed["footer"]["text"] == "German (detected) · stars_four"
    assert embed["color"] == POSITIVE


async def test_a_three_class_model_needs_no_second_label(
    fake_discord: FakeDiscord, start_bot: BotFactory, languages: dict[str, Any]
) -> None:
    await start_bot(**languages)
    embed = await reply(fake_discord, {"text": SPANISH})
    lines = embed["description"].splitlines()
    assert lines[0] == "**Neutral** `████████░░` 80.0% · polarity +0.00"
    assert lines[1].startswith("> ")
    assert embed["footer"]["text"] == "Spanish (detected) · three_neutral"


async def test_the_language_option_overrides_detection_and_autocompletes(
    fake_discord: FakeDiscord, start_bot: BotFactory, languages: dict[str, Any]
) -> None:
    await start_bot(**languages)
    embed = await reply(fake_discord, {"text": KOREAN, "language": "de"})
    assert embed["footer"]["text"] == "German (as given) · stars_four"
    choices = await fake_discord.invoke_autocomplete(
        "sentiment", {"text": KOREAN, "language": "kor"}, focused="language"
    )
    assert choices[0] == {"name": "ko (Korean)", "value": "ko"}
    commands = fake_discord.guild_commands[fake_discord.guild.id]
    (schema,) = [c for c in commands if c["name"] == "sentiment"]
    (option,) = [o for o in schema["options"] if o["name"] == "language"]
    assert option["autocomplete"] and not option.get("required")


async def test_text_whose_language_cannot_be_told_says_so(
    fake_discord: FakeDiscord, start_bot: BotFactory, languages: dict[str, Any]
) -> None:
    await start_bot(**languages)
    embed = await reply(fake_discord, {"text": "lol"})
    assert embed["footer"]["text"] == "Language not detected · three_neutral"


async def test_the_message_menu_routes_by_language_too(
    fake_discord: FakeDiscord, start_bot: BotFactory, languages: dict[str, Any]
) -> None:
    await start_bot(**languages)
    posted = await fake_discord.post_message(KOREAN)
    inter = await fake_discord.invoke_message_command("Sentiment", posted)
    embed = (await final_message(inter)).embeds[0]
    assert embed["description"].startswith("**Neutral**")
    assert embed["footer"]["text"] == "Korean (detected) · korean_unsure"


@pytest.mark.parametrize(
    ("options", "error"),
    [
        (
            {"text": "hello", "language": "kr"},
            "⚠️ Unknown language 'kr'. Did you mean ko (Korean), ur (Urdu), uk (Ukrainian)?",
        ),
        (
            {"text": "👍🔥 123"},
            "⚠️ There are no words in that text, only numbers, emoji or symbols: "
            "sentiment needs some words to read.",
        ),
    ],
)
async def test_bad_input_gets_a_short_ephemeral_error(
    fake_discord: FakeDiscord,
    start_bot: BotFactory,
    languages: dict[str, Any],
    options: dict[str, str],
    error: str,
) -> None:
    await start_bot(**languages)
    inter = await fake_discord.invoke_slash("sentiment", options)
    assert await error_text(inter) == error
