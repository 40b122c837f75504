"""How models are named to users: never by a filesystem path."""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePath


def looks_like_path(model_id: str) -> bool:
    """Whether a model setting names a local directory rather than a Hub id."""
    return (
        model_id.startswith((".", "/", "~"))
        or os.sep in model_id.strip("/").replace("/", "", 1)
        or Path(model_id).expanduser().exists()
    )


def display_name(model_id: str) -> str:
    """A model's name for users: a Hub id as it is (``org/name``), a local directory by
    its last part. Paths can reveal an operator's user name and layout; logs keep them."""
    text = str(model_id).strip()
    if looks_like_path(text) or "\\" in text:  # (backslashes: a Windows path)
        return PurePath(text.replace("\\", "/")).name or text.strip("/\\")
    return text


#: An absolute or home-relative path of two or more parts (POSIX or Windows).
_PATH = re.compile(r"(?:~|[A-Za-z]:)?(?:[/\\][\w.@+-]+){2,}[/\\]?")


def scrub_paths(text: str) -> str:
    """``text`` with every filesystem path cut to its last part (for messages that quote
    a library's error, which often names the file it could not read)."""
    return _PATH.sub(lambda match: display_name(match.group()), text)
