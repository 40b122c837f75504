"""The checks every action running a model passes: the command is enabled where it is
used (``ServerConfig``), and the user's cooldown (``chat.cooldowns``, through
``PipelineBot.admit``); and whether a channel is age-restricted (the content policies
themselves are ``chat.policy``'s)."""

from __future__ import annotations

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
