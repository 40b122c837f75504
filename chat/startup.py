"""What ``python -m bot`` and ``python -m slackapp`` check before they start: settings
that can be read (one line for what is wrong, never a traceback), and no DATABASE_URL.
"""

from __future__ import annotations

import os
from typing import TypeVar

from dotenv import load_dotenv
from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsError

from inference.cli import settings_error

S = TypeVar("S", bound=BaseSettings)

NO_DATABASE_URL = (
    "DATABASE_URL is not supported yet: unset it, and the state stays in SQLite under "
    "DATA_DIR (see README.md, Restarts and the store)."
)


class StartupError(Exception):
    """Why the process cannot start, in one line that names no secret."""


def read_settings(cls: type[S]) -> S:
    """``cls`` read from the environment and ``.env``; ``StartupError`` when it cannot be."""
    load_dotenv()
    try:
        settings = cls()
    except (ValidationError, SettingsError) as exc:
        raise StartupError(settings_error(exc)) from None
    if os.environ.get("DATABASE_URL"):
        raise StartupError(NO_DATABASE_URL)
    return settings
