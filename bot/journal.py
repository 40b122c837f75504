"""The bot's side of the job journal: journaling each request, telling waiting users
that the bot is restarting, and picking their jobs up again when it starts.

The store's ``Journal`` keeps platform-neutral rows; the Discord parts (the interaction
token, the channel, editing the original response through the webhook) are here and in
``delivery``. Tokens are never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord

from inference import Busy, JobHandle
from store import Journal, JournalEntry, Store
from store.journal import DONE, DROPPED, FAILED, QUEUED

from .delivery import RESUMED, Delivery, ReplyTo, WebhookDelivery
from .errors import Interrupted, error_message
from .jobs import follow_job

if TYPE_CHECKING:
    from .client import PipelineBot

log = logging.getLogger(__name__)

#: What a waiting user sees when the bot stops for a restart.
RESTARTING = "🔄 The bot is restarting; your request will continue."
#: A job whose token has less than this left when the bot starts goes to the channel.
RESUME_MIN_LEFT_S = 60.0
#: A job that was running each time the bot died (it may be what kills it) is given up
#: after this many runs. Clean restarts (SIGTERM) do not count.
MAX_ATTEMPTS = 3
#: The state of a job stopped for a restart: resumed without counting an attempt.
SUSPENDED = "suspended"
#: How often a resumed job that found its queue full tries again.
BUSY_RETRY_S = 1.0
#: Finished jobs are pruned at most this often while the bot runs.
PRUNE_EVERY_S = 3600.0


@dataclass
class _Live:
    entry: JournalEntry
    delivery: Delivery
    watcher: asyncio.Task[None]


class JobJournal:
    def __init__(self, bot: PipelineBot) -> None:
        self.bot = bot
        self._journal: Journal | None = None
        self._live: dict[str, _Live] = {}
        self._pruned_at = 0.0
        #: True once the bot has begun to stop: cancelled jobs are resumed, not failed.
        self.suspended = False

    @property
    def journal(self) -> Journal:
        if self._journal is None:
            raise RuntimeError("the journal is opened in setup_hook")
        return self._journal

    def open(self, store: Store) -> None:
        self._journal = Journal(store)

    @property
    def keep_s(self) -> float:
        return self.bot.settings.journal_keep_hours * 3600

    # -- a fresh request --------------------------------------------------------------

    async def record(
        self,
        interaction: discord.Interaction,
        task: str,
        inputs: dict[str, Any],
        *,
        what: str,
        ephemeral: bool,
        render: dict[str, Any],
    ) -> JournalEntry:
        """Journal a request before it is queued (committed when this returns)."""
        reply_to = ReplyTo.of(interaction, ephemeral=ephemeral, what=what, render=render)
        return await self.journal.add(
            task,
            inputs,
            user=interaction.user.id,
            reply_to=reply_to.to_json(),
            expires_at=reply_to.expires_at,
        )

    async def deferred(
        self,
        entry: JournalEntry,
        interaction: discord.Interaction,
        response: discord.InteractionCallbackResponse | None,
    ) -> None:
        """Note the original response's id (a resumed job edits it by id)."""
        message_id = response.message_id if response is not None else None
        if message_id is None:
            with contextlib.suppress(discord.HTTPException):
                message_id = (await interaction.original_response()).id
        if message_id is not None:
            await self.journal.update(entry, reply_to={**entry.reply_to, "message_id": message_id})

    async def forget(self, entry: JournalEntry) -> None:
        """The request was refused before it was queued."""
        await self.journal.discard(entry)

    async def sent(self, entry: JournalEntry, count: int) -> None:
        await self.journal.update(entry, delivered=count)

    async def finish(self, entry: JournalEntry, *, failed: bool = False) -> None:
        await self.journal.finish(entry, FAILED if failed else DONE)
        if time.monotonic() - self._pruned_at > PRUNE_EVERY_S:
            await self.prune()

    async def prune(self) -> None:
        self._pruned_at = time.monotonic()
        pruned = await self.journal.prune(self.keep_s)
        if pruned:
            log.info("journal: pruned %d finished jobs", pruned)

    # -- stopping ---------------------------------------------------------------------

    def track(self, entry: JournalEntry, delivery: Delivery, watcher: asyncio.Task[None]) -> None:
        self._live[entry.id] = _Live(entry, delivery, watcher)

    def untrack(self, entry: JournalEntry) -> None:
        self._live.pop(entry.id, None)

    async def suspend(self) -> None:
        """The bot is stopping: mark every waiting job for resumption and tell its user.
        Call before the service cancels the jobs."""
        self.suspended = True
        live = list(self._live.values())
        for job in live:
            job.watcher.cancel()
        await asyncio.gather(*(self.journal.update(job.entry, state=SUSPENDED) for job in live))
        await asyncio.gather(*(self._tell_restarting(job.delivery) for job in live))

    @staticmethod
    async def _tell_restarting(delivery: Delivery) -> None:
        if not delivery.token_fresh:
            return
        with contextlib.suppress(discord.HTTPException):
            await delivery.edit(content=RESTARTING, embeds=[], view=None)

    # -- starting ---------------------------------------------------------------------

    async def resume_all(self) -> list[asyncio.Task[None]]:
        """Run again every job the last run of the bot left unfinished (in the
        background; the tasks are returned and joined to ``bot.waiting``)."""
        await self.prune()
        tasks = []
        for entry in await self.journal.unfinished():
            task = asyncio.create_task(self.resume(entry), name=f"resume-{entry.id}")
            self.bot.waiting.add(task)  # type: ignore[arg-type]
            task.add_done_callback(self.bot.waiting.discard)  # type: ignore[arg-type]
            tasks.append(task)
        if tasks:
            log.info("journal: resuming %d unfinished jobs", len(tasks))
        return tasks

    async def resume(self, entry: JournalEntry) -> None:
        reply_to = ReplyTo.from_json(entry.reply_to)
        delivery = WebhookDelivery(self.bot, reply_to)
        what = f"{entry.task} job {entry.id} of user {reply_to.user_id}"
        crashed = entry.state != SUSPENDED
        if crashed and entry.attempts + 1 >= MAX_ATTEMPTS:
            log.warning("journal: %s dropped: the bot died %d times running it", what, MAX_ATTEMPTS)
            await self.journal.finish(entry, DROPPED)
            await self._tell(delivery, "😵 Sorry, this request could not be finished.")
            return
        if time.time() - entry.created_at > self.keep_s:
            log.warning("journal: %s dropped: older than JOURNAL_KEEP_HOURS", what)
            await self.journal.finish(entry, DROPPED)
            return
        if reply_to.expires_at - time.time() < RESUME_MIN_LEFT_S:
            delivery.token_dead = True
        if delivery.token_dead and (reply_to.ephemeral or reply_to.channel_id is None):
            log.warning("journal: %s dropped: its token expired and no channel takes it", what)
            await self.journal.finish(entry, DROPPED)
            return
        await self.journal.update(entry, state=QUEUED, new_attempt=crashed)
        try:
            job = await self._submit(entry, reply_to)
        except Interrupted:
            return
        except Exception as exc:  # the settings changed under it (a model, a limit)
            await self.journal.finish(entry, FAILED)
            await self._tell(delivery, error_message(exc, what, reply_to.user_id))
            return
        try:
            await follow_job(self.bot, job, entry, delivery, what=reply_to.what, note=RESUMED)
        except Interrupted:
            pass  # stopped again: the next start resumes it
        except Exception as exc:
            await self._tell(delivery, error_message(exc, what, reply_to.user_id))

    async def _submit(self, entry: JournalEntry, reply_to: ReplyTo) -> JobHandle:
        """Submit a resumed job, waiting for room while the queue is full (many jobs may
        come back at once; they were accepted, so they wait rather than fail)."""
        while True:
            try:
                return self.bot.service.submit(entry.task, user=reply_to.user_id, **entry.inputs)
            except Busy:
                if self.suspended:
                    raise Interrupted() from None
                await asyncio.sleep(BUSY_RETRY_S)

    @staticmethod
    async def _tell(delivery: Delivery, message: str) -> None:
        """An ephemeral word about a resumed job, in place of its placeholder."""
        if not delivery.token_fresh:
            return
        with contextlib.suppress(discord.HTTPException):
            await delivery.delete()
        with contextlib.suppress(discord.HTTPException):
            await delivery.follow(content=message, ephemeral=True)
