"""The sentiment task on a tiny DistilBERT, through the service like any real model id."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from inference import InferenceService, InferenceSettings, InvalidInput
from inference.tasks.sentiment import SentimentResult


@pytest.fixture
async def service(tiny_models: dict[str, Path]):
    async with InferenceService(
        InferenceSettings(_env_file=None), models={"sentiment": str(tiny_models["sentiment"])}
    ) as service:
        yield service


async def test_label_and_score(service: InferenceService) -> None:
    result = await service.run("sentiment", text="I love this movie")
    assert isinstance(result, SentimentResult)
    assert result.label in {"negative", "neutral", "positive"}
    assert 0.5 <= result.score <= 1.0
    assert -1 <= result.polarity <= 1
    assert [s.label for s in result.scores] == [result.model_label]
    assert result.model_label in {"POSITIVE", "NEGATIVE"}
    assert result.truncated is False


async def test_all_labels_sum_to_one_and_are_json_safe(service: InferenceService) -> None:
    result = await service.run("sentiment", text="I hate it", top_k=0)
    data = result.to_dict()
    json.dumps(data)  # plain types only
    assert {s["label"] for s in data["scores"]} == {"POSITIVE", "NEGATIVE"}
    assert sum(s["score"] for s in data["scores"]) == pytest.approx(1.0, abs=1e-5)
    assert data["scores"][0]["score"] >= data["scores"][1]["score"]
    assert all(type(s["score"]) is float for s in data["scores"])


async def test_batched_results_match_single_runs(service: InferenceService) -> None:
    texts = ["great fun", "a terrible, boring and far too long film", "ok", "I love it"]
    alone = [await service.run("sentiment", text=t, top_k=0) for t in texts]
    together = await asyncio.gather(*(service.run("sentiment", text=t, top_k=0) for t in texts))
    for a, b in zip(alone, together, strict=True):
        assert a.label == b.label and a.model_label == b.model_label
        assert a.scores[0].score == pytest.approx(b.scores[0].score, abs=1e-4)


async def test_long_text_is_truncated_and_says_so(service: InferenceService) -> None:
    result = await service.run("sentiment", text="good " * 500)
    assert result.truncated is True


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("  \n\t ", "empty"),
        ("x" * 10_001, "too long"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "binary"),
        (None, "Please give"),
    ],
)
async def test_bad_input(service: InferenceService, text: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        await service.run("sentiment", text=text)


async def test_unknown_option(service: InferenceService) -> None:
    with pytest.raises(InvalidInput, match="no option 'colour'"):
        await service.run("sentiment", text="hi", colour="red")
