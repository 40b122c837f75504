"""The service's queueing, batching, caching and error behaviour, on a task we control.

The task here is a real ``Task`` subclass registered for the test; it lets a test hold
a batch in the worker thread, count model loads and see which requests ran together.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

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
    UnknownTask,
)
from inference.errors import InferenceError
from inference.results import Result
from inference.tasks import TASKS
from inference.tasks.base import BatchContext, Task, clean_text


@dataclass
class EchoResult(Result):
    text: str
    batch_size: int


class EchoTask(Task[str, EchoResult]):
    """Upper-cases text. Knobs (class attributes) let tests steer it."""

    name = "echo"
    summary = "test task"
    gate: threading.Event
    loads: list[str]
    batches: list[list[str]]
    threads: list[threading.Thread]
    load_seconds = 0.0
    step_seconds = 0.0

    def parse(self, text: Any = None, **extra: Any) -> str:
        return clean_text(text, max_chars=100)

    def load(self, model_id: str) -> str:
        type(self).threads.append(threading.current_thread())
        time.sleep(self.load_seconds)
        type(self).loads.append(model_id)
        if model_id == "broken":
            raise OSError("config.json is not valid JSON\nmore detail here")
        return model_id

    def run_batch(
        self, models: Mapping[str, Any], requests: Sequence[str], ctx: BatchContext
    ) -> list[EchoResult | InferenceError]:
        type(self).threads.append(threading.current_thread())
        type(self).batches.append(list(requests))
        if "explode" in requests:
            raise RuntimeError("the model broke on this input")
        if "explode late" in requests:
            assert self.gate.wait(10), "test never opened the gate"
            raise RuntimeError("the model broke at the end of the batch")
        for step in range(3):
            ctx.progress(0, step + 1, 3)
            time.sleep(self.step_seconds)
        assert self.gate.wait(10), "test never opened the gate"
        return [
            InvalidInput("odd input") if text == "odd" else EchoResult(text.upper(), len(requests))
            for text in requests
        ]


@pytest.fixture
def echo(monkeypatch: pytest.MonkeyPatch) -> type[EchoTask]:
    monkeypatch.setitem(TASKS, "echo", EchoTask)
    EchoTask.gate = threading.Event()
    EchoTask.gate.set()
    EchoTask.loads = []
    EchoTask.batches = []
    EchoTask.threads = []
    EchoTask.load_seconds = 0.0
    EchoTask.step_seconds = 0.0
    return EchoTask


def make_service(
    *, max_wait_ms: float = 20, max_per_user: int = 2, **limits: Any
) -> InferenceService:
    settings = InferenceSettings(_env_file=None, max_wait_ms=max_wait_ms, max_per_user=max_per_user)
    return InferenceService(
        settings, models={"echo": "echo-model"}, limits={"echo": TaskLimits(**limits)}
    )


async def wait_until(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition never became true"
        await asyncio.sleep(0.005)


async def test_run_returns_result(echo: type[EchoTask]) -> None:
    async with make_service() as service:
        result = await service.run("echo", text=" hello ")
    assert result.to_dict() == {"text": "HELLO", "batch_size": 1}


async def test_model_loads_once_under_concurrent_first_calls(echo: type[EchoTask]) -> None:
    echo.load_seconds = 0.2
    async with make_service(max_batch_size=2) as service:
        results = await asyncio.gather(*(service.run("echo", text=f"t{i}") for i in range(10)))
        assert [r.text for r in results] == [f"T{i}" for i in range(10)]
        await service.run("echo", text="again")
        assert echo.loads == ["echo-model"]
        assert service.status().loaded_models == ["echo: echo-model"]


async def test_requests_arriving_together_share_a_batch(echo: type[EchoTask]) -> None:
    async with make_service(max_batch_size=8) as service:
        results = await asyncio.gather(*(service.run("echo", text=f"t{i}") for i in range(5)))
    assert echo.batches == [[f"t{i}" for i in range(5)]]
    assert {r.batch_size for r in results} == {5}


async def test_batches_respect_max_batch_size(echo: type[EchoTask]) -> None:
    async with make_service(max_batch_size=3) as service:
        await asyncio.gather(*(service.run("echo", text=f"t{i}") for i in range(7)))
    assert [len(b) for b in echo.batches] == [3, 3, 1]


async def test_bad_input_in_a_batch_fails_alone(echo: type[EchoTask]) -> None:
    async with make_service(max_batch_size=8) as service:
        outcomes = await asyncio.gather(
            *(service.run("echo", text=t) for t in ("a", "odd", "b", "explode", "c")),
            return_exceptions=True,
        )
    texts = [o.text if isinstance(o, EchoResult) else o for o in outcomes]
    assert texts[0] == "A" and texts[2] == "B" and texts[4] == "C"
    assert isinstance(texts[1], InvalidInput)
    assert isinstance(texts[3], RuntimeError)
    # the whole batch raised once, then each request ran alone
    assert echo.batches[0] == ["a", "odd", "b", "explode", "c"]
    assert sorted(map(tuple, echo.batches[1:])) == [("a",), ("b",), ("c",), ("explode",), ("odd",)]


async def test_invalid_input_is_refused_before_queueing(echo: type[EchoTask]) -> None:
    async with make_service() as service:
        for bad in ("", "   ", None, b"\xff\xfe\x00binary", "x" * 101):
            with pytest.raises(InvalidInput):
                service.submit("echo", text=bad)
        assert service.status().queued == {"echo": 0}
        with pytest.raises(UnknownTask, match="Unknown task 'nope'"):
            await service.run("nope", text="x")


async def test_busy_when_queue_is_full(echo: type[EchoTask]) -> None:
    echo.gate.clear()
    async with make_service(max_batch_size=1, max_queue=2) as service:
        running = service.submit("echo", text="running")
        await wait_until(lambda: running.state is JobState.RUNNING)
        queued = [service.submit("echo", text=f"q{i}") for i in range(2)]
        with pytest.raises(Busy) as info:
            service.submit("echo", text="one too many")
        assert info.value.retry_after >= 1
        assert "queue is full" in str(info.value)
        echo.gate.set()
        for job in (running, *queued):
            await job.result()


async def test_per_user_bound(echo: type[EchoTask]) -> None:
    echo.gate.clear()
    async with make_service(max_batch_size=1) as service:
        first = service.submit("echo", user="ann", text="1")
        second = service.submit("echo", user="ann", text="2")
        with pytest.raises(Busy, match="already have 2 requests"):
            service.submit("echo", user="ann", text="3")
        other = service.submit("echo", user="bob", text="b")  # others are not affected
        echo.gate.set()
        await asyncio.gather(first.result(), second.result(), other.result())
        # once ann's jobs have finished she may send again
        assert (await service.run("echo", user="ann", text="4")).text == "4"


async def test_fair_order_across_users(echo: type[EchoTask]) -> None:
    echo.gate.clear()
    service = make_service(max_wait_ms=0, max_per_user=10, max_batch_size=1)
    async with service:
        blocker = service.submit("echo", user="z", text="blocker")
        await wait_until(lambda: blocker.state is JobState.RUNNING)
        ann = [service.submit("echo", user="ann", text=f"ann{i}") for i in range(3)]
        bob = [service.submit("echo", user="bob", text=f"bob{i}") for i in range(2)]
        cat = service.submit("echo", user="cat", text="cat0")
        assert [j.position for j in ann] == [0, 3, 5]
        assert [j.position for j in bob] == [1, 4]
        assert cat.position == 2
        echo.gate.set()
        await asyncio.gather(*(j.result() for j in (blocker, *ann, *bob, cat)))
    order = [b[0] for b in echo.batches]
    assert order == ["blocker", "ann0", "bob0", "cat0", "ann1", "bob1", "ann2"]


async def test_cancel_a_queued_job(echo: type[EchoTask]) -> None:
    echo.gate.clear()
    async with make_service(max_batch_size=1) as service:
        running = service.submit("echo", text="running")
        await wait_until(lambda: running.state is JobState.RUNNING)
        first = service.submit("echo", text="first")
        second = service.submit("echo", text="second")
        assert second.position == 1
        assert first.cancel()
        assert second.position == 0
        with pytest.raises(JobCancelled):
            await first.result()
        assert first.state is JobState.CANCELLED
        assert not first.cancel()  # already finished
        echo.gate.set()
        await second.result()
    assert ["first"] not in echo.batches


async def test_cancel_a_running_job_is_seen_by_the_task(echo: type[EchoTask]) -> None:
    echo.gate.clear()
    async with make_service(max_batch_size=1) as service:
        job = service.submit("echo", text="slow")
        await wait_until(lambda: job.state is JobState.RUNNING)
        job.cancel()
        with pytest.raises(JobCancelled):
            await job.result()
        echo.gate.set()
        # the lane is free again for the next request
        assert (await service.run("echo", text="next")).text == "NEXT"


async def test_timeout(echo: type[EchoTask]) -> None:
    echo.gate.clear()
    async with make_service(timeout_s=0.2) as service:
        job = service.submit("echo", text="slow")
        with pytest.raises(JobTimeout, match="longer than"):
            await job.result()
        echo.gate.set()


async def test_model_that_fails_to_load_is_unavailable_and_others_still_work(
    echo: type[EchoTask], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with InferenceService(
        InferenceSettings(_env_file=None), models={"echo": "broken"}
    ) as service:
        with pytest.raises(ModelUnavailable) as info:
            await service.run("echo", text="x")
        assert info.value.reason == "config.json is not valid JSON"
        assert "\n" not in str(info.value)
        with pytest.raises(ModelUnavailable):  # remembered, not retried at once
            await service.run("echo", text="x")
        assert echo.loads == ["broken"]
        assert "echo: broken" in service.status().failed_models


async def test_missing_model_directory(echo: type[EchoTask], tmp_path: Any) -> None:
    async with InferenceService(
        InferenceSettings(_env_file=None), models={"echo": str(tmp_path / "nope")}
    ) as service:
        with pytest.raises(ModelUnavailable, match="no such directory"):
            await service.run("echo", text="x")
    assert echo.loads == []


async def test_progress_and_updates(echo: type[EchoTask]) -> None:
    echo.step_seconds = 0.02
    async with make_service() as service:
        job = service.submit("echo", text="x")
        seen = [update async for update in job.updates()]
    assert seen[0].state is JobState.QUEUED and seen[0].position == 0
    assert seen[-1].state is JobState.DONE
    assert (3, 3) in [u.progress for u in seen]


async def test_loading_and_running_happen_off_the_event_loop(echo: type[EchoTask]) -> None:
    async with make_service() as service:
        await service.run("echo", text="x")
    loop_thread = threading.current_thread()
    assert echo.threads and loop_thread not in echo.threads
    assert {t.name.split("_")[0] for t in echo.threads} == {"model-load", "inference"}


async def test_close_cancels_waiting_jobs(echo: type[EchoTask]) -> None:
    echo.gate.clear()
    service = await make_service(max_batch_size=1).start()
    running = service.submit("echo", text="a")
    queued = service.submit("echo", text="b")
    await wait_until(lambda: running.state is JobState.RUNNING)
    await service.close()
    echo.gate.set()
    for job in (running, queued):
        with pytest.raises(JobCancelled, match="shutting down"):
            await job.result()


def test_unknown_task_in_model_overrides() -> None:
    with pytest.raises(UnknownTask):
        InferenceService(InferenceSettings(_env_file=None), models={"nope": "x"})


async def test_cancelling_gives_the_user_their_round_back(echo: type[EchoTask]) -> None:
    echo.gate.clear()
    service = make_service(max_wait_ms=0, max_per_user=10, max_batch_size=1)
    async with service:
        blocker = service.submit("echo", user="z", text="blocker")
        await wait_until(lambda: blocker.state is JobState.RUNNING)
        ann0 = service.submit("echo", user="ann", text="ann0")
        ann1 = service.submit("echo", user="ann", text="ann1")
        bob0 = service.submit("echo", user="bob", text="bob0")
        assert ann1.cancel()
        ann2 = service.submit("echo", user="ann", text="ann2")  # in ann1's round, not after it
        bob1 = service.submit("echo", user="bob", text="bob1")
        assert [j.position for j in (ann0, bob0, ann2, bob1)] == [0, 1, 2, 3]
        echo.gate.set()
        await asyncio.gather(*(j.result() for j in (blocker, ann0, bob0, ann2, bob1)))


async def test_anonymous_requests_leave_no_fairness_state(echo: type[EchoTask]) -> None:
    async with make_service(max_batch_size=8) as service:
        await asyncio.gather(*(service.run("echo", text=f"t{i}") for i in range(40)))
        assert service.clock.users() == 0


async def test_remembered_load_failure_is_a_fresh_error_each_time(echo: type[EchoTask]) -> None:
    async with InferenceService(
        InferenceSettings(_env_file=None), models={"echo": "broken"}
    ) as service:
        errors = []
        for _ in range(3):
            with pytest.raises(ModelUnavailable) as info:
                await service.run("echo", text="x")
            errors.append(info.value)
    assert echo.loads == ["broken"]
    assert len({id(e) for e in errors}) == 3  # one shared error would pile up tracebacks
    assert {str(e) for e in errors} == {str(errors[0])}


async def test_retry_after_a_failed_batch_skips_cancelled_jobs(echo: type[EchoTask]) -> None:
    echo.gate.clear()
    async with make_service(max_batch_size=2) as service:
        jobs = [service.submit("echo", text=t) for t in ("calm", "explode late")]
        await wait_until(lambda: all(j.state is JobState.RUNNING for j in jobs))
        jobs[0].cancel()
        echo.gate.set()
        with pytest.raises(RuntimeError, match="end of the batch"):
            await jobs[1].result()
    assert echo.batches == [["calm", "explode late"], ["explode late"]]


async def test_close_while_loading_drops_the_load(echo: type[EchoTask]) -> None:
    echo.load_seconds = 0.3
    service = await make_service().start()
    job = service.submit("echo", text="x")
    await wait_until(lambda: job.state is JobState.LOADING)
    await service.close()
    await asyncio.sleep(0.5)  # the load's thread has finished by now
    with pytest.raises(JobCancelled):
        await job.result()
    assert service.loaded_models("echo") == []


def test_progress_after_the_loop_closed_does_not_break_the_batch() -> None:
    from types import SimpleNamespace

    from inference.lanes import BatchRun
    from inference.scheduling import Ticket

    loop = asyncio.new_event_loop()
    loop.close()
    job = SimpleNamespace(_set_progress=lambda done, total: None, done=False)
    BatchRun(None, [job], Ticket(0.0), loop).progress(0, 1, 2)  # type: ignore[arg-type,list-item]
