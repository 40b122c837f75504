"""One task's Ray Serve deployment, generated from its ``DeploymentPlan``.

A request is one call of the generator method ``stream(inputs)``: it parses the
inputs, is gathered by ``@serve.batch`` (the plan's batch size and wait) and waits
while the batch before it runs, and yields the events of ``events`` until its result.
A batch runs ``task.run_batch`` in a worker thread with a ``BatchContext`` that
streams progress and sees cancellation: when the
caller cancels its ``DeploymentResponseGenerator`` (or goes away), Ray cancels the
``stream`` coroutine, which marks its ticket cancelled for ``ctx.cancelled``.

Tasks whose model depends on the request (translation pairs) load their models
through ``@serve.multiplexed`` (at most ``max_models_per_replica``, least recently
used unloaded first); the caller names the model in ``multiplexed_model_id`` so that
Serve routes the request to a replica that has it, and ``@serve.batch`` never mixes
two models in one batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..device import resolve_placement
from ..errors import InferenceError, ModelUnavailable, short_reason
from ..service import LOAD_FAILURE_TTL_S
from ..settings import InferenceSettings
from ..tasks import TASKS
from ..tasks.base import check_model_source
from . import events
from .config import DeploymentPlan

log = logging.getLogger(__name__)

#: Batch sizes a replica remembers for ``stats()``.
BATCH_HISTORY = 256


class _Ticket:
    """One request inside a replica: its parsed form, its event queue, its fate."""

    def __init__(self, request: Any) -> None:
        self.request = request
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.loop = asyncio.get_running_loop()
        self.cancelled = False
        self.finished = False
        self.position: int | None = None

    def put(self, event: dict[str, Any]) -> None:
        """Queue an event for the caller; safe from any thread."""
        if self.finished:
            return
        if event["event"] in events.FINAL:
            self.finished = True
        with contextlib.suppress(RuntimeError):  # the replica's loop is closing
            self.loop.call_soon_threadsafe(self.events.put_nowait, event)

    def finish(self, outcome: Any) -> None:
        if isinstance(outcome, BaseException):
            if not isinstance(outcome, InferenceError):
                log.error("request failed", exc_info=outcome)
            self.put(events.error(outcome))
        else:
            self.put(events.result(outcome))


class _Context:
    """The BatchContext of a batch running in a replica's worker thread."""

    def __init__(self, tickets: Sequence[_Ticket]) -> None:
        self._tickets = tickets

    def progress(self, index: int, done: int, total: int) -> None:
        self._tickets[index].put(events.progress(done, total))

    def cancelled(self, index: int) -> bool:
        return self._tickets[index].cancelled

    def checkpoint(self) -> None:
        pass  # a replica runs one batch at a time: nothing waits for the device here


class _Held:
    """A model in the multiplexed cache; Ray calls ``__del__`` when it unloads it."""

    def __init__(self, model: Any, on_unload: Callable[[], None]) -> None:
        self.model = model
        self._on_unload: Callable[[], None] | None = on_unload

    def __del__(self) -> None:
        if self._on_unload is not None:
            self._on_unload()
            self._on_unload = None


