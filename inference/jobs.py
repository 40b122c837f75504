"""What a caller sees of a request: its state, its handle, the service's status; and
``Job``, the handle of the in-process service (``InferenceService``).

Every way of running tasks (the in-process ``InferenceService``, the HTTP client of a
remote server, a Ray Serve cluster) speaks this one protocol, so the bot, the
command line and the HTTP server never need to know which one they have.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .errors import Busy, JobCancelled, JobTimeout
from .results import Result

if TYPE_CHECKING:
    from .lanes import Lane


class JobState(str, Enum):
    QUEUED = "queued"
    LOADING = "loading"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


@dataclass(frozen=True)
class JobUpdate:
    """A snapshot of a job, for showing its state to the person waiting for it."""

    state: JobState
    position: int | None
    progress: tuple[int, int] | None
    elapsed_s: float


@dataclass
class ServiceStatus:
    """What ``/status`` and operators want to know. Models are named by their display
    name (a Hub id, or a local directory's last part), never by a filesystem path."""

    device: str
    uptime_s: float
    loaded_models: list[str]
    queued: dict[str, int]
    running: dict[str, int]
    failed_models: dict[str, str] = field(default_factory=dict)
    #: Memory of the loaded models, and the budget they live within (MODEL_MEMORY_MB).
    memory_used_mb: float = 0.0
    memory_budget_mb: float | None = None


@runtime_checkable
class JobHandle(Protocol):
    """One submitted request, wherever it runs."""

    id: str
    task: str

    @property
    def state(self) -> JobState: ...

    @property
    def position(self) -> int | None:
        """Requests ahead of this one in its queue; None once it has started."""

    @property
    def progress(self) -> tuple[int, int] | None: ...

    @property
    def done(self) -> bool: ...

    def snapshot(self) -> JobUpdate: ...

    def cancel(self) -> bool:
        """Cancel the job; False when it had already finished."""

    async def accepted(self) -> None:
        """Wait until the backend has taken the job in, and raise its refusal (``Busy``,
        say) when it failed before that. A remote backend answers only once the request
        reached it; in-process, ``submit`` itself refuses, so this returns at once."""

    async def result(self) -> Result:
        """Wait for the result; raises the job's ``InferenceError`` when it failed."""

    async def finished(self, timeout: float | None = None) -> bool:
        """Wait until the job has finished, at most ``timeout`` seconds; True if it has."""

    def updates(self) -> AsyncIterator[JobUpdate]:
        """A snapshot now and after every change, until the job has finished."""


@runtime_checkable
class Backend(Protocol):
    """Something that runs tasks: ``InferenceService`` in this process, or a client of
    one elsewhere. ``task(name)`` gives the task object (its parse rules, voices,
    languages) without loading any model."""

    async def start(self) -> Any: ...

    async def close(self) -> None: ...

    def submit(self, task: str, *, user: Hashable | None = None, **inputs: Any) -> JobHandle: ...

    async def run(self, task: str, *, user: Hashable | None = None, **inputs: Any) -> Result: ...

    async def preload(self, tasks: Sequence[str]) -> dict[str, str | None]: ...

    def task(self, name: str) -> Any: ...

    def job(self, job_id: str) -> JobHandle | None: ...

    def status(self) -> ServiceStatus: ...


# -- the in-process service's handle --------------------------------------------------


class JobBase:
    """What every job handle shares, wherever the job runs: its id, state and
    progress, a future for its outcome, and an event at every change (``updates``).
    Subclasses say where the position comes from and how a job finishes (``_finish``)."""

    position: int | None = None

    def __init__(self, task: str, user: Hashable | None) -> None:
        self.id = uuid.uuid4().hex[:12]
        self.task = task
        self.user = user
        self.state = JobState.QUEUED
        self.progress: tuple[int, int] | None = None
        self.created_at = time.monotonic()
        self._future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._future.add_done_callback(_consume_exception)
        self._changed = asyncio.Event()

    @property
    def done(self) -> bool:
        return self.state.finished

    def snapshot(self) -> JobUpdate:
        return JobUpdate(
            self.state, self.position, self.progress, time.monotonic() - self.created_at
        )

    def cancel(self) -> bool:
        """Cancel the job; False when it had already finished."""
        if self.done:
            return False
        self._finish(JobState.CANCELLED, error=JobCancelled("The request was cancelled."))
        return True

    async def accepted(self) -> None:
        """In-process jobs are taken in (or refused) by ``submit`` itself."""

    async def result(self) -> Result:
        """Wait for the result; raises the job's ``InferenceError`` when it failed."""
        return await asyncio.shield(self._future)

    async def finished(self, timeout: float | None = None) -> bool:
        """Wait until the job has finished, at most ``timeout`` seconds; True if it has."""
        await asyncio.wait({self._future}, timeout=timeout)
        return self.done

    async def updates(self) -> AsyncIterator[JobUpdate]:
        """Yield a snapshot now and after every change, until the job has finished."""
        while True:
            self._changed.clear()
            snapshot = self.snapshot()
            yield snapshot
            if snapshot.state.finished:
                return
            await self._changed.wait()

    def _settle(self, state: JobState, result: Result | None, error: BaseException | None) -> bool:
        """Record the outcome once; False when the job had already finished."""
        if self.done:
            return False
        self.state = state
        if error is not None:
            self._future.set_exception(error)
        else:
            self._future.set_result(result)  # type: ignore[arg-type]
        self._changed.set()
        return True

    def _finish(
        self, state: JobState, result: Result | None = None, error: BaseException | None = None
    ) -> None:
        raise NotImplementedError


class PerUserBound:
    """How many requests each user has in a backend, within MAX_PER_USER: ``check``
    before queueing (``Busy`` when the user is at the bound), ``add`` once queued,
    ``give_back`` when the job let go."""

    def __init__(self, limit: Callable[[], int]) -> None:
        self.limit = limit
        self._active: Counter[Hashable] = Counter()

    def check(self, user: Hashable | None, retry_after: Callable[[], float]) -> None:
        if user is not None and self._active[user] >= self.limit():
            raise Busy(
                f"You already have {self._active[user]} requests running; wait for one to finish.",
                retry_after=retry_after(),
            )

    def add(self, user: Hashable | None) -> None:
        if user is not None:
            self._active[user] += 1

    def give_back(self, user: Hashable | None) -> None:
        if user is not None and self._active[user] > 0:
            self._active[user] -= 1
            if self._active[user] <= 0:
                del self._active[user]


def _consume_exception(future: asyncio.Future[Any]) -> None:
    # A job nobody awaits (its user left) must not log "exception was never retrieved".
    if not future.cancelled():
        future.exception()


class Job(JobBase):
    """A handle on one submitted request: its state, queue position, progress, result."""

    _ids = itertools.count()

    def __init__(self, lane: Lane, request: Any, user: Hashable | None) -> None:
        super().__init__(lane.task.name, user)
        self.request = request
        self.seq = next(self._ids)
        #: Estimated device seconds, and the fair tag the lane orders by.
        self.cost_s = lane.estimate(request)
        self.tag = 0.0
        self._lane = lane
        self._released = asyncio.Event()
        self._timer: asyncio.TimerHandle | None = None

    @property
    def position(self) -> int | None:
        """How many queued requests of the same task run before this one (None once started)."""
        return self._lane.position_of(self) if self.state is JobState.QUEUED else None

    async def released(self) -> None:
        """Wait until no worker holds the job any more (after it finished or was
        cancelled, the batch it ran in has stopped): its user's slot is free then."""
        await self._released.wait()

    # -- used by the lane and the service ----------------------------------------------

    def _notify(self) -> None:
        self._changed.set()

    def _set_state(self, state: JobState) -> None:
        if not self.done:
            self.state = state
            self._notify()

    def _set_progress(self, done: int, total: int) -> None:
        if not self.done:
            self.progress = (done, total)
            self._notify()

    def _start_running(self) -> None:
        """The job's batch holds the device: the queue's time limit (which covers
        waiting for a model too) ends, and its run time limit starts."""
        if not self.done:
            self._set_timer(self._lane.limits.timeout_s, running=True)
            self._set_state(JobState.RUNNING)

    def _set_timer(self, seconds: float, *, running: bool) -> None:
        if self._timer is not None:
            self._timer.cancel()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(seconds, self._expire, seconds, running)

    def _expire(self, seconds: float, running: bool) -> None:
        if running:
            error = JobTimeout(f"The request took longer than {seconds:.0f} s and was stopped.")
        else:
            error = JobTimeout(
                f"The request waited more than {seconds:.0f} s in the queue; the bot is "
                "very busy, please try again later."
            )
        self._finish(JobState.FAILED, error=error)

    def _finish(
        self, state: JobState, result: Result | None = None, error: BaseException | None = None
    ) -> None:
        """Finish the job (cancelled: a queued job leaves the queue; a running one stops
        at its task's next check, a step, a token or a chunk group)."""
        if not self._settle(state, result, error):
            return
        if self._timer is not None:
            self._timer.cancel()
        self._lane.forget(self)

    def _release(self) -> None:
        if not self._released.is_set():
            self._released.set()
            self._lane.service._slot_free(self)
