"""Start-up, /help, /status, shutdown and the token, end to end."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from store import DB_FILE
from tests.bot.conftest import BotFactory, ModelGate, final_message, install_gate
from tests.fakediscord import FakeDiscord

REPO = Path(__file__).resolve().parents[2]


def test_missing_token_exits_2_with_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    done = subprocess.run(
        [sys.executable, "-m", "bot"],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # no .env here
        env={**env, "PYTHONPATH": str(REPO)},
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "DISCORD_TOKEN" in done.stderr and "discord.com/developers" in done.stderr


async def test_commands_are_synced_to_the_dev_guild(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    names = {c["name"] for c in fake_discord.guild_commands[fake_discord.guild.id]}
    assert {"sentiment", "help", "status", "Sentiment"} <= names


async def test_help_lists_every_command_with_its_description(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    bot = await start_bot()
    inter = await fake_discord.invoke_slash("help")
    await inter.wait_for_response()
    assert inter.ephemeral
    text = inter.original.embeds[0]["description"]
    for command in bot.tree.get_commands():
        assert command.name in text
    assert "Tell whether a text sounds positive, neutral or negative, in many languages." in text


async def test_every_command_and_option_is_described_in_full(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    # discord.py cuts a description past Discord's 100 characters with "…": none may be.
    await start_bot()
    for command in fake_discord.guild_commands[fake_discord.guild.id]:
        if command.get("type", 1) != 1:  # message menus have no description
            continue
        described = [command, *command.get("options", [])]
        for item in described:
            assert item["description"], (command["name"], item["name"])
            assert len(item["description"]) <= 100, (command["name"], item["name"])
            assert not item["description"].endswith("…"), (command["name"], item["name"])


async def test_status_shows_device_models_and_queues(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    bot = await start_bot(model_memory_mb="500")
    done = await fake_discord.invoke_slash("sentiment", {"text": "warm up"})
    await final_message(done)
    inter = await fake_discord.invoke_slash("status")
    await inter.wait_for_response()
    fields = {f["name"]: f["value"] for f in inter.original.embeds[0]["fields"]}
    assert fields["Device"].startswith("cpu")
    # models by display name (the directory's last part), never the operator's path
    assert fields["Loaded models"] == "sentiment: sentiment"
    assert str(bot.settings.sentiment_model) not in str(inter.original.embeds)
    assert re.fullmatch(r"[\d,]+ MB of 500 MB", fields["Model memory"])
    assert fields["Queues"] == "all empty"
    assert "Uptime" in fields


async def test_shutdown_tells_waiting_users_their_requests_will_continue(
    fake_discord: FakeDiscord, start_bot: BotFactory, gate: ModelGate
) -> None:
    bot = await start_bot(max_batch_size=1)
    await install_gate(bot, "sentiment", gate)
    gate.opened.clear()
    running = await fake_discord.invoke_slash("sentiment", {"text": "one"})
    await asyncio.to_thread(gate.entered.wait, 10)
    queued = await fake_discord.invoke_slash(
        "sentiment", {"text": "two"}, user=fake_discord.moderator
    )
    await queued.wait_until(lambda i: i.original and "next in line" in i.original.content, 10)
    closing = asyncio.create_task(bot.close())
    for inter in (running, queued):
        await inter.wait_until(lambda i: "restarting" in i.original.content, 10)
        assert "your request will continue" in inter.original.content
    gate.opened.set()
    await closing
    assert bot.is_closed()
    for inter in (running, queued):  # no "failed" or "shutting down" error after it
        assert not inter.followups
        assert "restarting" in inter.original.content


async def test_the_token_never_reaches_the_logs(
    fake_discord: FakeDiscord, start_bot: BotFactory, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "MTIzNDU2Nzg5.secret-token-value"
    with caplog.at_level(logging.DEBUG):
        bot = await start_bot(discord_token=secret)
        assert bot.http.token == secret  # it logged in with the secret itself
        inter = await fake_discord.invoke_slash("sentiment", {"text": "hello"})
        await final_message(inter)
        await bot.close()
    assert caplog.records
    assert not [r for r in caplog.records if secret in r.getMessage()]
    assert secret not in repr(bot.settings)


def run_bot(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "DATABASE_URL")}
    return subprocess.run(
        [sys.executable, "-m", "bot"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**base, "PYTHONPATH": str(REPO), "DISCORD_TOKEN": "x", **env},
        timeout=60,
    )


def test_an_unusable_database_stops_the_bot_with_a_clear_error(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / DB_FILE).write_bytes(b"not a database " * 500)
    done = run_bot(tmp_path, DATA_DIR=str(data))
    assert done.returncode == 2
    assert "not a usable SQLite database" in done.stderr and "backup" in done.stderr
    assert (data / DB_FILE).read_bytes() == b"not a database " * 500

    done = run_bot(tmp_path, DATA_DIR=str(tmp_path / "fresh"), DATABASE_URL="postgres://x")
    assert done.returncode == 2
    assert "DATABASE_URL is not supported yet" in done.stderr
