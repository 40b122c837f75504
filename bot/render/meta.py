"""Embeds about the bot itself: /help and /status."""

from __future__ import annotations

from collections.abc import Iterable

import discord
from discord import app_commands

from inference.jobs import ServiceStatus

from .base import COLOUR, EMBED_FIELD_VALUE, clip, duration


def help_embed(
    commands: Iterable[app_commands.Command | app_commands.Group | app_commands.ContextMenu],
) -> discord.Embed:
    """One line per slash command (or group), then the message menus, from the commands'
    own help."""
    slash = [c for c in commands if isinstance(c, (app_commands.Command, app_commands.Group))]
    menus = [c for c in commands if isinstance(c, app_commands.ContextMenu)]
    lines = [f"`/{c.name}` {c.description}" for c in slash]
    if menus:
        names = ", ".join(f"**{m.name}**" for m in menus)
        lines.append(f"\nRight-click a message → *Apps*: {names}.")
    return discord.Embed(title="Commands", description="\n".join(lines), colour=COLOUR)


def status_embed(status: ServiceStatus) -> discord.Embed:
    """The device, uptime, busy queues, loaded models and any that failed to load."""
    embed = discord.Embed(title="Status", colour=COLOUR)
    embed.add_field(name="Device", value=status.device, inline=False)
    embed.add_field(name="Uptime", value=duration(status.uptime_s))
    budget = status.memory_budget_mb
    embed.add_field(
        name="Model memory",
        value=f"{status.memory_used_mb:,.0f} MB"
        + (f" of {budget:,.0f} MB" if budget is not None else " (no budget)"),
    )
    busy = {task: n for task, n in status.queued.items() if n} | {
        f"{task} (running)": n for task, n in status.running.items() if n
    }
    embed.add_field(
        name="Queues", value="\n".join(f"{t}: {n}" for t, n in busy.items()) or "all empty"
    )
    embed.add_field(
        name="Loaded models",
        value=clip(
            "\n".join(status.loaded_models) or "none yet (they load on first use)",
            EMBED_FIELD_VALUE,
        ),
        inline=False,
    )
    if status.failed_models:
        failed = "\n".join(f"{m}: {reason}" for m, reason in status.failed_models.items())
        embed.add_field(name="Unavailable", value=clip(failed, EMBED_FIELD_VALUE), inline=False)
    return embed
