"""Pictures from text: /imagine, with Cancel and Regenerate buttons.

Both buttons are ``DynamicItem``s: their ``custom_id`` carries what they need (the job
id), or the message they sit on does (the image embed), so they keep working after a
restart, or say politely that their request is gone.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot.catalogue import catalogued
from bot.checks import age_restricted, cooldown
from bot.client import PipelineBot
from bot.cog import CogButton, PipelineCog
from bot.errors import UserError, send_ephemeral
from bot.jobs import run_job
from bot.render import app_choices, cancel_button, cards_of, renderer
from bot.showcase import with_share
from chat.cards import Button, Reply
from chat.policy import UNCHECKED_ALLOWED, channel_policy, check_model, check_prompt, check_result
from chat.render.imagine import render_image, request_from_card, size_choices
from inference import Result
from inference.tasks.imagine import ImagineResult
from inference.tasks.imagine_family import family_of


class Imagine(PipelineCog):
    @catalogued("imagine")
    @cooldown("imagine")
    async def imagine(
        self,
        interaction: discord.Interaction,
        prompt: str,
        negative: str | None = None,
        steps: int | None = None,
        seed: int | None = None,
        size: str | None = None,
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
        check_prompt(self.bot.settings.imagine_blocklist, inputs["prompt"])
        # Whether the model has a safety checker is known once it is loaded: the first
        # request loads it, after deferring (that can take a while).
        await check_model(
            self.bot.service,
            self.policy(interaction),
            inputs,
            before_load=lambda: interaction.response.defer(thinking=True),
        )

        await run_job(
            interaction,
            "imagine",
            what="image",
            # An inference server's checker is known only from its results: the renderer
            # withholds an unchecked image where this channel's policy forbids one.
            render_args={"policy": self.policy(interaction)},
            **inputs,
        )

    def policy(self, interaction: discord.Interaction) -> str:
        """The server's image policy (``/config``, within IMAGINE_NSFW_POLICY) as it
        applies in this channel: UNCHECKED_ALLOWED when unchecked images may be made
        here, else the policy that forbids them."""
        policy = self.bot.server_config.image_policy(interaction.guild_id)
        return channel_policy(policy, age_restricted(interaction.channel))

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


@cancel_button("imagine")
def cancel_while_waiting(job_id: str) -> Button:
    return CancelButton(job_id).as_button()


@renderer("imagine")
async def render_picture(result: Result, args: dict[str, Any], max_bytes: int) -> Reply:
    """The image with a Regenerate button; an unchecked image is withheld where the
    channel's policy forbids one (a remote model's checker is known only from results)."""
    assert isinstance(result, ImagineResult)
    check_result(result.safety_checker, args.get("policy", UNCHECKED_ALLOWED))
    buttons = [RegenerateButton().as_button()]
    reply = await render_image(result, max_bytes=max_bytes, buttons=buttons)
    return with_share(reply) if reply.messages[-1].files else reply


async def setup(bot: PipelineBot) -> None:
    await bot.add_cog(Imagine(bot))
