"""Reading texts and documents: /qa and /summarize (plus the "Summarize" message menu)."""

from __future__ import annotations

import discord

from bot.attachments import text_or_file
from bot.catalogue import catalogued
from bot.checks import cooldown
from bot.client import PipelineBot
from bot.cog import PipelineCog, message_text
from bot.jobs import run_job


class Reading(PipelineCog):
    def __init__(self, bot: PipelineBot) -> None:
        super().__init__(bot)
        self.message_menu("Summarize", self.summarize_menu)

    @catalogued("qa")
    @cooldown("qa")
    async def qa(
        self,
        interaction: discord.Interaction,
        question: str,
        context: str | None = None,
        file: discord.Attachment | None = None,
    ) -> None:
        """Answer a question from a text or a document you give."""
        text = await text_or_file(interaction, context, file, "context")
        source = file.filename if file else ""
        await run_job(
            interaction,
            "qa",
            what="question",
            question=question,
            context=text,
            render_args={"question": question, "context": text, "source": source},
        )

    @catalogued("summarize")
    @cooldown("summarize")
    async def summarize(
        self,
        interaction: discord.Interaction,
        text: str | None = None,
        file: discord.Attachment | None = None,
        length: str = "medium",
    ) -> None:
        """Summarise a text or a document, short, medium or long."""
        text = await text_or_file(interaction, text, file, "text")
        await self._summarize(interaction, text, length, file.filename if file else "")

    async def summarize_menu(
        self, interaction: discord.Interaction, message: discord.Message
    ) -> None:
        """Summarise a message."""
        await self._summarize(interaction, message_text(message), "medium")

    async def _summarize(
        self, interaction: discord.Interaction, text: str, length: str, source: str = ""
    ) -> None:
        await run_job(
            interaction,
            "summarize",
            what="summary",
            text=text,
            length=length,
            render_args={"source": source},
        )


async def setup(bot: PipelineBot) -> None:
    await bot.add_cog(Reading(bot))
