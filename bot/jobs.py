"""Running an inference job for an interaction: Discord's side of ``chat.jobs``.

``run_job`` hands the interaction (as a ``Delivery``, Discord's ``Surface``) to the
bot's ``JobRunner``, which journals the request, submits it, defers within Discord's 3
seconds, shows the queue position and progress, and replaces the placeholder with the
rendered result.

A result is rendered by ``bot.render.render_for``: from the journal's JSON alone, so
that a resumed job looks exactly like a fresh one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord

from inference import Result

from .delivery import InteractionDelivery

if TYPE_CHECKING:
    from .client import PipelineBot


async def run_job(
    interaction: discord.Interaction,
    task: str,
    *,
    what: str = "request",
    ephemeral: bool = False,
    render_args: dict[str, Any] | None = None,
    **inputs: Any,
) -> Result:
    """Run ``task`` for ``interaction`` and post its result; returns the result.

    ``inputs`` and ``render_args`` must be JSON-safe (they are journaled; attachments are
    passed as their text). Errors propagate to the caller's error handler.
    """
    bot: PipelineBot = interaction.client  # type: ignore[assignment]
    return await bot.runner.run(
        InteractionDelivery(interaction, ephemeral=ephemeral),
        task,
        what=what,
        render_args=render_args,
        **inputs,
    )
