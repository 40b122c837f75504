"""Commands about the bot itself: /help and /status."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.client import PipelineBot
from bot.cog import PipelineCog
from bot.render import embed, help_embed
from chat.render import status_card


class Meta(PipelineCog):
    @app_commands.command(name="help")
    async def help(self, interaction: discord.Interaction) -> None:
        """List the commands, one line each."""
        commands = sorted(self.bot.tree.get_commands(), key=lambda c: c.name)
        await interaction.response.send_message(embed=help_embed(commands), ephemeral=True)

    @app_commands.command(name="status")
    async def status(self, interaction: discord.Interaction) -> None:
        """Show the device, the loaded models, the queues and the uptime."""
        await interaction.response.send_message(
            embed=embed(status_card(self.bot.service.status())), ephemeral=True
        )


async def setup(bot: PipelineBot) -> None:
    await bot.add_cog(Meta(bot))
