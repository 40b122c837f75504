"""The bot itself: a ``commands.Bot`` that owns the inference service."""

from __future__ import annotations

import asyncio
import logging

import discord
from discord import app_commands
from discord.ext import commands

from inference import InferenceService

from .checks import Cooldowns
from .errors import report_error
from .settings import BotSettings
from .sync import sync_commands

log = logging.getLogger(__name__)

# The bot never joins voice channels: no warning at start-up about voice libraries.
discord.VoiceClient.warn_nacl = False
discord.VoiceClient.warn_dave = False

#: The cogs loaded at start-up, one per family of commands.
EXTENSIONS = (
    "cogs.analysis",
    "cogs.meta",
    "cogs.reading",
    "cogs.speak",
    "cogs.imagine",
    "cogs.translate",
    "cogs.generate",
)


class PipelineTree(app_commands.CommandTree):
    """The command tree, with the one error handler every slash command and menu shares."""

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        await report_error(interaction, error)


class PipelineBot(commands.Bot):
    """Slash commands in front of an ``InferenceService``.

    The service starts in ``setup_hook`` (before the gateway connects) and is closed
    in ``close``, so queued and running jobs end with a message to their users.
    """

    def __init__(
        self,
        settings: BotSettings | None = None,
        *,
        service: InferenceService | None = None,
        **options: object,
    ) -> None:
        self.settings = settings or BotSettings()
        self.service = service or InferenceService(self.settings)
        self.cooldowns = Cooldowns(self.settings)
        #: ``python -m bot sync``: sync the commands whatever changed, without the service.
        self.sync_only = False
        #: Command handlers waiting on a job; shutdown lets them tell their users.
        self.waiting: set[asyncio.Task[object]] = set()
        options.setdefault("intents", discord.Intents.default())  # no privileged intents
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            tree_cls=PipelineTree,
            allowed_mentions=discord.AllowedMentions.none(),
            **options,  # type: ignore[arg-type]
        )

    async def setup_hook(self) -> None:
        if not self.sync_only:
            await self.service.start()
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        await self.sync_commands(force=self.sync_only)

    async def sync_commands(self, *, force: bool = False) -> None:
        """Sync to DEV_GUILD_ID when set (instant), else globally (can take a while); only
        when the commands changed since the last sync (see bot/sync.py) or ``force``."""
        guild = discord.Object(self.settings.dev_guild_id) if self.settings.dev_guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        where = f"to guild {guild.id}" if guild else "globally"
        count = await sync_commands(
            self.tree, self.application_id, self.settings.data_dir, guild, force=force
        )
        if count is None:
            log.info("commands unchanged since the last sync %s: not synced", where)
        else:
            log.info("synced %d commands %s", count, where)

    async def on_ready(self) -> None:
        assert self.user is not None
        log.info(
            "logged in as %s (%s) on %s", self.user, self.user.id, self.service.placement.describe()
        )

    async def close(self) -> None:
        # The service first, then a moment for the handlers of its cancelled jobs to tell
        # their users, while the HTTP session still works.
        await self.service.close()
        if self.waiting:
            await asyncio.wait(self.waiting, timeout=5)
        await super().close()
