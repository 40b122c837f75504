"""Fair share under load: the device handed over between steps, fairness by device time,
model memory within its budget, cancel that frees the worker, bounded shutdown.

Two tasks registered for these tests stand in for real ones: ``steps`` is long work
(an image, a summary) whose steps the test releases one at a time, and ``quick`` is a
cheap request (a sentiment). Their models are real safetensors files of known size,
so memory estimates and measurements are those of real checkpoints.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file, save_file

from inference import (
    Busy,
    InferenceService,
    InferenceSettings,
    InvalidInput,
    JobCancelled,
    JobState,
    JobTimeout,
    ModelUnavailable,
    TaskLimits,
)
from inference.errors import InferenceError
from inference.memory import MB, measure_bytes
from inference.results import Result
from inference.tasks import TASKS
from inference.tasks.base import BatchContext, Task, as_int, clean_text


@dataclass(frozen=True)
class StepRequest:
    text: str
    steps: int
    model: str | None


@dataclass
class StepResult(Result):
    text: str
    steps_run: int


class Log:
    """What the worker threads did, in order."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[tuple[str, int]] = []

    def add(self, who: str, step: int) -> None:
        with self.lock:
            self.events.append((who, step))


class StepTask(Task[StepRequest, StepResult]):
    """Long work: ``steps`` steps, each waiting for a permit from the test (or
    ``step_seconds``), with the device handed over between steps."""

    name = "steps"
    summary = "test task: long work in steps"
    long_running = True
    max_batch_size = 1
    permits: threading.Semaphore | None
    step_seconds = 0.0
    log: Log
    #: The texts of requests whose worker has begun a step (it waits for its permit).
    stepping: set[str]
    loads: list[str]
    load_gate: threading.Event

    def parse(self, text: Any = None, steps: Any = 3, model: Any = None, **_: Any) -> StepRequest:
        return StepRequest(clean_text(text), as_int(steps, "steps", low=1, high=10_000), model)

    def cost(self, request: StepRequest) -> float:
        return request.steps

    def models_for(self, request: StepRequest) -> tuple[str, ...]:
        return (request.model or self.model,)

    def load(self, model_id: str) -> Any:
        assert type(self).load_gate.wait(10), "test never let the load finish"
        type(self).loads.append(Path(model_id).name)
        module = torch.nn.ParameterDict(
            {
                k: torch.nn.Parameter(v)
                for k, v in load_file(Path(model_id) / "w.safetensors").items()
            }
        )
        return module

    def run_batch(
        self, models: Mapping[str, Any], requests: Sequence[StepRequest], ctx: BatchContext
    ) -> list[StepResult | InferenceError]:
        (request,) = requests
        cls = type(self)
        done = 0
        for step in range(request.steps):
            if ctx.cancelled(0):
                break
            cls.stepping.add(request.text)  # past the cancel check: this step will run
            if cls.permits is not None:
                assert cls.permits.acquire(timeout=10), "test never released a step"
            time.sleep(cls.step_seconds)
            done += 1
            cls.log.add(request.text, step + 1)
            ctx.progress(0, step + 1, request.steps)
            ctx.checkpoint()
        cls.log.add(request.text, -1)  # the worker let go
        if done < request.steps:
            return [JobCancelled("The request was cancelled.")]
        return [StepResult(request.text, done)]


class OtherStepTask(StepTask):
    name = "steps2"


class QuickTask(Task[str, StepResult]):
    """A cheap request: one short forward pass."""

    name = "quick"
    summary = "test task: cheap"
    batches: list[list[str]]

    def parse(self, text: Any = None, **_: Any) -> str:
        return clean_text(text)

    def load(self, model_id: str) -> str:
        return model_id

    def run_batch(
        self, models: Mapping[str, Any], requests: Sequence[str], ctx: BatchContext
    ) -> list[StepResult | InferenceError]:
        for text in requests:
            StepTask.log.add(text, 0)
        QuickTask.batches.append(list(requests))
        return [StepResult(text.upper(), 1) for text in requests]


def weights(root: Path, name: str, mb: float) -> str:
    """A model directory holding ``mb`` MB of float32 weights in safetensors."""
    directory = root / name
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text("{}")
    save_file({"w": torch.zeros(int(mb * MB / 4))}, directory / "w.safetensors")
    return str(directory)


@pytest.fixture
def tasks(monkeypatch: pytest.MonkeyPatch) -> type[StepTask]:
    for task in (StepTask, OtherStepTask, QuickTask):
        monkeypatch.setitem(TASKS, task.name, task)
    StepTask.permits = threading.Semaphore(0)
    StepTask.step_seconds = 0.0
    StepTask.log = Log()
    StepTask.stepping = set()
    StepTask.loads = []
    StepTask.load_gate = threading.Event()
    StepTask.load_gate.set()
    QuickTask.batches = []
    return StepTask


