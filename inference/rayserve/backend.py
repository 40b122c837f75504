"""``RayBackend``: the ``Backend`` protocol on a Ray Serve cluster.

``submit`` parses the request here (bad input fails at once, as in-process), then
streams it from its task's deployment (``handle.options(stream=True)``); the job
handle follows the replica's events: queue position, running, progress, result or
typed error. ``cancel()`` cancels the ``DeploymentResponseGenerator``, which cancels
the request in its replica. A full deployment queue (``max_queued_requests``) makes
Serve raise ``BackPressureError``: the job fails with ``Busy``.

Ray is imported only here and in the modules of this package: only ``serve --ray``
(and its tests) import it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Hashable, Mapping, Sequence
from typing import Any

from ..device import resolve_placement
from ..errors import Busy, InternalError, JobCancelled, JobTimeout, UnknownTask
from ..jobs import JobBase, JobState, JobUpdate, PerUserBound, ServiceStatus
from ..naming import display_name
from ..results import Result
from ..settings import InferenceSettings
from ..tasks import TASKS, warm_parsers
from ..tasks.base import Task
from ..wire import apply_event, error_from_dict
from .app import APP_NAME, deploy
from .config import DeploymentPlan, plan_deployments

log = logging.getLogger(__name__)

#: Seconds between two refreshes of the replicas' stats for ``status()``.
STATS_PERIOD_S = 5.0
#: How long ``updates()`` waits for a replica to take the job before its first update.
#: Serve refuses a job over ``max_queued_requests`` within milliseconds; a job waiting
#: for a free replica (all at ``max_ongoing_requests``) is shown queued meanwhile.
ACCEPT_WAIT_S = 1.0


class RayJob(JobBase):
    """A request streamed from a Ray Serve deployment (a ``JobHandle``)."""

    def __init__(
        self,
        backend: RayBackend,
        plan: DeploymentPlan,
        inputs: dict[str, Any],
        user: Hashable | None,
        model_id: str | None,
    ) -> None:
        super().__init__(plan.task, user)
        self.position: int | None = None
        self._taken = False  # a replica has the job (its first event came)
        self._backend = backend
        # Set by the replica's first event (or the end): see updates().
        self._accepted = asyncio.Event()
        self._stream: Any = None  # the DeploymentResponseGenerator, once called
        handle = backend._handles[plan.task].options(stream=True)
        if model_id is not None:
            handle = handle.options(multiplexed_model_id=model_id)
        self._driver = asyncio.create_task(self._drive(handle, inputs, plan.timeout_s))

    async def accepted(self) -> None:
        await self._accepted.wait()
        if self.state is JobState.FAILED and not self._taken:
            await self.result()  # refused before a replica took it (backpressure): raises

    async def updates(self) -> AsyncIterator[JobUpdate]:
        """A snapshot once a replica has the job (or Serve refused it, or ACCEPT_WAIT_S
        passed), then after every change until the job has finished. Waiting for the
        replica first means that a job refused as busy ends before its first update: the
        HTTP server answers 429 instead of opening a stream."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._accepted.wait(), ACCEPT_WAIT_S)
        async for snapshot in super().updates():
            yield snapshot

    # -- following the stream ---------------------------------------------------------

    async def _drive(self, handle: Any, inputs: dict[str, Any], timeout_s: float) -> None:
        from ray.serve.exceptions import BackPressureError

        try:
            await asyncio.wait_for(self._follow(handle, inputs), timeout_s)
            return
        except asyncio.TimeoutError:
            message = f"The request took longer than {timeout_s:.0f} s and was stopped."
            self._finish(JobState.FAILED, error=JobTimeout(message))
        except asyncio.CancelledError:
            self._finish(JobState.CANCELLED, error=JobCancelled("The request was cancelled."))
        except BackPressureError as exc:
            retry = getattr(exc, "retry_after_s", None) or self._backend.retry_after(self.task)
            busy = f"The {self.task} queue is full; try again in about {retry:.0f} s."
            self._finish(JobState.FAILED, error=Busy(busy, retry_after=retry))
            return
        except Exception:  # the replica died, the cluster went away...
            log.warning("%s job %s failed in Ray Serve", self.task, self.id, exc_info=True)
            error = InternalError("The Ray Serve cluster could not run the request.")
            self._finish(JobState.FAILED, error=error)
            return
        # We stopped following the stream (cancel, timeout): stop the request too. The
        # handle's cancel() may wait for the request's assignment: not on the loop.
        if self._stream is not None:
            asyncio.get_running_loop().run_in_executor(None, _cancel_quietly, self._stream)

    async def _follow(self, handle: Any, inputs: dict[str, Any]) -> None:
        self._stream = handle.stream.remote(inputs)
        async for event in self._stream:
            self._taken = True
            self._accepted.set()
            kind = event["event"]
            if kind == "result":
                self._finish(JobState.DONE, result=event["result"])
                return
            if kind == "error":
                self._finish(JobState.FAILED, error=error_from_dict(event["error"]))
                return
            apply_event(self, event)
        raise RuntimeError("the replica's stream ended without a result")

    def _finish(
        self, state: JobState, result: Result | None = None, error: BaseException | None = None
    ) -> None:
        """Finish the job (cancelled: in its replica too)."""
        self.position = None
        if not self._settle(state, result, error):
            return
        self._backend._job_finished(self)
        self._accepted.set()
        if state is JobState.CANCELLED and asyncio.current_task() is not self._driver:
            self._driver.cancel()


