"""Running an inference job for a request, the same way for every command and platform.

``JobRunner.run`` journals the request (so that a restart loses nothing), submits it (bad
input and "busy" fail here, before anything is public), acknowledges it within the
platform's deadline, keeps the user posted on the queue position and progress, then
puts the rendered result in place of the placeholder. ``follow`` is the part a job
resumed after a restart shares with it: waiting, rendering and delivering. Everything a
platform does differently is behind its ``Surface``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from inference import Backend, Busy, InferenceError, JobHandle, Result
from store import JournalEntry

from .cards import Button
from .errors import Interrupted, error_message
from .journal import SUSPENDED, JobJournal
from .render.base import describe_wait
from .surface import Surface

log = logging.getLogger(__name__)

#: Progress edits are spaced at least this far apart (platforms rate-limit edits).
EDIT_INTERVAL_S = 1.0
#: What a user sees of a job that was picked up again after a restart.
RESUMED = "🔁 Resumed after a restart."
#: A job that was running each time the bot died (it may be what kills it) is given up
#: after this many runs. Clean restarts (SIGTERM) do not count.
MAX_ATTEMPTS = 3
#: How often a resumed job that found its queue full tries again.
BUSY_RETRY_S = 1.0

#: Rebuilds a journaled request's surface after a restart (from ``Surface.reply_to``).
SurfaceFactory = Callable[[dict[str, Any]], Surface]


class JobRunner:
    """Runs requests on ``service`` for one platform, journaling them in ``journal``;
    ``surface_for`` rebuilds a journaled request's surface when the bot starts again."""

    def __init__(
        self,
        service: Backend,
        journal: JobJournal,
        surface_for: SurfaceFactory,
        *,
        edit_interval_s: float = EDIT_INTERVAL_S,
    ) -> None:
        self.service = service
        self.journal = journal
        self.surface_for = surface_for
        self.edit_interval_s = edit_interval_s
        #: Handlers waiting on a job; shutdown lets them tell their users.
        self.waiting: set[asyncio.Task[Any]] = set()

    def hold(self, task: asyncio.Task[Any] | None) -> None:
        """Keep ``task`` in ``waiting`` until it ends."""
        if task is not None:
            self.waiting.add(task)
            task.add_done_callback(self.waiting.discard)

    # -- a fresh request --------------------------------------------------------------

    async def run(
        self,
        surface: Surface,
        task: str,
        *,
        what: str = "request",
        render_args: dict[str, Any] | None = None,
        **inputs: Any,
    ) -> Result:
        """Run ``task`` for ``surface`` and deliver its result; returns the result.

        ``inputs`` and ``render_args`` must be JSON-safe (they are journaled). The
        surface's Cancel button, if it has one for ``task``, shows while the job waits
        and runs. Errors propagate to the caller, which answers them.
        """
        entry = await self.journal.record(surface, task, inputs, what=what, render=render_args)
        try:
            job = self.service.submit(task, user=surface.user, **inputs)
        except BaseException:
            await self.journal.forget(entry)
            raise
        self.hold(asyncio.current_task())
        try:
            await surface.acknowledge()
            await self.journal.acknowledged(entry, surface)
        except asyncio.CancelledError:
            job.cancel()
            raise
        except Exception:  # too late to acknowledge: nothing to resume
            job.cancel()
            await self.journal.finish(entry, failed=True)
            raise
        return await self.follow(job, entry, surface, what=what)

    async def follow(
        self,
        job: JobHandle,
        entry: JournalEntry,
        surface: Surface,
        *,
        what: str = "request",
        note: str = "",
    ) -> Result:
        """Show ``job``'s progress until it ends, then deliver its result and mark its
        journal ``entry`` done. A job cancelled because the bot is restarting raises
        ``Interrupted`` and stays in the journal, to run again on start."""
        cancel = surface.cancel_button(entry.task, job.id)
        waiting_buttons = [cancel] if cancel is not None else None
        watcher = asyncio.create_task(
            self.show_progress(surface, job, what, waiting_buttons, note=note)
        )
        self.journal.track(entry, surface, watcher)
        try:
            result = await job.result()
        except asyncio.CancelledError:  # the bot is going away: the journal keeps the job
            job.cancel()
            raise
        except InferenceError as exc:
            if self.journal.suspended:  # cancelled by the stopping service ("shutting down")
                raise Interrupted() from exc
            await self.journal.finish(entry, failed=True)
            raise
        except Exception:
            await self.journal.finish(entry, failed=True)
            raise
        finally:
            self.journal.untrack(entry)
            await asyncio.wait([watcher])  # it ends with the job (or was cancelled by a restart)
        try:
            reply = await surface.render(entry.task, result, entry.reply_to.get("render", {}))
            if waiting_buttons and reply.messages[0].buttons is None:
                reply.messages[0].buttons = []  # the waiting buttons go with the wait
            await surface.deliver(
                reply,
                note=note,
                skip=entry.delivered,
                sent=lambda count: self.journal.sent(entry, count),
            )
        except Exception:  # (a delivery cut short by a restart is delivered again on start)
            await self.journal.finish(entry, failed=True)
            raise
        await self.journal.finish(entry)
        return result

    async def show_progress(
        self,
        surface: Surface,
        job: JobHandle,
        what: str,
        buttons: list[Button] | None = None,
        *,
        note: str = "",
    ) -> None:
        """Edit the placeholder with the job's state until the job has finished.

        Edits are spaced ``edit_interval_s`` apart; changes in between are coalesced.
        Failures here are logged and never break the job itself.
        """
        last_text = None
        last_edit = 0.0
        try:
            async for update in job.updates():
                if update.state.finished:
                    return
                wait = last_edit + self.edit_interval_s - time.monotonic()
                if wait > 0 and await job.finished(timeout=wait):
                    return
                text = describe_wait(job.snapshot(), what=what)
                if note:
                    text = f"{note} {text}"
                if text == last_text or not surface.can_edit:
                    continue
                # the first edit sets the buttons (an empty list clears those of a wait
                # before a restart); later ones leave them
                await surface.show_wait(text, (buttons or []) if last_text is None else None)
                last_text, last_edit = text, time.monotonic()
        except Exception as exc:  # an edit refused (rate limit, a deleted message...)
            log.info("progress edit failed for job %s: %s", job.id, exc)

    # -- after a restart --------------------------------------------------------------

    async def resume_all(self) -> list[asyncio.Task[None]]:
        """Run again every job of this platform that the last run left unfinished (in
        the background; the tasks are returned and held in ``waiting``)."""
        await self.journal.prune()
        tasks = []
        for entry in await self.journal.unfinished():
            task = asyncio.create_task(self.resume(entry), name=f"resume-{entry.id}")
            self.hold(task)
            tasks.append(task)
        if tasks:
            log.info("journal: resuming %d unfinished jobs", len(tasks))
        return tasks

    async def resume(self, entry: JournalEntry) -> None:
        surface = self.surface_for(entry.reply_to)
        what = f"{entry.task} job {entry.id} of user {entry.user}"
        crashed = entry.state != SUSPENDED
        if crashed and entry.attempts + 1 >= MAX_ATTEMPTS:
            log.warning("journal: %s dropped: the bot died %d times running it", what, MAX_ATTEMPTS)
            await self.journal.drop(entry)
            await self._tell(surface, "😵 Sorry, this request could not be finished.")
            return
        if time.time() - entry.created_at > self.journal.keep_s:
            log.warning("journal: %s dropped: older than JOURNAL_KEEP_HOURS", what)
            await self.journal.drop(entry)
            return
        if not surface.deliverable:
            log.warning("journal: %s dropped: there is no way left to answer it", what)
            await self.journal.drop(entry)
            return
        await self.journal.requeue(entry, new_attempt=crashed)
        try:
            job = await self._submit(entry, surface)
        except Interrupted:
            return
        except Exception as exc:  # the settings changed under it (a model, a limit)
            await self.journal.finish(entry, failed=True)
            await self._tell(surface, error_message(exc, what, entry.user))
            return
        try:
            await self.follow(
                job, entry, surface, what=entry.reply_to.get("what", "request"), note=RESUMED
            )
        except Interrupted:
            pass  # stopped again: the next start resumes it
        except Exception as exc:
            await self._tell(surface, error_message(exc, what, entry.user))

    async def _submit(self, entry: JournalEntry, surface: Surface) -> JobHandle:
        """Submit a resumed job, waiting for room while the queue is full (many jobs may
        come back at once; they were accepted, so they wait rather than fail)."""
        while True:
            try:
                job = self.service.submit(entry.task, user=surface.user, **entry.inputs)
                await job.accepted()  # a remote backend says "busy" only once asked
                return job
            except Busy:
                if self.journal.suspended:
                    raise Interrupted() from None
                await asyncio.sleep(BUSY_RETRY_S)

    @staticmethod
    async def _tell(surface: Surface, message: str) -> None:
        """A word to the user about a resumed job, in place of its placeholder."""
        if not surface.can_edit:
            return
        try:
            await surface.tell(message)
        except Exception as exc:
            log.info("could not tell the user about a resumed job: %s", exc)
