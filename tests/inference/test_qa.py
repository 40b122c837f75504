"""Extractive QA on a tiny DistilBERT, through the service like any real model id.

With random weights the answers are random, so the service tests check invariants
(the span is the context's text at its offsets, scores are probabilities). Where a
test needs a known answer, a stand-in model puts its logits on known tokens and the
real tokenizer, windowing and span decoding do the rest.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from inference import InferenceService, InferenceSettings, InvalidInput
from inference.device import resolve_placement
from inference.tasks.base import LoadedModel, NullContext
from inference.tasks.qa import QaResult, QaTask
from tests.inference.test_cli import cli

OBAMA = "Barack Obama was the 44th president of the United States."
FILLER = "The quick brown fox jumps over the lazy dog. "


@pytest.fixture
async def service(tiny_models: dict[str, Path]):
    async with InferenceService(
        InferenceSettings(_env_file=None), models={"qa": str(tiny_models["qa"])}
    ) as service:
        yield service


def check_span(result: QaResult, context: str) -> None:
    assert context[result.start : result.end] == result.answer
    assert 0 <= result.start < result.end <= len(context)
    assert 0.0 <= result.score <= 1.0
    assert result.answerable == (result.note is None)


async def test_answer_is_a_span_of_the_context(service: InferenceService) -> None:
    result = await service.run("qa", question="Who was the 44th president?", context=OBAMA)
    assert isinstance(result, QaResult)
    check_span(result, OBAMA)
    assert result.windows == 1
    data = result.to_dict()
    json.dumps(data)
    assert type(data["score"]) is float
    assert set(data) == {"answer", "start", "end", "score", "answerable", "note", "windows"}


async def test_long_context_is_read_in_windows(service: InferenceService) -> None:
    context = FILLER * 60 + "My name is Wolfgang and I live in Berlin."
    result = await service.run("qa", question="Where do I live?", context=context)
    assert result.windows > 1
    check_span(result, context)


async def test_batched_results_match_single_runs(
    service: InferenceService, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[int] = []
    run_batch = QaTask.run_batch

    def spy(self: QaTask, models: Any, requests: Any, ctx: Any) -> Any:
        batches.append(len(requests))
        return run_batch(self, models, requests, ctx)

    monkeypatch.setattr(QaTask, "run_batch", spy)
    asks = [
        ("Who was the 44th president?", OBAMA),
        ("Where do I live?", FILLER * 8 + "I live in Berlin."),
        ("What is the capital of Germany?", "The capital of Germany is Berlin."),
    ]
    alone = [await service.run("qa", question=q, context=c) for q, c in asks]
    together = await asyncio.gather(*(service.run("qa", question=q, context=c) for q, c in asks))
    assert batches == [1, 1, 1, 3]
    for a, b in zip(alone, together, strict=True):
        assert (a.answer, a.start, a.end, a.windows) == (b.answer, b.start, b.end, b.windows)
        assert a.score == pytest.approx(b.score, rel=1e-4)


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"question": "", "context": OBAMA}, "question is empty"),
        ({"question": "Who?", "context": "   "}, "context is empty"),
        ({"question": "Who?"}, "Please give some context"),
        ({"context": OBAMA}, "Please give some question"),
        ({"question": "Who?", "context": "x" * 20_001}, "context is too long"),
        ({"question": "w" * 501, "context": OBAMA}, "question is too long"),
        ({"question": "Who?", "context": OBAMA, "top_k": 3}, "no option 'top_k'"),
    ],
)
async def test_bad_input(service: InferenceService, inputs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        await service.run("qa", **inputs)


async def test_question_too_long_for_the_model_fails_alone(service: InferenceService) -> None:
    # 400 characters pass parse() but leave the 64-token tiny model no room for context.
    wordy = "why is the sky so blue " * 17
    results = await asyncio.gather(
        service.run("qa", question=wordy, context=OBAMA),
        service.run("qa", question="Who?", context=OBAMA),
        return_exceptions=True,
    )
    assert isinstance(results[0], InvalidInput)
    assert "question is too long for this model" in str(results[0])
    assert isinstance(results[1], QaResult)


# -- span decoding with a stand-in model whose answer we know -----------------------------


class PointingModel:
    """Puts high start/end logits on the tokens of ``target`` (or on [CLS]) in every
    window, and counts the windows of each forward pass."""

    def __init__(self, target: list[int] | None) -> None:
        self.target = target
        self.passes: list[int] = []

    def __call__(self, input_ids: torch.Tensor, **_: Any) -> SimpleNamespace:
        self.passes.append(len(input_ids))
        start = torch.zeros(input_ids.shape)
        end = torch.zeros(input_ids.shape)
        if self.target is None:
            start[:, 0] = end[:, 0] = 20.0
        else:
            n = len(self.target)
            for row, ids in enumerate(input_ids.tolist()):
                for j in range(len(ids) - n + 1):
                    if ids[j : j + n] == self.target:
                        start[row, j], end[row, j + n - 1] = 20.0, 20.0
        return SimpleNamespace(start_logits=start, end_logits=end)


@pytest.fixture
def task_and_model(tiny_models: dict[str, Path]) -> tuple[QaTask, LoadedModel]:
    path = str(tiny_models["qa"])
    task = QaTask(path, resolve_placement("cpu"), InferenceSettings(_env_file=None))
    return task, task.load(path)


def run(task: QaTask, qa: LoadedModel, *inputs: dict[str, str]) -> list[Any]:
    requests = [task.parse(**i) for i in inputs]
    return task.run_batch({task.model: qa}, requests, NullContext())


def test_answer_at_the_far_end_of_a_long_context(
    task_and_model: tuple[QaTask, LoadedModel],
) -> None:
    task, qa = task_and_model
    context = FILLER * 80 + "My name is Wolfgang and I live in Berlin."
    qa.model = PointingModel(qa.tokenizer("Berlin", add_special_tokens=False)["input_ids"])
    (result,) = run(task, qa, {"question": "Where do I live?", "context": context})
    assert result.answer == "Berlin"  # the context's own casing: the tokenizer lowercases
    assert context[result.start : result.end] == "Berlin"
    assert result.start == context.rindex("Berlin")
    assert result.windows > 10
    assert result.score > 0.9
    assert result.answerable is True
    assert result.note is None


def test_all_windows_of_all_requests_share_one_forward_pass(
    task_and_model: tuple[QaTask, LoadedModel],
) -> None:
    task, qa = task_and_model
    qa.model = model = PointingModel(qa.tokenizer("Berlin", add_special_tokens=False)["input_ids"])
    first = {"question": "Where?", "context": FILLER * 10 + "I live in Berlin."}
    second = {"question": "Where?", "context": "Berlin is nice. " + FILLER * 10}
    a, b = run(task, qa, first, second)
    assert model.passes == [a.windows + b.windows]
    assert a.answer == b.answer == "Berlin"
    assert b.start == 0


def test_no_answer_when_the_null_score_wins(task_and_model: tuple[QaTask, LoadedModel]) -> None:
    task, qa = task_and_model
    qa.model = PointingModel(None)
    qa.null_answer = True  # as QA_NULL_ANSWER=auto sets it for a SQuAD 2 model
    (result,) = run(task, qa, {"question": "Who was the 44th president?", "context": OBAMA})
    assert result.answerable is False
    assert "does not answer" in result.note
    check_span(result, OBAMA)


class GradedModel(PointingModel):
    """Like PointingModel, with start and end logits of ``logit`` on the target span:
    the span's score P(start) * P(end) grows with ``logit``, so a search finds the
    logit that puts it just under or just over a threshold."""

    def __init__(self, target: list[int], logit: float) -> None:
        super().__init__(target)
        self.logit = logit

    def __call__(self, input_ids: torch.Tensor, **kwargs: Any) -> SimpleNamespace:
        out = super().__call__(input_ids, **kwargs)
        out.start_logits[out.start_logits > 0] = self.logit
        out.end_logits[out.end_logits > 0] = self.logit
        return out


@pytest.mark.parametrize("side", [0.9, 1.1])
def test_the_minimum_score_is_the_line_between_answer_and_no_answer(
    task_and_model: tuple[QaTask, LoadedModel], side: float
) -> None:
    task, qa = task_and_model
    target = qa.tokenizer("Obama", add_special_tokens=False)["input_ids"]
    question = {"question": "Who was the 44th president?", "context": OBAMA}

    def answer_at(logit: float) -> Any:
        qa.model = GradedModel(target, logit)
        (result,) = run(task, qa, question)
        return result

    wanted = task.settings.qa_min_score * side
    low, high = 0.0, 20.0  # the span's score rises with its logit: bisect to `wanted`
    for _ in range(40):
        middle = (low + high) / 2
        low, high = (middle, high) if answer_at(middle).score < wanted else (low, middle)
    result = answer_at((low + high) / 2)
    assert result.score == pytest.approx(wanted, rel=0.01)
    assert "Obama" in result.answer
    if side < 1:
        assert result.answerable is False
        assert "No confident answer" in result.note
    else:
        assert result.answerable is True


# -- command line ----------------------------------------------------------------------


def test_cli_answers_with_context(tiny_models: dict[str, Path]) -> None:
    done = cli(
        "run", "qa", "Who was the 44th president?", "--context", OBAMA,
        "--model", str(tiny_models["qa"]),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert OBAMA[data["start"] : data["end"]] == data["answer"]
    assert isinstance(data["answerable"], bool)


def test_cli_without_context_exits_2(tiny_models: dict[str, Path]) -> None:
    done = cli("run", "qa", "Who was the 44th president?", "--model", str(tiny_models["qa"]))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip() == "error: Please give some context."
