"""/docs and /ask end to end through the fake Discord: a server's managers add, list and
remove documents within quotas, anyone asks, servers never see each other's documents,
and leaving a server deletes its library."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.client import PipelineBot
from chat.jobs import RESUMED
from store import Store
from store.documents_sqlite import SqliteLibrary
from tests.bot.conftest import BotFactory, ModelGate, engine, final_message
from tests.bot.test_reading import ephemeral_error
from tests.bot.test_restart import stop
from tests.fakediscord import MEMBER_PERMISSIONS, FakeDiscord, FakeUser
from tests.inference.test_qa import PointingModel

MANAGE_GUILD = discord.Permissions(manage_guild=True).value
RULES = b"Rome is old. The password is swordfish. Lunch is at noon."


def admin(fake: FakeDiscord, guild: Any = None) -> FakeUser:
    return fake.add_user("admin", permissions=MEMBER_PERMISSIONS | MANAGE_GUILD, guild=guild)


async def add(fake: FakeDiscord, user: FakeUser, name: str, data: bytes, **kw: Any) -> Any:
    inter = await fake.invoke_slash("docs add", attachments={"file": (name, data)}, user=user, **kw)
    await inter.wait_until(
        lambda i: i.original is not None and "Added" in (i.original.content or ""), 20
    )
    return inter


async def point_reader_at(bot: PipelineBot, word: str) -> None:
    await engine(bot).preload(["ask"])
    ((reader, _),) = [(m.reader, m.reranker) for m in engine(bot).loaded_models("ask")]
    reader.model = PointingModel(reader.tokenizer(word, add_special_tokens=False)["input_ids"])


async def test_managers_add_anyone_asks_and_the_answer_names_and_links_its_source(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    bot = await start_bot()
    manager = admin(fake_discord)
    refused = await fake_discord.invoke_slash(
        "docs add", attachments={"file": ("rules.txt", RULES)}
    )
    assert "Manage Server" in await ephemeral_error(refused)

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
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    other = fake_discord.add_guild("other")
    bot = await start_bot(dev_guild_id=None)  # global commands
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
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot(docs_max_docs=1, docs_max_mb=0.001, cooldown_rate=20)
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


async def test_indexing_shows_progress_and_a_stopped_bot_leaves_no_half_document(
    fake_discord: FakeDiscord, start_bot: BotFactory, tmp_path: Path
) -> None:
    handbook = " ".join(f"Rule {i} says the kettle must boil water." for i in range(3000)).encode()
    bot = await start_bot()
    manager = admin(fake_discord)
    await engine(bot).preload(["embed"])
    (encoder,) = engine(bot).loaded_models("embed")
    hold = threading.Event()
    hold.set()
    entered = threading.Event()

    def slow(module: Any, args: Any) -> None:  # wraps the model, not our code
        time.sleep(0.02)
        entered.set()
        assert hold.wait(20)

    encoder.model.register_forward_pre_hook(slow)
    inter = await add(fake_discord, manager, "handbook.txt", handbook)
    assert any(
        "Indexing handbook.txt" in (w.body.get("content") or "") for w in inter.original.edits
    )
    assert "Added" in inter.original.content

    hold.clear()  # the next file's passages wait at the model: stop the bot meanwhile
    entered.clear()
    second = await fake_discord.invoke_slash(
        "docs add", attachments={"file": ("second.txt", handbook)}, user=manager
    )
    await asyncio.to_thread(entered.wait, 20)
    closing = asyncio.create_task(bot.close())
    await asyncio.sleep(0.3)
    hold.set()
    await closing
    assert second.original is None or "Added" not in (second.original.content or "")

    store = await Store.open(tmp_path / "data")  # what a restarted bot finds
    names = [d.name for d in await SqliteLibrary(store).documents(str(fake_discord.guild.id))]
    await store.close()
    assert names == ["handbook.txt"]


async def test_server_rules_apply_and_korean_questions_find_korean_documents(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    bot = await start_bot(cooldown_rate=20)
    manager = admin(fake_discord)
    await add(fake_discord, manager, "규칙.md", "서버의 규칙은 서로 존중하는 것입니다.".encode())
    await add(fake_discord, manager, "menu.txt", b"Lunch is served at noon in the hall.")
    await point_reader_at(bot, "[CLS]")  # nothing is confident: the closest passages show
    asked = await fake_discord.invoke_slash("ask", {"question": "서버 규칙이 뭐예요?"})
    (embed,) = (await final_message(asked)).embeds
    assert embed["title"] == "Not in your documents"
    assert "규칙.md" in embed["fields"][0]["name"] and "존중" in embed["fields"][0]["value"]

    inter = await fake_discord.invoke_slash(
        "config command", {"name": "ask", "state": "off"}, user=manager
    )
    await inter.wait_for_response()
    off = await fake_discord.invoke_slash("ask", {"question": "서버 규칙이 뭐예요?"})
    await off.wait_for_response()
    assert off.ephemeral and "turned off" in off.original.content


@pytest.fixture(autouse=True)
def _no_violations(fake_discord: FakeDiscord) -> Any:
    yield
    assert fake_discord.take_violations() == []


async def test_indexing_a_large_file_does_not_hold_up_other_commands(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    bot = await start_bot()
    manager = admin(fake_discord)
    await engine(bot).preload(["embed", "sentiment"])
    (encoder,) = engine(bot).loaded_models("embed")
    encoder.model.register_forward_pre_hook(lambda module, args: time.sleep(0.1))
    handbook = " ".join(f"Rule {i} says the kettle must boil water." for i in range(3000))
    indexing = await fake_discord.invoke_slash(
        "docs add", attachments={"file": ("big.txt", handbook.encode())}, user=manager
    )
    await indexing.wait_until(
        lambda i: i.original is not None and "Indexing" in (i.original.content or ""), 20
    )
    quick = await fake_discord.invoke_slash("sentiment", {"text": "I love it"})
    await final_message(quick)
    assert "Added" not in (indexing.original.content or "")  # still indexing meanwhile
    await indexing.wait_until(lambda i: "Added" in (i.original.content or ""), 60)


async def test_a_question_waiting_when_the_bot_stops_is_answered_after_the_restart(
    fake_discord: FakeDiscord, start_bot: BotFactory, gate: ModelGate, tmp_path: Path
) -> None:
    first = await start_bot()
    await add(fake_discord, admin(fake_discord), "rules.txt", RULES)
    await engine(first).preload(["ask"])
    for loaded in engine(first).loaded_models("ask"):
        loaded.reader.model.register_forward_pre_hook(gate.hook)
    gate.opened.clear()
    asked = await fake_discord.invoke_slash("ask", {"question": "What is the password?"})
    assert await asyncio.to_thread(gate.entered.wait, 10)
    await stop(first, [asked], gate)  # the journal keeps the question and its passages
    gate.opened.set()

    await start_bot()
    message = await final_message(asked)
    assert message.content.startswith(RESUMED)
    (embed,) = message.embeds
    assert embed["title"] in ("Answer", "Not in your documents")
    assert "rules.txt" in embed["fields"][0]["name"]
