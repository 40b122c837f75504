"""The fake Discord's threads, pins and modals, with a tiny bot on the real discord.py."""

from __future__ import annotations

import discord
import pytest
from discord.ext import commands

from tests.fakediscord import FakeDiscord
from tests.fakediscord.models import MEMBER_PERMISSIONS


class ThreadBot(commands.Bot):
    def __init__(self) -> None:
        super().__init__(
            command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.05
        )
        self.errors: list[Exception] = []
        self.submitted: list[tuple[str, str]] = []
        tree = self.tree
        bot = self

        @tree.error
        async def on_error(interaction: discord.Interaction, error: Exception) -> None:
            bot.errors.append(getattr(error, "original", error))

        @tree.command(description="Opens a thread on its answer, posts and pins there")
        async def thread(interaction: discord.Interaction, twice: bool = False) -> None:
            await interaction.response.send_message("a thread below")
            message = await interaction.original_response()
            opened = await message.create_thread(name="Talk")
            posted = await opened.send("first in the thread")
            await posted.pin()
            if twice:
                await message.create_thread(name="Again")

        @tree.command(description="Opens a modal")
        async def form(interaction: discord.Interaction) -> None:
            modal = Echo()
            await interaction.response.send_modal(modal)

        class Echo(discord.ui.Modal, title="Say something"):
            said = discord.ui.Label(
                text="Words", component=discord.ui.TextInput(custom_id="said", max_length=10)
            )

            async def on_submit(self, interaction: discord.Interaction) -> None:
                value = self.said.component.value  # type: ignore[attr-defined]
                bot.submitted.append((str(interaction.channel_id), value))
                await interaction.response.send_message(f"you said {value}")


@pytest.fixture
async def bot(fake_discord: FakeDiscord) -> ThreadBot:
    bot = ThreadBot()
    await fake_discord.connect(bot, sync=True)
    return bot


async def test_a_thread_on_a_message_with_a_pinned_post(
    fake_discord: FakeDiscord, bot: ThreadBot
) -> None:
    inter = await fake_discord.invoke_slash("thread")
    thread = await fake_discord.wait_for(lambda: fake_discord.threads_created, 5)
    [thread] = thread
    assert thread.id == inter.original.id and thread.parent_id == fake_discord.channel.id
    assert thread.type == 11 and thread.payload()["thread_metadata"]["archived"] is False
    assert inter.original.data["thread"]["id"] == str(thread.id)
    posted = await fake_discord.wait_for(
        lambda: [m for m in fake_discord.channel_messages(thread) if m.data["pinned"]], 5
    )
    assert posted[0].content == "first in the thread"
    # an interaction in the thread is in the thread; a modal submitted there lands there
    opened = await fake_discord.invoke_slash("form", channel=thread)
    await opened.wait_for_response()
    with pytest.raises(ValueError, match="out of range"):
        await fake_discord.submit_modal(opened, {"said": "x" * 11})
    submitted = await fake_discord.submit_modal(opened, {"said": "hello"})
    assert (await submitted.wait_for_message()).content == "you said hello"
    assert bot.submitted == [(str(thread.id), "hello")]
    assert submitted.type == 5 and submitted.payload["channel"]["type"] == 11


async def test_refusals_like_discords(fake_discord: FakeDiscord, bot: ThreadBot) -> None:
    await fake_discord.invoke_slash("thread", {"twice": True})
    await fake_discord.wait_for(lambda: bot.errors, 5)
    assert isinstance(bot.errors[0], discord.HTTPException) and bot.errors[0].code == 160004
    assert [r.status for r in fake_discord.take_rejections()] == [400]

    fake_discord.channel.bot_permissions = MEMBER_PERMISSIONS  # no threads, no pins
    await fake_discord.invoke_slash("thread")
    await fake_discord.wait_for(lambda: len(bot.errors) == 2, 5)
    assert isinstance(bot.errors[1], discord.Forbidden)
    assert [r.status for r in fake_discord.take_rejections()] == [403]
