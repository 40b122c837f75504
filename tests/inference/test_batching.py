"""Dynamic batching and backpressure through the real sentiment task and tiny DistilBERT.

tests/inference/test_service.py checks the queue mechanics on a fake task; here the
same promises are checked end to end with a real model: a torch forward hook on the
model's embeddings sees every batch that reaches the model (and can hold it, or make
it fail), nothing of ours is mocked.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from transformers import AutoTokenizer
from transformers.models.distilbert.modeling_distilbert import Embeddings

from bench.batching import TINY_SIZE, build_model, run_bench, sentences
from inference import (
    Busy,
    InferenceService,
    InferenceSettings,
    InvalidInput,
    JobState,
    TaskLimits,
)
from inference.tasks.base import length_sorted_passes
from inference.tasks.sentiment import SentimentResult


class ModelSpy:
    """A forward pre-hook on every DistilBERT embeddings module in the process: records
    the batch size of each forward pass, can hold passes until ``gate`` is set, and
    raises inside the model for any batch that holds the ``poison`` token id."""

    def __init__(self) -> None:
        self.batch_sizes: list[int] = []
        self.gate = threading.Event()
        self.gate.set()
        self.poison: int | None = None

    def __call__(self, module: torch.nn.Module, args: tuple[Any, ...]) -> None:
        if not isinstance(module, Embeddings) or not args or args[0] is None:
            return
        input_ids: torch.Tensor = args[0]
        self.batch_sizes.append(int(input_ids.shape[0]))
        assert self.gate.wait(10), "the test never opened the gate"
        if self.poison is not None and bool((input_ids == self.poison).any()):
            raise RuntimeError("the model broke on this input")


@pytest.fixture
def spy() -> Iterator[ModelSpy]:
    spy = ModelSpy()
    handle = torch.nn.modules.module.register_module_forward_pre_hook(spy)
    try:
        yield spy
    finally:
        spy.gate.set()
        handle.remove()


def make_service(
    model_dir: Path, *, max_wait_ms: float = 50, max_per_user: int = 2, **limits: Any
) -> InferenceService:
    settings = InferenceSettings(
        _env_file=None, device="cpu", max_wait_ms=max_wait_ms, max_per_user=max_per_user
    )
    return InferenceService(
        settings,
        models={"sentiment": str(model_dir)},
        limits={"sentiment": TaskLimits(**limits)},
    )


async def warm(service: InferenceService, spy: ModelSpy) -> None:
    """Load the model now, so that a test's timing is about queueing only."""
    await service.run("sentiment", text="warm up")
    spy.batch_sizes.clear()


