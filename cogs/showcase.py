"""/showcase: the best-voted posts, and the gallery's secret link for moderators.

The Share, ⭐ and Remove buttons (``bot.showcase``) are registered here; /config showcase
sets the channel, the weekly highlights and the gallery. Leaving a server deletes its
showcase (posts, votes, files, gallery).
"""

from __future__ import annotations

import logging
from typing import Literal

import discord
from discord import app_commands

from bot.client import PipelineBot
from bot.cog import PipelineCog
from bot.errors import UserError
from bot.showcase import BUTTONS
from bot.showcase.service import NO_PINGS, top_embed

log = logging.getLogger(__name__)

TITLES = {"week": "this week", "month": "this month", "all": "of all time"}


class Showcase(PipelineCog):
    buttons = BUTTONS

    showcase = app_commands.Group(
        name="showcase", description="This server's community showcase", guild_only=True
    )

    @showcase.command(name="top")
    @app_commands.describe(period="Posts shared in the last week, month, or ever (default week)")
    async def top(
        self,
        interaction: discord.Interaction,
        period: Literal["week", "month", "all"] = "week",
    ) -> None:
        """The best-voted showcase posts, with links."""
        assert interaction.guild_id is not None
        posts = await self.bot.showcase.top(interaction.guild_id, period)
        embed = top_embed(f"⭐ Best {TITLES[period]}", posts, interaction.guild_id)
        await interaction.response.send_message(embed=embed, allowed_mentions=NO_PINGS)

    @showcase.command(name="gallery")
    @app_commands.describe(rotate="True: make a new secret link (the old one stops working)")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def gallery(self, interaction: discord.Interaction, rotate: bool = False) -> None:
        """The gallery web page's secret link (moderators: Manage Server)."""
        assert interaction.guild_id is not None
        db = self.bot.showcase.db
        if await db.gallery_secret(interaction.guild_id) is None:
            raise UserError(
                "The gallery is off here: turn it on with /config showcase gallery:true."
            )
        self.bot.showcase.gallery_link("x")  # no GALLERY_URL: say so before rotating
        secret = (
            await db.rotate_gallery(interaction.guild_id)
            if rotate
            else await db.gallery_secret(interaction.guild_id)
        )
        assert secret is not None
        said = "New link (the old one no longer works)" if rotate else "The gallery"
        await interaction.response.send_message(
            f"🖼️ {said}: <{self.bot.showcase.gallery_link(secret)}>\n"
            "-# Anyone with the link can see the gallery; rotate it if it leaks.",
            ephemeral=True,
        )

    @PipelineCog.listener()
    async def on_raw_message_delete(self, event: discord.RawMessageDeleteEvent) -> None:
        await self.bot.showcase.deleted(event.channel_id, event.message_id, event.guild_id)

    @PipelineCog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        count = await self.bot.showcase.db.forget_server(guild.id)
        await self.bot.server_config.forget(guild.id)
        log.info("left server %s: its showcase (%d posts) was deleted", guild.id, count)


async def setup(bot: PipelineBot) -> None:
    await bot.add_cog(Showcase(bot))
