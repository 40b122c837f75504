"""Commands sync on demand: when they changed since the last sync, or when asked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import discord
from discord import app_commands

from bot.client import PipelineBot
from bot.settings import BotSettings
from inference import InferenceService
from tests.bot.conftest import tiny_model_settings
from tests.fakediscord import FakeDiscord


def command_syncs(fake_discord: FakeDiscord) -> list[Any]:
    return [r for r in fake_discord.requests if r.method == "PUT" and r.path.endswith("/commands")]


def make_bot(fake_discord: FakeDiscord, tiny_models: dict[str, Path], data: Path, **extra: Any):
    values: dict[str, Any] = {
        "discord_token": "fake-token",
        "dev_guild_id": fake_discord.guild.id,
        "data_dir": data,
        **tiny_model_settings(tiny_models),
    }
    settings = BotSettings(_env_file=None, **{**values, **extra})
    return PipelineBot(settings, service=InferenceService(settings), guild_ready_timeout=0.05)


async def restart(fake_discord: FakeDiscord, bot: PipelineBot) -> None:
    await fake_discord.connect(bot, token="fake-token")
    await bot.close()


async def test_a_restart_with_the_same_commands_does_not_sync(
    fake_discord: FakeDiscord, tiny_models: dict[str, Path], tmp_path: Path
) -> None:
    await restart(fake_discord, make_bot(fake_discord, tiny_models, tmp_path))
    assert len(command_syncs(fake_discord)) == 1
    names = {c["name"] for c in fake_discord.guild_commands[fake_discord.guild.id]}
    assert {"sentiment", "imagine", "help"} <= names

    await restart(fake_discord, make_bot(fake_discord, tiny_models, tmp_path))
    assert len(command_syncs(fake_discord)) == 1  # unchanged: nothing sent

    changed = make_bot(fake_discord, tiny_models, tmp_path)

    @app_commands.command(name="extra", description="A command added since the last sync")
    async def extra(interaction: discord.Interaction) -> None: ...

    changed.tree.add_command(extra)
    await restart(fake_discord, changed)
    assert len(command_syncs(fake_discord)) == 2
    assert "extra" in {c["name"] for c in fake_discord.guild_commands[fake_discord.guild.id]}


async def test_global_and_guild_syncs_are_remembered_apart(
    fake_discord: FakeDiscord, tiny_models: dict[str, Path], tmp_path: Path
) -> None:
    await restart(fake_discord, make_bot(fake_discord, tiny_models, tmp_path))
    await restart(fake_discord, make_bot(fake_discord, tiny_models, tmp_path, dev_guild_id=None))
    syncs = command_syncs(fake_discord)
    assert len(syncs) == 2 and "/guilds/" in syncs[0].path and "/guilds/" not in syncs[1].path
    assert {c["name"] for c in fake_discord.global_commands} >= {"sentiment", "imagine"}


async def test_sync_command_syncs_without_starting_the_service(
    fake_discord: FakeDiscord, tiny_models: dict[str, Path], tmp_path: Path
) -> None:
    await restart(fake_discord, make_bot(fake_discord, tiny_models, tmp_path))
    bot = make_bot(fake_discord, tiny_models, tmp_path, preload="all")
    bot.sync_only = True  # what `python -m bot sync` does
    async with bot:
        await bot.login("fake-token")
    assert len(command_syncs(fake_discord)) == 2  # forced, though nothing changed
    assert bot.service.loaded_models("sentiment") == []  # PRELOAD=all was not run
