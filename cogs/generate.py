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

from bot.catalogue import catalogued
from bot.checks import cooldown
from bot.client import PipelineBot
from bot.cog import CogButton, PipelineCog
from bot.errors import send_ephemeral
from bot.jobs import run_job
from bot.render import cards_of, renderer
from bot.showcase import with_share
from chat.cards import Reply
from chat.render import render
from chat.render.generate import story_from_cards
from inference import Result
from inference.tasks.generate import DEFAULT_NEW_TOKENS

EXPIRED = (
    "⌛ This text can't be continued any more: its message no longer holds the prompt and "
    "the text. Start a new one with /generate."
)


class Generate(PipelineCog):
    @catalogued("generate")
    @cooldown("generate")
    async def generate(
        self,
        interaction: discord.Interaction,
        prompt: str,
        max_tokens: int = DEFAULT_NEW_TOKENS,
        temperature: float | None = None,
        seed: int | None = None,
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
