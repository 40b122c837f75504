"""The classify task (zero-shot) on a tiny BART NLI model, through the service."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from inference import InferenceService, InferenceSettings, InvalidInput
from inference.errors import ModelUnavailable
from inference.tasks.classify import ClassifyResult
from tests.inference.test_cli import cli

LABELS = "technology, sports, politics"


@pytest.fixture
async def service(tiny_models: dict[str, Path]):
    async with InferenceService(
        InferenceSettings(_env_file=None), models={"classify": str(tiny_models["classify"])}
    ) as service:
        yield service


async def test_ranked_labels_sum_to_one_and_are_json_safe(service: InferenceService) -> None:
    result = await service.run("classify", text="The new phone has a fast chip.", labels=LABELS)
    assert isinstance(result, ClassifyResult)
    assert sorted(s.label for s in result.scores) == ["politics", "sports", "technology"]
    assert [s.score for s in result.scores] == sorted(
        (s.score for s in result.scores), reverse=True
    )
    assert (result.label, result.score) == (result.scores[0].label, result.scores[0].score)
    assert sum(s.score for s in result.scores) == pytest.approx(1.0, abs=1e-5)
    assert result.multi_label is False
    assert result.template == "This example is {}."
    assert result.truncated is False
    data = json.loads(json.dumps(result.to_dict()))
    assert all(type(s["score"]) is float for s in data["scores"])


async def test_multi_label_scores_each_label_alone(service: InferenceService) -> None:
    single = await service.run("classify", text="Goal!", labels=LABELS, multi_label=True)
    assert single.multi_label is True
    assert all(0.0 <= s.score <= 1.0 for s in single.scores)
    # independent entailment probabilities need not sum to one
    assert sum(s.score for s in single.scores) != pytest.approx(1.0, abs=1e-3)


async def test_one_label_is_always_scored_alone(service: InferenceService) -> None:
    result = await service.run("classify", text="Goal!", labels="sports")
    assert result.multi_label is True
    assert [s.label for s in result.scores] == ["sports"]
    assert 0.0 < result.score < 1.0


async def test_labels_from_a_list_are_cleaned_and_deduplicated(service: InferenceService) -> None:
    result = await service.run(
        "classify", text="hi", labels=[" Sports ", "sports", "big   news", "", "Politics"]
    )
    assert sorted(s.label for s in result.scores) == ["Politics", "Sports", "big news"]


async def test_custom_template(service: InferenceService) -> None:
    default = await service.run("classify", text="The match ended 2-1.", labels=LABELS)
    custom = await service.run(
        "classify", text="The match ended 2-1.", labels=LABELS, template="The topic is {}."
    )
    assert custom.template == "The topic is {}."
    assert [s.score for s in custom.scores] != [s.score for s in default.scores]


async def test_batched_results_match_single_runs(
    service: InferenceService, caplog: pytest.LogCaptureFixture
) -> None:
    texts = ["I love football", "The election was close", "new phone", "a much longer text " * 5]
    alone = [await service.run("classify", text=t, labels=LABELS) for t in texts]
    together = await asyncio.gather(
        *(service.run("classify", text=t, labels=LABELS) for t in texts),
        service.run("classify", text="x", labels="a, b"),  # other labels: another batch
    )
    for a, b in zip(alone, together, strict=False):
        assert [s.label for s in a.scores] == [s.label for s in b.scores]
        for x, y in zip(a.scores, b.scores, strict=True):
            assert x.score == pytest.approx(y.score, abs=1e-4)
    assert [s.label for s in together[-1].scores] in (["a", "b"], ["b", "a"])
    assert "one by one" not in caplog.text  # it really ran as one batch


async def test_long_text_is_truncated_and_says_so(service: InferenceService) -> None:
    result = await service.run("classify", text="word " * 400, labels=LABELS)
    assert result.truncated is True


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"labels": None}, "Please give some labels"),
        ({"labels": " , ,"}, "Please give some labels"),
        ({"labels": ",".join(f"l{i}" for i in range(11))}, "at most 10 labels"),
        ({"labels": "x" * 101}, "at most 100 characters"),
        ({"labels": 42}, "comma-separated"),
        ({"labels": ["a", 3]}, "must be text"),
        ({"template": "No placeholder."}, "must contain"),
        ({"template": "It is {} or {}."}, "must contain"),
        ({"template": "It is {0}."}, "must contain"),
        ({"multi_label": "perhaps"}, "yes or no"),
        ({"text": ""}, "empty"),
        ({"text": "x" * 4_001}, "too long"),
        ({"colour": "red"}, "no option 'colour'"),
    ],
)
async def test_bad_input(service: InferenceService, inputs: dict, message: str) -> None:
    inputs = {"text": "hello", "labels": LABELS, **inputs}
    with pytest.raises(InvalidInput, match=message):
        await service.run("classify", **inputs)


async def test_a_model_without_entailment_is_refused(tiny_models: dict[str, Path]) -> None:
    async with InferenceService(
        InferenceSettings(_env_file=None), models={"classify": str(tiny_models["sentiment"])}
    ) as service:
        with pytest.raises(ModelUnavailable, match="not an NLI model"):
            await service.run("classify", text="hello", labels=LABELS)


def test_cli_classifies(tiny_models: dict[str, Path]) -> None:
    done = cli(
        "run", "classify", "The new phone has a fast chip.", "--labels", LABELS,
        "--multi-label", "--model", str(tiny_models["classify"]),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert sorted(s["label"] for s in data["scores"]) == ["politics", "sports", "technology"]
    assert data["multi_label"] is True


def test_cli_without_labels_exits_2(tiny_models: dict[str, Path]) -> None:
    done = cli("run", "classify", "hello", "--model", str(tiny_models["classify"]))
    assert done.returncode == 2
    assert done.stderr.strip() == "error: Please give some labels, separated by commas."