async def wait_until(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition never became true"
        await asyncio.sleep(0.005)


TEXTS = [
    "great fun",
    "a terrible, boring and far too long film that nobody should ever watch",
    "ok",
    "I love it, the actors are wonderful",
    "The food was okay, but the service was slow.",
]


# -- batching ------------------------------------------------------------------------


async def test_requests_arriving_together_reach_the_model_as_one_batch(
    tiny_models: dict[str, Path], spy: ModelSpy
) -> None:
    async with make_service(tiny_models["sentiment"], max_batch_size=8) as service:
        await warm(service, spy)
        jobs = [service.submit("sentiment", text=t) for t in TEXTS]
        results = await asyncio.gather(*(job.result() for job in jobs))
    assert spy.batch_sizes == [len(TEXTS)]
    assert all(isinstance(r, SentimentResult) for r in results)


async def test_batched_results_match_one_by_one_results(
    tiny_models: dict[str, Path], spy: ModelSpy
) -> None:
    """Texts of different lengths share one padded forward pass; the padding must not
    change anyone's scores, and each caller keeps its own top_k."""
    async with make_service(tiny_models["sentiment"], max_batch_size=8) as service:
        await warm(service, spy)
        alone = [await service.run("sentiment", text=t, top_k=0) for t in TEXTS]
        assert spy.batch_sizes == [1] * len(TEXTS)
        spy.batch_sizes.clear()
        top_ks = [0, 1, 0, 2, 1]
        together = await asyncio.gather(
            *(service.run("sentiment", text=t, top_k=k) for t, k in zip(TEXTS, top_ks, strict=True))
        )
    assert spy.batch_sizes == [len(TEXTS)]
    for one, batched, top_k in zip(alone, together, top_ks, strict=True):
        assert batched.label == one.label
        assert batched.score == pytest.approx(one.score, abs=1e-5)
        assert len(batched.scores) == (top_k or len(one.scores))
        for a, b in zip(one.scores, batched.scores, strict=False):
            assert (a.label, a.score) == (b.label, pytest.approx(b.score, abs=1e-5))


async def test_a_big_batch_runs_in_length_sorted_passes_and_each_caller_gets_its_own(
    tiny_models: dict[str, Path], spy: ModelSpy
) -> None:
    """On a CPU a batch splits into forward passes of similar-length texts (to cut
    padding); the results must still go back to the right callers."""
    texts = [("long story " * (5 + i)) if i % 3 == 0 else f"short {i}" for i in range(16)]
    async with make_service(tiny_models["sentiment"], max_batch_size=16) as service:
        await warm(service, spy)
        alone = [await service.run("sentiment", text=t, top_k=0) for t in texts]
        spy.batch_sizes.clear()
        together = await asyncio.gather(*(service.run("sentiment", text=t, top_k=0) for t in texts))
    assert len(spy.batch_sizes) > 1 and sum(spy.batch_sizes) == len(texts)
    for one, batched in zip(alone, together, strict=True):
        assert [(s.label, pytest.approx(s.score, abs=1e-5)) for s in one.scores] == [
            (s.label, s.score) for s in batched.scores
        ]
        assert batched.truncated == one.truncated
    assert together[-4].truncated  # "long story" x 17 is more than 64 tokens
    assert not together[1].truncated


def test_length_sorted_passes() -> None:
    lengths = [10, 3, 50, 4, 200, 12]
    # shortest first; each pass padded to its longest stays within 64 tokens
    assert length_sorted_passes(lengths, 64) == [[1, 3, 0, 5], [2], [4]]
    assert length_sorted_passes(lengths, None) == [[0, 1, 2, 3, 4, 5]]
    assert length_sorted_passes([], 64) == []


async def test_a_request_that_breaks_the_model_fails_alone(
    tiny_models: dict[str, Path], spy: ModelSpy
) -> None:
    async with make_service(tiny_models["sentiment"], max_batch_size=8) as service:
        await warm(service, spy)
        tokenizer = AutoTokenizer.from_pretrained(tiny_models["sentiment"])
        spy.poison = tokenizer.convert_tokens_to_ids("paris")  # a word in the tiny vocabulary
        assert spy.poison != tokenizer.unk_token_id
        texts = ["great fun", "I love Paris", "ok", "bad"]
        outcomes = await asyncio.gather(
            *(service.run("sentiment", text=t) for t in texts), return_exceptions=True
        )
    assert isinstance(outcomes[1], RuntimeError)
    assert all(isinstance(outcomes[i], SentimentResult) for i in (0, 2, 3))
    # one batch of four failed as a whole, then each request ran on its own
    assert spy.batch_sizes == [4, 1, 1, 1, 1]


async def test_invalid_request_is_refused_and_its_neighbours_still_batch(
    tiny_models: dict[str, Path], spy: ModelSpy
) -> None:
    async with make_service(tiny_models["sentiment"], max_batch_size=8) as service:
        await warm(service, spy)
        jobs = [service.submit("sentiment", text="good"), service.submit("sentiment", text="bad")]
        with pytest.raises(InvalidInput, match="empty"):
            service.submit("sentiment", text="   ")
        jobs.append(service.submit("sentiment", text="fine"))
        await asyncio.gather(*(job.result() for job in jobs))
    assert spy.batch_sizes == [3]


# -- backpressure --------------------------------------------------------------------


async def test_busy_when_the_queue_is_full_then_accepted_again(
    tiny_models: dict[str, Path], spy: ModelSpy
) -> None:
    async with make_service(
        tiny_models["sentiment"], max_batch_size=2, max_queue=3, max_wait_ms=0
    ) as service:
        await warm(service, spy)
        spy.gate.clear()
        running = service.submit("sentiment", text="running")
        await wait_until(lambda: running.state is JobState.RUNNING)
        queued = [service.submit("sentiment", text=f"queued {i}") for i in range(3)]
        assert [job.position for job in queued] == [0, 1, 2]
        with pytest.raises(Busy, match="queue is full") as info:
            service.submit("sentiment", text="one too many")
        # two batches of two are ahead of a new request: at least a second, finite
        assert 1.0 <= info.value.retry_after < math.inf
        spy.gate.set()
        await asyncio.gather(*(job.result() for job in (running, *queued)))
        assert (await service.run("sentiment", text="room again")).label
    assert spy.batch_sizes == [1, 2, 1, 1]


async def test_per_user_bound_counts_queued_and_running_jobs(
    tiny_models: dict[str, Path], spy: ModelSpy
) -> None:
    async with make_service(tiny_models["sentiment"], max_batch_size=1, max_wait_ms=0) as service:
        await warm(service, spy)
        spy.gate.clear()
        first = service.submit("sentiment", user=1, text="one")
        await wait_until(lambda: first.state is JobState.RUNNING)
        second = service.submit("sentiment", user=1, text="two")  # queued
        with pytest.raises(Busy, match="already have 2 requests") as info:
            service.submit("sentiment", user=1, text="three")
        assert info.value.retry_after >= 1.0
        other = service.submit("sentiment", user=2, text="someone else")
        spy.gate.set()
        await asyncio.gather(first.result(), second.result(), other.result())
        assert (await service.run("sentiment", user=1, text="again")).label


async def test_fair_order_across_users(tiny_models: dict[str, Path], spy: ModelSpy) -> None:
    """A user who sends a burst does not push others back: everyone's first request runs
    before anyone's second."""
    async with make_service(
        tiny_models["sentiment"], max_batch_size=1, max_wait_ms=0, max_per_user=10
    ) as service:
        await warm(service, spy)
        spy.gate.clear()
        blocker = service.submit("sentiment", user="z", text="blocker")
        await wait_until(lambda: blocker.state is JobState.RUNNING)
        jobs = {f"ann{i}": service.submit("sentiment", user="ann", text="a") for i in range(3)}
        jobs |= {f"bob{i}": service.submit("sentiment", user="bob", text="b") for i in range(2)}
        jobs["cat0"] = service.submit("sentiment", user="cat", text="c")
        expected = ["ann0", "bob0", "cat0", "ann1", "bob1", "ann2"]
        assert sorted(jobs, key=lambda name: jobs[name].position) == expected
        assert [jobs[name].position for name in expected] == list(range(len(expected)))
        finished: list[str] = []

        async def wait(name: str) -> None:
            await jobs[name].result()
            finished.append(name)

        spy.gate.set()
        await asyncio.gather(blocker.result(), *(wait(name) for name in jobs))
    assert finished == expected
    assert spy.batch_sizes == [1] * 7


# -- the benchmark -------------------------------------------------------------------


def test_bench_vocabulary_covers_its_sentences() -> None:
    from bench.batching import VOCAB_SIZE, wordpiece_vocab

    vocab = wordpiece_vocab()
    assert len(vocab) == VOCAB_SIZE
    assert list(vocab)[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    words = {word.strip(".!?").lower() for text in sentences(64) for word in text.split()}
    assert words <= set(vocab)  # every word is one token: lengths are as planned


def test_bench_runs_end_to_end_on_a_tiny_model(tmp_path: Path) -> None:
    """The benchmark's own code path at toy sizes (nothing timed): it builds its model
    and tokenizer offline and returns the four target figures."""
    model_dir = build_model(tmp_path / "tiny", TINY_SIZE)
    lines: list[str] = []
    figures = run_bench(
        model_dir,
        n_requests=16,
        callers=4,
        memory_requests=40,
        batch_sizes=(4, 16),
        rounds=1,
        log=lines.append,
    )
    for key in ("ratio_vs_per_request", "ratio_vs_offline_batch"):
        assert 0 < figures[key] < math.inf
    assert figures["loop_lag_p99_ms"] >= 0
    assert math.isfinite(figures["rss_growth_pct"])
    assert figures["offline_best_batch_size"] in (4, 16)
    assert any(line.startswith("(c) InferenceService") for line in lines)