def make_service(tmp_path: Path, *, memory_mb: str = "off", **settings: Any) -> InferenceService:
    default = weights(tmp_path, "default", 1)
    values: dict[str, Any] = {"max_wait_ms": 0, "max_per_user": 4, "model_memory_mb": memory_mb}
    values.update(settings)
    return InferenceService(
        InferenceSettings(_env_file=None, **values),
        models={"steps": default, "steps2": default, "quick": "quick"},
        limits={name: TaskLimits(timeout_s=30) for name in ("steps", "steps2", "quick")},
    )


async def wait_until(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition never became true"
        await asyncio.sleep(0.005)


async def in_first_step(job: Any, text: str) -> None:
    """Until the worker of ``job`` (a ``steps`` request of ``text``) is inside its first
    step, holding the device. RUNNING alone comes a little before: the worker may not
    have reached its cancel check yet."""
    await wait_until(lambda: job.state is JobState.RUNNING and text in StepTask.stepping)


async def painting(service: InferenceService, steps: int) -> Any:
    """A long job of ``steps`` steps, once it holds the device (in its first step)."""
    job = service.submit("steps", user="painter", text="long", steps=steps)
    await in_first_step(job, "long")
    return job


# -- the device between tasks -----------------------------------------------------------


async def test_a_cheap_request_runs_between_two_steps_of_a_long_job(
    tasks: type[StepTask], tmp_path: Path
) -> None:
    async with make_service(tmp_path) as service:
        long = await painting(service, steps=5)
        quick = service.submit("quick", user="reader", text="hi")
        await wait_until(lambda: service.gate.waiting == 1)  # its model loaded, it waits
        tasks.permits.release()  # step 1 of 5 ends; the quick request goes next
        assert (await quick.result()).text == "HI"
        assert not long.done, await long.result()
        assert long.state is JobState.RUNNING and long.progress == (1, 5)
        for _ in range(4):
            tasks.permits.release()
        await long.result()
    assert tasks.log.events[:2] == [("long", 1), ("hi", 0)]


async def test_requests_arriving_while_a_batch_waits_for_the_device_join_it(
    tasks: type[StepTask], tmp_path: Path
) -> None:
    async with make_service(tmp_path) as service:
        await service.run("quick", text="warm")
        long = await painting(service, steps=2)
        first = service.submit("quick", user="a", text="a")
        await wait_until(lambda: service.gate.waiting == 1)  # its batch waits out the step
        later = [service.submit("quick", user=u, text=u) for u in "bcd"]
        await asyncio.sleep(0.05)  # they arrive while it waits
        tasks.permits.release()
        await asyncio.gather(*(job.result() for job in (first, *later)))
        tasks.permits.release()
        await long.result()
    # one batch ran all four at the step boundary, not one batch and then another a step later
    assert sorted(QuickTask.batches[-1]) == ["a", "b", "c", "d"]


async def test_two_long_jobs_never_share_the_device(tasks: type[StepTask], tmp_path: Path) -> None:
    tasks.permits = None
    tasks.step_seconds = 0.002
    async with make_service(tmp_path) as service:
        first = service.submit("steps", user="ann", text="a", steps=30)
        second = service.submit("steps2", user="bob", text="b", steps=30)
        await asyncio.gather(first.result(), second.result())
    who = [name for name, _ in tasks.log.events]
    # one job's steps all come before the other's: no interleaving at checkpoints
    assert who == sorted(who) or who == sorted(who, reverse=True)


async def test_fair_share_counts_device_time_not_requests(
    tasks: type[StepTask], tmp_path: Path
) -> None:
    async with make_service(tmp_path, max_per_user=20) as service:
        blocker = service.submit("steps", user="z", text="blocker", steps=1)
        await in_first_step(blocker, "blocker")
        painter = [service.submit("steps", user="painter", text=f"p{i}", steps=8) for i in range(3)]
        writer = [service.submit("steps", user="writer", text=f"w{i}", steps=1) for i in range(10)]
        for _ in range(1 + 3 * 8 + 10):
            tasks.permits.release()
        await asyncio.gather(*(job.result() for job in (blocker, *painter, *writer)))
    order = [name for name, step in tasks.log.events if step == -1]
    # The painter's first 8-step image costs as much device time as 8 of the writer's
    # requests: those run before the painter's second image.
    assert order.index("p1") > order.index("w7")
    assert order.index("p0") < order.index("w1")  # the painter is not starved either


async def test_time_in_the_queue_does_not_count_against_the_run_limit(
    tasks: type[StepTask], tmp_path: Path
) -> None:
    service = make_service(tmp_path)
    service._limits_override["steps2"] = TaskLimits(timeout_s=0.3)
    async with service:
        long = await painting(service, steps=2)
        # another long task: it waits for the device until the painter's job is done
        held = service.submit("steps2", user="reader", text="held", steps=1)
        await asyncio.sleep(0.5)  # longer than its run limit, spent waiting
        assert held.state is JobState.QUEUED
        for _ in range(3):
            tasks.permits.release()
        await long.result()
        await held.result()
        assert (await service.run("quick", text="after")).text == "AFTER"


async def test_a_job_that_waits_too_long_in_the_queue_gets_its_own_message(
    tasks: type[StepTask], tmp_path: Path
) -> None:
    async with make_service(tmp_path, queue_timeout_s=0.2) as service:
        long = await painting(service, steps=1)
        waiting = service.submit("steps", user="reader", text="waiting", steps=1)
        with pytest.raises(JobTimeout, match="in the queue"):
            await waiting.result()
        tasks.permits.release()
        await long.result()


# -- cancel and shutdown ---------------------------------------------------------------


async def test_cancel_frees_the_users_slot_only_once_the_worker_stopped(
    tasks: type[StepTask], tmp_path: Path
) -> None:
    async with make_service(tmp_path, max_per_user=1) as service:
        job = service.submit("steps", user="ann", text="long", steps=100)
        await in_first_step(job, "long")
        assert job.cancel()
        with pytest.raises(JobCancelled):
            await job.result()  # the user hears at once
        with pytest.raises(Busy):  # but the worker is still inside its step
            service.submit("steps", user="ann", text="again", steps=1)
        tasks.permits.release()  # the step ends; the task sees the cancel and stops
        await asyncio.wait_for(job.released(), 10)
        again = service.submit("steps", user="ann", text="again", steps=1)
        tasks.permits.release()
        await again.result()
    steps_of_long = [step for name, step in tasks.log.events if name == "long" and step > 0]
    assert steps_of_long == [1]


async def test_close_stops_a_long_batch_at_its_next_step(
    tasks: type[StepTask], tmp_path: Path
) -> None:
    tasks.permits = None
    tasks.step_seconds = 0.01
    service = await make_service(tmp_path).start()
    job = service.submit("steps", user="ann", text="long", steps=10_000)
    await wait_until(lambda: job.progress is not None)
    await service.close()
    assert ("long", -1) in tasks.log.events  # the worker had let go when close returned
    assert len(tasks.log.events) < 1_000
    with pytest.raises(JobCancelled, match="shutting down"):
        await job.result()


# -- model memory --------------------------------------------------------------------


async def test_loaded_models_stay_within_the_budget_least_recently_used_unload_first(
    tasks: type[StepTask], tmp_path: Path
) -> None:
    tasks.permits = None
    models = {name: weights(tmp_path, name, 4) for name in "abcdef"}
    peaks: list[float] = []
    async with make_service(tmp_path, memory_mb="9") as service:  # room for two of them
        for name in "abab" + "cdef" + "a":
            await service.run("steps", text=name, steps=1, model=models[name])
            peaks.append(service.models.used / MB)
            if name == "c":  # b was used last before c: a goes first
                assert sorted(Path(m).name for _, m in service.models.loaded()) == ["b", "c"]
        assert len(service.models.loaded()) <= 2
        status = service.status()
    assert max(peaks) <= 9
    assert tasks.loads == ["default", "a", "b", "c", "d", "e", "f", "a"][1:]
    assert status.memory_budget_mb == 9 and 0 < status.memory_used_mb <= 9


async def test_a_model_in_use_is_never_unloaded(tasks: type[StepTask], tmp_path: Path) -> None:
    big = {name: weights(tmp_path, name, 4) for name in "ab"}
    async with make_service(tmp_path, memory_mb="6") as service:  # room for one
        first = service.submit("steps", user="ann", text="on a", steps=2, model=big["a"])
        await in_first_step(first, "on a")
        second = service.submit("steps", user="bob", text="on b", steps=1, model=big["b"])
        await asyncio.sleep(0.2)
        assert second.state is JobState.LOADING  # waiting for room, not taking a's
        assert [Path(m).name for _, m in service.models.loaded()] == ["a"]
        for _ in range(3):
            tasks.permits.release()
        await first.result()
        await second.result()
        assert [Path(m).name for _, m in service.models.loaded()] == ["b"]


async def test_a_model_larger_than_the_budget_is_refused_without_its_path(
    tasks: type[StepTask], tmp_path: Path
) -> None:
    huge = weights(tmp_path / "private" / "operator", "huge", 4)
    async with make_service(tmp_path, memory_mb="2") as service:
        with pytest.raises(ModelUnavailable) as info:
            await service.run("steps", text="x", steps=1, model=huge)
    message = str(info.value)
    assert "memory budget" in message and "huge" in message
    assert str(tmp_path) not in message and "private" not in message


async def test_loading_a_model_does_not_hold_up_batches_of_loaded_ones(
    tasks: type[StepTask], tmp_path: Path
) -> None:
    tasks.permits = None
    slow = weights(tmp_path, "slow", 1)
    async with make_service(tmp_path) as service:
        await service.run("steps", text="warm", steps=1)  # the default model is loaded
        tasks.load_gate.clear()
        loading = service.submit("steps", user="ann", text="needs slow", steps=1, model=slow)
        await wait_until(lambda: service.models.loading(("steps", slow)))
        assert (await service.run("steps", user="bob", text="ready", steps=1)).text == "ready"
        assert loading.state is JobState.LOADING
        tasks.load_gate.set()
        await loading.result()


def test_measure_counts_tied_weights_once() -> None:
    embedding = torch.nn.Embedding(100, 8)
    head = torch.nn.Linear(8, 100, bias=False)
    head.weight = embedding.weight
    assert measure_bytes({"a": embedding, "b": head}) == 100 * 8 * 4


# -- nothing private in what users see ------------------------------------------------


async def test_status_and_load_errors_name_models_without_paths(
    tasks: type[StepTask], tmp_path: Path
) -> None:
    tasks.permits = None
    broken = tmp_path / "home" / "operator" / "secret-models" / "broken"
    broken.mkdir(parents=True)
    (broken / "config.json").write_text("{}")  # no weights
    async with make_service(tmp_path) as service:
        await service.run("steps", text="ok", steps=1)
        with pytest.raises(ModelUnavailable) as info:
            await service.run("steps", text="x", steps=1, model=str(broken))
        status = service.status()
    shown = [
        str(info.value),
        *status.loaded_models,
        *status.failed_models,
        *status.failed_models.values(),
    ]
    assert "steps: default" in status.loaded_models
    assert any("broken" in text for text in shown)
    assert not [text for text in shown if str(tmp_path) in text or "operator" in text]


async def test_translate_allowed_pairs_limit_what_users_may_load(
    tiny_models: dict[str, Path],
) -> None:
    settings = InferenceSettings(_env_file=None, translate_allowed_pairs="en-fr, fr-en")
    template = f"{tiny_models['translate']}/opus-mt-{{src}}-{{tgt}}"
    async with InferenceService(settings, models={"translate": template}) as service:
        await service.run("translate", text="Hello.", target="fr")
        with pytest.raises(InvalidInput, match="enabled on this bot"):
            service.submit("translate", text="Hello.", target="de")


async def test_many_translation_pairs_stay_within_the_budget(
    tiny_models: dict[str, Path],
) -> None:
    from tests.tiny_models import MARIAN_PAIRS

    template = f"{tiny_models['translate']}/opus-mt-{{src}}-{{tgt}}"
    one = measure_bytes(
        __import__("transformers").AutoModelForSeq2SeqLM.from_pretrained(
            template.format(src="en", tgt="fr")
        )
    )
    budget_mb = 2.5 * one / MB  # two models fit, never three
    settings = InferenceSettings(_env_file=None, model_memory_mb=str(budget_mb))
    peaks = []
    async with InferenceService(settings, models={"translate": template}) as service:
        for source, target in MARIAN_PAIRS:
            await service.run("translate", text="Hello there.", source=source, target=target)
            peaks.append(service.models.used)
            assert len(service.loaded_models("translate")) <= 2
    assert len(MARIAN_PAIRS) > 3 and max(peaks) <= budget_mb * MB


# -- the garbage collector -------------------------------------------------------------


async def test_start_up_is_kept_from_the_collector_and_unloaded_models_are_still_freed(
    tasks: type[StepTask], tmp_path: Path
) -> None:
    # a full collection walks every tracked object (200 ms with torch and a model, the
    # GIL held): the service freezes what start-up leaves (a preloaded model too), and a
    # model unloaded later must still be collected, reference cycles and all
    tasks.permits = None
    gc.unfreeze()  # as in a fresh process: nothing frozen yet
    big = {name: weights(tmp_path, name, 4) for name in "ab"}
    async with make_service(tmp_path, memory_mb="6", preload="steps") as service:
        (model,) = service.models.models().values()  # the preloaded default model
        # frozen with start-up: the collector's generations no longer hold it
        assert all(tracked is not model for tracked in gc.get_objects())
        model.cycle = [model]  # only the cyclic collector can free it now
        unloaded = weakref.ref(model)
        del model
        for name in "ab":  # room for one of them: the default model goes first
            await service.run("steps", text=name, steps=1, model=big[name])
        assert unloaded() is None
