"""Reading the tone and content of text: /sentiment."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.checks import user_cooldown
from bot.client import PipelineBot
from bot.cog import PipelineCog, message_text
from bot.jobs import run_job
from bot.render import render

TEXT = app_commands.Range[str, 1, 4000]


class Analysis(PipelineCog):
    def __init__(self, bot: PipelineBot) -> None:
        super().__init__(bot)
        self.message_menu("Sentiment", self.sentiment_menu)

    @app_commands.command(name="sentiment")
    @app_commands.describe(text="The text to judge (up to 4,000 characters)")
    @app_commands.checks.dynamic_cooldown(user_cooldown)
    async def sentiment(self, interaction: discord.Interaction, text: TEXT) -> None:
        """Tell whether a text sounds positive or negative."""
        await self._sentiment(interaction, text)

    async def sentiment_menu(self, interaction: discord.Interaction, message: discord.Message):
        """Judge the sentiment of a message."""
        await self._sentiment(interaction, message_text(message))

    async def _sentiment(self, interaction: discord.Interaction, text: str) -> None:
        await run_job(
            interaction, "sentiment", text=text, render_result=lambda r: render(r, text=text)
        )


async def setup(bot: PipelineBot) -> None:
    await bot.add_cog(Analysis(bot))
