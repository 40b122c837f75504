"""Checks shared by the cogs."""

from __future__ import annotations

import discord
from discord import app_commands


def user_cooldown(interaction: discord.Interaction) -> app_commands.Cooldown | None:
    """Each user may run a command COOLDOWN_RATE times per COOLDOWN_PER_S seconds.

    Use as ``@app_commands.checks.dynamic_cooldown(user_cooldown)``; read at call time so
    the settings, not the code, decide.
    """
    settings = interaction.client.settings  # type: ignore[attr-defined]
    return app_commands.Cooldown(settings.cooldown_rate, settings.cooldown_per_s)
