"""What every command cog shares: its bot, its message context menus, reading a message."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from .checks import user_cooldown
from .errors import UserError

if TYPE_CHECKING:
    from .client import PipelineBot

MenuCallback = Callable[[discord.Interaction, discord.Message], Awaitable[None]]


class PipelineCog(commands.Cog):
    """A cog with access to the bot (and so the inference service), that registers its
    message context menus ("Apps" when right-clicking a message) on load."""

    def __init__(self, bot: PipelineBot) -> None:
        self.bot = bot
        self._menus: list[app_commands.ContextMenu] = []

    def message_menu(self, name: str, callback: MenuCallback) -> None:
        """Offer ``callback`` as a message context menu called ``name``, with the cooldown."""
        menu = app_commands.ContextMenu(name=name, callback=callback)
        app_commands.checks.dynamic_cooldown(user_cooldown)(menu)
        self._menus.append(menu)

    async def cog_load(self) -> None:
        for menu in self._menus:
            self.bot.tree.add_command(menu)

    async def cog_unload(self) -> None:
        for menu in self._menus:
            self.bot.tree.remove_command(menu.name, type=menu.type)


def message_text(message: discord.Message) -> str:
    """The text of a message: its content, else its embeds' titles and descriptions."""
    parts = [message.content]
    for embed in message.embeds:
        parts += [embed.title or "", embed.description or ""]
    text = "\n".join(p for p in parts if p and p.strip())
    if not text:
        raise UserError("That message has no text to work with.")
    return text
