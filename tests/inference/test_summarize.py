"""Summaries on a tiny BART, through the service like any real model id.

The summaries of a random-weight model are gibberish, so the tests check the plumbing:
lengths, chunking of long texts, batching and determinism. The model here reads only
32 tokens (so a paragraph already needs chunks) and, its window bounding the output
too, never generates more than 30: that keeps beam search fast.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from inference import InferenceService, InferenceSettings, InvalidInput, JobCancelled
from inference.device import resolve_placement
from inference.tasks.base import NullContext
from inference.tasks.summarize import SummarizeResult, SummarizeTask
from inference.text import split_by_tokens
from tests.inference.test_cli import cli
from tests.tiny_models import build_bart_summarizer

WINDOW = 32
SHORT = "The weather is nice today."
STORY = " ".join(
    [
        "Once upon a time, there was a little robot who wanted to paint.",
        "The weather is nice today, so we will go to the park.",
        "Apple and Google opened new offices in London and Berlin.",
        "The Eiffel Tower is in Paris, the capital of France.",
        "Hugging Face is a company based in New York City.",
        "The quick brown fox jumps over the lazy dog.",
    ]
)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_bart_summarizer(tmp_path_factory.mktemp("summarize") / "bart", max_length=WINDOW)


@pytest.fixture
async def service(model_dir: Path):
    async with InferenceService(
        InferenceSettings(_env_file=None), models={"summarize": str(model_dir)}
    ) as service:
        yield service


@pytest.fixture
def task(model_dir: Path) -> SummarizeTask:
    return SummarizeTask(
        str(model_dir), resolve_placement("cpu"), InferenceSettings(_env_file=None)
    )


async def test_summary_of_a_short_text(service: InferenceService) -> None:
    result = await service.run("summarize", text=SHORT, length="short")
    assert isinstance(result, SummarizeResult)
    assert result.summary
    assert (result.chunks, result.rounds, result.truncated) == (1, 1, False)
    assert 0 < result.input_tokens <= WINDOW
    assert result.output_tokens > 0
    data = result.to_dict()
    json.dumps(data)
    assert set(data) == {
        "summary", "chunks", "rounds", "input_tokens", "output_tokens", "truncated",
        "model"
    }  # fmt: skip


async def test_long_text_is_chunked_and_summarised_again(service: InferenceService) -> None:
    job = service.submit("summarize", text=STORY, length="short")
    progress = [update.progress async for update in job.updates() if update.progress]
    result = await job.result()
    assert result.chunks > 1
    assert result.rounds >= 2
    assert result.input_tokens > WINDOW
    assert result.summary
    assert progress
    done, total = progress[-1]
    assert done == total >= result.chunks + 1  # every chunk, then the joined summaries


async def test_same_text_same_summary(service: InferenceService) -> None:
    first = await service.run("summarize", text=SHORT, length="medium")
    again = await service.run("summarize", text=SHORT, length="medium")
    assert first == again


async def test_batched_results_match_single_runs(
    service: InferenceService, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[int] = []
    run_batch = SummarizeTask.run_batch

    def spy(self: SummarizeTask, models: Any, requests: Any, ctx: Any) -> Any:
        batches.append(len(requests))
        return run_batch(self, models, requests, ctx)

    monkeypatch.setattr(SummarizeTask, "run_batch", spy)
    texts = [SHORT, "I love this movie.", "Hello, how are you today? I am fine."]
    alone = [await service.run("summarize", text=t, length="short") for t in texts]
    together = await asyncio.gather(
        *(service.run("summarize", text=t, length="short") for t in texts)
    )
    assert batches == [1, 1, 1, 3]
    assert [r.summary for r in alone] == [r.summary for r in together]


def test_batch_key_separates_lengths(task: SummarizeTask) -> None:
    short = task.parse(text=SHORT, length="short")
    assert task.batch_key(short) == task.batch_key(task.parse(text="other", length="SHORT"))
    assert task.batch_key(short) != task.batch_key(task.parse(text=SHORT, length="long"))
    assert task.parse(text=SHORT).length == "medium"


def test_cancelled_request_stops(task: SummarizeTask) -> None:
    class Cancelled(NullContext):
        def cancelled(self, index: int) -> bool:
            return True

    models = {task.model: task.load(task.model)}
    (outcome,) = task.run_batch(models, [task.parse(text=STORY)], Cancelled())
    assert isinstance(outcome, JobCancelled)


class CancelAfterTokens(NullContext):
    """Cancels the request once ``tokens`` step boundaries (generated tokens) passed."""

    def __init__(self, tokens: int) -> None:
        self.tokens = tokens
        self.checkpoints = 0

    def checkpoint(self) -> None:
        self.checkpoints += 1

    def cancelled(self, index: int) -> bool:
        return self.checkpoints >= self.tokens


def test_cancel_in_the_middle_of_a_round_stops_generating(task: SummarizeTask) -> None:
    loaded = task.load(task.model)
    decoder_calls = 0

    def count(*_: object) -> None:
        nonlocal decoder_calls
        decoder_calls += 1

    loaded.model.get_decoder().register_forward_hook(count)
    request = task.parse(text=STORY, length="long")
    task.run_batch({task.model: loaded}, [request], NullContext())
    uncancelled = decoder_calls

    decoder_calls = 0
    ctx = CancelAfterTokens(3)
    (outcome,) = task.run_batch({task.model: loaded}, [request], ctx)
    assert isinstance(outcome, JobCancelled)
    # one beam-search round writes many tokens; the cancel stopped it after the third
    assert uncancelled > 20
    assert decoder_calls <= 4


def test_split_by_tokens_keeps_sentences_whole(task: SummarizeTask) -> None:
    tokenizer = task.load(task.model).tokenizer
    chunks = split_by_tokens(tokenizer, STORY, 50)  # every sentence fits in 50 tokens
    assert len(chunks) > 1
    assert " ".join(chunks) == STORY
    for chunk in chunks:
        assert chunk.endswith(".")
        assert len(tokenizer(chunk, add_special_tokens=False)["input_ids"]) <= 50


def test_split_by_tokens_cuts_a_sentence_longer_than_the_window(task: SummarizeTask) -> None:
    tokenizer = task.load(task.model).tokenizer
    text = "word " * 100 + "end."
    chunks = split_by_tokens(tokenizer, text, 30)
    assert len(chunks) > 3
    assert " ".join(chunks).split() == text.split()
    assert all(len(tokenizer(c, add_special_tokens=False)["input_ids"]) <= 30 for c in chunks)


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"text": ""}, "empty"),
        ({"text": "x" * 50_001}, "too long"),
        ({"text": SHORT, "length": "tiny"}, "length must be one of: short, medium, long"),
        ({"text": SHORT, "length": True}, "length must be one of"),
        ({"text": SHORT, "style": "bullets"}, "no option 'style'"),
    ],
)
async def test_bad_input(service: InferenceService, inputs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        await service.run("summarize", **inputs)


def test_cli_summarises(model_dir: Path) -> None:
    done = cli("run", "summarize", STORY, "--length", "short", "--model", str(model_dir))
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["summary"]
    assert data["chunks"] > 1


def test_cli_bad_length_exits_2(model_dir: Path) -> None:
    done = cli("run", "summarize", SHORT, "--length", "huge", "--model", str(model_dir))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip() == "error: length must be one of: short, medium, long."
