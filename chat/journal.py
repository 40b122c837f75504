"""The platform side of the job journal: journaling each request with what rebuilds its
surface, and telling waiting users that the bot is restarting.

The store's ``Journal`` keeps platform-neutral rows; each row's ``reply_to`` holds the
surface's ``reply_to()`` plus its platform, so that a Discord bot and a Slack app can
share one store and each resume only its own jobs. Secrets in ``reply_to`` (a Discord
interaction token) are never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from store import Journal, JournalEntry, Store
from store.journal import DONE, DROPPED, FAILED, QUEUED

if TYPE_CHECKING:
    from .surface import Surface

log = logging.getLogger(__name__)

#: What a waiting user sees when the bot stops for a restart.
RESTARTING = "🔄 The bot is restarting; your request will continue."
#: The state of a job stopped for a restart: resumed without counting an attempt.
SUSPENDED = "suspended"
#: Finished jobs are pruned at most this often while the bot runs.
PRUNE_EVERY_S = 3600.0
#: The platform of journal rows written before rows named theirs.
DEFAULT_PLATFORM = "discord"


@dataclass
class _Live:
    entry: JournalEntry
    surface: Surface
    watcher: asyncio.Task[None]


class JobJournal:
    """One platform's view of the journal in the store (``open`` it in start-up)."""

    def __init__(self, platform: str, keep_hours: float) -> None:
        self.platform = platform
        self.keep_s = keep_hours * 3600
        self._journal: Journal | None = None
        self._live: dict[str, _Live] = {}
        self._pruned_at = 0.0
        #: True once the bot has begun to stop: cancelled jobs are resumed, not failed.
        self.suspended = False

    @property
    def journal(self) -> Journal:
        if self._journal is None:
            raise RuntimeError("the journal is opened at start-up")
        return self._journal

    def open(self, store: Store) -> None:
        self._journal = Journal(store)

    # -- a request's life -------------------------------------------------------------

    async def record(
        self,
        surface: Surface,
        task: str,
        inputs: dict[str, Any],
        *,
        what: str,
        render: dict[str, Any] | None,
    ) -> JournalEntry:
        """Journal a request before it is queued (committed when this returns). A
        surface whose answer expires (a Discord token) says when in ``expires_at``."""
        reply_to = {**surface.reply_to(), "platform": self.platform, "what": what}
        reply_to["render"] = render or {}
        expires_at = reply_to.get("expires_at") or time.time() + self.keep_s
        return await self.journal.add(
            task, inputs, user=surface.user, reply_to=reply_to, expires_at=expires_at
        )

    async def acknowledged(self, entry: JournalEntry, surface: Surface) -> None:
        """The placeholder exists: journal what it takes to edit it after a restart."""
        reply_to = {**entry.reply_to, **surface.reply_to()}
        if reply_to != entry.reply_to:
            await self.journal.update(entry, reply_to=reply_to)

    async def forget(self, entry: JournalEntry) -> None:
        """The request was refused before it was queued."""
        await self.journal.discard(entry)

    async def sent(self, entry: JournalEntry, count: int) -> None:
        await self.journal.update(entry, delivered=count)

    async def requeue(self, entry: JournalEntry, *, new_attempt: bool) -> None:
        await self.journal.update(entry, state=QUEUED, new_attempt=new_attempt)

    async def finish(self, entry: JournalEntry, *, failed: bool = False) -> None:
        await self.journal.finish(entry, FAILED if failed else DONE)
        if time.monotonic() - self._pruned_at > PRUNE_EVERY_S:
            await self.prune()

    async def drop(self, entry: JournalEntry) -> None:
        await self.journal.finish(entry, DROPPED)

    async def prune(self) -> None:
        self._pruned_at = time.monotonic()
        pruned = await self.journal.prune(self.keep_s)
        if pruned:
            log.info("journal: pruned %d finished jobs", pruned)

    async def unfinished(self) -> list[JournalEntry]:
        """This platform's jobs that the last run left unfinished."""
        return [
            entry
            for entry in await self.journal.unfinished()
            if entry.reply_to.get("platform", DEFAULT_PLATFORM) == self.platform
        ]

    # -- stopping ---------------------------------------------------------------------

    def track(self, entry: JournalEntry, surface: Surface, watcher: asyncio.Task[None]) -> None:
        self._live[entry.id] = _Live(entry, surface, watcher)

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
        await asyncio.gather(*(_tell_restarting(job.surface) for job in live))


async def _tell_restarting(surface: Surface) -> None:
    if not surface.can_edit:
        return
    with contextlib.suppress(Exception):  # the platform's HTTP error: nothing more to do
        await surface.show_wait(RESTARTING, [])
