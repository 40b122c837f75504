"""/docs and /ask end to end through the fake Discord: a server's managers add, list and
remove documents within quotas, anyone asks, servers never see each other's documents,
and leaving a server deletes its library."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.client import PipelineBot
from tests.bot.conftest import BotFactory, final_message
from tests.bot.test_reading import ephemeral_error
from tests.fakediscord import MEMBER_PERMISSIONS, FakeDiscord, FakeUser
from tests.inference.test_qa import PointingModel

MANAGE_GUILD = discord.Permissions(manage_guild=True).value
RULES = b"Rome is old. The password is swordfish. Lunch is at noon."


def admin(fake: FakeDiscord, guild: Any = None) -> FakeUser:
    return fake.add_user("admin", permissions=MEMBER_PERMISSIONS | MANAGE_GUILD, guild=guild)


async def start(start_bot: BotFactory, embed_model: Path, **settings: Any) -> PipelineBot:
    return await start_bot(embed_model=str(embed_model), **settings)


async def add(fake: FakeDiscord, user: FakeUser, name: str, data: bytes, **kw: Any) -> Any:
    inter = await fake.invoke_slash("docs add", attachments={"file": (name, data)}, user=user, **kw)
    await inter.wait_until(
        lambda i: i.original is not None and "Added" in (i.original.content or ""), 20
    )
    return inter


async def point_reader_at(bot: PipelineBot, word: str) -> None:
    await bot.service.preload(["ask"])
    (reader,) = bot.service.loaded_models("ask")
    reader.model = PointingModel(reader.tokenizer(word, add_special_tokens=False)["input_ids"])


async def test_managers_add_anyone_asks_and_the_answer_names_and_links_its_source(
    fake_discord: FakeDiscord, start_bot: BotFactory, embed_model: Path
) -> None:
    bot = await start(start_bot, embed_model)
    manager = admin(fake_discord)
    refused = await fake_discord.invoke_slash(
        "docs add", attachments={"file": ("rules.txt", RULES)}
    )
    assert "Manage Guild" in await ephemeral_error(refused)

    added = await add(fake_discord, manager, "rules.txt", RULES)
    assert "rules.txt" in added.original.content and "1 passage" in added.original.content

    await point_reader_at(bot, "swordfish")
    asked = await fake_discord.invoke_slash("ask", {"question": "What is the password?"})
    (embed,) = (await final_message(asked)).embeds
    assert "swordfish" in embed["description"]
    (field,) = embed["fields"]
    assert "rules.txt" in field["name"] and "The password is swordfish." in field["value"]
    assert f"/channels/{fake_discord.guild.id}/" in field["value"]  # the jump link

    listed = await fake_discord.invoke_slash("docs list")
    await listed.wait_for_response()
    assert listed.ephemeral and "rules.txt" in listed.original.embeds[0]["description"]


async def test_servers_never_see_each_others_documents_and_leaving_deletes_them(
    fake_discord: FakeDiscord, start_bot: BotFactory, embed_model: Path
) -> None:
    other = fake_discord.add_guild("other")
    bot = await start(start_bot, embed_model, dev_guild_id=None)  # global commands
    await add(fake_discord, admin(fake_discord), "rules.txt", RULES)
    asked = await fake_discord.invoke_slash(
        "ask", {"question": "What is the password?"}, guild=other, channel=other.channels[0]
    )
    assert "no documents" in await ephemeral_error(asked)

    await fake_discord.dispatch("GUILD_DELETE", {"id": str(fake_discord.guild.id)})
    cog = bot.get_cog("Docs")
    for _ in range(50):  # the event arrives through the gateway
        if not await cog.lib.documents(str(fake_discord.guild.id)):
            break
        await asyncio.sleep(0.1)
    assert await cog.lib.documents(str(fake_discord.guild.id)) == []


async def test_quotas_and_bad_files_get_short_errors_and_removal_removes(
    fake_discord: FakeDiscord, start_bot: BotFactory, embed_model: Path
) -> None:
    await start(start_bot, embed_model, docs_max_docs=1, docs_max_mb=0.001, cooldown_rate=20)
    manager = admin(fake_discord)
    await add(fake_discord, manager, "rules.txt", RULES)
    second = await fake_discord.invoke_slash(
        "docs add", attachments={"file": ("more.txt", b"More text.")}, user=manager
    )
    assert "limit" in await ephemeral_error(second)
    big = await fake_discord.invoke_slash(
        "docs add", attachments={"file": ("rules.txt", b"x " * 1000)}, user=manager
    )
    assert "limit" in await ephemeral_error(big)
    for name, data, says in (
        ("rules.txt", b"   ", "empty"),  # (the same name: within the count quota)
        ("tool.exe", b"MZ", "only"),
        ("rules.txt", b"\x00\x01\x02", "binary"),
    ):
        inter = await fake_discord.invoke_slash(
            "docs add", attachments={"file": (name, data)}, user=manager
        )
        assert says in await ephemeral_error(inter)

    removed = await fake_discord.invoke_slash(
        "docs remove", {"document": "rules.txt"}, user=manager
    )
    await removed.wait_for_response()
    assert "Removed" in removed.original.content
    asked = await fake_discord.invoke_slash("ask", {"question": "What is the password?"})
    assert "no documents" in await ephemeral_error(asked)


@pytest.fixture(autouse=True)
def _no_violations(fake_discord: FakeDiscord) -> Any:
    yield
    assert fake_discord.take_violations() == []
