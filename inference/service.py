"""The async inference service: queues, dynamic batching, model cache, worker threads.

How a request flows::

    run()/submit() -> parse (event loop, cheap) -> lane queue of its task
        -> the lane's dispatcher picks a batch (fair across users, equal batch keys)
        -> models loaded once, in a worker thread, cached
        -> the device lock is taken (one batch per device at a time)
        -> task.run_batch() in a worker thread -> each job's future gets its result

Nothing blocking runs on the event loop: loading, tokenising, forward passes and
encoding all happen inside ``load``/``run_batch`` in the thread pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Hashable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .device import Placement, resolve_placement
from .errors import (
    Busy,
    InferenceError,
    JobCancelled,
    JobTimeout,
    ModelUnavailable,
    UnknownTask,
)
from .jobs import JobState, JobUpdate, ServiceStatus
from .results import Result
from .settings import InferenceSettings, TaskLimits
from .tasks import TASKS
from .tasks.base import Task, check_model_source

log = logging.getLogger(__name__)

#: How long a failed model load is remembered before the next request tries again.
LOAD_FAILURE_TTL_S = 60.0


@dataclass(frozen=True)
class Limits:
    max_batch_size: int
    max_wait_ms: float
    max_queue: int
    timeout_s: float


class Job:
    """A handle on one submitted request: its state, queue position, progress, result."""

    _ids = itertools.count()

    def __init__(self, lane: _Lane, request: Any, user: Hashable | None) -> None:
        self.id = uuid.uuid4().hex[:12]
        self.task = lane.task.name
        self.request = request
        self.user = user
        self.state = JobState.QUEUED
        self.progress: tuple[int, int] | None = None
        self.created_at = time.monotonic()
        self.seq = next(self._ids)
        self.round = 0  # set by the lane: its place in the fair order
        self._lane = lane
        self._future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._future.add_done_callback(_consume_exception)
        self._changed = asyncio.Event()
        self._timeout: asyncio.TimerHandle | None = None

    @property
    def position(self) -> int | None:
        """How many queued requests of the same task run before this one (None once started)."""
        return self._lane.position_of(self) if self.state is JobState.QUEUED else None

    @property
    def done(self) -> bool:
        return self.state.finished

    def snapshot(self) -> JobUpdate:
        return JobUpdate(
            self.state, self.position, self.progress, time.monotonic() - self.created_at
        )

    def cancel(self) -> bool:
        """Cancel the job. A queued job leaves the queue; a running one stops at its next
        step where the task can stop (image steps), else its result is discarded.
        Returns False when the job had already finished."""
        if self.done:
            return False
        self._lane.forget(self)
        self._finish(JobState.CANCELLED, error=JobCancelled("The request was cancelled."))
        return True

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

    # -- used by the service --------------------------------------------------------

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

    def _finish(
        self, state: JobState, result: Result | None = None, error: BaseException | None = None
    ) -> None:
        if self.done:
            return
        self.state = state
        if error is not None:
            self._future.set_exception(error)
        else:
            self._future.set_result(result)  # type: ignore[arg-type]
        self._lane.service._job_finished(self)
        self._notify()


def _consume_exception(future: asyncio.Future[Any]) -> None:
    # A job nobody awaits (its user left) must not log "exception was never retrieved".
    if not future.cancelled():
        future.exception()


class _Context:
    """The BatchContext a running batch sees; called from the worker thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, jobs: Sequence[Job]) -> None:
        self._loop = loop
        self._jobs = jobs

    def progress(self, index: int, done: int, total: int) -> None:
        # The loop is closed when the service shut down under a running batch; the batch
        # must still end normally (its results are discarded).
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._jobs[index]._set_progress, done, total)

    def cancelled(self, index: int) -> bool:
        return self._jobs[index].done

    def checkpoint(self) -> None:
        pass


