"""/config: a server's own rules for the bot, set by its moderators (Manage Server).

Which commands are on, per server and per channel; the image safety policy; cooldowns;
the server's language. The operator's settings (.env) are the ceiling: a server can
only turn things off or make them stricter. ``bot.server_config`` keeps the rules.
"""

from __future__ import annotations

from typing import Literal

import discord
from discord import app_commands

from bot.client import PipelineBot
from bot.cog import PipelineCog
from bot.errors import UserError
from bot.render import app_choices
from bot.server_config import COMMANDS, ServerConfig
from chat.cards import COLOUR
from chat.render.base import MAX_CHOICES, choices
from chat.render.translate import language_choices
from inference import InvalidInput
from inference.languages import LANGUAGES, describe, resolve_language

DEFAULT = "default"
USES = app_commands.Range[int, 1, 1000]
SECONDS = app_commands.Range[float, 1, 7 * 24 * 3600]
NAME = app_commands.Range[str, 1, 100]

#: Only members who may manage the server change or see its rules. Discord hides the
#: commands from others (default_permissions); this refuses them even so.
moderators = app_commands.checks.has_permissions(manage_guild=True)


def command_key(typed: str) -> str:
    """A command as typed ("/Imagine ") as ``COMMANDS`` names it ("imagine")."""
    return typed.strip().lstrip("/").lower()