class ReplicaBase:
    """What every task's replica does; ``replica_class`` adds Serve's decorators."""

    def __init__(self, plan: DeploymentPlan, settings: InferenceSettings) -> None:
        import torch

        torch.set_num_threads(plan.torch_threads)
        self.plan = plan
        placement = resolve_placement(settings.device, settings.dtype)
        self.task = TASKS[plan.task](plan.model, placement, settings)
        self.task.warm()  # the constructor may block; the first parse then will not
        # One thread: one batch (or load) at a time, never on the event loop.
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"replica-{plan.task}")
        self._waiting: list[_Ticket] = []
        self._running = 0  # requests in the batch running now
        self._pending: list[_Ticket] = []  # gathered by @serve.batch, not yet running
        self._runner: asyncio.Future[None] | None = None
        self._loaded: dict[str, Any] = {}
        self._load_lock = asyncio.Lock()
        self._batch_sizes: deque[int] = deque(maxlen=BATCH_HISTORY)
        self._cancelled = 0
        self._failed: dict[str, tuple[float, str]] = {}  # model id -> (when, reason)

    # -- the request ----------------------------------------------------------------

    async def stream(self, inputs: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """The events of one request, from "queued" to its result or error."""
        try:
            request = self.task.parse(**inputs)
        except InferenceError as exc:
            yield events.error(exc)
            return
        ticket = _Ticket(request)
        self._waiting.append(ticket)
        self._announce_positions()
        run = asyncio.ensure_future(self._batched(ticket))
        run.add_done_callback(lambda done: _crashed(ticket, done))
        try:
            while True:
                event = await ticket.events.get()
                yield event
                if event["event"] in events.FINAL:
                    return
        finally:  # finished, cancelled by the caller, or the caller went away
            if not ticket.finished:
                ticket.cancelled = True
                self._cancelled += 1
                run.cancel()  # a request still waiting for its batch leaves it
            if ticket in self._waiting:
                self._waiting.remove(ticket)
                self._announce_positions()

    async def _batched(self, ticket: _Ticket) -> None:
        raise NotImplementedError  # replaced by the @serve.batch method of replica_class

    def _announce_positions(self) -> None:
        for position, ticket in enumerate(self._waiting):
            if ticket.position != position:
                ticket.position = position
                ticket.put(events.queued(position))

    # -- the batch ------------------------------------------------------------------

    async def _gathered(self, tickets: list[_Ticket]) -> list[None]:
        """Take a batch that @serve.batch gathered and return at once; ``_run_pending``
        runs it. Serve forms its next batch after ``max_wait_ms`` even while one runs, so
        under load its batches are small; here the batches that arrive while the worker
        is busy wait together, and the next run takes as many as ``max_batch_size``
        allows, as the in-process service does."""
        self._pending += tickets
        if self._runner is None or self._runner.done():
            self._runner = asyncio.ensure_future(self._run_pending())
        return [None] * len(tickets)

    async def _run_pending(self) -> None:
        """Run the pending requests, a batch at a time: the oldest one's batch key, and
        the requests with the same key, up to ``max_batch_size``."""
        while True:
            self._pending = [ticket for ticket in self._pending if not ticket.cancelled]
            if not self._pending:
                return
            key = self.task.batch_key(self._pending[0].request)
            batch = [t for t in self._pending if self.task.batch_key(t.request) == key]
            batch = batch[: self.plan.max_batch_size]
            for ticket in batch:
                self._pending.remove(ticket)
                if ticket in self._waiting:
                    self._waiting.remove(ticket)
                ticket.put(events.running())
            self._announce_positions()
            self._batch_sizes.append(len(batch))
            self._running = len(batch)
            try:
                await self._run_group(batch)
            except Exception as exc:  # never let one batch stop the runner
                log.exception("a batch of %s failed", self.task.name)
                for ticket in batch:
                    ticket.finish(exc)
            finally:
                self._running = 0

    async def _run_group(self, group: list[_Ticket]) -> None:
        try:
            models = {
                model_id: await self._model(model_id)
                for model_id in self.task.models_for(group[0].request)
            }
        except InferenceError as exc:
            for ticket in group:
                ticket.finish(exc)
            return
        loop = asyncio.get_running_loop()
        outcomes = await loop.run_in_executor(
            self._executor,
            self.task.run_isolated,
            models,
            [ticket.request for ticket in group],
            lambda indices: _Context([group[i] for i in indices]),
            lambda index: group[index].cancelled,
        )
        for ticket, outcome in zip(group, outcomes, strict=True):
            ticket.finish(outcome)

    # -- models ---------------------------------------------------------------------

    async def _model(self, model_id: str) -> Any:
        """The loaded model (cached in the replica; multiplexed tasks override this)."""
        async with self._load_lock:
            if model_id not in self._loaded:
                self._loaded[model_id] = await self._load(model_id)
            return self._loaded[model_id]

    async def _load(self, model_id: str) -> Any:
        """Load one model in the worker thread; any failure is ``ModelUnavailable``, and
        is remembered for a while (as in-process) rather than retried by every request."""
        name = self.task.name
        failed = self._failed.get(model_id)
        if failed is not None and time.monotonic() - failed[0] < LOAD_FAILURE_TTL_S:
            raise ModelUnavailable(name, model_id, failed[1])
        try:
            check_model_source(name, model_id)
            loop = asyncio.get_running_loop()
            model = await loop.run_in_executor(self._executor, self.task.load, model_id)
        except ModelUnavailable as exc:
            self._failed[model_id] = (time.monotonic(), exc.reason)
            raise
        except Exception as exc:
            log.warning("loading %s model %s failed", name, model_id, exc_info=True)
            self._failed[model_id] = (time.monotonic(), short_reason(exc))
            raise ModelUnavailable(name, model_id, short_reason(exc)) from exc
        self._failed.pop(model_id, None)
        return model

    async def preload(self) -> str | None:
        """Load the task's default models now; the reason when one cannot be loaded."""
        default = getattr(self.task, "default_models", None)
        try:
            for model_id in default() if callable(default) else [self.task.model]:
                await self._model(model_id)
        except ModelUnavailable as exc:
            return exc.reason
        return None

    # -- observability ----------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """This replica's state: loaded models, queue, recent batch sizes, cancels, and
        the models that failed to load lately (model id -> reason)."""
        return {
            "task": self.task.name,
            "loaded_models": list(self._loaded),
            "queued": len(self._waiting),
            "running": self._running,
            "batch_sizes": list(self._batch_sizes),
            "cancelled": self._cancelled,
            "failed_models": {
                model: reason
                for model, (when, reason) in self._failed.items()
                if time.monotonic() - when < LOAD_FAILURE_TTL_S
            },
        }


def _crashed(ticket: _Ticket, run: asyncio.Future[Any]) -> None:
    """A batch that failed outside ``run_batch`` (or never ran) still ends its stream."""
    if not run.cancelled() and run.exception() is not None:
        ticket.finish(run.exception())  # type: ignore[arg-type]


def replica_class(plan: DeploymentPlan) -> type[ReplicaBase]:
    """The replica class of ``plan``'s task: Serve's batching with the plan's limits,
    and model multiplexing for tasks whose models depend on the request."""
    from ray import serve

    batch = serve.batch(
        max_batch_size=plan.max_batch_size, batch_wait_timeout_s=plan.max_wait_ms / 1000
    )

    class TaskReplica(ReplicaBase):
        @batch
        async def _batched(self, tickets: list[_Ticket]) -> list[None]:
            return await self._gathered(tickets)

        if plan.multiplexed:

            @serve.multiplexed(max_num_models_per_replica=plan.max_models_per_replica)
            async def _multiplexed(self, model_id: str) -> _Held:
                model = await self._load(model_id)
                holder = _Held(model, lambda: self._unloaded(model_id, model))
                self._loaded[model_id] = model
                return holder

            async def _model(self, model_id: str) -> Any:
                return (await self._multiplexed(model_id)).model

            def _unloaded(self, model_id: str, model: Any) -> None:
                if self._loaded.get(model_id) is model:
                    del self._loaded[model_id]

    TaskReplica.__name__ = TaskReplica.__qualname__ = f"{plan.task.capitalize()}Replica"
    return TaskReplica
