"""Running an inference job for an interaction, the same way for every command.

``run_job`` journals the request (so that a restart loses nothing), submits it (bad
input and "busy" fail here, before anything is public), defers within Discord's 3
seconds, keeps the user posted on the queue position and progress, then replaces the
placeholder with the rendered result. ``follow_job`` is the part a job resumed after a
restart shares with it: waiting, rendering and delivering.

A result is rendered by the renderer its task registered with ``@renderer(task)`` (in
its cog), else by ``render(result, **render_args)``: from the journal's JSON alone, so
that a resumed job looks exactly like a fresh one.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import discord

from chat.cards import Message, Reply
from chat.render import describe_wait, render
from inference import InferenceError, JobHandle, Result

from .delivery import TOKEN_SAFE_AGE, Delivery, InteractionDelivery, send_reply, send_to_channel
from .errors import Interrupted

if TYPE_CHECKING:
    from store import JournalEntry

    from .client import PipelineBot

log = logging.getLogger(__name__)

#: Progress edits are spaced at least this far apart (Discord rate-limits edits).
EDIT_INTERVAL_S = 1.0

#: ``renderer(result, render_args, max_bytes)``: the reply for a task's result.
Renderer = Callable[[Result, dict[str, Any], int], Reply | Awaitable[Reply]]
RENDERERS: dict[str, Renderer] = {}


def renderer(task: str) -> Callable[[Renderer], Renderer]:
    """Register how ``task``'s results are rendered (when ``render`` needs more than the
    JSON-safe ``render_args``: a view with buttons, the upload limit)."""

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
    waiting_view: discord.ui.View | None = None,
    on_submit: Callable[[JobHandle], Any] | None = None,
    render_args: dict[str, Any] | None = None,
    **inputs: Any,
) -> Result:
    """Run ``task`` for ``interaction`` and post its result; returns the result.

    ``inputs`` and ``render_args`` must be JSON-safe (they are journaled; attachments are
    passed as their text). ``waiting_view`` (a Cancel button, say) is shown while the job
    waits and runs; ``on_submit`` sees the job as soon as it exists (to remember it for
    that button). Errors propagate to the caller's error handler.
    """
    bot: PipelineBot = interaction.client  # type: ignore[assignment]
    entry = await bot.journal.record(
        interaction, task, inputs, what=what, ephemeral=ephemeral, render=render_args or {}
    )
    try:
        job = bot.service.submit(task, user=interaction.user.id, **inputs)
    except BaseException:
        await bot.journal.forget(entry)
        raise
    if on_submit is not None:
        on_submit(job)
    handler = asyncio.current_task()
    if handler is not None:
        bot.waiting.add(handler)
        handler.add_done_callback(bot.waiting.discard)
    try:
        response = None
        if not interaction.response.is_done():
            response = await interaction.response.defer(thinking=True, ephemeral=ephemeral)
        await bot.journal.deferred(entry, interaction, response)
    except asyncio.CancelledError:
        job.cancel()
        raise
    except Exception:  # too late to defer (the token is dead): nothing to resume
        job.cancel()
        await bot.journal.finish(entry, failed=True)
        raise
    delivery = InteractionDelivery(interaction, ephemeral=ephemeral)
    return await follow_job(bot, job, entry, delivery, what=what, waiting_view=waiting_view)


async def follow_job(
    bot: PipelineBot,
    job: JobHandle,
    entry: JournalEntry,
    delivery: Delivery,
    *,
    what: str = "request",
    waiting_view: discord.ui.View | None = None,
    note: str = "",
) -> Result:
    """Show ``job``'s progress until it ends, then deliver its result and mark its journal
    ``entry`` done. A job cancelled because the bot is restarting raises ``Interrupted``
    and stays in the journal, to run again on start."""
    watcher = asyncio.create_task(show_progress(delivery, job, what, waiting_view, note=note))
    bot.journal.track(entry, delivery, watcher)
    try:
        result = await job.result()
    except asyncio.CancelledError:  # the bot is going away: the journal keeps the job
        job.cancel()
        raise
    except InferenceError as exc:
        if bot.journal.suspended:  # cancelled by the stopping service ("shutting down")
            raise Interrupted() from exc
        await bot.journal.finish(entry, failed=True)
        raise
    except Exception:
        await bot.journal.finish(entry, failed=True)
        raise
    finally:
        bot.journal.untrack(entry)
        await asyncio.wait([watcher])  # it ends with the job (or was cancelled by a restart)
    try:
        reply = await render_for(
            entry.task, result, entry.reply_to.get("render", {}), delivery.filesize_limit
        )
        if waiting_view is not None and reply.messages[0].buttons is None:
            reply.messages[0].buttons = []  # the waiting buttons go with the wait
        await send_reply(
            delivery,
            reply,
            note=note,
            skip=entry.delivered,
            sent=lambda count: bot.journal.sent(entry, count),
        )
    except Exception:  # (a delivery cut short by a restart is delivered again on start)
        await bot.journal.finish(entry, failed=True)
        raise
    await bot.journal.finish(entry)
    return result


async def show_progress(
    delivery: Delivery,
    job: JobHandle,
    what: str,
    view: discord.ui.View | None = None,
    *,
    note: str = "",
) -> None:
    """Edit the placeholder with the job's state until the job has finished.

    Edits are spaced ``EDIT_INTERVAL_S`` apart; changes in between are coalesced.
    Failures here are logged and never break the job itself.
    """
    last_text = None
    last_edit = 0.0
    try:
        async for update in job.updates():
            if update.state.finished:
                return
            wait = last_edit + EDIT_INTERVAL_S - time.monotonic()
            if wait > 0 and await job.finished(timeout=wait):
                return
            text = describe_wait(job.snapshot(), what=what)
            if note:
                text = f"{note} {text}"
            if text == last_text or not delivery.token_fresh:
                continue
            kwargs: dict[str, Any] = {"content": text}
            if last_text is None:
                kwargs["view"] = view  # None clears buttons of a wait before a restart
            await delivery.edit(**kwargs)
            last_text, last_edit = text, time.monotonic()
    except discord.HTTPException as exc:
        log.info("progress edit failed for job %s: %s", job.id, exc)


__all__ = [
    "TOKEN_SAFE_AGE",
    "Message",
    "Reply",
    "follow_job",
    "render_for",
    "renderer",
    "run_job",
    "send_reply",
    "send_to_channel",
    "show_progress",
]
