"""Named entities on a tiny cased BERT, through the service like any real model id.

The tiny model's labels are random (most tokens come out as some entity), so the tests
check invariants: words are the text at their offsets, scores are probabilities, the
groups agree with the entities, and long texts are read to the end.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from inference import InferenceService, InferenceSettings, InvalidInput
from inference.tasks.ner import NerResult, NerTask
from tests.inference.test_cli import cli

OBAMA = "Barack Obama was the 44th president of the United States."
CONLL_TYPES = {"PER", "LOC", "ORG", "MISC"}


@pytest.fixture
async def service(tiny_models: dict[str, Path]):
    async with InferenceService(
        InferenceSettings(_env_file=None), models={"ner": str(tiny_models["ner"])}
    ) as service:
        yield service


def check_entities(result: NerResult, text: str) -> None:
    assert result.entities, "the random tiny model tags something in any sentence"
    for entity in result.entities:
        assert text[entity.start : entity.end] == entity.word
        assert entity.type in CONLL_TYPES
        assert type(entity.score) is float
        assert 0.0 <= entity.score <= 1.0
    starts = [e.start for e in result.entities]
    assert starts == sorted(starts)
    expected: dict[str, list[str]] = {}
    for entity in result.entities:
        words = expected.setdefault(entity.type, [])
        if entity.word not in words:
            words.append(entity.word)
    assert result.groups == expected


async def test_entities_and_groups(service: InferenceService) -> None:
    result = await service.run("ner", text=OBAMA)
    assert isinstance(result, NerResult)
    check_entities(result, OBAMA)
    data = result.to_dict()
    json.dumps(data)
    assert set(data) == {"entities", "groups"}
    assert set(data["entities"][0]) == {"word", "type", "score", "start", "end"}


async def test_long_text_is_read_to_the_end(service: InferenceService) -> None:
    # ~400 tokens: the tiny model reads 64 at a time.
    text = "My name is Wolfgang and I live in Berlin. " * 40
    result = await service.run("ner", text=text)
    check_entities(result, text)
    assert result.entities[-1].end > len(text) - 20


async def test_batched_results_match_single_runs(
    service: InferenceService, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[int] = []
    run_batch = NerTask.run_batch

    def spy(self: NerTask, models: Any, requests: Any, ctx: Any) -> Any:
        batches.append(len(requests))
        return run_batch(self, models, requests, ctx)

    monkeypatch.setattr(NerTask, "run_batch", spy)
    texts = [OBAMA, "Apple and Google opened new offices in London.", "Hello " * 30]
    alone = [await service.run("ner", text=t) for t in texts]
    together = await asyncio.gather(*(service.run("ner", text=t) for t in texts))
    assert batches == [1, 1, 1, 3]
    for a, b in zip(alone, together, strict=True):
        assert [(e.word, e.type, e.start) for e in a.entities] == [
            (e.word, e.type, e.start) for e in b.entities
        ]
        assert [e.score for e in a.entities] == pytest.approx([e.score for e in b.entities])


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"text": ""}, "empty"),
        ({"text": "x" * 10_001}, "too long"),
        ({"text": b"\xff\xfe\x00binary"}, "binary"),
        ({}, "Please give some text"),
        ({"text": OBAMA, "labels": "PER"}, "no option 'labels'"),
    ],
)
async def test_bad_input(service: InferenceService, inputs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        await service.run("ner", **inputs)


def test_cli_prints_entities(tiny_models: dict[str, Path]) -> None:
    done = cli("run", "ner", OBAMA, "--model", str(tiny_models["ner"]))
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert all(OBAMA[e["start"] : e["end"]] == e["word"] for e in data["entities"])
    assert set(data["groups"]) <= CONLL_TYPES


def test_cli_bad_input_exits_2(tiny_models: dict[str, Path]) -> None:
    done = cli("run", "ner", "   ", "--model", str(tiny_models["ner"]))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip() == "error: The text is empty."
