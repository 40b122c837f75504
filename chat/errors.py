"""Errors every platform answers the same way."""

from __future__ import annotations


class UserError(Exception):
    """A problem with what the user asked for, raised by the bot side (no text in a
    message, a file that is too big...). Its message is shown as is."""
