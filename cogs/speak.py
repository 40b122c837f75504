"""Speech: /speak (plus the "Speak" message menu)."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot.catalogue import catalogued
from bot.checks import cooldown
from bot.client import PipelineBot
from bot.cog import PipelineCog, message_text
from bot.jobs import run_job
from bot.render import app_choices, renderer
from bot.showcase import with_share
from chat.cards import Reply
from chat.render.speak import render_fitted, voice_choices
from inference import Result


class Speak(PipelineCog):
    def __init__(self, bot: PipelineBot) -> None:
        super().__init__(bot)
        self.message_menu("Speak", self.speak_menu)

    @catalogued("speak")
    @cooldown("speak")
    async def speak(
        self, interaction: discord.Interaction, text: str, voice: str | None = None
    ) -> None:
        """Read a text aloud and post it as a WAV file."""
        await self._speak(interaction, text, voice)

    @speak.autocomplete("voice")
    async def voice_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        # Answered from memory: voices() reads the settings (and, once, a local config).
        return app_choices(voice_choices(self.bot.service.task("speak").voices(), current))

    async def speak_menu(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """Read a message aloud."""
        await self._speak(interaction, message_text(message))

    async def _speak(
        self, interaction: discord.Interaction, text: str, voice: str | None = None
    ) -> None:
        await run_job(
            interaction, "speak", what="speech", text=text, voice=voice, render_args={"text": text}
        )


@renderer("speak")
async def render_speech(result: Result, args: dict[str, Any], max_bytes: int) -> Reply:
    return with_share(await render_fitted(result, max_bytes, **args))  # type: ignore[arg-type]


async def setup(bot: PipelineBot) -> None:
    await bot.add_cog(Speak(bot))
