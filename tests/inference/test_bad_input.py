"""Bad input across all tasks: always a one-line ``InvalidInput`` or ``ModelUnavailable``,
never a library's exception. Task-specific cases live in each task's own test file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from inference import InferenceService, InferenceSettings, InvalidInput, ModelUnavailable
from inference.device import Placement, resolve_placement
from inference.tasks import TASKS
from inference.tasks.base import check_checkpoint_kind
from inference.tasks.sentiment import SentimentTask
from inference.tasks.speak import SpeakTask
from tests.inference.test_cli import cli

#: What each task needs besides its main input to get past parse().
REQUIRED: dict[str, dict[str, Any]] = {
    "qa": {"context": "Paris is in France."},
    "translate": {"target": "fr"},
    "classify": {"labels": "a, b"},
}
#: "\udcff" is what Python makes of the byte 0xff in a command-line argument.
BROKEN = "caf\udcff"


@pytest.fixture
async def service():
    async with InferenceService(InferenceSettings(_env_file=None)) as service:
        yield service


@pytest.mark.parametrize("name", list(TASKS))
async def test_text_with_lone_surrogates_is_refused(service: InferenceService, name: str) -> None:
    task = service.task(name)
    with pytest.raises(InvalidInput, match="not UTF-8 text"):
        task.parse(**{**REQUIRED.get(name, {}), task.main_input: BROKEN})


@pytest.mark.parametrize(
    ("name", "inputs"),
    [
        ("qa", {"question": "Who?", "context": BROKEN}),
        ("classify", {"text": "hi", "labels": f"a, {BROKEN}"}),
        ("classify", {"text": "hi", "labels": "a, b\x00c"}),
    ],
)
async def test_broken_secondary_inputs_are_refused(
    service: InferenceService, name: str, inputs: dict[str, str]
) -> None:
    with pytest.raises(InvalidInput, match="binary data"):
        service.task(name).parse(**inputs)


@pytest.mark.parametrize("context", ["\u200b\u200c\u200d\ufeff", "\u0301\u0302", "\ue000"])
async def test_qa_context_without_readable_tokens(
    tiny_models: dict[str, Path], context: str
) -> None:
    async with InferenceService(
        InferenceSettings(_env_file=None), models={"qa": str(tiny_models["qa"])}
    ) as service:
        with pytest.raises(InvalidInput, match="no words the model can read"):
            await service.run("qa", question="Who?", context=context)
        # the model still answers a real context
        assert (await service.run("qa", question="Who?", context="Ann met Bob.")).answer


@pytest.mark.parametrize(
    ("task", "wrong", "reason"),
    [
        ("qa", "ner", "BertForTokenClassification checkpoint, not a QuestionAnswering"),
        ("ner", "generate", "GPT2LMHeadModel checkpoint, not a TokenClassification"),
        ("sentiment", "summarize", "BartForConditionalGeneration checkpoint, not a Sequence"),
        ("sentiment", "qa", "DistilBertForQuestionAnswering checkpoint"),
        ("summarize", "sentiment", "a 'distilbert' model cannot be a Seq2SeqLM model"),
        ("generate", "ner", "BertForTokenClassification checkpoint, not a CausalLM"),
    ],
)
async def test_a_model_of_another_task_is_unavailable(
    tiny_models: dict[str, Path], task: str, wrong: str, reason: str
) -> None:
    inputs = {**REQUIRED.get(task, {}), TASKS[task].main_input: "Ann lives in Paris."}
    async with InferenceService(
        InferenceSettings(_env_file=None), models={task: str(tiny_models[wrong])}
    ) as service:
        with pytest.raises(ModelUnavailable) as info:
            await service.run(task, **inputs)
    assert reason in info.value.reason
    assert "\n" not in str(info.value)


def test_checkpoint_without_architectures_is_let_through() -> None:
    from transformers import AutoModelForSequenceClassification, DistilBertConfig

    check_checkpoint_kind(AutoModelForSequenceClassification, DistilBertConfig())
    with pytest.raises(ValueError, match="DistilBertForMaskedLM checkpoint"):
        check_checkpoint_kind(
            AutoModelForSequenceClassification,
            DistilBertConfig(architectures=["DistilBertForMaskedLM"]),
        )


async def test_blank_continue_from_starts_a_new_text(service: InferenceService) -> None:
    request = service.task("generate").parse(prompt="Once", continue_from=" \n\n ")
    assert request.continue_from == ""


def test_auto_half_precision_keeps_speak_in_float32() -> None:
    settings = InferenceSettings(_env_file=None)
    auto_half = Placement(torch.device("cpu"), torch.float16, dtype_is_auto=True)
    chosen_half = Placement(torch.device("cpu"), torch.float16)
    assert SpeakTask("m", auto_half, settings).placement.dtype == torch.float32
    assert SpeakTask("m", chosen_half, settings).placement.dtype == torch.float16  # DTYPE wins
    assert SentimentTask("m", auto_half, settings).placement.dtype == torch.float16
    assert resolve_placement("cpu", "auto").dtype_is_auto
    assert not resolve_placement("cpu", "float32").dtype_is_auto


def test_cli_bad_setting_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_QUEUE", "-1")
    done = cli("run", "sentiment", "hi")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: setting MAX_QUEUE: Input should be greater than or equal to 1"
    )
    monkeypatch.setenv("MAX_QUEUE", "5")
    monkeypatch.setenv("SPEAK_VOICES", "not json")
    done = cli("tasks")
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "speak_voices" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
