"""One place that turns any error of a command, button or menu into a Discord reply.

What the message says is ``chat.errors``' (the same on every platform), plus what only
discord.py raises (its cooldown and check failures, wrapped errors). Errors the user
can fix get a short ephemeral message; anything else an apology with an error id.
"""

from __future__ import annotations

import contextlib
import logging

import discord
from discord import app_commands

from chat import errors as chat_errors
from chat.errors import Interrupted, UserError

log = logging.getLogger(__name__)

#: Set in ``interaction.extras`` once the original response holds the result.
RESULT_SHOWN = "result_shown"

__all__ = ["Interrupted", "UserError", "error_message", "report_error", "user_message"]


def unwrap(error: BaseException) -> BaseException:
    """The error a command raised, out of discord.py's wrappers."""
    if isinstance(error, (app_commands.CommandInvokeError, app_commands.TransformerError)):
        return error.__cause__ or getattr(error, "original", error)
    return error


def user_message(error: BaseException) -> str | None:
    """The short message for an error the user can act on; None for anything else."""
    error = unwrap(error)
    if isinstance(error, app_commands.CommandOnCooldown):
        return chat_errors.cooldown_message(error.retry_after)
    if isinstance(error, app_commands.CheckFailure):
        return f"🔒 {error}" if str(error) else "🔒 You can't use that here."
    return chat_errors.user_message(error)


async def report_error(interaction: discord.Interaction, error: BaseException) -> None:
    """Tell the user what went wrong, ephemerally, wherever the interaction stands."""
    if isinstance(getattr(error, "original", error), Interrupted):
        return
    command = interaction.command.qualified_name if interaction.command else "component"
    await send_ephemeral(interaction, error_message(error, command, interaction.user.id))


def error_message(error: BaseException, where: str, user_id: int) -> str:
    """What to tell the user about ``error`` (see ``chat.errors.error_message``)."""
    return chat_errors.error_message(unwrap(error), where, user_id, user_message(error))


async def send_ephemeral(interaction: discord.Interaction, message: str) -> None:
    """An ephemeral reply, also after the response was deferred publicly: the public
    "thinking…" placeholder is removed so that nothing is left hanging in the channel."""
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(message, ephemeral=True)
            return
        placeholder = (
            interaction.type is not discord.InteractionType.component
            or interaction.response.type is discord.InteractionResponseType.deferred_channel_message
        )
        if placeholder and not interaction.extras.get(RESULT_SHOWN):
            # a button's "original response" is the message it sits on: keep that one,
            # unless the button deferred with a new "thinking…" message of its own; and
            # keep a result already shown (a later followup failed)
            # (nothing may be left to delete, or the token may have expired)
            with contextlib.suppress(discord.HTTPException):
                await interaction.delete_original_response()
        await interaction.followup.send(message, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not tell user %s about an error", interaction.user.id, exc_info=True)
