"""The bot itself: a ``commands.Bot`` that owns the inference backend (the service in
this process, or the client of an inference server when INFERENCE_URL is set)."""

from __future__ import annotations

import asyncio
import logging

import discord
from discord import app_commands
from discord.ext import commands

from chat.cooldowns import Cooldowns
from chat.errors import OnCooldown
from chat.jobs import JobRunner
from chat.journal import JobJournal
from chat.settings import create_backend
from inference import Backend
from inference.client import RemoteService
from store import Store

from .delivery import ReplyTo, WebhookDelivery
from .errors import report_error
from .server_config import ServerConfig
from .settings import BotSettings
from .showcase import ShowcaseService
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
    "cogs.story",
    "cogs.config",
    "cogs.showcase",
    "cogs.docs",
)


class PipelineTree(app_commands.CommandTree):
    """The command tree, with the one error handler every slash command and menu shares."""

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        await report_error(interaction, error)


class PipelineBot(commands.Bot):
    """Slash commands in front of an inference ``Backend``.

    The store and the service start in ``setup_hook`` (before the gateway connects),
    then the jobs the last run left unfinished are resumed. ``close`` marks waiting jobs
    for resumption and tells their users before the service cancels them.
    """

    def __init__(
        self,
        settings: BotSettings | None = None,
        *,
        service: Backend | None = None,
        store: Store | None = None,
        **options: object,
    ) -> None:
        self.settings = settings or BotSettings()
        self.service: Backend = service or create_backend(self.settings)
        #: Opened in setup_hook unless given (``python -m bot`` opens it before logging in).
        self.store = store
        self.journal = JobJournal("discord", self.settings.journal_keep_hours)
        #: Runs every command's job; rebuilds a journaled job's reply after a restart.
        self.runner = JobRunner(
            self.service,
            self.journal,
            lambda reply_to: WebhookDelivery(self, ReplyTo.from_json(reply_to)),
        )
        self.server_config = ServerConfig(self.settings)
        self.cooldowns = Cooldowns(self.settings)
        self.showcase = ShowcaseService(self)
        #: ``python -m bot sync``: sync the commands whatever changed, without the service.
        self.sync_only = False
        options.setdefault("intents", discord.Intents.default())  # no privileged intents
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            tree_cls=PipelineTree,
            allowed_mentions=discord.AllowedMentions.none(),
            **options,  # type: ignore[arg-type]
        )

    async def setup_hook(self) -> None:
        if self.store is None:
            self.store = await Store.open(self.settings.data_dir)
        self.journal.open(self.store)
        await self.server_config.open(self.store)
        if not self.sync_only:  # python -m bot sync: the commands, nothing else
            await self.showcase.start(self.store)
            await self.service.start()
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        await self.sync_commands(force=self.sync_only)
        if not self.sync_only:
            await self.runner.resume_all()  # after the cogs: they register the renderers

    def admit(self, task: str, interaction: discord.Interaction) -> None:
        """Let ``interaction`` run ``task``, or raise the check failure that says why not:
        the command is turned off here, or the user is on cooldown. Slash commands,
        menus and buttons all come through here."""
        self.server_config.check_enabled(task, interaction)
        try:
            self.cooldowns.hit(
                task,
                interaction.user.id,
                interaction.created_at.timestamp(),
                server=interaction.guild_id,
                server_limit=self.server_config.cooldown(task, interaction),
            )
        except OnCooldown as exc:  # a check failure, which the tree's error handler answers
            bucket = app_commands.Cooldown(1, exc.retry_after)
            raise app_commands.CommandOnCooldown(bucket, exc.retry_after) from None

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
        where = self.service.where if isinstance(self.service, RemoteService) else "this process"
        log.info(
            "logged in as %s (%s); models run in %s on %s",
            self.user,
            self.user.id,
            where,
            self.service.status().device,
        )

    async def close(self) -> None:
        # Waiting jobs are marked for resumption (their users told) before the service
        # cancels them; then a moment for deliveries under way, while HTTP still works.
        if self.store is not None and not self.journal.suspended:
            await self.journal.suspend()
        await self.service.close()
        await self.showcase.close()
        if self.runner.waiting:
            await asyncio.wait(self.runner.waiting, timeout=5)
        await super().close()
        if self.store is not None:
            await self.store.close()


class ShardedPipelineBot(PipelineBot, commands.AutoShardedBot):
    """The bot with several shards in one process (SHARD_COUNT, SHARD_IDS)."""


def create_bot(settings: BotSettings, **options: object) -> PipelineBot:
    """The bot that SHARD_COUNT asks for: unsharded, or sharded ("auto" lets Discord say
    how many shards; SHARD_IDS picks this process's share)."""
    if settings.shard_count is None:
        return PipelineBot(settings, **options)
    count = None if settings.shard_count == "auto" else settings.shard_count
    ids = settings.shard_id_list() or None
    return ShardedPipelineBot(settings, shard_count=count, shard_ids=ids, **options)