class _Lane:
    """The queue and batch dispatcher of one task."""

    def __init__(self, service: InferenceService, task: Task[Any, Any], limits: Limits) -> None:
        self.service = service
        self.task = task
        self.limits = limits
        self.queue: list[Job] = []
        self.running: list[Job] = []
        self.batch_seconds = 1.0  # moving average, for "retry in" hints
        self._round = 0  # the fairness round being served
        self._next_round: dict[Hashable, int] = {}  # user -> round of their next job
        self._wakeup = asyncio.Event()
        self._dispatcher = asyncio.create_task(self._dispatch(), name=f"lane-{task.name}")

    # -- queue ----------------------------------------------------------------------

    def fair_order(self) -> list[Job]:
        """Queued jobs in the order they will run: by round, then by arrival. A user's
        n-th waiting job is in round n (counted from the round being served), so each
        user's first job runs before anyone's second, and a burst cannot starve others."""
        return sorted(self.queue, key=lambda job: (job.round, job.seq))

    def position_of(self, job: Job) -> int | None:
        try:
            return self.fair_order().index(job)
        except ValueError:
            return None

    def add(self, job: Job) -> None:
        if len(self.queue) >= self.limits.max_queue:
            raise Busy(
                f"The {self.task.name} queue is full; try again in about "
                f"{self.retry_after():.0f} s.",
                retry_after=self.retry_after(),
            )
        if job.user is None:  # every anonymous request is a user of its own
            job.round = self._round
        else:
            job.round = max(self._round, self._next_round.get(job.user, 0))
            self._next_round[job.user] = job.round + 1
        self.queue.append(job)
        self._wakeup.set()
        self._notify_queued()

    def forget(self, job: Job) -> None:
        """Take a cancelled or expired job out of the queue. When it was its user's last
        one, the user gets its round back: cancelling must not send their next request
        behind everyone else's."""
        if job in self.queue:
            self.queue.remove(job)
            if job.user is not None and self._next_round.get(job.user) == job.round + 1:
                self._next_round[job.user] = job.round
            self._notify_queued()

    def retry_after(self) -> float:
        batches_ahead = math.ceil((len(self.queue) + 1) / self.limits.max_batch_size)
        return max(1.0, batches_ahead * self.batch_seconds)

    def _notify_queued(self) -> None:
        for job in self.queue:
            job._notify()

    # -- dispatch -------------------------------------------------------------------

    async def _dispatch(self) -> None:
        while True:
            while not self.queue:
                self._wakeup.clear()
                await self._wakeup.wait()
            await self._gather_window()
            if not self.queue:  # all cancelled while we waited
                continue
            batch = self._take_batch()
            self.running = batch
            try:
                await self._run(batch)
            except Exception as exc:  # never let one batch kill the lane
                log.exception("batch of %s failed", self.task.name)
                for job in batch:
                    job._finish(JobState.FAILED, error=exc)
            finally:
                self.running = []

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

    def _take_batch(self) -> list[Job]:
        order = self.fair_order()
        key = self.task.batch_key(order[0].request)
        batch = [job for job in order if self.task.batch_key(job.request) == key]
        batch = batch[: self.limits.max_batch_size]
        for job in batch:
            self.queue.remove(job)
            job._set_state(JobState.LOADING)
        self._round = max(self._round, batch[0].round)
        if len(self._next_round) > 1024:  # forget users with nothing waiting
            self._next_round = {u: r for u, r in self._next_round.items() if r > self._round}
        self._notify_queued()
        return batch

    async def _run(self, batch: list[Job]) -> None:
        service = self.service
        try:
            models = {
                model_id: await service._model(self.task, model_id)
                for model_id in self.task.models_for(batch[0].request)
            }
        except ModelUnavailable as exc:
            for job in batch:
                job._finish(JobState.FAILED, error=exc)
            return

        async with service._device_lock:
            batch = [job for job in batch if not job.done]  # cancelled while loading
            if not batch:
                return
            for job in batch:
                job._set_state(JobState.RUNNING)
            started = time.monotonic()
            outcomes = await service._in_thread(self._run_isolated, models, batch)
            seconds = time.monotonic() - started
            self.batch_seconds = 0.8 * self.batch_seconds + 0.2 * seconds

        for job, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                job._finish(JobState.FAILED, error=outcome)
            else:
                job._finish(JobState.DONE, result=outcome)

    def _run_isolated(self, models: Mapping[str, Any], batch: list[Job]) -> list[Any]:
        """Run the batch; when it raises as a whole, run its requests one by one so that
        one bad request fails alone. Runs in a worker thread."""
        loop = self.service._loop
        requests = [job.request for job in batch]
        try:
            return self.task.run_batch(models, requests, _Context(loop, batch))
        except Exception as exc:
            if len(batch) == 1:
                return [exc]
            log.warning(
                "batch of %d %s requests failed; retrying one by one",
                len(batch),
                self.task.name,
                exc_info=True,
            )
        outcomes: list[Any] = []
        for job in batch:
            if job.done:  # cancelled or timed out meanwhile: no need to run it again
                outcomes.append(JobCancelled("The request was cancelled."))
                continue
            try:
                outcomes += self.task.run_batch(models, [job.request], _Context(loop, [job]))
            except Exception as exc:
                outcomes.append(exc)
        return outcomes

    async def close(self) -> None:
        pending = [*self.queue, *self.running]
        self._dispatcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._dispatcher
        for job in pending:
            job._finish(JobState.CANCELLED, error=JobCancelled("The service is shutting down."))
        self.queue.clear()


