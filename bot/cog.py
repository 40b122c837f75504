"""What every command cog shares: its bot, message context menus, buttons that survive
restarts, and reading a message."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ClassVar

import discord
from discord import app_commands
from discord.ext import commands

from chat.cards import Button
from chat.catalogue import command, shortcut
from chat.errors import NO_TEXT

from .checks import cooldown
from .errors import UserError, report_error

if TYPE_CHECKING:
    from .client import PipelineBot

MenuCallback = Callable[[discord.Interaction, discord.Message], Awaitable[None]]


class PipelineCog(commands.Cog):
    """A cog with access to the bot (and so the inference service), that registers its
    message context menus ("Apps" when right-clicking a message) and its ``buttons`` on
    load."""

    #: The cog's persistent buttons (``CogButton`` classes), registered while it is loaded.
    buttons: ClassVar[tuple[type[CogButton], ...]] = ()

    def __init__(self, bot: PipelineBot) -> None:
        self.bot = bot
        self._menus: list[app_commands.ContextMenu] = []

    def message_menu(self, name: str, callback: MenuCallback) -> None:
        """Offer ``callback`` as the catalogue's message shortcut ``name`` (a context
        menu), under the cooldown of the task it runs."""
        task = command(shortcut(name).command).task
        menu = app_commands.ContextMenu(name=name, callback=callback)
        cooldown(task)(menu)
        self._menus.append(menu)

    async def cog_load(self) -> None:
        for menu in self._menus:
            self.bot.tree.add_command(menu)
        self.bot.add_dynamic_items(*self.buttons)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(*self.buttons)
        for menu in self._menus:
            self.bot.tree.remove_command(menu.name, type=menu.type)


class CogButton(discord.ui.DynamicItem[discord.ui.Button], template=r"(?!)"):
    """A button that keeps working after a restart: what it needs is in its ``custom_id``
    (the subclass's ``template``; named groups become ``__init__`` arguments) or in the
    message it sits on. A click runs ``clicked`` with the cog called ``cog_name``; errors
    are answered like a command's (discord.py would only log them)."""

    cog_name: ClassVar[str]
    label: ClassVar[str]
    emoji: ClassVar[str]
    style: ClassVar[discord.ButtonStyle] = discord.ButtonStyle.primary

    def __init__(self, custom_id: str) -> None:
        super().__init__(
            discord.ui.Button(
                label=self.label, emoji=self.emoji, style=self.style, custom_id=custom_id
            )
        )

    def as_button(self) -> Button:
        """This button as a renderer puts it on a message: a click on it comes back here
        by its ``custom_id``."""
        style = self.item.style.name
        assert style in ("primary", "secondary", "success", "danger"), style
        return Button(
            action=self.custom_id,
            label=self.item.label or "",
            emoji=str(self.item.emoji or ""),
            style=style,
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> CogButton:
        return cls(**match.groupdict())

    async def callback(self, interaction: discord.Interaction) -> None:
        cog = interaction.client.get_cog(self.cog_name)  # type: ignore[attr-defined]
        try:
            await self.clicked(cog, interaction)
        except Exception as exc:
            await report_error(interaction, exc)

    async def clicked(self, cog: Any, interaction: discord.Interaction) -> None:
        raise NotImplementedError


def message_text(message: discord.Message) -> str:
    """The text of a message: its content, else its embeds' titles and descriptions."""
    parts = [message.content]
    for embed in message.embeds:
        parts += [embed.title or "", embed.description or ""]
    text = "\n".join(p for p in parts if p and p.strip())
    if not text:
        raise UserError(NO_TEXT)
    return text
