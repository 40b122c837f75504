"""/story end to end: the real bot and discord.py against the fake Discord, tiny models,
a real SQLite file. People write through the Write modal, the model through Continue."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.client import PipelineBot
from chat.jobs import RESUMED
from chat.journal import RESTARTING
from store import DB_FILE
from tests.bot.conftest import BotFactory, ModelGate
from tests.bot.test_restart import every_model_gated, unfinished
from tests.fakediscord import FakeDiscord
from tests.fakediscord.models import FakeChannel, FakeUser
from tests.fakediscord.records import InteractionRecord, MessageRecord
from tests.tiny_models import build_gpt2

MODAL = 9
#: The answer to a model's turn that came out empty (sampling may end the text at once).
NOTHING_TO_ADD = "The model had nothing to add"


@pytest.fixture
async def bot(start_bot: BotFactory, tiny_models: dict[str, Path]) -> PipelineBot:
    return await start_bot(story_model=str(tiny_models["chat"]), cooldown_rate=50)


class Story:
    """A story started through /story start, and helpers to take turns in it."""

    def __init__(self, fake: FakeDiscord, thread: FakeChannel, header: MessageRecord) -> None:
        self.fake, self.thread, self.header = fake, thread, header
        self.id = header.custom_ids[0].split(":")[2]

    def button(self, action: str) -> str:
        return f"story:{action}:{self.id}"

    @property
    def turns(self) -> list[MessageRecord]:
        """The turn messages in the thread, in order (taken-back ones left out)."""
        return [
            m
            for m in self.fake.channel_messages(self.thread)
            if not m.deleted
            and m.embeds
            and "Turn " in (m.embeds[0].get("footer") or {}).get("text", "")
        ]

    async def open_modal(
        self, user: FakeUser, on: MessageRecord | None = None
    ) -> InteractionRecord:
        click = await self.fake.click(on or self.header, self.button("write"), user=user)
        await click.wait_for_response()
        return click

    async def write(
        self, text: str, user: FakeUser, on: MessageRecord | None = None
    ) -> InteractionRecord:
        """Write a turn; returns the modal's submission once answered."""
        click = await self.open_modal(user, on)
        assert click.response.type == MODAL, click.original and click.original.content
        return await self.submit(click, text, user)

    async def submit(
        self, opened: InteractionRecord, text: str, user: FakeUser
    ) -> InteractionRecord:
        submit = await self.fake.submit_modal(opened, {"text": text}, user=user)
        await submit.wait_for_response()
        return submit

    async def press(
        self, action: str, user: FakeUser, on: MessageRecord | None = None
    ) -> InteractionRecord:
        """Press a model button; returns the click once its answer is final (the turn,
        ideas, a refusal, or that the model wrote nothing)."""
        click = await self.fake.click(on or self.header, self.button(action), user=user)
        clicked = on or self.header
        await click.wait_until(
            lambda i: (
                i.original is not None
                and i.original is not clicked
                and bool(
                    i.original.embeds
                    or i.original.ephemeral
                    or NOTHING_TO_ADD in (i.original.content or "")
                )
            ),
            30,
        )
        # the bot is done with the story (its turn noted, old turns summarised)
        await self.fake.wait_for(lambda: self.id not in self.bot().get_cog("Story").busy, 30)
        return click

    def bot(self) -> PipelineBot:
        return self.fake._clients[-1][0]  # type: ignore[return-value]


def refusal(inter: InteractionRecord) -> str:
    message = inter.original if inter.original is not None else inter.followups[-1]
    assert message.ephemeral, message
    return message.content


async def start_story(
    fake: FakeDiscord,
    user: FakeUser | None = None,
    where: FakeChannel | None = None,
    **options: Any,
) -> Story:
    before = len(fake.threads_created)
    inter = await fake.invoke_slash(
        "story start",
        {"premise": "A lighthouse keeper finds a map", **options},
        user=user,
        channel=where,
    )
    await inter.wait_for_message()
    thread = await fake.wait_for(
        lambda: fake.threads_created[before:] and fake.threads_created[-1], 10
    )
    header = await fake.wait_for(
        lambda: next((m for m in fake.channel_messages(thread) if m.data["pinned"]), None), 10
    )
    return Story(fake, thread, header)


