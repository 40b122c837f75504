"""Running an inference job for an interaction, the same way for every command.

``run_job`` submits the request (bad input and "busy" fail here, before anything
is public), defers within Discord's 3 seconds, keeps the user posted on the queue
position and progress, then replaces the placeholder with the rendered result.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import discord

from inference import JobHandle, Result

from .errors import RESULT_SHOWN, UserError
from .render import Message, Reply, describe_wait, render
from .render.base import byte_size

if TYPE_CHECKING:
    from .client import PipelineBot

log = logging.getLogger(__name__)

#: Progress edits are spaced at least this far apart (Discord rate-limits edits).
EDIT_INTERVAL_S = 1.0
#: Interaction tokens live 15 minutes; past this age a result goes to the channel instead.
TOKEN_SAFE_AGE = timedelta(minutes=14, seconds=30)
#: Discord's error code for an expired or unknown interaction token.
INVALID_WEBHOOK_TOKEN = 50027


async def run_job(
    interaction: discord.Interaction,
    task: str,
    *,
    what: str = "request",
    ephemeral: bool = False,
    waiting_view: discord.ui.View | None = None,
    on_submit: Callable[[JobHandle], Any] | None = None,
    render_result: Callable[[Result], Reply | Awaitable[Reply]] | None = None,
    **inputs: Any,
) -> Result:
    """Run ``task`` for ``interaction`` and post its result; returns the result.

    ``waiting_view`` (a Cancel button, say) is shown while the job waits and runs;
    ``on_submit`` sees the job as soon as it exists (to remember it for that button).
    ``render_result`` may be a coroutine function (one that re-encodes media in a thread).
    Errors propagate to the caller's error handler.
    """
    bot: PipelineBot = interaction.client  # type: ignore[assignment]
    job = bot.service.submit(task, user=interaction.user.id, **inputs)
    if on_submit is not None:
        on_submit(job)
    handler = asyncio.current_task()
    if handler is not None:
        bot.waiting.add(handler)
        handler.add_done_callback(bot.waiting.discard)
    try:
        if not interaction.response.is_done():
            await interaction.response.defer(thinking=True, ephemeral=ephemeral)
        watcher = asyncio.create_task(show_progress(interaction, job, what, waiting_view))
        try:
            result = await job.result()
        finally:
            await watcher
    except asyncio.CancelledError:  # the bot is shutting down, or the user left
        job.cancel()
        raise
    reply = (render_result or render)(result)
    if inspect.isawaitable(reply):
        reply = await reply
    if waiting_view is not None and reply.messages[0].view is None:
        reply.messages[0].view = discord.ui.View()  # the waiting buttons go with the wait
    await send_reply(interaction, reply, ephemeral=ephemeral)
    return result


async def show_progress(
    interaction: discord.Interaction,
    job: JobHandle,
    what: str,
    view: discord.ui.View | None = None,
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
            if text == last_text:
                continue
            kwargs: dict[str, Any] = {"content": text}
            if view is not None and last_text is None:
                kwargs["view"] = view
            await interaction.edit_original_response(**kwargs)
            last_text, last_edit = text, time.monotonic()
    except discord.HTTPException as exc:
        log.info("progress edit failed for job %s: %s", job.id, exc)


async def send_reply(
    interaction: discord.Interaction, reply: Reply, *, ephemeral: bool = False
) -> None:
    """Put ``reply`` in place of the deferred response (plus followups for long replies).

    When the interaction token has expired (a job that outlived 15 minutes), the result
    goes to the channel as a normal message that mentions the requester instead.
    """
    limit = interaction.filesize_limit
    for message in reply.messages:
        too_big = [name for name, data in message.files if len(data) > limit]
        if too_big:
            raise UserError(
                f"The result ({too_big[0]}) is larger than this server's upload limit of "
                f"{byte_size(limit)}."
            )
    if discord.utils.utcnow() - interaction.created_at > TOKEN_SAFE_AGE:
        await send_to_channel(interaction, reply)
        return
    try:
        first, *rest = reply.messages
        await interaction.edit_original_response(
            **first.kwargs(), attachments=first.discord_files()
        )
        interaction.extras[RESULT_SHOWN] = True  # an error after this must not delete it
        for message in rest:
            await interaction.followup.send(
                **message.kwargs(), files=message.discord_files(), ephemeral=ephemeral
            )
    except discord.HTTPException as exc:
        if exc.code != INVALID_WEBHOOK_TOKEN or ephemeral:
            raise
        await send_to_channel(interaction, reply)


async def send_to_channel(interaction: discord.Interaction, reply: Reply) -> None:
    """Post ``reply`` as channel messages that mention (and ping) only the requester."""
    channel = interaction.channel
    if not isinstance(channel, discord.abc.Messageable):
        log.warning("result for user %s lost: no channel to post to", interaction.user.id)
        return
    requester = discord.AllowedMentions(users=[interaction.user], roles=False, everyone=False)
    await channel.send(
        f"{interaction.user.mention}, your request took longer than Discord lets a reply "
        "wait, so here is its result:",
        allowed_mentions=requester,
    )
    for message in reply.messages:
        await channel.send(
            content=message.content,
            embeds=message.embeds,
            files=message.discord_files(),
            view=message.view or discord.utils.MISSING,
            allowed_mentions=discord.AllowedMentions.none(),
        )
    with contextlib.suppress(discord.HTTPException):
        await interaction.delete_original_response()


__all__ = ["Message", "Reply", "run_job", "send_reply", "send_to_channel", "show_progress"]
