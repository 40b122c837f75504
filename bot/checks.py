"""The checks every action running a model passes: the command is enabled where it is
used (``ServerConfig``), and the user's cooldown (``chat.cooldowns``, through
``PipelineBot.admit``); and the content checks that several commands share
(age-restricted channels, blocklists)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

import discord
from discord import app_commands

T = TypeVar("T")


def cooldown(task: str) -> Callable[[T], T]:
    """Decorate a slash command or context menu with the checks for ``task``: enabled
    here, and the user's cooldown."""

    def predicate(interaction: discord.Interaction) -> bool:
        interaction.client.admit(task, interaction)  # type: ignore[attr-defined]
        return True

    return app_commands.check(predicate)


def age_restricted(channel: object) -> bool:
    """Whether ``channel`` is age-restricted (a thread: its parent). DMs are not."""
    is_nsfw = getattr(channel, "is_nsfw", None)
    return bool(is_nsfw()) if callable(is_nsfw) else False


def blocked_phrase(blocklist: str, prompt: str) -> str | None:
    """The first phrase of the comma-separated ``blocklist`` that ``prompt`` contains as
    whole words, in any case and spacing; None when there is none."""
    for phrase in (p.strip() for p in blocklist.split(",")):
        if not phrase:
            continue
        words = r"\s+".join(re.escape(word) for word in phrase.split())
        if re.search(rf"(?<!\w){words}(?!\w)", prompt, re.IGNORECASE):
            return phrase
    return None
