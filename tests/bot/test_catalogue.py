"""The Discord commands are the catalogue's: same names, options, bounds and choices."""

from __future__ import annotations

from typing import Any

import discord
import pytest
from discord import app_commands

from bot.catalogue import OPTION_TYPES, catalogued
from bot.client import PipelineBot
from bot.settings import BotSettings
from chat.catalogue import COMMANDS, SHORTCUTS, command

#: The cogs that hold the catalogue's commands and shortcuts (they need no store).
MODEL_COGS = (
    "cogs.analysis",
    "cogs.reading",
    "cogs.speak",
    "cogs.imagine",
    "cogs.translate",
    "cogs.generate",
)


@pytest.fixture
async def tree() -> app_commands.CommandTree:
    bot = PipelineBot(BotSettings(discord_token="x"))
    for extension in MODEL_COGS:
        await bot.load_extension(extension)
    return bot.tree


async def test_every_catalogue_command_is_declared_as_the_catalogue_says(tree) -> None:
    declared = {c.name: c.to_dict(tree) for c in tree.get_commands()}
    for spec in COMMANDS:
        payload = declared.pop(spec.name)
        assert payload["description"] == spec.description
        options = {o["name"]: o for o in payload.get("options", [])}
        assert list(options) == [o.name for o in spec.options]
        for option in spec.options:
            sent: dict[str, Any] = options[option.name]
            assert sent["type"] == OPTION_TYPES[option.kind].value
            assert sent["description"] == option.description
            assert sent["required"] == option.required
            low, high = (
                ("min_length", "max_length")
                if option.kind == "text"
                else ("min_value", "max_value")
            )
            assert sent.get(low) == option.min and sent.get(high) == option.max
            assert [c["value"] for c in sent.get("choices", [])] == list(option.choices)
            assert sent.get("autocomplete", False) == (option.suggest is not None)
    # what is left are the message menus: exactly the catalogue's shortcuts
    assert {name for name, p in declared.items() if p["type"] == 3} == {s.name for s in SHORTCUTS}


def test_a_callback_that_differs_from_the_catalogue_fails_at_declaration() -> None:
    async def missing_an_option(interaction: discord.Interaction, text: str) -> None:
        """/sentiment without its language option."""

    with pytest.raises(TypeError, match="language"):
        catalogued("sentiment")(missing_an_option)

    async def optional_text(interaction: discord.Interaction, text: str | None = None) -> None:
        """/ner whose text would be optional."""

    with pytest.raises(TypeError, match="ner text"):
        catalogued("ner")(optional_text)
    assert command("ner").option("text").required
