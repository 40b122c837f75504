"""Running an inference job for an interaction: Discord's side of ``chat.jobs``.

``run_job`` hands the interaction (as a ``Delivery``, Discord's ``Surface``) to the
bot's ``JobRunner``, which journals the request, submits it, defers within Discord's 3
seconds, shows the queue position and progress, and replaces the placeholder with the
rendered result.

A result is rendered by the renderer its task registered with ``@renderer(task)`` (in
its cog: the buttons only Discord has), else by ``render(result, **render_args)``:
from the journal's JSON alone, so that a resumed job looks exactly like a fresh one.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import discord
from chat.render import render

from chat.cards import Button, Reply
from inference import JobHandle, Result

from .delivery import InteractionDelivery

if TYPE_CHECKING:
    from .client import PipelineBot

#: ``renderer(result, render_args, max_bytes)``: the reply for a task's result.
Renderer = Callable[[Result, dict[str, Any], int], Reply | Awaitable[Reply]]
RENDERERS: dict[str, Renderer] = {}


def renderer(task: str) -> Callable[[Renderer], Renderer]:
    """Register how ``task``'s results are rendered (when ``render`` needs more than the
    JSON-safe ``render_args``: buttons, the upload limit)."""

    def register(fn: Renderer) -> Renderer:
        RENDERERS[task] = fn
        return fn

    return register


async def render_for(task: str, result: Result, args: dict[str, Any], max_bytes: int) -> Reply:
    fn = RENDERERS.get(task)
    reply = fn(result, args, max_bytes) if fn is not None else render(result, **args)
    if inspect.isawaitable(reply):
        reply = await reply
    return reply


async def run_job(
    interaction: discord.Interaction,
    task: str,
    *,
    what: str = "request",
    ephemeral: bool = False,
    waiting_buttons: list[Button] | None = None,
    on_submit: Callable[[JobHandle], Any] | None = None,
    render_args: dict[str, Any] | None = None,
    **inputs: Any,
) -> Result:
    """Run ``task`` for ``interaction`` and post its result; returns the result.

    ``inputs`` and ``render_args`` must be JSON-safe (they are journaled; attachments are
    passed as their text). ``waiting_buttons`` (a Cancel button, say) are shown while
    the job waits and runs; ``on_submit`` sees the job as soon as it exists (to remember
    it for that button). Errors propagate to the caller's error handler.
    """
    bot: PipelineBot = interaction.client  # type: ignore[assignment]
    return await bot.runner.run(
        InteractionDelivery(interaction, ephemeral=ephemeral),
        task,
        what=what,
        waiting_buttons=waiting_buttons,
        on_submit=on_submit,
        render_args=render_args,
        **inputs,
    )