class InferenceService:
    """Runs tasks asynchronously with batching, bounded queues and a model cache.

    Use it as ``async with InferenceService() as service: await service.run("sentiment",
    text="...")``. ``models`` overrides the model of some tasks (Hub ids or directories);
    ``limits`` overrides batching and queue limits per task.
    """

    def __init__(
        self,
        settings: InferenceSettings | None = None,
        *,
        models: Mapping[str, str] | None = None,
        limits: Mapping[str, TaskLimits] | None = None,
        placement: Placement | None = None,
        workers: int = 4,
    ) -> None:
        self.settings = settings or InferenceSettings()
        unknown = set(models or {}) - set(TASKS)
        if unknown:
            raise UnknownTask(f"Unknown task {sorted(unknown)[0]!r}.")
        self._models_override = dict(models or {})
        self._limits_override = {**self.settings.task_limits, **(limits or {})}
        self.placement = placement or resolve_placement(self.settings.device, self.settings.dtype)
        self._workers = workers
        self._executor: ThreadPoolExecutor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lanes: dict[str, _Lane] = {}
        self._cache: dict[tuple[str, str], Any] = {}
        self._loading: dict[tuple[str, str], asyncio.Future[Any]] = {}
        self._failed: dict[tuple[str, str], tuple[float, ModelUnavailable]] = {}
        self._active_per_user: Counter[Hashable] = Counter()
        self._started_at = time.monotonic()
        self._device_lock: asyncio.Lock

    # -- lifecycle ------------------------------------------------------------------

    async def start(self) -> InferenceService:
        """Start the worker threads and preload the models listed in PRELOAD."""
        if self._loop is not None:
            return self
        self._loop = asyncio.get_running_loop()
        self._executor = ThreadPoolExecutor(self._workers, thread_name_prefix="inference")
        self._device_lock = asyncio.Lock()
        self._started_at = time.monotonic()
        preload = self.settings.preload_tasks(list(TASKS))
        if preload:
            await self.preload(preload)
        return self

    async def close(self) -> None:
        """Cancel queued and running jobs and stop the worker threads."""
        for lane in self._lanes.values():
            await lane.close()
        self._lanes.clear()
        for loading in self._loading.values():  # its thread finishes; the model is dropped
            loading.cancel()
        self._loading.clear()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        self._loop = None

    async def __aenter__(self) -> InferenceService:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- requests -------------------------------------------------------------------

    def submit(self, task: str, *, user: Hashable | None = None, **inputs: Any) -> Job:
        """Validate a request and queue it; returns its job at once.

        Raises ``InvalidInput`` / ``UnknownTask`` for a bad request and ``Busy`` when
        the task's queue or the user's share is full. ``user`` identifies the requester
        for fairness and the per-user bound; None means no bound.
        """
        lane = self._lane(task)
        request = lane.task.parse(**inputs)
        if user is not None and self._active_per_user[user] >= self.settings.max_per_user:
            raise Busy(
                f"You already have {self._active_per_user[user]} requests running; "
                "wait for one to finish.",
                retry_after=lane.retry_after(),
            )
        job = Job(lane, request, user)
        lane.add(job)
        if user is not None:
            self._active_per_user[user] += 1
        assert self._loop is not None
        job._timeout = self._loop.call_later(lane.limits.timeout_s, self._expire, job)
        return job

    async def run(self, task: str, *, user: Hashable | None = None, **inputs: Any) -> Result:
        """Run one request and return its result (see ``submit`` for the errors)."""
        return await self.submit(task, user=user, **inputs).result()

    async def preload(self, tasks: Sequence[str]) -> dict[str, str | None]:
        """Load the default model of each task now; returns task -> error (None if ok)."""
        report: dict[str, str | None] = {}
        for name in tasks:
            lane = self._lane(name)
            try:
                for model_id in _default_models(lane.task):
                    await self._model(lane.task, model_id)
                report[name] = None
            except ModelUnavailable as exc:
                log.warning("preload of %s failed: %s", name, exc.reason)
                report[name] = exc.reason
        return report

    def task(self, name: str) -> Task[Any, Any]:
        """The task object of ``name`` (for its parse rules and help text)."""
        return self._lane(name).task

    def job(self, job_id: str) -> Job | None:
        """The queued or running job with this id; None once it has finished, or for an
        id it never had (a Cancel button that outlived its request or the process)."""
        for lane in self._lanes.values():
            for job in (*lane.queue, *lane.running):
                if job.id == job_id and not job.done:
                    return job
        return None

    def loaded_models(self, task: str) -> list[Any]:
        """The models of ``task`` loaded so far (for diagnostics and tests)."""
        return [model for (name, _), model in self._cache.items() if name == task]

    def status(self) -> ServiceStatus:
        now = time.monotonic()
        return ServiceStatus(
            device=self.placement.describe(),
            uptime_s=now - self._started_at,
            loaded_models=[f"{task}: {model}" for task, model in self._cache],
            queued={name: len(lane.queue) for name, lane in self._lanes.items()},
            running={name: len(lane.running) for name, lane in self._lanes.items()},
            failed_models={
                f"{task}: {model}": err.reason
                for (task, model), (when, err) in self._failed.items()
                if now - when < LOAD_FAILURE_TTL_S
            },
        )

    # -- internals ------------------------------------------------------------------

    def _lane(self, name: str) -> _Lane:
        if self._loop is None:
            raise RuntimeError("InferenceService is not started: use 'async with' or start()")
        name = str(name).strip().lower()
        lane = self._lanes.get(name)
        if lane is None:
            if name not in TASKS:
                raise UnknownTask(f"Unknown task {name!r}; known tasks: {', '.join(TASKS)}.")
            cls = TASKS[name]
            model = self._models_override.get(name) or self.settings.model_for(name)
            task = cls(model, self.placement, self.settings)
            lane = self._lanes[name] = _Lane(self, task, self._limits_for(cls))
        return lane

    def _limits_for(self, cls: type[Task[Any, Any]]) -> Limits:
        override = self._limits_override.get(cls.name, TaskLimits())
        s = self.settings
        return Limits(
            max_batch_size=min(override.max_batch_size or s.max_batch_size, cls.max_batch_size),
            max_wait_ms=s.max_wait_ms if override.max_wait_ms is None else override.max_wait_ms,
            max_queue=override.max_queue or s.max_queue,
            timeout_s=override.timeout_s or cls.timeout_s or s.job_timeout_s,
        )

    async def _in_thread(self, fn: Any, *args: Any) -> Any:
        assert self._loop is not None
        return await self._loop.run_in_executor(self._executor, fn, *args)

    async def _model(self, task: Task[Any, Any], model_id: str) -> Any:
        """The loaded model, loading it once however many requests ask at the same time."""
        key = (task.name, model_id)
        if key in self._cache:
            return self._cache[key]
        failed = self._failed.get(key)
        if failed and time.monotonic() - failed[0] < LOAD_FAILURE_TTL_S:
            # A fresh error each time: raising the remembered one again and again would
            # grow its traceback (and keep every caller's frames alive) for the whole TTL.
            error = failed[1]
            raise ModelUnavailable(error.task, error.model, error.reason)
        if key not in self._loading:
            self._loading[key] = asyncio.ensure_future(self._load(task, model_id))
        try:
            return await asyncio.shield(self._loading[key])
        finally:
            if self._loading.get(key) is not None and self._loading[key].done():
                del self._loading[key]

    async def _load(self, task: Task[Any, Any], model_id: str) -> Any:
        key = (task.name, model_id)
        started = time.monotonic()
        try:
            check_model_source(task.name, model_id)
            model = await self._in_thread(task.load, model_id)
        except ModelUnavailable as exc:
            self._failed[key] = (time.monotonic(), exc)
            raise
        except Exception as exc:
            error = ModelUnavailable(task.name, model_id, _short_reason(exc))
            log.warning("loading %s model %s failed: %s", task.name, model_id, error.reason)
            log.debug("loading %s model %s failed", task.name, model_id, exc_info=True)
            self._failed[key] = (time.monotonic(), error)
            raise error from exc
        log.info("loaded %s model %s in %.1f s", task.name, model_id, time.monotonic() - started)
        self._failed.pop(key, None)
        self._cache[key] = model
        return model

    def _expire(self, job: Job) -> None:
        if not job.done:
            job._lane.forget(job)
            limit = job._lane.limits.timeout_s
            job._finish(
                JobState.FAILED,
                error=JobTimeout(f"The request took longer than {limit:.0f} s and was stopped."),
            )

    def _job_finished(self, job: Job) -> None:
        if job._timeout is not None:
            job._timeout.cancel()
        if job.user is not None:
            self._active_per_user[job.user] -= 1
            if self._active_per_user[job.user] <= 0:
                del self._active_per_user[job.user]


def _default_models(task: Task[Any, Any]) -> tuple[str, ...]:
    default = getattr(task, "default_models", None)
    return tuple(default()) if callable(default) else (task.model,)


def _short_reason(exc: BaseException) -> str:
    """One line from a library's (often very long) error message."""
    text = str(exc).strip() or type(exc).__name__
    first = next((line.strip() for line in text.splitlines() if line.strip()), text)
    if "offline" in text.lower() or "couldn't connect" in text.lower():
        first = "not found locally and the Hugging Face Hub cannot be reached"
    elif "is not a local folder and is not a valid model identifier" in text:
        first = "no such model on the Hugging Face Hub"
    return first if len(first) <= 200 else first[:197] + "..."


__all__ = [
    "InferenceError",
    "InferenceService",
    "Job",
    "JobState",
    "JobUpdate",
    "ServiceStatus",
]
