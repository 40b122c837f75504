"""The bot against an inference server: a server that goes away and comes back, the
API key, and shards. (Every other bot test also runs against a server: see conftest.)"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from discord.ext import commands

from bot.client import PipelineBot, create_bot
from bot.settings import BotSettings
from inference.client import RemoteService
from tests.bot.conftest import (
    BotFactory,
    ModelGate,
    final_message,
    tiny_model_settings,
)
from tests.fakediscord import FakeDiscord
from tests.remote import Proxy, running_server


async def test_a_server_that_goes_away_mid_job_and_comes_back(
    fake_discord: FakeDiscord, tiny_models: dict[str, Path], gate: ModelGate, caplog
) -> None:
    settings = BotSettings(
        _env_file=None,
        discord_token="fake-token",
        dev_guild_id=fake_discord.guild.id,
        max_wait_ms=1,
        inference_api_key="key-that-stays-secret",
        **tiny_model_settings(tiny_models),
    )
    async with running_server(settings) as server, Proxy(port_of(server.url)) as line:
        bot = PipelineBot(
            settings.model_copy(update={"inference_url": line.url}), guild_ready_timeout=0.05
        )
        assert isinstance(bot.service, RemoteService)
        with caplog.at_level(logging.DEBUG):
            await fake_discord.connect(bot)
            await server.service.preload(["sentiment"])
            for loaded in server.service.loaded_models("sentiment"):
                loaded.model.register_forward_pre_hook(gate.hook)
            gate.opened.clear()
            try:
                inter = await fake_discord.invoke_slash("sentiment", {"text": "hello"})
                assert await asyncio.to_thread(gate.entered.wait, 10)
                await line.cut()
                followup = (await inter.wait_for_followups(timeout=20))[0]
            finally:
                gate.opened.set()
            assert followup.ephemeral
            assert "The inference server is unreachable." in followup.content
            assert inter.original.deleted  # no "thinking…" left behind

            await line.restore()
            again = await fake_discord.invoke_slash(
                "sentiment", {"text": "hello again"}, user=fake_discord.moderator
            )
            assert (await final_message(again)).embeds
        messages = [record.getMessage() for record in caplog.records]
        assert any("unreachable" in m and "127.0.0.1" in m for m in messages)
        assert not [m for m in messages if "key-that-stays-secret" in m]
        assert "key-that-stays-secret" not in repr(bot.settings)
        await bot.close()


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


async def test_status_names_the_remote_device(
    fake_discord: FakeDiscord, start_bot: BotFactory, inference_mode: str
) -> None:
    await start_bot()
    inter = await fake_discord.invoke_slash("status")
    await inter.wait_for_response()
    device = {f["name"]: f["value"] for f in inter.original.embeds[0]["fields"]}["Device"]
    assert device.endswith("(remote)") == (inference_mode == "remote")


async def test_shard_count_auto_runs_an_auto_sharded_bot(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    bot = await start_bot(shard_count="auto")
    assert isinstance(bot, commands.AutoShardedBot)
    assert bot.shard_count == 1  # what the (fake) Discord recommends
    inter = await fake_discord.invoke_slash("sentiment", {"text": "sharded"})
    assert (await final_message(inter)).embeds


@pytest.mark.parametrize(
    ("values", "kind", "count", "ids"),
    [
        ({}, PipelineBot, None, None),
        ({"shard_count": 4}, commands.AutoShardedBot, 4, None),
        ({"shard_count": 4, "shard_ids": "2, 3"}, commands.AutoShardedBot, 4, [2, 3]),
    ],
)
def test_shard_settings_pick_the_bot(values, kind, count, ids) -> None:
    bot = create_bot(BotSettings(_env_file=None, **values))
    assert isinstance(bot, kind)
    assert isinstance(bot, commands.AutoShardedBot) == ("shard_count" in values)
    assert bot.shard_count == count
    assert getattr(bot, "shard_ids", None) == ids


@pytest.mark.parametrize(
    "values",
    [
        {"shard_ids": "0"},
        {"shard_count": "auto", "shard_ids": "0"},
        {"shard_count": 2, "shard_ids": "2"},
        {"shard_count": 2, "shard_ids": "one"},
        {"inference_url": "gpu-box:8765"},
    ],
)
def test_bad_deployment_settings_are_refused(values) -> None:
    with pytest.raises(ValueError):
        BotSettings(_env_file=None, **values)
