"""The async inference service: one lane per task, a fair device, a bounded model cache.

How a request flows (see ``lanes.py`` for a lane's part)::

    submit() -> parse (event loop, cheap) -> the task's lane, in fair order
        -> a batch of equal batch keys -> its models from the ModelCache (memory.py)
        -> the DeviceGate (scheduling.py): one batch on the device at a time, long work
           handing it to short batches between steps
        -> task.run_batch() in a worker thread -> each job's result

Nothing blocking runs on the event loop: loading, tokenising, forward passes and
encoding all happen in worker threads (loads in threads of their own, so a load never
holds up batches of models already loaded).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Hashable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from . import metrics
from .device import Placement, resolve_placement
from .errors import InferenceError, ModelUnavailable, UnknownTask, short_reason
from .jobs import Job, JobState, PerUserBound, ServiceStatus
from .lanes import Lane, Limits
from .memory import (
    MB,
    ModelCache,
    TooBig,
    estimate_model_bytes,
    measure_bytes,
    resolve_budget,
    settle_heap,
)
from .naming import display_name
from .results import Result
from .scheduling import DeviceGate, FairClock
from .settings import InferenceSettings, TaskLimits
from .tasks import TASKS, warm_parsers
from .tasks.base import Task, check_model_source

log = logging.getLogger(__name__)

#: How long a failed model load is remembered before the next request tries again.
LOAD_FAILURE_TTL_S = 60.0
#: Seconds ``close()`` gives running batches to stop at their next step.
SHUTDOWN_GRACE_S = 8.0
#: Threads that run batches. A batch waiting for the device blocks its thread, so there
#: is one for every batch that can be in flight, not one per core.
BATCH_THREADS = 32
#: Threads that load models: one. transformers builds models on the "meta" device
#: through a process-wide default-device switch, so two loads at once can break each
#: other ("Cannot copy out of meta tensor").
LOAD_THREADS = 1

ModelKey = tuple[str, str]  # (task, model id)


class InferenceService:
    """Runs tasks asynchronously with batching, fair scheduling and a bounded model cache.

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
    ) -> None:
        self.settings = settings or InferenceSettings()
        unknown = set(models or {}) - set(TASKS)
        if unknown:
            raise UnknownTask(f"Unknown task {sorted(unknown)[0]!r}.")
        self._models_override = dict(models or {})
        self._limits_override = {**self.settings.task_limits, **(limits or {})}
        self.placement = placement or resolve_placement(self.settings.device, self.settings.dtype)
        self.models = ModelCache(
            resolve_budget(self.settings.model_memory_mb, self.placement), self.placement
        )
        self.models.on_load = lambda key, _size: metrics.model_loaded(key[0])
        self.models.on_unload = lambda key, _size: metrics.model_unloaded(key[0])
        self.clock = FairClock()
        self.gate = DeviceGate()
        self._executor: ThreadPoolExecutor | None = None
        self._load_executor: ThreadPoolExecutor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lanes: dict[str, Lane] = {}
        self._failed: dict[ModelKey, tuple[float, ModelUnavailable]] = {}
        self._per_user = PerUserBound(lambda: self.settings.max_per_user)
        self._started_at = time.monotonic()

    # -- lifecycle ------------------------------------------------------------------

    async def start(self) -> InferenceService:
        """Start the worker threads and preload the models listed in PRELOAD."""
        if self._loop is not None:
            return self
        self._loop = asyncio.get_running_loop()
        self._executor = ThreadPoolExecutor(BATCH_THREADS, thread_name_prefix="inference")
        self._load_executor = ThreadPoolExecutor(LOAD_THREADS, thread_name_prefix="model-load")
        self._started_at = time.monotonic()
        await warm_parsers(TASKS)
        preload = self.settings.preload_tasks(list(TASKS))
        if preload:
            await self.preload(preload)
        await self._in_thread(settle_heap)  # imports and preloads, out of the collector's way
        return self

    async def close(self, grace_s: float = SHUTDOWN_GRACE_S) -> None:
        """Cancel queued and running jobs, give running batches ``grace_s`` seconds to
        stop at their next step, and stop the worker threads."""
        lanes, self._lanes = list(self._lanes.values()), {}
        await asyncio.gather(*(lane.close(grace_s) for lane in lanes))
        self.models.clear()
        for executor in (self._executor, self._load_executor):
            if executor is not None:  # a load still under way finishes; its model is dropped
                executor.shutdown(wait=False, cancel_futures=True)
        self._executor = self._load_executor = None
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
        self._per_user.check(user, lane.retry_after)
        job = Job(lane, request, user)
        lane.add(job)
        self._per_user.add(user)
        return job

    async def run(self, task: str, *, user: Hashable | None = None, **inputs: Any) -> Result:
        """Run one request and return its result (see ``submit`` for the errors)."""
        return await self.submit(task, user=user, **inputs).result()

    async def preload(self, tasks: Sequence[str]) -> dict[str, str | None]:
        """Load the default models of each task now; returns task -> error (None if ok).
        Preloaded models are cached like any other: the memory budget may unload them
        later when they sit idle."""
        report: dict[str, str | None] = {}
        for name in tasks:
            lane = self._lane(name)
            keys = [(lane.task.name, model_id) for model_id in _default_models(lane.task)]
            try:
                await self._acquire_models(lane.task, keys)
                await self.models.release(keys)
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
            for job in (*lane.queue, *lane.active):
                if job.id == job_id and not job.done:
                    return job
        return None

    def loaded_models(self, task: str) -> list[Any]:
        """The models of ``task`` loaded now (for diagnostics and tests)."""
        return [model for (name, _), model in self.models.models().items() if name == task]

    def status(self) -> ServiceStatus:
        """The service's state for users and operators: models by display name only."""
        now = time.monotonic()
        return ServiceStatus(
            device=self.placement.describe(),
            uptime_s=now - self._started_at,
            loaded_models=[
                f"{task}: {display_name(model)}" for task, model in self.models.loaded()
            ],
            queued={name: len(lane.queue) for name, lane in self._lanes.items()},
            running={
                name: sum(job.state is JobState.RUNNING for job in lane.active)
                for name, lane in self._lanes.items()
            },
            failed_models={
                f"{task}: {display_name(model)}": err.reason_shown
                for (task, model), (when, err) in self._failed.items()
                if now - when < LOAD_FAILURE_TTL_S
            },
            memory_used_mb=self.models.used / MB,
            memory_budget_mb=None if self.models.budget is None else self.models.budget / MB,
        )

    # -- internals ------------------------------------------------------------------

    def _lane(self, name: str) -> Lane:
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
            limits = Limits.for_task(cls, self.settings, self._limits_override.get(name))
            lane = self._lanes[name] = Lane(self, task, limits)
        return lane

    async def _in_thread(self, fn: Any, *args: Any) -> Any:
        assert self._loop is not None
        return await self._loop.run_in_executor(self._executor, fn, *args)

    async def _acquire_models(
        self, task: Task[Any, Any], keys: Sequence[ModelKey]
    ) -> dict[ModelKey, Any]:
        """The models of ``keys``, loaded where missing and pinned until
        ``self.models.release(keys)``. Raises ``ModelUnavailable``."""
        now = time.monotonic()
        for key in keys:
            failed = self._failed.get(key)
            if failed and now - failed[0] < LOAD_FAILURE_TTL_S:
                # A fresh error each time: raising the remembered one again and again
                # would grow its traceback (and keep callers' frames alive) for the TTL.
                error = failed[1]
                raise ModelUnavailable(error.task, error.model, error.reason)

        async def load(key: ModelKey) -> tuple[Any, int]:
            return await self._load(task, key[1])

        async def estimate(key: ModelKey) -> int:
            if key in self.models.sizes:
                return self.models.sizes[key]
            assert self._loop is not None
            return await self._loop.run_in_executor(
                self._load_executor, estimate_model_bytes, key[1], self.placement.dtype
            )

        try:
            models = await self.models.acquire(keys, load, estimate)
        except TooBig as exc:
            (task_name, model_id) = (
                keys[0] if len(keys) == 1 else (task.name, ", ".join(model for _, model in keys))
            )
            error = ModelUnavailable(task_name, model_id, str(exc))
            log.warning("%s", error)
            raise error from None
        return dict(zip(keys, models, strict=True))

    async def _load(self, task: Task[Any, Any], model_id: str) -> tuple[Any, int]:
        """Load one model in a loader thread and measure it; a failure is remembered
        for LOAD_FAILURE_TTL_S and raised as ``ModelUnavailable``."""
        key = (task.name, model_id)
        started = time.monotonic()
        assert self._loop is not None
        try:
            check_model_source(task.name, model_id)
            model, size = await self._loop.run_in_executor(
                self._load_executor, _load_and_measure, task, model_id
            )
        except ModelUnavailable as exc:
            self._failed[key] = (time.monotonic(), exc)
            raise
        except Exception as exc:
            error = ModelUnavailable(task.name, model_id, short_reason(exc))
            log.warning("loading %s model %s failed: %s", task.name, model_id, error.reason)
            log.debug("loading %s model %s failed", task.name, model_id, exc_info=True)
            self._failed[key] = (time.monotonic(), error)
            raise error from exc
        log.info(
            "loaded %s model %s in %.1f s (%.0f MB)",
            task.name,
            model_id,
            time.monotonic() - started,
            size / 1024 / 1024,
        )
        self._failed.pop(key, None)
        return model, size

    def _slot_free(self, job: Job) -> None:
        """A job's worker let go of it: its user may send another request."""
        self._per_user.give_back(job.user)


def _load_and_measure(task: Task[Any, Any], model_id: str) -> tuple[Any, int]:
    model = task.load(model_id)
    return model, measure_bytes(model)


def _default_models(task: Task[Any, Any]) -> tuple[str, ...]:
    default = getattr(task, "default_models", None)
    return tuple(default()) if callable(default) else (task.model,)


__all__ = ["InferenceError", "InferenceService", "Job", "JobState", "ServiceStatus"]
