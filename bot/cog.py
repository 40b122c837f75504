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
        self._cooldowns: dict[tuple[str, int], app_commands.Cooldown] = {}

    def message_menu(self, name: str, callback: MenuCallback) -> None:
        """Offer ``callback`` as a message context menu called ``name``, with the cooldown."""
        menu = app_commands.ContextMenu(name=name, callback=callback)
        app_commands.checks.dynamic_cooldown(user_cooldown)(menu)
        self._menus.append(menu)

    def check_cooldown(self, interaction: discord.Interaction, action: str) -> None:
        """The user's cooldown for ``action`` when it is not an app command (a button that
        runs a model): raises ``CommandOnCooldown`` as ``dynamic_cooldown(user_cooldown)``
        does, so the error handler answers it the same way."""
        fresh = user_cooldown(interaction)
        if fresh is None:
            return
        key = (action, interaction.user.id)
        cooldown = self._cooldowns.get(key)
        if cooldown is None or (cooldown.rate, cooldown.per) != (fresh.rate, fresh.per):
            cooldown = self._cooldowns[key] = fresh
        retry_after = cooldown.update_rate_limit(interaction.created_at.timestamp())
        if retry_after:
            raise app_commands.CommandOnCooldown(cooldown, retry_after)

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