def _cancel_quietly(stream: Any) -> None:
    with contextlib.suppress(Exception):
        stream.cancel()


class RayBackend:
    """Runs tasks on a Ray Serve application generated from the task registry.

    ``address`` is Ray's (None: a local cluster started here; "auto"; "ray://host:10001").
    ``tasks`` limits the deployed tasks (default: all); ``models`` overrides models as
    in ``InferenceService``. With ``deploy=False`` the application must already run on
    the cluster (deployed by another ``RayBackend`` with the same plans). ``app_name``
    tells applications apart on one cluster.
    """

    def __init__(
        self,
        settings: InferenceSettings | None = None,
        *,
        address: str | None = None,
        tasks: Sequence[str] | None = None,
        models: Mapping[str, str] | None = None,
        deploy: bool = True,
        app_name: str = APP_NAME,
    ) -> None:
        self.settings = settings or InferenceSettings()
        self.plans = plan_deployments(self.settings, tasks, models)
        self.address = address
        self._deploy = deploy
        self.app_name = app_name
        self._owns_ray = False
        self._handles: dict[str, Any] = {}
        self._tasks: dict[str, Task[Any, Any]] = {}
        self._jobs: dict[str, RayJob] = {}
        self._per_user = PerUserBound(lambda: self.settings.max_per_user)
        self._started_at = time.monotonic()
        self._stats: dict[str, Any] = {}
        self._stats_task: asyncio.Task[None] | None = None
        self._stats_at = 0.0

    # -- lifecycle --------------------------------------------------------------------

    async def start(self) -> RayBackend:
        """Connect to Ray (or start a local cluster), deploy, and preload PRELOAD."""
        if self._handles:
            return self
        try:
            await asyncio.to_thread(self._connect)
        except Exception as exc:  # no cluster at --address, a bad autoscaling config...
            log.error("cannot start Ray Serve: %s", exc)
            raise
        from ray import serve

        for name, plan in self.plans.items():
            self._handles[name] = serve.get_deployment_handle(plan.deployment_name, self.app_name)
        self._catalog = serve.get_app_handle(self.app_name)
        self._started_at = time.monotonic()
        await warm_parsers(self.plans)  # requests are parsed here, before they go out
        preload = [name for name in self.settings.preload_tasks(list(TASKS)) if name in self.plans]
        if preload:
            await self.preload(preload)
        return self

    def _connect(self) -> None:
        import ray
        from ray import serve

        if not ray.is_initialized():
            ray.init(address=self.address, include_dashboard=False)
            self._owns_ray = True
        if self._deploy:
            # The HTTP protocol is served by our aiohttp server: no Serve proxy.
            serve.start(proxy_location="Disabled")
            deploy(self.plans, self.settings, self.app_name)

    async def close(self) -> None:
        """Cancel this process's jobs; shut Ray down if ``start`` started it."""
        for job in list(self._jobs.values()):
            job._finish(JobState.CANCELLED, error=JobCancelled("The service is shutting down."))
        if self._stats_task is not None:
            self._stats_task.cancel()
        if self._owns_ray:
            await asyncio.to_thread(_shutdown_ray)
            self._owns_ray = False
        self._handles.clear()

    async def __aenter__(self) -> RayBackend:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- requests ---------------------------------------------------------------------

    def submit(self, task: str, *, user: Hashable | None = None, **inputs: Any) -> RayJob:
        """Validate a request and send it to its deployment; returns its job at once.
        Raises ``InvalidInput``/``UnknownTask`` for a bad request and ``Busy`` when the
        user already has MAX_PER_USER requests; a full deployment queue fails the job
        with ``Busy`` right after."""
        name = str(task).strip().lower()
        parsed = self.task(name).parse(**inputs)
        plan = self.plans[name]
        self._per_user.check(user, lambda: self.retry_after(name))
        model_id = "+".join(self.task(name).models_for(parsed)) if plan.multiplexed else None
        job = RayJob(self, plan, inputs, user, model_id)
        self._jobs[job.id] = job
        self._per_user.add(user)
        return job

    async def run(self, task: str, *, user: Hashable | None = None, **inputs: Any) -> Result:
        return await self.submit(task, user=user, **inputs).result()

    async def preload(self, tasks: Sequence[str]) -> dict[str, str | None]:
        """Load each task's default models in (one replica of) its deployment."""
        report: dict[str, str | None] = {}
        for name in tasks:
            self.task(name)  # UnknownTask for a task not deployed
            report[name] = await self._handles[name].preload.remote()
            if report[name]:
                log.warning("preload of %s failed: %s", name, report[name])
        return report

    def task(self, name: str) -> Task[Any, Any]:
        """The task object of ``name`` (parse rules, languages, voices); no model loads."""
        name = str(name).strip().lower()
        if name not in self.plans:
            raise UnknownTask(f"Unknown task {name!r}; known tasks: {', '.join(self.plans)}.")
        if name not in self._tasks:
            plan = self.plans[name]
            # Parsing never touches a device: the driver keeps its GPU (if any) free.
            self._tasks[name] = TASKS[name](plan.model, resolve_placement("cpu"), self.settings)
        return self._tasks[name]

    def job(self, job_id: str) -> RayJob | None:
        return self._jobs.get(job_id)  # a finished job has left _jobs (_job_finished)

    def status(self) -> ServiceStatus:
        """This process's jobs, and the models the replicas held at the last refresh
        (refreshed in the background every few seconds)."""
        self._refresh_stats()
        queued: Counter[str] = Counter()
        running: Counter[str] = Counter()
        for job in self._jobs.values():
            (running if job.state is JobState.RUNNING else queued)[job.task] += 1
        return ServiceStatus(
            device=f"Ray Serve ({self.address or 'local cluster'})",
            uptime_s=time.monotonic() - self._started_at,
            loaded_models=[
                f"{name}: {display_name(model)}"
                for name, stats in self._stats.items()
                for model in stats.get("loaded_models", [])
            ],
            queued={name: queued[name] for name in self.plans},
            running={name: running[name] for name in self.plans},
            failed_models={
                f"{name}: {display_name(model)}": reason
                for name, stats in self._stats.items()
                for model, reason in stats.get("failed_models", {}).items()
            },
        )

    def retry_after(self, task: str) -> float:
        """Seconds to suggest to a caller refused as busy."""
        plan = self.plans[task]
        return max(1.0, plan.max_wait_ms / 1000 * plan.max_queued_requests / plan.max_batch_size)

    async def replica_stats(self) -> dict[str, Any]:
        """``stats()`` of one replica of each deployed task (see ``ReplicaBase.stats``)."""
        self._stats = await self._catalog.stats.remote()
        self._stats_at = time.monotonic()
        return self._stats

    # -- internals --------------------------------------------------------------------

    def _refresh_stats(self) -> None:
        if time.monotonic() - self._stats_at < STATS_PERIOD_S or not self._handles:
            return
        if self._stats_task is None or self._stats_task.done():
            self._stats_at = time.monotonic()
            self._stats_task = asyncio.ensure_future(self._quiet_refresh())

    async def _quiet_refresh(self) -> None:
        with contextlib.suppress(Exception):
            await self.replica_stats()

    def _job_finished(self, job: RayJob) -> None:
        self._jobs.pop(job.id, None)
        self._per_user.give_back(job.user)


def _shutdown_ray() -> None:
    import ray
    from ray import serve

    with contextlib.suppress(Exception):
        serve.shutdown()
    ray.shutdown()
