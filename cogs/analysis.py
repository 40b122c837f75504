"""Reading the tone and content of text: /sentiment, /ner, /classify."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.catalogue import catalogued
from bot.checks import cooldown
from bot.client import PipelineBot
from bot.cog import PipelineCog, message_text
from bot.jobs import run_job
from bot.render import app_choices
from chat.render.translate import language_choices


class Analysis(PipelineCog):
    def __init__(self, bot: PipelineBot) -> None:
        super().__init__(bot)
        self.message_menu("Sentiment", self.sentiment_menu)
        self.message_menu("Extract entities", self.ner_menu)

    @catalogued("sentiment")
    @cooldown("sentiment")
    async def sentiment(
        self, interaction: discord.Interaction, text: str, language: str | None = None
    ) -> None:
        """Tell whether a text sounds positive, neutral or negative, in many languages."""
        await self._sentiment(interaction, text, language=language)

    @sentiment.autocomplete("language")
    async def sentiment_languages(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return app_choices(language_choices(current))

    async def sentiment_menu(
        self, interaction: discord.Interaction, message: discord.Message
    ) -> None:
        """Judge the sentiment of a message."""
        await self._sentiment(interaction, message_text(message))

    async def _sentiment(
        self, interaction: discord.Interaction, text: str, *, language: str | None = None
    ) -> None:
        """Run /sentiment. ``language`` overrides detection; the server's own language
        (``/config language``) is used when the text's cannot be detected."""
        await run_job(
            interaction,
            "sentiment",
            text=text,
            language=language,
            default_language=self.bot.server_config.language(interaction.guild_id),
            render_args={"text": text},
        )

    @catalogued("ner")
    @cooldown("ner")
    async def ner(self, interaction: discord.Interaction, text: str) -> None:
        """Find the people, places and organisations a text names."""
        await self._ner(interaction, text)

    async def ner_menu(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """Find the people, places and organisations a message names."""
        await self._ner(interaction, message_text(message))

    async def _ner(self, interaction: discord.Interaction, text: str) -> None:
        await run_job(interaction, "ner", text=text, render_args={"text": text})

    @catalogued("classify")
    @cooldown("classify")
    async def classify(
        self,
        interaction: discord.Interaction,
        text: str,
        labels: str,
        multi_label: bool = False,
        template: str | None = None,
    ) -> None:
        """Sort a text into labels you choose."""
        await run_job(
            interaction,
            "classify",
            text=text,
            labels=labels,
            multi_label=multi_label,
            template=template,
            render_args={"text": text},
        )


async def setup(bot: PipelineBot) -> None:
    await bot.add_cog(Analysis(bot))
