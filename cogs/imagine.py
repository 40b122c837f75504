"""Pictures from text: /imagine, with Cancel and Regenerate buttons.

Both buttons are ``DynamicItem``s: their ``custom_id`` carries what they need (the job
id), or the message they sit on does (the image embed), so they keep working after a
restart, or say politely that their request is gone.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot.checks import age_restricted, blocked_phrase, cooldown
from bot.client import PipelineBot
from bot.cog import CogButton, PipelineCog
from bot.errors import UserError, send_ephemeral
from bot.jobs import renderer, run_job
from bot.render import app_choices, cards_of
from bot.showcase import with_share
from chat.cards import Reply
from chat.render.imagine import render_image, request_from_card, size_choices
from inference import Result
from inference.tasks.imagine import (
    MAX_PROMPT_CHARS,
    MAX_SEED,
    MAX_STEPS,
    MIN_SIDE,
    MIN_STEPS,
    ImagineResult,
)
from inference.tasks.imagine_family import TURBO_MAX_STEPS, family_of

PROMPT = app_commands.Range[str, 1, MAX_PROMPT_CHARS]
STEPS = app_commands.Range[int, MIN_STEPS, MAX_STEPS]
SEED = app_commands.Range[int, 0, MAX_SEED]
SIZE = app_commands.Range[str, 1, 16]

#: Why a model without a safety checker makes no image here, by IMAGINE_NSFW_POLICY.
#: What ``Imagine.policy`` says when unchecked images may be made in a channel.
UNCHECKED_ALLOWED = "allowed"
#: Why an unchecked image is refused, by the policy that forbids it.
UNCHECKED = {
    "age-restricted": "The image model here has no safety filter, so it only draws in "
    "age-restricted channels.",
    "nowhere": "The image model here has no safety filter, and this bot is set to draw only "
    "with one.",
}


class Imagine(PipelineCog):
    @app_commands.command(name="imagine")
    @app_commands.describe(
        prompt=f"What to draw (up to {MAX_PROMPT_CHARS} characters)",
        negative=f"What to keep out of the image (up to {MAX_PROMPT_CHARS} characters)",
        steps=f"Denoising steps, {MIN_STEPS} to {MAX_STEPS}, turbo models {MIN_STEPS} to "
        f"{TURBO_MAX_STEPS} (default: the model's own)",
        seed=f"0 to {MAX_SEED}; the same seed and prompt give the same image (default: random)",
        size=f"Width x height like 512x768: multiples of 8, from {MIN_SIDE} to this bot's limit "
        "(default: the model's size)",
    )
    @cooldown("imagine")
    async def imagine(
        self,
        interaction: discord.Interaction,
        prompt: PROMPT,
        negative: PROMPT | None = None,
        steps: STEPS | None = None,
        seed: SEED | None = None,
        size: SIZE | None = None,
    ) -> None:
        """Make an image from a text prompt."""
        await self.make(
            interaction, prompt=prompt, negative_prompt=negative, steps=steps, seed=seed, size=size
        )

    @imagine.autocomplete("size")
    async def size_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        settings = self.bot.settings
        return app_choices(
            size_choices(current, family_of(settings.imagine_model, settings).max_side)
        )

    async def make(self, interaction: discord.Interaction, **inputs: Any) -> None:
        """Check the prompt and the channel, then run the job with a Cancel button and
        answer with the image and a Regenerate button."""
        phrase = blocked_phrase(self.bot.settings.imagine_blocklist, inputs["prompt"])
        if phrase is not None:
            raise UserError(f"Prompts with “{phrase}” are not allowed here.")
        await self.check_safety(interaction, inputs)

        waiting = discord.ui.View(timeout=None)
        await run_job(
            interaction,
            "imagine",
            what="image",
            waiting_view=waiting,
            on_submit=lambda job: waiting.add_item(CancelButton(job.id)),
            # An inference server's checker is known only from its results: the renderer
            # withholds an unchecked image where this channel's policy forbids one.
            render_args={"policy": self.policy(interaction)},
            **inputs,
        )

    async def check_safety(self, interaction: discord.Interaction, inputs: dict[str, Any]) -> None:
        """Refuse, per IMAGINE_NSFW_POLICY, when the model has no active safety checker and
        the channel is not age-restricted. Whether it has one is known once it is loaded:
        the first request loads it (after deferring, as that can take a while)."""
        policy = self.policy(interaction)
        if policy == UNCHECKED_ALLOWED:
            return
        task = self.bot.service.task("imagine")
        checked = task.safety_checker_active()
        if checked is None:
            task.parse(**inputs)  # bad input is refused before anything is public
            await interaction.response.defer(thinking=True)
            await self.bot.service.preload(["imagine"])  # a failure shows when the job runs
            checked = task.safety_checker_active()
        if checked is False:
            raise UserError(UNCHECKED[policy])

    def policy(self, interaction: discord.Interaction) -> str:
        """The server's image policy (``/config``, within IMAGINE_NSFW_POLICY) as it
        applies in this channel: UNCHECKED_ALLOWED when unchecked images may be made
        here, else the policy that forbids them."""
        policy = self.bot.server_config.image_policy(interaction.guild_id)
        if policy == "anywhere" or (
            policy == "age-restricted" and age_restricted(interaction.channel)
        ):
            return UNCHECKED_ALLOWED
        return policy

    async def regenerate(self, interaction: discord.Interaction) -> None:
        """The request of the image the button sits on again, with a new seed."""
        message = interaction.message
        cards = cards_of(message) if message else []
        request = request_from_card(cards[0]) if cards else None
        if request is None:
            raise UserError("The settings of this image cannot be read; use /imagine instead.")
        self.bot.admit("imagine", interaction)
        await self.make(interaction, **request)

    async def cancel(self, interaction: discord.Interaction, job_id: str) -> None:
        """Cancel a queued or running image for its requester or a moderator."""
        job = self.bot.service.job(job_id)
        if job is None:
            await send_ephemeral(interaction, "⌛ This request has already finished or expired.")
            return
        requester = job.user == interaction.user.id
        if not requester and not interaction.permissions.manage_messages:
            await send_ephemeral(
                interaction,
                "🔒 Only the person who asked for this image, or a moderator, can cancel it.",
            )
            return
        if not job.cancel():
            await send_ephemeral(interaction, "⌛ This request has already finished or expired.")
        elif requester:
            await interaction.response.defer()  # the request's own message tells them
        else:
            await send_ephemeral(interaction, f"🛑 Cancelled <@{job.user}>'s image.")


class CancelButton(CogButton, template=r"imagine:cancel:(?P<job_id>[0-9a-f]{1,32})"):
    """Cancels the job in its custom_id; an unknown job (finished, or from before a restart)
    gets a polite answer."""

    cog_name = "Imagine"
    label = "Cancel"
    emoji = "✖️"
    style = discord.ButtonStyle.secondary

    def __init__(self, job_id: str) -> None:
        super().__init__(f"imagine:cancel:{job_id}")
        self.job_id = job_id

    async def clicked(self, cog: Imagine, interaction: discord.Interaction) -> None:
        await cog.cancel(interaction, self.job_id)


class RegenerateButton(CogButton, template=r"imagine:again"):
    """Makes the image it sits on again with a new seed, reading the prompt and parameters
    from the message's embed."""

    cog_name = "Imagine"
    label = "Regenerate"
    emoji = "🔁"

    def __init__(self) -> None:
        super().__init__("imagine:again")

    async def clicked(self, cog: Imagine, interaction: discord.Interaction) -> None:
        await cog.regenerate(interaction)


Imagine.buttons = (CancelButton, RegenerateButton)


@renderer("imagine")
async def render_picture(result: Result, args: dict[str, Any], max_bytes: int) -> Reply:
    """The image with a Regenerate button; an unchecked image is withheld where the
    channel's policy forbids one (a remote model's checker is known only from results)."""
    assert isinstance(result, ImagineResult)
    policy = args.get("policy", UNCHECKED_ALLOWED)
    if not result.safety_checker and policy != UNCHECKED_ALLOWED:
        raise UserError(UNCHECKED[policy])
    buttons = [RegenerateButton().as_button()]
    reply = await render_image(result, max_bytes=max_bytes, buttons=buttons)
    return with_share(reply) if reply.messages[-1].files else reply


async def setup(bot: PipelineBot) -> None:
    await bot.add_cog(Imagine(bot))
