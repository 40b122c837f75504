"""One task's queue: jobs in fair order, gathered into batches, run on the shared device.

How a request flows through its lane::

    submit -> Job (fair tag from the service's FairClock) -> the lane's queue
      -> the dispatcher waits MAX_WAIT_MS for company, then takes the fairest job and
         the queued jobs that may share its batch (equal batch keys)
      -> the batch's models are acquired from the ModelCache (loaded if missing, pinned)
      -> the batch waits its turn at the DeviceGate, runs in a worker thread
         (long work hands the device to short batches between steps)
      -> each job gets its result; the user's slot is freed once the worker let go.

A batch whose models must be loaded first does not hold up the lane: the next batch,
whose models are loaded, is taken while the load goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import metrics
from .errors import Busy, InferenceError, JobCancelled
from .jobs import Job, JobState
from .scheduling import Ticket
from .settings import InferenceSettings, TaskLimits
from .tasks.base import Task

if TYPE_CHECKING:
    from .service import InferenceService

log = logging.getLogger(__name__)

#: How long a batch that holds the device waits for the event loop to seal it.
SEAL_WAIT_S = 5.0


@dataclass(frozen=True)
class Limits:
    max_batch_size: int
    max_wait_ms: float
    max_queue: int
    #: Seconds a job may run, counted from when it starts running.
    timeout_s: float
    #: Seconds a job may wait in the queue (and for its model) before it starts.
    queue_timeout_s: float

    @classmethod
    def for_task(
        cls, task: type[Task[Any, Any]], settings: InferenceSettings, override: TaskLimits | None
    ) -> Limits:
        """The limits of ``task``: TASK_LIMITS' override, else the global setting, within
        what the task allows (its own batch cap and time limit)."""
        o, s = override or TaskLimits(), settings
        return cls(
            max_batch_size=min(o.max_batch_size or s.max_batch_size, task.max_batch_size),
            max_wait_ms=s.max_wait_ms if o.max_wait_ms is None else o.max_wait_ms,
            max_queue=o.max_queue or s.max_queue,
            timeout_s=o.timeout_s or task.timeout_s or s.job_timeout_s,
            queue_timeout_s=o.queue_timeout_s or s.queue_timeout_s,
        )


class BatchRun:
    """The BatchContext a running batch sees; called from its worker thread."""

    def __init__(
        self, lane: Lane, jobs: Sequence[Job], ticket: Ticket, loop: asyncio.AbstractEventLoop
    ) -> None:
        self._lane = lane
        self._jobs = jobs
        self._ticket = ticket
        self._loop = loop

    def progress(self, index: int, done: int, total: int) -> None:
        # The loop is closed when the service shut down under a running batch; the batch
        # must still end normally (its results are discarded).
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._jobs[index]._set_progress, done, total)

    def cancelled(self, index: int) -> bool:
        return self._jobs[index].done

    def checkpoint(self) -> None:
        if self._lane.task.long_running:
            self._lane.service.gate.checkpoint(self._ticket)


class Lane:
    """The queue and batch dispatcher of one task."""

    def __init__(self, service: InferenceService, task: Task[Any, Any], limits: Limits) -> None:
        self.service = service
        self.task = task
        self.limits = limits
        self.queue: list[Job] = []
        #: Jobs taken into batches: loading their models, waiting for the device, running.
        self.active: list[Job] = []
        #: Device seconds per unit of ``task.cost()``: a moving average, for fair tags
        #: and "retry in" hints.
        self.seconds_per_cost = 1.0
        self._batches: set[asyncio.Task[None]] = set()
        #: Batches whose models are loaded, waiting for the device or running: while there
        #: is one, new requests stay queued, to join it when it gets the device (``_seal``).
        self._ready_batches = 0
        self._wakeup = asyncio.Event()
        self._dispatcher = asyncio.create_task(self._dispatch(), name=f"lane-{task.name}")

    # -- queue ----------------------------------------------------------------------

    def estimate(self, request: Any) -> float:
        return self.task.cost(request) * self.seconds_per_cost

    def fair_order(self) -> list[Job]:
        """Queued jobs in the order they will run: by fair tag, then by arrival."""
        return sorted(self.queue, key=lambda job: (job.tag, job.seq))

    def position_of(self, job: Job) -> int | None:
        """How many jobs go before ``job``: those of batches already waiting for the
        device, then the queue in fair order."""
        waiting = [j for j in self.active if j.state is JobState.QUEUED]
        if job in waiting:
            return waiting.index(job)
        try:
            return len(waiting) + self.fair_order().index(job)
        except ValueError:
            return None

    def add(self, job: Job) -> None:
        if len(self.queue) >= self.limits.max_queue:
            raise Busy(
                f"The {self.task.name} queue is full; try again in about "
                f"{self.retry_after():.0f} s.",
                retry_after=self.retry_after(),
            )
        job.tag = self.service.clock.stamp(job.user, job.cost_s)
        job._set_timer(self.limits.queue_timeout_s, running=False)
        self.queue.append(job)
        self._wakeup.set()
        self._notify_queued()

    def forget(self, job: Job) -> None:
        """A job finished. A queued one leaves the queue (its user's next request takes
        its place in the fair order) and frees its user's slot at once; one in a batch
        frees it when the batch has stopped."""
        if job in self.queue:
            self.queue.remove(job)
            self.service.clock.withdraw(job.user, job.tag, job.cost_s)
            self._notify_queued()
        if job not in self.active:
            job._release()

    def retry_after(self) -> float:
        """Seconds until the queue has drained, as its jobs' estimates say (at least 1)."""
        return max(1.0, sum(job.cost_s for job in self.queue))

    def _notify_queued(self) -> None:
        for job in (*self.queue, *self.active):
            job._notify()

    # -- dispatch -------------------------------------------------------------------

    async def _dispatch(self) -> None:
        while True:
            while not self._takeable():
                self._wakeup.clear()
                await self._wakeup.wait()
            await self._gather_window()
            batch = self._take_batch()
            if batch is None:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            ready = self._models_ready(batch[0])
            self._ready_batches += ready  # counted before the next look at the queue
            run = asyncio.create_task(self._run(batch, ready), name=f"batch-{self.task.name}")
            self._batches.add(run)
            run.add_done_callback(self._batches.discard)

    def _takeable(self) -> bool:
        """Whether a batch could be taken now: jobs wait, and either no batch with loaded
        models is in flight or some job needs a model that is not loaded yet."""
        return bool(self.queue) and (not self._ready_batches or self._first_missing() is not None)

    def _models_ready(self, job: Job) -> bool:
        return all((self.task.name, m) in self.service.models for m in self._models(job))

    def _models(self, job: Job) -> tuple[str, ...]:
        return self.task.models_for(job.request)

    def _first_missing(self) -> Job | None:
        """The fairest queued job whose models are not loaded and not being loaded."""
        for job in self.fair_order():
            keys = [(self.task.name, m) for m in self._models(job)]
            if not all(k in self.service.models or self.service.models.loading(k) for k in keys):
                return job
        return None

    async def _gather_window(self) -> None:
        """Wait up to max_wait_ms for more requests, unless a full batch is already here."""
        deadline = time.monotonic() + self.limits.max_wait_ms / 1000
        while len(self.queue) < self.limits.max_batch_size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), remaining)

    def _take_batch(self) -> list[Job] | None:
        """The fairest job that can go now, with the queued jobs that may share its batch:
        a job whose models are loaded (when no such batch is in flight), else one whose
        models must be loaded (its batch loads them while the lane goes on)."""
        order = self.fair_order()
        if not order:
            return None
        first = None
        if not self._ready_batches:
            first = next((job for job in order if self._models_ready(job)), None)
        if first is None:
            first = self._first_missing()
        if first is None:
            return None
        batch = self._companions(first, order)[: self.limits.max_batch_size]
        for job in batch:
            self.queue.remove(job)
            self.active.append(job)
        self.service.clock.advance(min(job.tag for job in batch))
        self._notify_queued()
        return batch

    def _companions(self, job: Job, order: list[Job]) -> list[Job]:
        """The jobs of ``order`` that may share a batch with ``job`` (equal batch keys)."""
        key = self.task.batch_key(job.request)
        return [other for other in order if self.task.batch_key(other.request) == key]

    async def _run(self, batch: list[Job], ready: bool) -> None:
        """Acquire the batch's models (``ready``: they were loaded when it was taken),
        run it on the device, and hand each job its outcome."""
        keys = [(self.task.name, m) for m in self._models(batch[0])]
        acquired = False
        if not ready:
            for job in batch:
                job._set_state(JobState.LOADING)
        try:
            models = await self.service._acquire_models(self.task, keys)
            acquired = True
            if not ready:  # loaded now: it waits for the device like any ready batch
                self._ready_batches += 1
                ready = True
                for job in batch:
                    job._set_state(JobState.QUEUED)
            await self._run_on_device(batch, {model_id: m for (_, model_id), m in models.items()})
        except Exception as exc:  # a model that cannot load, or a bug: never kill the lane
            if not isinstance(exc, InferenceError):
                log.exception("batch of %s failed", self.task.name)
            for job in batch:
                job._finish(JobState.FAILED, error=exc)
        finally:
            if acquired:
                await self.service.models.release(keys)
            for job in batch:
                self.active.remove(job)
                job._release()
            self._ready_batches -= ready
            self._notify_queued()
            self._wakeup.set()

    async def _run_on_device(self, batch: list[Job], models: Mapping[str, Any]) -> None:
        """Run ``batch`` (a list the lane may still add to, see ``_seal``) on the device
        and hand each job its outcome."""
        if all(job.done for job in batch):  # cancelled while loading
            return
        ticket = Ticket(min(job.tag for job in batch), long=self.task.long_running)
        ran, outcomes = await self.service._in_thread(self._run_isolated, models, batch, ticket)
        if not ran:
            return
        metrics.batch_ran(self.task.name, len(ran))
        seconds = ticket.used_s
        cost = sum(self.task.cost(job.request) for job in ran)
        if cost > 0:
            self.seconds_per_cost = 0.8 * self.seconds_per_cost + 0.2 * seconds / cost
        for job, outcome in zip(ran, outcomes, strict=True):
            self.service.clock.charge(job.user, job.cost_s, seconds / len(ran))
            if isinstance(outcome, BaseException):
                job._finish(JobState.FAILED, error=outcome)
            else:
                job._finish(JobState.DONE, result=outcome)

    def _run_isolated(
        self, models: Mapping[str, Any], batch: list[Job], ticket: Ticket
    ) -> tuple[list[Job], list[Any]]:
        """Hold the device, seal the batch, and run it (one by one when it fails as a
        whole). Returns the jobs that ran and their outcomes. Runs in a worker thread."""
        loop = self.service._loop
        assert loop is not None
        gate = self.service.gate
        gate.acquire(ticket)
        try:
            sealed = threading.Event()
            live: list[Job] = []

            def seal() -> None:
                try:
                    live.extend(self._seal(batch))
                finally:
                    sealed.set()

            with contextlib.suppress(RuntimeError):  # the loop closed under us
                loop.call_soon_threadsafe(seal)
                sealed.wait(SEAL_WAIT_S)
            if not live:
                return [], []
            return live, self.task.run_isolated(
                models,
                [job.request for job in live],
                lambda indices: BatchRun(self, [live[i] for i in indices], ticket, loop),
                lambda index: live[index].done,
            )
        finally:
            gate.release(ticket)

    def _seal(self, batch: list[Job]) -> list[Job]:
        """The batch has the device: requests that arrived while it waited for it, and
        may share it, join it now (up to the batch limit). So a batch waiting out a long
        job's step gathers everything that arrives meanwhile. Returns the jobs that run,
        marked running in the same step (a job cancelled later is one cancelled while
        running: its task sees it)."""
        room = self.limits.max_batch_size - len(batch)
        if room > 0 and self.queue:
            for job in self._companions(batch[0], self.fair_order())[:room]:
                self.queue.remove(job)
                self.active.append(job)
                batch.append(job)
        live = [job for job in batch if not job.done]
        _mark_running(live)
        return live

    async def close(self, grace_s: float) -> None:
        """Cancel every job, then give running batches ``grace_s`` seconds to stop."""
        self._dispatcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._dispatcher
        for job in [*self.queue, *self.active]:
            job._finish(JobState.CANCELLED, error=JobCancelled("The service is shutting down."))
        if self._batches:
            await asyncio.wait(self._batches, timeout=grace_s)
        for run in self._batches:
            run.cancel()
        self.queue.clear()


def _mark_running(batch: Sequence[Job]) -> None:
    for job in batch:
        job._start_running()
    if batch:
        batch[0]._lane._notify_queued()  # the jobs behind them moved up
