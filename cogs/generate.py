"""Text generation: /generate, with a Continue button under every part.

Continue is a ``DynamicItem`` that reads what it needs (prompt, text so far, settings)
back from the message it sits on, so it keeps working after a restart; a message that no
longer holds a story gets a polite answer instead. The next part is posted as a new
message, under the latest talk of the channel, and anyone may press it (a shared story),
within their own cooldown and queue share.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot.checks import cooldown
from bot.client import PipelineBot
from bot.cog import CogButton, PipelineCog
from bot.errors import send_ephemeral
from bot.jobs import renderer, run_job
from bot.render import cards_of
from bot.showcase import with_share
from chat.cards import Reply
from chat.render import render
from chat.render.generate import story_from_cards
from inference import Result
from inference.tasks.generate import (
    DEFAULT_NEW_TOKENS,
    DEFAULT_TEMPERATURE,
    MAX_NEW_TOKENS,
    MAX_PROMPT_CHARS,
    MAX_TEMPERATURE,
)

PROMPT = app_commands.Range[str, 1, MAX_PROMPT_CHARS]
TOKENS = app_commands.Range[int, 1, MAX_NEW_TOKENS]
TEMPERATURE = app_commands.Range[float, 0.0, MAX_TEMPERATURE]
SEED = app_commands.Range[int, 0, 2**32 - 1]

EXPIRED = (
    "⌛ This text can't be continued any more: its message no longer holds the prompt and "
    "the text. Start a new one with /generate."
)


class Generate(PipelineCog):
    @app_commands.command(name="generate")
    @app_commands.describe(
        prompt=f"The start of the text (up to {MAX_PROMPT_CHARS:,} characters)",
        max_tokens=f"Tokens to write, 1 to {MAX_NEW_TOKENS} (default {DEFAULT_NEW_TOKENS})",
        temperature=f"0 (always the same) to {MAX_TEMPERATURE:g} (wild); default: the "
        f"model's own, else {DEFAULT_TEMPERATURE:g}",
        seed="0 to 4294967295: the same seed and settings write the same text (default: random)",
    )
    @cooldown("generate")
    async def generate(
        self,
        interaction: discord.Interaction,
        prompt: PROMPT,
        max_tokens: TOKENS = DEFAULT_NEW_TOKENS,
        temperature: TEMPERATURE | None = None,
        seed: SEED | None = None,
    ) -> None:
        """Continue a prompt with a language model."""
        await self.write(
            interaction, prompt=prompt, max_tokens=max_tokens, temperature=temperature, seed=seed
        )

    async def write(self, interaction: discord.Interaction, **inputs: Any) -> None:
        """Run a /generate job for ``inputs`` and post its part with a Continue button."""
        await run_job(
            interaction,
            "generate",
            what="text",
            render_args={"max_tokens": inputs["max_tokens"]},
            **inputs,
        )

    async def continue_story(self, interaction: discord.Interaction) -> None:
        """The next part of the story the button sits on, with a new seed."""
        message = interaction.message
        story = story_from_cards(cards_of(message)) if message is not None else None
        if story is None:
            await send_ephemeral(interaction, EXPIRED)
            return
        self.bot.admit("generate", interaction)
        await self.write(
            interaction,
            prompt=story.prompt,
            continue_from=story.text,
            max_tokens=story.max_tokens,
            temperature=story.temperature,
        )


class ContinueButton(CogButton, template=r"generate:continue"):
    """Writes the next part of the story shown in the message it sits on."""

    cog_name = "Generate"
    label = "Continue"
    emoji = "➡️"

    def __init__(self) -> None:
        super().__init__("generate:continue")

    async def clicked(self, cog: Generate, interaction: discord.Interaction) -> None:
        await cog.continue_story(interaction)


Generate.buttons = (ContinueButton,)


@renderer("generate")
def render_part(result: Result, args: dict[str, Any], max_bytes: int) -> Reply:
    buttons = [ContinueButton().as_button()]
    return with_share(render(result, max_tokens=args["max_tokens"], buttons=buttons))


async def setup(bot: PipelineBot) -> None:
    await bot.add_cog(Generate(bot))
