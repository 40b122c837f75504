"""What to tell a user about any error of a command, on any platform.

Errors the user can fix (bad input, busy, a cooldown, a story's rules) get a short
message that the platform shows to that user alone (a platform adds its own, such as
Discord's check failures: ``bot.errors``). Anything else is logged with its
traceback under a short error id, and the user gets an apology quoting that id.
"""

from __future__ import annotations

import logging
import uuid

from inference import InferenceError
from storytelling import Refusal

log = logging.getLogger(__name__)


#: What a message shortcut says of a message with no text.
NO_TEXT = "That message has no text to work with."


class UserError(Exception):
    """A problem with what the user asked for, raised by the chat side (no text in a
    message, a file that is too big, a command line that cannot be read...). Its
    message is shown as is."""


class OnCooldown(Exception):
    """The user has used up their runs of a task for now."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"on cooldown for {retry_after:.0f} s")
        self.retry_after = retry_after


class Interrupted(Exception):
    """The bot is restarting: the job stays in the journal and runs again on start. Its
    user has been told so; nothing more to say."""


def user_message(error: BaseException) -> str | None:
    """The short message for an error the user can act on; None for anything else."""
    if isinstance(error, InferenceError) and error.user_fixable:
        return f"⚠️ {error}"
    if isinstance(error, InferenceError):  # a model that cannot be loaded
        return f"😕 {error} An operator has to fix this; the other commands still work."
    if isinstance(error, UserError):
        return f"⚠️ {error}"
    if isinstance(error, Refusal):  # a story's rule (whose turn it is...): said as is
        return str(error)
    if isinstance(error, OnCooldown):
        return cooldown_message(error.retry_after)
    return None


def cooldown_message(retry_after: float) -> str:
    return f"🧊 Easy there! Try again in {retry_after:.0f} s."


def error_message(
    error: BaseException, where: str, user: object, message: str | None = None
) -> str:
    """What to tell the user about ``error`` (``message``, when the platform already
    knows); one that is not theirs to fix is logged with its traceback under a short
    id, which the apology quotes."""
    message = message or user_message(error)
    if message is None:
        error_id = uuid.uuid4().hex[:8]
        original = getattr(error, "original", error)
        log.error(
            "error %s in %s (user %s)",
            error_id,
            where,
            user,
            exc_info=(type(original), original, original.__traceback__),
        )
        message = f"😵 Sorry, something went wrong on our side (error id `{error_id}`)."
    return message
