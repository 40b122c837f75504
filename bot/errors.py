"""One place that turns any error of a command, button or menu into a reply.

Errors the user can fix (bad input, busy, cooldown, missing permission) get a
short ephemeral message. Anything else is logged with its traceback under a short
error id, and the user gets an apology quoting that id.
"""

from __future__ import annotations

import contextlib
import logging
import uuid

import discord
from discord import app_commands

from chat.errors import UserError
from inference import InferenceError
from storytelling import Refusal

log = logging.getLogger(__name__)

#: Set in ``interaction.extras`` once the original response holds the result.
RESULT_SHOWN = "result_shown"


class Interrupted(Exception):
    """The bot is restarting: the job stays in the journal and runs again on start. Its
    user has been told so; nothing more to say."""


def user_message(error: BaseException) -> str | None:
    """The short message for an error the user can act on; None for anything else."""
    if isinstance(error, (app_commands.CommandInvokeError, app_commands.TransformerError)):
        error = error.__cause__ or getattr(error, "original", error)
    if isinstance(error, InferenceError) and error.user_fixable:
        return f"⚠️ {error}"
    if isinstance(error, InferenceError):  # a model that cannot be loaded
        return f"😕 {error} An operator has to fix this; the other commands still work."
    if isinstance(error, UserError):
        return f"⚠️ {error}"
    if isinstance(error, Refusal):  # a story's rule (whose turn it is...): said as is
        return str(error)
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"🧊 Easy there! Try again in {error.retry_after:.0f} s."
    if isinstance(error, app_commands.CheckFailure):
        return f"🔒 {error}" if str(error) else "🔒 You can't use that here."
    return None


async def report_error(interaction: discord.Interaction, error: BaseException) -> None:
    """Tell the user what went wrong, ephemerally, wherever the interaction stands."""
    if isinstance(getattr(error, "original", error), Interrupted):
        return
    command = interaction.command.qualified_name if interaction.command else "component"
    await send_ephemeral(interaction, error_message(error, command, interaction.user.id))


def error_message(error: BaseException, where: str, user_id: int) -> str:
    """What to tell the user about ``error``; one that is not theirs to fix is logged with
    its traceback under a short id, which the apology quotes."""
    message = user_message(error)
    if message is None:
        error_id = uuid.uuid4().hex[:8]
        original = getattr(error, "original", error)
        log.error(
            "error %s in %s (user %s)",
            error_id,
            where,
            user_id,
            exc_info=(type(original), original, original.__traceback__),
        )
        message = f"😵 Sorry, something went wrong on our side (error id `{error_id}`)."
    return message


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
