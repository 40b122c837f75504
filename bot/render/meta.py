"""The embed of /help, from the commands' own help (the /status card is neutral:
``chat.render.meta``)."""

from __future__ import annotations

from collections.abc import Iterable

import discord
from discord import app_commands

from chat.cards import COLOUR


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
