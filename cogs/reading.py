"""Reading texts and documents: /qa and /summarize (plus the "Summarize" message menu)."""

from __future__ import annotations

from typing import Literal

import discord
from discord import app_commands

from bot.attachments import MAX_TEXT_FILE_BYTES, text_or_file
from bot.checks import cooldown
from bot.client import PipelineBot
from bot.cog import PipelineCog, message_text
from bot.jobs import run_job
from inference.tasks.qa import MAX_CONTEXT_CHARS, MAX_QUESTION_CHARS
from inference.tasks.summarize import MAX_SUMMARIZE_CHARS

#: The longest text a string option takes (Discord's own limit is 6,000).
OPTION_CHARS = 6000
FILE_KIB = MAX_TEXT_FILE_BYTES // 1024

QUESTION = app_commands.Range[str, 1, MAX_QUESTION_CHARS]
TEXT = app_commands.Range[str, 1, OPTION_CHARS]


class Reading(PipelineCog):
    def __init__(self, bot: PipelineBot) -> None:
        super().__init__(bot)
        self.message_menu("Summarize", self.summarize_menu, task="summarize")

    @app_commands.command(name="qa")
    @app_commands.describe(
        question=f"What to ask (up to {MAX_QUESTION_CHARS} characters)",
        context=f"The text that holds the answer (up to {OPTION_CHARS:,} characters), "
        "or attach a file",
        file=f"A .txt or .md file that holds the answer (up to {FILE_KIB} KiB, "
        f"{MAX_CONTEXT_CHARS:,} characters)",
    )
    @cooldown("qa")
    async def qa(
        self,
        interaction: discord.Interaction,
        question: QUESTION,
        context: TEXT | None = None,
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

    @app_commands.command(name="summarize")
    @app_commands.describe(
        text=f"The text to summarise (up to {OPTION_CHARS:,} characters), or attach a file",
        file=f"A .txt or .md file to summarise (up to {FILE_KIB} KiB, "
        f"{MAX_SUMMARIZE_CHARS:,} characters)",
        length="How long the summary should be (default: medium)",
    )
    @cooldown("summarize")
    async def summarize(
        self,
        interaction: discord.Interaction,
        text: TEXT | None = None,
        file: discord.Attachment | None = None,
        length: Literal["short", "medium", "long"] = "medium",
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
