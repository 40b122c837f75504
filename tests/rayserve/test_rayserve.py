"""RayBackend on a real local Ray cluster (see conftest.py): the same promises as the
in-process service, kept by Ray Serve's batching, multiplexing, streaming,
cancellation and backpressure, with the task modules' real code on tiny models."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from inference import (
    Backend,
    Busy,
    InferenceService,
    InferenceSettings,
    InvalidInput,
    JobCancelled,
    JobHandle,
    JobState,
    ModelUnavailable,
    UnknownTask,
)
from inference.rayserve import RayBackend
from inference.tasks.ner import NerResult
from inference.tasks.sentiment import SentimentResult
from inference.tasks.translate import TranslateResult
from inference.wire import error_from_dict

pytestmark = pytest.mark.timeout(300)

#: A text that takes the tiny Marian models a while: many chunks, each written out
#: to its length bound by random weights.
LONG_TEXT = " ".join(f"Sentence number {i} says hello to the world." for i in range(100))


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.1)


async def test_several_tasks_end_to_end(backend: RayBackend) -> None:
    assert isinstance(backend, Backend)
    jobs = [
        backend.submit("sentiment", text="I love it"),
        backend.submit("ner", text="Alice lives in Paris."),
        backend.submit("translate", text="Hello, how are you?", target="fr"),
    ]
    assert all(isinstance(job, JobHandle) for job in jobs)
    sentiment, ner, translation = await asyncio.gather(*(job.result() for job in jobs))
    assert isinstance(sentiment, SentimentResult) and 0 <= sentiment.score <= 1
    assert isinstance(ner, NerResult)
    assert isinstance(translation, TranslateResult) and translation.target == "fr"
    assert all(job.state is JobState.DONE and job.done for job in jobs)
    assert backend.job(jobs[0].id) is None  # finished jobs are forgotten


async def test_requests_sent_together_run_as_one_batch(backend: RayBackend) -> None:
    before = len((await backend.replica_stats())["sentiment"]["batch_sizes"])
    texts = [f"text number {i} is rather nice" for i in range(6)]
    results = await asyncio.gather(*(backend.run("sentiment", text=t) for t in texts))
    assert all(isinstance(r, SentimentResult) for r in results)
    batches = (await backend.replica_stats())["sentiment"]["batch_sizes"][before:]
    assert sum(batches) == len(texts)
    assert max(batches) > 1, f"no batching: {batches}"
    # A result does not depend on its batch: the same text alone gives the same answer.
    alone = await backend.run("sentiment", text=texts[0])
    assert alone.score == pytest.approx(results[0].score, abs=1e-5)


async def test_translation_pairs_are_multiplexed_within_the_model_budget(
    backend: RayBackend, ray_cluster: dict[str, str]
) -> None:
    texts = ["Hello, how are you?", "The cat sleeps.", "We walk home today."]
    targets = ["fr", "de", "es"]
    # Mixed pairs at once: each batch holds one pair, so every text gets its own pair's
    # translation, the same as in-process.
    together = await asyncio.gather(
        *(backend.run("translate", text=t, target=g) for g in targets for t in texts)
    )
    settings = InferenceSettings(_env_file=None, device="cpu")
    async with InferenceService(settings, models={"translate": ray_cluster["translate"]}) as svc:
        expected = [await svc.run("translate", text=t, target=g) for g in targets for t in texts]
    assert [r.text for r in together] == [r.text for r in expected]
    assert [r.target for r in together] == [g for g in targets for _ in texts]
    # max_models_per_replica=2: the least recently used pair was unloaded.
    loaded = (await backend.replica_stats())["translate"]["loaded_models"]
    assert len(loaded) <= 2
    assert any(model.endswith("opus-mt-en-es") for model in loaded)


async def test_progress_streams_while_a_chain_runs(backend: RayBackend) -> None:
    job = backend.submit("translate", text="Hello, how are you?", target="fr>de>en")
    seen = [update async for update in job.updates()]
    assert seen[-1].state is JobState.DONE
    assert JobState.RUNNING in {update.state for update in seen}
    progress = [update.progress for update in seen if update.progress is not None]
    assert progress[0][1] == 3 and progress[-1] == (3, 3)
    assert [p[0] for p in progress] == sorted(p[0] for p in progress)
    result = await job.result()
    assert [stage.target for stage in result.stages] == ["fr", "de", "en"]


async def test_cancel_reaches_the_replica_for_running_and_queued_jobs(
    backend: RayBackend,
) -> None:
    before = await backend.replica_stats()
    running = backend.submit("translate", text=LONG_TEXT, target="fr>de>en>es")
    async for update in running.updates():
        if update.state is JobState.RUNNING:
            break
    # The same pair, but the replica runs one batch at a time: this one waits.
    waiting = backend.submit("translate", text=LONG_TEXT, target="fr>de>en>es")
    async for update in waiting.updates():
        if update.position == 0:
            break
    assert waiting.state is JobState.QUEUED and waiting.position == 0
    assert running.state is JobState.RUNNING

    assert waiting.cancel() and running.cancel()
    assert not running.cancel()  # already finished
    for job in (waiting, running):
        assert job.state is JobState.CANCELLED
        with pytest.raises(JobCancelled):
            await job.result()

    async def replica_saw_both() -> bool:
        stats = (await backend.replica_stats())["translate"]
        return stats["cancelled"] == before["translate"]["cancelled"] + 2 and not (
            stats["running"] or stats["queued"]
        )

    await eventually(replica_saw_both)
    # The queued request never ran: only the running one's batch was recorded.
    after = (await backend.replica_stats())["translate"]["batch_sizes"]
    assert after[len(before["translate"]["batch_sizes"]) :] == [1]
    # And the replica serves the next request.
    assert (await backend.run("translate", text="Hello", target="fr")).target == "fr"


async def test_a_full_deployment_queue_answers_busy(backend: RayBackend) -> None:
    # ner: max_ongoing_requests=1, max_queued_requests=1.
    jobs = [backend.submit("ner", text=LONG_TEXT[: 400 + i]) for i in range(12)]
    outcomes = await asyncio.gather(*(job.result() for job in jobs), return_exceptions=True)
    busy = [o for o in outcomes if isinstance(o, Busy)]
    served = [o for o in outcomes if isinstance(o, NerResult)]
    assert busy and served and len(busy) + len(served) == len(jobs), outcomes
    assert all(b.retry_after >= 1 and "queue is full" in str(b) for b in busy)
    assert {job.state for job in jobs} == {JobState.FAILED, JobState.DONE}
    # Nothing is stuck: the next request is served.
    assert isinstance(await backend.run("ner", text="Bob met Alice."), NerResult)


async def test_bad_input_is_refused_at_once_and_in_the_replica(backend: RayBackend) -> None:
    with pytest.raises(InvalidInput, match="empty"):
        backend.submit("sentiment", text="   ")
    with pytest.raises(UnknownTask):
        backend.submit("imagine", prompt="a fox")  # not deployed here
    with pytest.raises(InvalidInput):
        backend.submit("translate", text="Hello", target="xx")
    # A caller that skips the checks gets the replica's own typed error.
    stream = backend._handles["sentiment"].options(stream=True).stream.remote({"text": ""})
    events = [event async for event in stream]
    assert [event["event"] for event in events] == ["error"]
    assert isinstance(error_from_dict(events[0]["error"]), InvalidInput)


async def test_a_model_that_cannot_load_is_a_typed_error_without_its_path(
    backend: RayBackend,
) -> None:
    with pytest.raises(ModelUnavailable) as failure:
        await backend.run("translate", text="Hallo", source="de", target="es")
    assert "opus-mt-de-es" in str(failure.value)
    assert "/nonexistent" not in str(failure.value)
    # The failure is remembered (no reload for every request) and shown in the status.
    with pytest.raises(ModelUnavailable):
        await backend.run("translate", text="Hallo", source="de", target="es")
    await backend.replica_stats()
    status = backend.status()
    assert list(status.failed_models) == ["translate: opus-mt-de-es"]
    assert status.queued["translate"] == 0 and status.running["translate"] == 0


def test_ray_is_imported_only_by_serve_ray() -> None:
    import subprocess
    import sys

    modules = "bot.client, inference.cli, inference.client, inference.server, inference.service"
    code = f"import sys, {modules}; print('ray' in sys.modules)"
    repo = str(Path(__file__).resolve().parents[2])
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=repo,
        env={**os.environ, "PYTHONPATH": repo},
    )
    assert out.stdout.strip() == "False"