class Config(PipelineCog):
    config = app_commands.Group(
        name="config",
        description="This server's rules for the bot (needs Manage Server)",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )

    @property
    def rules(self) -> ServerConfig:
        return self.bot.server_config

    @config.command(name="show")
    @moderators
    async def show(self, interaction: discord.Interaction) -> None:
        """Show this server's rules for the bot."""
        await interaction.response.send_message(embed=self.summary(interaction), ephemeral=True)

    @config.command(name="command")
    @app_commands.describe(
        name="The command to turn on or off (its menu and buttons go with it)",
        state="on, off, or default (follow the server's rule, else on)",
        channel="Only in this channel or thread (default: the whole server)",
    )
    @moderators
    async def command(
        self,
        interaction: discord.Interaction,
        name: NAME,
        state: Literal["on", "off", "default"],
        channel: discord.TextChannel | discord.Thread | None = None,
    ) -> None:
        """Turn a command on or off in this server or in one channel."""
        command = command_key(name)
        if command not in COMMANDS:
            raise UserError(f"There is no command {name!r} to turn on or off here.")
        enabled = None if state == DEFAULT else state == "on"
        assert interaction.guild_id is not None
        await self.rules.set_command(
            interaction.guild_id, command, channel.id if channel else None, enabled
        )
        where = channel.mention if channel else "this server"
        said = "follows the server's rule" if enabled is None and channel else state
        if enabled is None and not channel:
            said = "is back to the default (on)"
        await self.done(interaction, f"/{command} in {where}: {said}.")

    @command.autocomplete("name")
    async def command_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        typed = command_key(current)
        return app_choices(choices((f"/{c}", c) for c in COMMANDS if c.startswith(typed)))

    @config.command(name="safety")
    @app_commands.describe(policy="Where /imagine may draw with a model that has no safety filter")
    @moderators
    async def safety(self, interaction: discord.Interaction, policy: NAME) -> None:
        """Choose where unfiltered image models may draw (within the bot's own rule)."""
        chosen = policy.strip().lower()
        allowed = self.rules.allowed_policies()
        if chosen != DEFAULT and chosen not in allowed:
            raise UserError(
                f"This bot allows {self.bot.settings.imagine_nsfw_policy!r} at most; "
                f"choose one of: {', '.join(allowed)}."
            )
        assert interaction.guild_id is not None
        await self.rules.set_image_policy(
            interaction.guild_id, None if chosen == DEFAULT else chosen
        )
        await self.done(
            interaction, f"Unfiltered images: {self.rules.image_policy(interaction.guild_id)}."
        )

    @safety.autocomplete("policy")
    async def policy_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        options = [*self.rules.allowed_policies(), DEFAULT]
        return app_choices(
            choices((p, p) for p in options if p.startswith(current.strip().lower()))
        )

    @config.command(name="cooldown")
    @app_commands.describe(
        uses="Runs allowed per user in each window (no more than the bot's own)",
        per_seconds="The window, in seconds (no shorter than the bot's own)",
        command="Only for this command (default: every command)",
    )
    @moderators
    async def cooldown(
        self,
        interaction: discord.Interaction,
        uses: USES | None = None,
        per_seconds: SECONDS | None = None,
        command: NAME | None = None,
    ) -> None:
        """Set a stricter cooldown; give neither number to go back to the bot's."""
        name = command_key(command or "")
        if name and name not in COMMANDS:
            raise UserError(f"There is no command {command!r} with a cooldown.")
        settings = self.bot.settings
        if (uses is None) != (per_seconds is None):
            raise UserError("Give both uses and per_seconds, or neither to go back to the bot's.")
        limit = None if uses is None or per_seconds is None else (uses, per_seconds)
        if limit is not None and (
            uses > settings.cooldown_rate or per_seconds < settings.cooldown_per_s
        ):
            raise UserError(
                f"A server's cooldown can only be stricter than the bot's: at most "
                f"{settings.cooldown_rate} uses, per {settings.cooldown_per_s:g} s or more."
            )
        assert interaction.guild_id is not None
        await self.rules.set_cooldown(interaction.guild_id, name, limit)
        which = f"/{name}" if name else "Every command"
        if limit is None:
            await self.done(interaction, f"{which}: the bot's cooldown.")
        else:
            await self.done(interaction, f"{which}: {limit[0]} uses per {limit[1]:g} s per user.")

    @cooldown.autocomplete("command")
    async def cooldown_command_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await self.command_choices(interaction, current)

    @config.command(name="language")
    @app_commands.describe(
        language="The server's language (fr, German…), or default for the server's locale"
    )
    @moderators
    async def language(self, interaction: discord.Interaction, language: NAME) -> None:
        """Set the server's language (for Translate to English, when it can't tell)."""
        code = None
        if language.strip().lower() != DEFAULT:
            try:
                code = resolve_language(language, LANGUAGES)
            except InvalidInput as exc:
                raise UserError(str(exc)) from None
        assert interaction.guild_id is not None
        await self.rules.set_language(interaction.guild_id, code)
        shown = describe(code) if code else "the server's own locale"
        await self.done(interaction, f"Server language: {shown}.")

    @language.autocomplete("language")
    async def language_options(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        found = language_choices(current)
        if DEFAULT.startswith(current.strip().lower()):
            found = [(DEFAULT, DEFAULT), *found][:MAX_CHOICES]
        return app_choices(found)

    @config.command(name="showcase")
    @app_commands.describe(
        channel="Where Share reposts results (sharing is off until one is set)",
        weekly="Post the week's three best-voted posts there every week",
        gallery="A web gallery of the showcase at a secret link (/showcase gallery tells it)",
        off="True: turn sharing off (the showcase channel is forgotten; posts stay)",
    )
    @moderators
    async def showcase(
        self,
        interaction: discord.Interaction,
        channel: discord.TextChannel | None = None,
        weekly: bool | None = None,
        gallery: bool | None = None,
        off: bool = False,
    ) -> None:
        """Set up the community showcase: its channel, weekly highlights, the gallery."""
        assert interaction.guild_id is not None
        guild_id, showcase = interaction.guild_id, self.bot.showcase
        if off and channel is not None:
            raise UserError("Give a channel or off:true, not both.")
        if off:
            await self.rules.set_showcase_channel(guild_id, None)
        elif channel is not None:
            await self.rules.set_showcase_channel(guild_id, channel.id)
        if weekly is not None:
            await self.rules.set_showcase_weekly(guild_id, weekly)
            await showcase.db.set_weekly_at(guild_id, showcase.clock() if weekly else None)
        if gallery is not None:
            await showcase.db.set_gallery(guild_id, gallery)
        chosen = self.rules.showcase_channel(guild_id)
        on = await showcase.db.gallery_secret(guild_id) is not None
        lines = [
            f"Showcase channel: <#{chosen}>" if chosen else "Sharing: off",
            f"Weekly highlights: {'on' if self.rules.rules(guild_id).showcase_weekly else 'off'}",
            f"Gallery: {'on (its link: /showcase gallery)' if on else 'off'}",
        ]
        await self.done(interaction, "\n".join(lines))

    # -- replies ------------------------------------------------------------------------

    async def done(self, interaction: discord.Interaction, text: str) -> None:
        await interaction.response.send_message(f"✅ {text}", ephemeral=True)

    def summary(self, interaction: discord.Interaction) -> discord.Embed:
        guild_id = interaction.guild_id
        rules = self.rules.rules(guild_id)
        settings = self.bot.settings
        embed = discord.Embed(title="This server's rules", colour=COLOUR)
        lines = []
        off = [
            c for (ch, c), on in sorted(rules.commands.items(), key=str) if ch is None and not on
        ]
        lines.append("Off everywhere: " + (", ".join(f"/{c}" for c in off) if off else "none"))
        channels = sorted({ch for ch, _ in rules.commands if ch is not None})
        for channel in channels:
            states = [
                f"/{c} {'on' if on else 'off'}"
                for (ch, c), on in sorted(rules.commands.items(), key=str)
                if ch == channel
            ]
            lines.append(f"<#{channel}>: {', '.join(states)}")
        embed.add_field(name="Commands", value="\n".join(lines)[:1024], inline=False)
        embed.add_field(
            name="Unfiltered images",
            value=f"{self.rules.image_policy(guild_id)} (the bot allows "
            f"{settings.imagine_nsfw_policy} at most)",
            inline=False,
        )
        bot_cooldown = f"{settings.cooldown_rate} uses per {settings.cooldown_per_s:g} s"
        cooldowns = [
            f"{'/' + c if c else 'every command'}: {uses} uses per {per:g} s"
            for c, (uses, per) in sorted(rules.cooldowns.items())
        ]
        embed.add_field(
            name="Cooldowns",
            value="\n".join([*cooldowns, f"the bot's: {bot_cooldown}"]),
            inline=False,
        )
        embed.add_field(
            name="Showcase",
            value=(f"<#{rules.showcase_channel}>" if rules.showcase_channel else "off")
            + (", weekly highlights" if rules.showcase_weekly else ""),
            inline=False,
        )
        language = rules.language
        embed.add_field(
            name="Language",
            value=describe(language) if language else "not set (the server's own locale)",
            inline=False,
        )
        return embed


async def setup(bot: PipelineBot) -> None:
    await bot.add_cog(Config(bot))