def stored_turns(data_dir: Path, story_id: str) -> list[tuple[str, int, int]]:
    with sqlite3.connect(data_dir / DB_FILE) as conn:
        return conn.execute(
            "SELECT text, model, undone FROM story_turns WHERE story_id = ? ORDER BY seq",
            (story_id,),
        ).fetchall()


def turns_after(data_dir: Path, story_id: str, seq: int) -> int:
    """How many turns of the story, not taken back, come after turn ``seq``."""
    with sqlite3.connect(data_dir / DB_FILE) as conn:
        return conn.execute(
            "SELECT count(*) FROM story_turns WHERE story_id = ? AND seq > ? AND undone = 0",
            (story_id, seq),
        ).fetchone()[0]


def story_jobs(data_dir: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(data_dir / DB_FILE) as conn:
        rows = conn.execute(
            "SELECT inputs FROM journal WHERE task = 'story' ORDER BY created_at"
        ).fetchall()
    return [json.loads(inputs) for (inputs,) in rows]


async def test_two_people_and_the_model_in_together_mode(
    fake_discord: FakeDiscord, bot: PipelineBot, tmp_path: Path
) -> None:
    alice, mod = fake_discord.user, fake_discord.moderator
    bob = fake_discord.add_user("bob")
    story = await start_story(fake_discord, genre="mystery", form="sijo")
    assert story.thread.parent_id == fake_discord.channel.id and story.thread.type == 11
    assert story.thread.name.startswith("📖 A lighthouse keeper")
    header = story.header.embeds[0]
    assert header["description"] == "A lighthouse keeper finds a map"
    assert {f["name"]: f["value"] for f in header["fields"]}["Form"] == "sijo"
    assert story.header.custom_ids == [
        story.button(a) for a in ("write", "continue", "retry", "undo", "ideas", "end")
    ]

    # a hostile first turn: 4,000 characters full of mentions
    loud = ("@everyone @here <@&123> " + bob.mention + " ").ljust(4000, "x")
    await story.write(loud, alice)
    out_of_turn = await story.open_modal(bob)
    assert "model's turn" in refusal(out_of_turn)
    await story.press("continue", bob)
    early = await story.press("continue", alice)
    assert "person's turn" in refusal(early)
    await story.write("Bob's turn: the map is wet.", bob)
    again = await story.open_modal(bob)
    assert "model's turn" in refusal(again)
    await story.press("continue", mod, on=story.turns[-1])

    turns = story.turns
    assert [t.embeds[0]["footer"]["text"].split(" ·")[0] for t in turns] == [
        f"Turn {n}" for n in range(1, 5)
    ]
    authors = [t.embeds[0]["author"]["name"] for t in turns]
    assert authors[0] == "✍️ Alice" and authors[2] == "✍️ bob"
    assert authors[1].startswith("🤖") and authors[3].startswith("🤖")
    assert turns[0].embeds[0]["description"] == loud.strip()
    for message in fake_discord.channel_messages(story.thread) + fake_discord.channel_messages(
        fake_discord.channel
    ):
        assert not message.mentions.everyone and not message.mentions.roles
        assert not message.mentions.users
    saved = stored_turns(tmp_path / "data", story.id)
    assert [model for _, model, _ in saved] == [0, 1, 0, 1]
    # the model read the sijo form, the premise and the turns so far, kept safe for work
    last_job = story_jobs(tmp_path / "data")[-1]
    assert last_job["form"] == "sijo" and last_job["safe"] is True
    assert [t["model"] for t in last_job["turns"]] == [False, True, False]

    # bob may not write twice in a row; the starter skips the turn, and then he may
    assert "let someone else" in refusal(await story.open_modal(bob))
    skip = await fake_discord.invoke_slash("story skip", user=bob, channel=story.thread)
    await skip.wait_for_message()
    assert "Only the story's starter" in refusal(skip)
    skip = await fake_discord.invoke_slash("story skip", channel=story.thread)
    assert (await skip.wait_for_message()).content.startswith("⏭️")
    await story.write("Bob again, after the skip.", bob)
    assert len(story.turns) == 5


async def test_retry_undo_and_ideas(
    fake_discord: FakeDiscord, bot: PipelineBot, tmp_path: Path
) -> None:
    alice = fake_discord.user
    bob = fake_discord.add_user("bob")
    story = await start_story(fake_discord)
    await story.write("It began with a knock.", bob)
    await story.press("continue", bob)
    first_model = story.turns[-1]

    eve = fake_discord.add_user("eve")
    assert "Only <@" in refusal(await story.press("retry", eve))
    await story.press("retry", alice)  # the starter redoes the model's turn
    assert first_model.deleted and len(story.turns) == 2
    assert [(m, u) for _, m, u in stored_turns(tmp_path / "data", story.id)] == [
        (0, 0),
        (1, 1),
        (1, 0),
    ]

    await story.write("Carol was not there.", alice)
    by_someone_else = await story.fake.click(story.header, story.button("undo"), user=bob)
    await by_someone_else.wait_for_response()
    assert "Only <@" in refusal(by_someone_else)
    mine = story.turns[-1]
    undo = await story.fake.click(story.header, story.button("undo"), user=alice)
    await undo.wait_until(lambda i: i.original is not story.header)
    assert undo.original.content.startswith("↩️")
    await fake_discord.wait_for(lambda: mine.deleted)
    assert len(story.turns) == 2

    ideas = await story.press("ideas", bob)
    offered = [c for c in ideas.original.components[0]["components"]]
    assert 1 <= len(offered) <= 3
    assert all(c["custom_id"].startswith(f"story:idea:{story.id}:") for c in offered)
    assert all(0 < len(c["label"]) <= 80 for c in offered)
    # it's a person's turn: picking an idea opens the modal with the idea in it
    pick = await story.fake.click(ideas.original, offered[0]["custom_id"], user=bob)
    await pick.wait_for_response()
    assert pick.response.type == MODAL
    assert pick.response.data["components"][0]["component"]["value"] == offered[0]["label"]
    await story.submit(pick, offered[0]["label"] + " And then?", bob)
    # the model's turn: picking an idea steers it
    pick = await story.fake.click(ideas.original, offered[-1]["custom_id"], user=alice)
    await fake_discord.wait_for(lambda: len(story.turns) == 4, 30)
    assert story_jobs(tmp_path / "data")[-1]["direction"] == offered[-1]["label"]
    assert story.turns[-1].embeds[0]["author"]["name"].startswith("🤖")


async def test_export_has_every_turn_and_its_authors(
    fake_discord: FakeDiscord, bot: PipelineBot
) -> None:
    story = await start_story(fake_discord, mode="solo")
    await story.write("First, the fog.", fake_discord.user)
    await story.write("Then, the bell.", fake_discord.user)
    await story.press("continue", fake_discord.user)
    memory = await fake_discord.invoke_slash(
        "story memory", {"text": "The keeper is called Ines"}, channel=story.thread
    )
    await memory.wait_for_message()
    assert memory.ephemeral and "Memory saved" in memory.original.content
    await fake_discord.wait_for(
        lambda: "Ines" in json.dumps(story.header.embeds), 5
    )  # the pinned header shows it
    export = await fake_discord.invoke_slash("story export", channel=story.thread)
    message = await export.wait_for_message()
    [file] = message.files
    text = file.data.decode()
    assert file.filename == "story-a-lighthouse-keeper-finds-a-map.md"
    assert text.startswith("# A lighthouse keeper finds a map\n")
    assert "**Authors:** Alice, " in text and "(model)" in text
    assert "## 1 · Alice\n\nFirst, the fog." in text and "## 2 · Alice\n\nThen, the bell." in text
    assert "## 3 · " in text and "**Memory:** The keeper is called Ines" in text
    # it can be shared to the server's showcase, titled by its premise
    assert message.embeds[0]["title"] == "A lighthouse keeper finds a map"
    buttons = [c["custom_id"] for row in message.components for c in row["components"]]
    assert buttons == ["showcase:share"]
    outside = await fake_discord.invoke_slash("story export")
    await outside.wait_for_message()
    assert outside.ephemeral and "not a story's thread" in outside.original.content


async def test_a_restart_in_the_middle_of_a_story(
    fake_discord: FakeDiscord, start_bot: BotFactory, tiny_models: dict[str, Path], tmp_path: Path
) -> None:
    settings = {"story_model": str(tiny_models["chat"]), "cooldown_rate": 50}
    bot = await start_bot(**settings)
    bob = fake_discord.add_user("bob")
    story = await start_story(fake_discord)
    await story.write("Before the restart.", fake_discord.user)
    await story.press("continue", bob)
    opened = await story.open_modal(bob, on=story.turns[-1])  # written across the restart
    await bot.close()

    await start_bot(**settings)
    await story.submit(opened, "Written while the bot restarted.", bob)
    await story.press("continue", fake_discord.user, on=story.turns[0])  # an old message
    assert len(story.turns) == 4
    assert [t for t, _, _ in stored_turns(tmp_path / "data", story.id)][2] == (
        "Written while the bot restarted."
    )
    end = await fake_discord.click(story.turns[1], story.button("end"))
    await end.wait_until(lambda i: i.original is not story.turns[1])
    assert end.original.content.startswith("🏁 The end")
    late = await story.submit(opened, "Too late.", bob)  # a modal submitted after the end
    assert "has ended" in refusal(late)
    assert late.original.embeds[0]["description"] == "Too late."  # handed back, not lost
    await fake_discord.wait_for(lambda: "The end" in story.header.embeds[0]["footer"]["text"])


async def test_the_summary_takes_over_from_old_turns(
    fake_discord: FakeDiscord, start_bot: BotFactory, tiny_models: dict[str, Path], tmp_path: Path
) -> None:
    small = build_gpt2(tmp_path / "small-gpt2", max_length=320)  # instructions + a few turns
    await start_bot(story_model=str(small), cooldown_rate=50)
    story = await start_story(fake_discord, mode="solo")
    for n in range(6):
        await story.write(
            f"Part {n}: " + "the fog rolled over the rocks and " * 6, fake_discord.user
        )
    await story.press("continue", fake_discord.user)
    data = tmp_path / "data"
    with sqlite3.connect(data / DB_FILE) as conn:
        summary, upto = conn.execute(
            "SELECT summary, summarized_upto FROM stories WHERE id = ?", (story.id,)
        ).fetchone()
    first = story_jobs(data)[-1]
    assert len(first["turns"]) == 6 and first["summary"] == ""
    assert upto >= 1 and summary  # the turns that did not fit were folded into the summary
    await story.write("After the summary.", fake_discord.user)
    # (8 turns by now, or 7 where sampling ended the model's turn at once: it wrote none)
    after = turns_after(data, story.id, upto)
    await story.press("continue", fake_discord.user)
    second = story_jobs(data)[-1]
    assert second["summary"] == summary
    assert len(second["turns"]) == after  # the summarised turns are not sent again
    assert second["turns"][-1]["text"] == "After the summary."


async def test_a_flood_of_continue_clicks_writes_one_turn(
    fake_discord: FakeDiscord, bot: PipelineBot, tmp_path: Path
) -> None:
    story = await start_story(fake_discord)
    await story.write("Go.", fake_discord.user)
    users = [fake_discord.add_user(f"clicker{n}") for n in range(6)]
    clicks = await asyncio.gather(
        *(fake_discord.click(story.header, story.button("continue"), user=u) for u in users)
    )
    await fake_discord.wait_for(lambda: len(story.turns) == 2, 30)
    await fake_discord.wait_for(lambda: all(c.responded for c in clicks), 10)
    refusals = [c for c in clicks if c.ephemeral]
    assert len(refusals) == 5
    assert all("writing" in refusal(c) or "person's turn" in refusal(c) for c in refusals)
    await asyncio.sleep(0.5)
    assert [m for _, m, _ in stored_turns(tmp_path / "data", story.id)] == [0, 1]


async def test_bad_input_and_rules(
    fake_discord: FakeDiscord, start_bot: BotFactory, tiny_models: dict[str, Path]
) -> None:
    bot = await start_bot(story_model=str(tiny_models["chat"]), story_blocklist="dragon, red panda")
    refused = await fake_discord.invoke_slash("story start", {"premise": "A RED  panda appears"})
    await refused.wait_for_message()
    assert refused.ephemeral and "may not contain “red panda”" in refused.original.content
    assert not fake_discord.threads_created

    story = await start_story(fake_discord, premise="@everyone @here <@&42> a quiet tale")
    started = [m for m in fake_discord.channel_messages(fake_discord.channel) if m.content]
    assert "@everyone" in started[-1].content and not started[-1].mentions.everyone
    assert not started[-1].mentions.roles
    blocked = await story.write("The dragon woke.", fake_discord.user)
    assert "dragon" in refusal(blocked) and blocked.original.embeds  # text handed back
    empty = await story.write("   \n  ", fake_discord.user)
    assert "empty" in refusal(empty)
    memory = await fake_discord.invoke_slash(
        "story memory", {"text": "a dragon"}, channel=story.thread
    )
    await memory.wait_for_message()
    assert "dragon" in memory.original.content
    assert story.turns == []

    # the server turns /story off: its buttons say so
    await bot.server_config.set_command(fake_discord.guild.id, "story", None, False)
    off = await story.fake.click(story.header, story.button("continue"))
    await off.wait_for_response()
    assert "turned off" in refusal(off)
    export = await fake_discord.invoke_slash("story export", channel=story.thread)
    await export.wait_for_message()
    assert "turned off" in refusal(export)
    await bot.server_config.set_command(fake_discord.guild.id, "story", None, None)

    # a deleted story's buttons
    delete = await fake_discord.invoke_slash("story delete", channel=story.thread)
    await delete.wait_for_message()
    gone = await story.fake.click(story.header, story.button("write"))
    await gone.wait_for_response()
    assert "no longer exists" in refusal(gone)


async def test_a_model_turn_in_flight_across_a_restart_is_saved_once(
    fake_discord: FakeDiscord,
    start_bot: BotFactory,
    tiny_models: dict[str, Path],
    gate: ModelGate,
    tmp_path: Path,
) -> None:
    settings = {"story_model": str(tiny_models["chat"]), "cooldown_rate": 50}
    first = await start_bot(**settings)
    story = await start_story(fake_discord)
    await story.write("The storm began.", fake_discord.user)
    with every_model_gated(gate):
        click = await fake_discord.click(story.header, story.button("continue"))
        assert await asyncio.to_thread(gate.entered.wait, 10)
        closing = asyncio.create_task(first.close())
        await click.wait_until(lambda i: i.original.content == RESTARTING, 10)
        gate.opened.set()
        await closing
        await start_bot(**settings)  # the journal runs the turn again and delivers it
        await click.wait_until(lambda i: i.original.embeds, 30)
    assert click.original.content.startswith(RESUMED)
    assert click.original.embeds[0]["author"]["name"].startswith("🤖")
    await fake_discord.wait_for(lambda: unfinished(tmp_path) == 0, 10)
    assert [m for _, m, _ in stored_turns(tmp_path / "data", story.id)] == [0, 1]
    again = await story.press("continue", fake_discord.user)
    assert "person's turn" in refusal(again)


async def test_age_restricted_channels_lift_the_safe_for_work_instruction(
    fake_discord: FakeDiscord, bot: PipelineBot, tmp_path: Path
) -> None:
    story = await start_story(fake_discord, mode="solo")
    await story.press("continue", fake_discord.user)
    adult = await start_story(fake_discord, where=fake_discord.nsfw_channel, mode="solo")
    assert adult.thread.nsfw and adult.thread.parent_id == fake_discord.nsfw_channel.id
    await adult.press("continue", fake_discord.user)
    assert [job["safe"] for job in story_jobs(tmp_path / "data")] == [True, False]
