"""/ner, /classify and the "Extract entities" message menu, end to end through the fake
Discord. The tiny models are random: the tests check the structure of the replies."""

from __future__ import annotations

import re
from typing import Any

import torch

from bot.client import PipelineBot
from chat.render import render
from inference.tasks.ner import Entity, NerResult
from tests.bot.conftest import BotFactory, engine, final_message
from tests.fakediscord import FakeDiscord

OBAMA = "Barack Obama was the 44th president of the United States."
TAG = re.compile(r"\*\*(.+?)\*\* `([A-Z]+)`")
FRIENDLY = {"People (PER)", "Places (LOC)", "Organisations (ORG)", "Other (MISC)"}


def unmark(description: str) -> str:
    """The user's text back from a marked description: tags off, escapes undone."""
    return re.sub(r"\\(.)", r"\1", TAG.sub(r"\1", description))


async def error_reply(inter: Any) -> str:
    """The ephemeral answer to a command refused at once."""
    await inter.wait_for_response()
    assert inter.ephemeral
    return inter.original.content


async def find_nothing(bot: PipelineBot) -> None:
    """Make the NER model tag every token "O" (wrapping the model, not our code)."""

    def only_outside(module: Any, args: Any, output: Any) -> Any:
        logits = torch.zeros_like(output.logits)
        logits[..., 0] = 10.0
        output["logits"] = logits
        return output

    await engine(bot).preload(["ner"])
    for loaded in engine(bot).loaded_models("ner"):
        loaded.model.register_forward_hook(only_outside)


# -- /ner -----------------------------------------------------------------------------


async def test_ner_marks_the_entities_and_lists_them_by_type(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    text = "Barack *Obama* met Angela_Merkel in `Berlin` > ~~Paris~~ || 5 * 3"
    inter = await fake_discord.invoke_slash("ner", {"text": text})
    message = await final_message(inter)
    assert inter.deferred and not inter.ephemeral and inter.response_time < 3
    embed = message.embeds[0]
    assert embed["title"] == "Named entities"
    description = embed["description"]
    assert TAG.search(description), description
    assert unmark(description) == text  # every markdown character of the user escaped
    names = [field["name"] for field in embed["fields"]]
    assert names and set(names) <= FRIENDLY
    for field in embed["fields"]:
        assert all("%" in line for line in field["value"].splitlines())
    assert "mention" in embed["footer"]["text"]


async def test_ner_long_text_keeps_the_lists_and_clips_the_marked_text(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    text = " ".join([OBAMA] * 68)[:4000]
    inter = await fake_discord.invoke_slash("ner", {"text": text})
    message = await final_message(inter)
    embed = message.embeds[0]  # within Discord's embed limits, or the fake would refuse it
    assert embed["description"].endswith("…")
    assert text.startswith(unmark(embed["description"])[:-1].rstrip())
    assert embed["fields"]
    assert len(message.embeds) == 1 and not inter.followups


async def test_ner_no_entities(fake_discord: FakeDiscord, start_bot: BotFactory) -> None:
    bot = await start_bot()
    await find_nothing(bot)
    inter = await fake_discord.invoke_slash("ner", {"text": OBAMA})
    embed = (await final_message(inter)).embeds[0]
    assert embed["description"].startswith("No named entities found.")
    assert f"> {OBAMA}" in embed["description"]
    assert not embed.get("fields")


async def test_extract_entities_menu(fake_discord: FakeDiscord, start_bot: BotFactory) -> None:
    await start_bot()
    posted = await fake_discord.post_message(OBAMA)
    inter = await fake_discord.invoke_message_command("Extract entities", posted)
    embed = (await final_message(inter)).embeds[0]
    assert embed["title"] == "Named entities"
    assert unmark(embed["description"]) == OBAMA


async def test_ner_whitespace_text_is_refused(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    inter = await fake_discord.invoke_slash("ner", {"text": "  \n "})
    assert await error_reply(inter) == "⚠️ The text is empty."


def test_ner_marks_nothing_where_the_offsets_do_not_fit_the_text() -> None:
    result = NerResult([Entity("Obama", "PER", 0.9, 7, 12)], {"PER": ["Obama"]})
    embed = render(result, text="Someone else entirely").messages[0].cards[0]
    assert embed.description == "Someone else entirely"
    assert embed.fields[0].name == "People (PER)"


# -- /classify ------------------------------------------------------------------------


async def test_classify_ranks_the_labels_with_bars(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    inter = await fake_discord.invoke_slash(
        "classify", {"text": "The match ended 2-1", "labels": "sports, politics,`cooking`, sports"}
    )
    message = await final_message(inter)
    assert inter.deferred and not inter.ephemeral
    embed = message.embeds[0]
    assert embed["title"] == "Classification"
    lines = embed["description"].splitlines()
    ranked = [line for line in lines if "█" in line or "░" in line]
    assert len(ranked) == 3  # duplicates dropped
    assert {re.match(r"`(.+?) *`", line)[1] for line in ranked} == {
        "sports",
        "politics",
        "'cooking'",
    }
    scores = [float(line.rsplit(" ", 1)[1].rstrip("%")) for line in ranked]
    assert scores == sorted(scores, reverse=True)
    assert abs(sum(scores) - 100) < 0.5
    assert "> The match ended 2-1" in lines
    assert "share the score" in embed["description"]


async def test_classify_multi_label_with_a_template(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    options = {
        "text": "Rain all day",
        "labels": "weather, mood",
        "multi_label": True,
        "template": "This text is about {}.",
    }
    inter = await fake_discord.invoke_slash("classify", options)
    description = (await final_message(inter)).embeds[0]["description"]
    assert "scored on its own" in description
    assert "Hypothesis: This text is about {}." in description


async def test_classify_bad_labels_and_template_are_refused(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot(cooldown_rate=10)
    cases = {
        ", ,,": "Please give some labels",
        ",".join(f"label{i}" for i in range(11)): "at most 10 labels (11 given)",
    }
    for labels, expected in cases.items():
        inter = await fake_discord.invoke_slash("classify", {"text": "hi", "labels": labels})
        assert expected in await error_reply(inter)
    inter = await fake_discord.invoke_slash(
        "classify", {"text": "hi", "labels": "a, b", "template": "no braces"}
    )
    assert '"{}"' in await error_reply(inter)
    inter = await fake_discord.invoke_slash("classify", {"text": " ", "labels": "a, b"})
    assert await error_reply(inter) == "⚠️ The text is empty."
